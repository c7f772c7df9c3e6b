// The demo account of the fake DaiDai: a public demo, not a secret. The keys below are
// deterministic so tests, the demo and the benchmark all see the same account.

import type { FakeAccount, FakeKey } from './types';

/** 32-bit FNV-1a over the UTF-16 code units of a string: cheap, deterministic, good enough to seed. */
export function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** mulberry32: a tiny seeded PRNG returning [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded PRNG in [0, 1) for tests that inject random faults (the same seed gives the same
 * sequence on every machine). A string seed is hashed first.
 */
export function seededRandom(seed: number | string): () => number {
  return mulberry32(typeof seed === 'string' ? fnv1a(seed) : seed);
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A key shaped like the platform's (`sk-` + 48 alphanumerics), the same for the same seed. */
export function demoKey(seed: string): string {
  const rnd = mulberry32(fnv1a(seed));
  let out = 'sk-';
  for (let i = 0; i < 48; i++) out += ALNUM[Math.floor(rnd() * ALNUM.length)];
  return out;
}

export const DEMO_ACCOUNT: FakeAccount = {
  email: 'demo@daidai.local',
  password: 'daidai-demo-2025',
  userId: 10001,
};

const keyA = demoKey('demo-key-a');

/**
 * The demo account's orders, in the order the platform lists them. Six usable keys with
 * different balances (one low: ¥0.80), one renewal order carrying key A again, and three
 * orders that are not usable (unpaid, broken, no key yet). The order shapes vary on purpose
 * (`key` vs `api_key`, numbers vs strings, a missing balance) as the real platform's do.
 */
export const DEMO_KEYS: readonly FakeKey[] = Object.freeze([
  { key: keyA, name: 'Claude 包月 A', payPackage: 'Claude Max 包月', balance: 48.5, used: 11.5, keyField: 'key', balanceAs: 'string', createdAt: '2025-09-01 10:12:00' },
  { key: demoKey('demo-key-b'), name: 'Claude 包月 B', payPackage: 'Claude Max 包月', balance: 120, used: 0, keyField: 'api_key', balanceAs: 'number', createdAt: '2025-09-15 08:00:00' },
  { key: demoKey('demo-key-c'), name: 'GPT 通用 C', payPackage: 'GPT 按量', balance: 12.5, used: 3.2, keyField: 'key', balanceAs: 'number', createdAt: '2025-10-02 21:40:11' },
  { key: demoKey('demo-key-d'), name: '按量 D', payPackage: '通用按量', balance: 0.8, used: 29.2, keyField: 'api_key', balanceAs: 'string', createdAt: '2025-10-20 13:05:59' },
  { key: demoKey('demo-key-e'), name: 'Gemini 体验 E', payPackage: 'Gemini 体验卡', balance: 5, used: 0, keyField: 'key', balanceAs: 'missing', createdAt: '2025-11-03 09:30:00' },
  { key: demoKey('demo-key-f'), name: 'Embedding 专用 F', payPackage: '向量包', balance: 30, used: 1.05, keyField: 'key', balanceAs: 'string', createdAt: '2025-11-11 11:11:11' },
  { key: keyA, name: 'Claude 包月 A (续费)', payPackage: 'Claude Max 包月', balance: 48.5, used: 11.5, keyField: 'key', balanceAs: 'number', createdAt: '2025-12-01 10:12:00' },
  { key: demoKey('demo-key-unpaid'), name: '待支付订单', payPackage: 'Claude Max 包月', balance: 100, used: 0, state: 'pending', createdAt: '2025-12-05 18:00:00' },
  { key: demoKey('demo-key-broken'), name: '异常订单', payPackage: 'GPT 按量', balance: 20, used: 0, hasError: true, createdAt: '2025-12-06 18:00:00' },
  { key: '', name: '发货中订单', payPackage: '通用按量', balance: 10, used: 0, createdAt: '2025-12-07 18:00:00' },
]);

/** The distinct usable keys of DEMO_KEYS, in listing order (what a correct client ends up with). */
export const DEMO_USABLE_KEYS: readonly string[] = Object.freeze(
  DEMO_KEYS.filter((k) => k.key && (k.state ?? 'success') === 'success' && !k.hasError)
    .map((k) => k.key)
    .filter((k, i, all) => all.indexOf(k) === i),
);

/** Model ids of GET /v1/models without packages; note the UTF-8 channel prefixes. */
export const DEMO_MODELS: readonly string[] = Object.freeze([
  '[官Max]claude-sonnet-4-5-20250929',
  '[官Max]claude-opus-4-1-20250805',
  'claude-sonnet-4-5-20250929',
  'claude-3-5-haiku-20241022',
  'gpt-4o',
  'gpt-4o-mini',
  'gemini-2.5-pro',
  'text-embedding-3-small',
]);

/** The models of each demo package, as its group's GET /v1/models lists them. */
export const DEMO_PACKAGE_MODELS_BY_GROUP: Readonly<Record<'claude-max' | 'gpt' | 'gemini', readonly string[]>> = Object.freeze({
  // Ids as the real gateway lists them: channel prefixes, dates, a -thinking variant. No coding
  // assistant sends these by default (Claude Code asks for claude-opus-4-8, Codex for gpt-5…).
  'claude-max': Object.freeze([
    '[官Max]claude-sonnet-4-5-20250929',
    '[官Max]claude-opus-4-1-20250805',
    'claude-sonnet-4-5-20250929',
    'claude-opus-4-1-20250805',
    'claude-3-5-haiku-20241022',
    '[官Max]claude-opus-4-6-20260205',
    '[官Max]claude-opus-4-6-20260205-thinking',
    '[官Max]claude-sonnet-4-6-20260217',
    '[官Max]claude-haiku-4-5-20251001',
  ]),
  gpt: Object.freeze(['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4o-image', 'text-embedding-3-small', 'text-embedding-3-large', 'gpt-5', 'gpt-5-mini', 'gpt-5-codex']),
  gemini: Object.freeze(['gemini-2.5-pro', 'gemini-2.5-flash']),
});

/** Every model some demo package serves, each once: what the "all models" key serves. */
export const DEMO_PACKAGE_MODELS: readonly string[] = Object.freeze([
  ...DEMO_PACKAGE_MODELS_BY_GROUP['claude-max'],
  ...DEMO_PACKAGE_MODELS_BY_GROUP.gpt,
  ...DEMO_PACKAGE_MODELS_BY_GROUP.gemini,
]);

const claudeMax = { group: 'claude-max', models: [...DEMO_PACKAGE_MODELS_BY_GROUP['claude-max']] };
const gpt = { group: 'gpt', models: [...DEMO_PACKAGE_MODELS_BY_GROUP.gpt] };

/**
 * The demo account with packages (`createFakeDaiDai({ packages: true })`, `npm run demo`, Try the
 * Demo Account): the same keys, balances (total ¥216.80) and order shapes as DEMO_KEYS, but each
 * key serves only its package's models. Two Claude Max keys and two GPT keys whose groups have no
 * channel for other models (503 无可用渠道), one pay-as-you-go key serving every model, and one
 * Gemini key with a token model list (403 该令牌无权使用模型). The renewal and the unusable orders stay.
 */
export const DEMO_PACKAGE_KEYS: readonly FakeKey[] = Object.freeze([
  { ...DEMO_KEYS[0], ...claudeMax },
  { ...DEMO_KEYS[1], ...claudeMax },
  { ...DEMO_KEYS[2], ...gpt },
  { ...DEMO_KEYS[3], name: '通用按量 D (全模型)', group: 'default', models: [...DEMO_PACKAGE_MODELS] },
  { ...DEMO_KEYS[4], group: 'gemini', models: [...DEMO_PACKAGE_MODELS_BY_GROUP.gemini], refusal: 'permission' as const },
  { ...DEMO_KEYS[5], name: 'GPT 向量 F', payPackage: 'GPT 向量包', ...gpt },
  { ...DEMO_KEYS[6], ...claudeMax },
  { ...DEMO_KEYS[7], ...claudeMax },
  { ...DEMO_KEYS[8], ...gpt },
  { ...DEMO_KEYS[9], group: 'default' },
]);

/** Rows of /api/commodity/getPricing without packages, numbers as strings like the platform sends them. */
export const DEMO_PRICING = Object.freeze([
  { all_name: '[官Max]claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5 官方Max', input_price: '3', out_price: '15', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'claude-3-5-haiku-20241022', title: 'Claude Haiku 3.5', input_price: '0.8', out_price: 4, is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'gpt-4o-mini', title: 'GPT-4o mini', input_price: '0.15', out_price: '0.6', is_price: 0, num: 1, price: 0, module: 'openai', type: 'chat' },
  { all_name: 'gpt-4o-image', title: 'GPT-4o 生图 (按次)', input_price: '0', out_price: '0', is_price: '1', num: '2', price: '0.05', module: 'openai', type: 'image' },
  { all_name: 'text-embedding-3-small', title: 'Embedding small', input_price: '0.02', out_price: '0', is_price: '0', num: '1', price: '0', module: 'openai', type: 'embedding' },
]);

/** Rows of /api/monitors/status without packages; history[0] is the latest. */
export const DEMO_MONITOR = Object.freeze([
  { modelName: '[官Max]claude-sonnet-4-5-20250929', history: [{ weightedErrorRate: 1.5, time: '2025-12-08 12:00' }, { weightedErrorRate: 4, time: '2025-12-08 11:00' }] },
  { modelName: '[官Max]claude-opus-4-1-20250805', history: [{ weightedErrorRate: '12.25', time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4o-mini', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gemini-2.5-pro', history: [] },
]);

/**
 * Rows of /api/commodity/getPricing with packages (every package model), numbers mostly as strings
 * like the platform sends them: ¥ per
 * million tokens in / out, or with `is_price` "1" ¥ `num * price` per call. Prefixed and bare ids
 * are priced apart (the official channel costs more). Models outside the packages have no price
 * (a request for one costs `costPerRequest`).
 */
export const DEMO_PACKAGE_PRICING = Object.freeze([
  { all_name: '[官Max]claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5 官方Max', input_price: '12', out_price: '60', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5', input_price: '6', out_price: '30', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: '[官Max]claude-opus-4-1-20250805', title: 'Claude Opus 4.1 官方Max', input_price: '60', out_price: '300', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'claude-opus-4-1-20250805', title: 'Claude Opus 4.1', input_price: '30', out_price: '150', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'claude-3-5-haiku-20241022', title: 'Claude Haiku 3.5', input_price: '0.8', out_price: 4, is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: '[官Max]claude-opus-4-6-20260205', title: 'Claude Opus 4.6 官方Max', input_price: '40', out_price: '200', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: '[官Max]claude-opus-4-6-20260205-thinking', title: 'Claude Opus 4.6 Thinking 官方Max', input_price: '40', out_price: '200', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: '[官Max]claude-sonnet-4-6-20260217', title: 'Claude Sonnet 4.6 官方Max', input_price: '12', out_price: '60', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: '[官Max]claude-haiku-4-5-20251001', title: 'Claude Haiku 4.5 官方Max', input_price: '4', out_price: '20', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'gpt-5', title: 'GPT-5', input_price: '5', out_price: '40', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-5-mini', title: 'GPT-5 mini', input_price: '1', out_price: '8', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-5-codex', title: 'GPT-5 Codex', input_price: '5', out_price: '40', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-4o', title: 'GPT-4o', input_price: '5', out_price: '20', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-4o-mini', title: 'GPT-4o mini', input_price: '0.15', out_price: '0.6', is_price: 0, num: 1, price: 0, module: 'openai', type: 'chat' },
  { all_name: 'gpt-4.1', title: 'GPT-4.1', input_price: '4', out_price: '16', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-4.1-mini', title: 'GPT-4.1 mini', input_price: '0.8', out_price: '3.2', is_price: '0', num: '1', price: '0', module: 'openai', type: 'chat' },
  { all_name: 'gpt-4o-image', title: 'GPT-4o 生图 (按次)', input_price: '0', out_price: '0', is_price: '1', num: '2', price: '0.05', module: 'openai', type: 'image' },
  { all_name: 'text-embedding-3-small', title: 'Embedding small', input_price: '0.02', out_price: '0', is_price: '0', num: '1', price: '0', module: 'openai', type: 'embedding' },
  { all_name: 'text-embedding-3-large', title: 'Embedding large', input_price: '0.13', out_price: '0', is_price: '0', num: '1', price: '0', module: 'openai', type: 'embedding' },
  { all_name: 'gemini-2.5-pro', title: 'Gemini 2.5 Pro', input_price: '2.5', out_price: '20', is_price: '0', num: '1', price: '0', module: 'gemini', type: 'chat' },
  { all_name: 'gemini-2.5-flash', title: 'Gemini 2.5 Flash', input_price: 0.6, out_price: 5, is_price: '0', num: '1', price: '0', module: 'gemini', type: 'chat' },
]);

/**
 * Rows of /api/monitors/status with packages; history[0] is the latest. Availability = 100 − weightedErrorRate:
 * the official Max Opus is under 95 % (87.75 %).
 */
export const DEMO_PACKAGE_MONITOR = Object.freeze([
  { modelName: '[官Max]claude-sonnet-4-5-20250929', history: [{ weightedErrorRate: 1.5, time: '2025-12-08 12:00' }, { weightedErrorRate: 4, time: '2025-12-08 11:00' }] },
  { modelName: '[官Max]claude-opus-4-1-20250805', history: [{ weightedErrorRate: '12.25', time: '2025-12-08 12:00' }, { weightedErrorRate: 3, time: '2025-12-08 11:00' }] },
  { modelName: 'claude-sonnet-4-5-20250929', history: [{ weightedErrorRate: 0.5, time: '2025-12-08 12:00' }] },
  { modelName: 'claude-opus-4-1-20250805', history: [{ weightedErrorRate: 2, time: '2025-12-08 12:00' }] },
  { modelName: 'claude-3-5-haiku-20241022', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: '[官Max]claude-opus-4-6-20260205', history: [{ weightedErrorRate: 0.75, time: '2025-12-08 12:00' }] },
  { modelName: '[官Max]claude-opus-4-6-20260205-thinking', history: [{ weightedErrorRate: 1, time: '2025-12-08 12:00' }] },
  { modelName: '[官Max]claude-sonnet-4-6-20260217', history: [{ weightedErrorRate: 0.5, time: '2025-12-08 12:00' }] },
  { modelName: '[官Max]claude-haiku-4-5-20251001', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-5', history: [{ weightedErrorRate: 0.25, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-5-mini', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-5-codex', history: [{ weightedErrorRate: 0.5, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4o', history: [{ weightedErrorRate: 0.8, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4o-mini', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4.1', history: [{ weightedErrorRate: '1.2', time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4.1-mini', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4o-image', history: [{ weightedErrorRate: 4.5, time: '2025-12-08 12:00' }] },
  { modelName: 'text-embedding-3-small', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'text-embedding-3-large', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gemini-2.5-pro', history: [{ weightedErrorRate: 3.5, time: '2025-12-08 12:00' }] },
  { modelName: 'gemini-2.5-flash', history: [{ weightedErrorRate: 2.25, time: '2025-12-08 12:00' }, { weightedErrorRate: 1, time: '2025-12-08 11:00' }] },
]);
