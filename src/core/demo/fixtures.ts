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

/** Model ids of GET /v1/models; note the UTF-8 channel prefixes. */
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

/** Rows of /api/commodity/getPricing, numbers as strings like the platform sends them. */
export const DEMO_PRICING = Object.freeze([
  { all_name: '[官Max]claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5 官方Max', input_price: '3', out_price: '15', is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'claude-3-5-haiku-20241022', title: 'Claude Haiku 3.5', input_price: '0.8', out_price: 4, is_price: '0', num: '1', price: '0', module: 'claude', type: 'chat' },
  { all_name: 'gpt-4o-mini', title: 'GPT-4o mini', input_price: '0.15', out_price: '0.6', is_price: 0, num: 1, price: 0, module: 'openai', type: 'chat' },
  { all_name: 'gpt-4o-image', title: 'GPT-4o 生图 (按次)', input_price: '0', out_price: '0', is_price: '1', num: '2', price: '0.05', module: 'openai', type: 'image' },
  { all_name: 'text-embedding-3-small', title: 'Embedding small', input_price: '0.02', out_price: '0', is_price: '0', num: '1', price: '0', module: 'openai', type: 'embedding' },
]);

/** Rows of /api/monitors/status; history[0] is the latest. */
export const DEMO_MONITOR = Object.freeze([
  { modelName: '[官Max]claude-sonnet-4-5-20250929', history: [{ weightedErrorRate: 1.5, time: '2025-12-08 12:00' }, { weightedErrorRate: 4, time: '2025-12-08 11:00' }] },
  { modelName: '[官Max]claude-opus-4-1-20250805', history: [{ weightedErrorRate: '12.25', time: '2025-12-08 12:00' }] },
  { modelName: 'gpt-4o-mini', history: [{ weightedErrorRate: 0, time: '2025-12-08 12:00' }] },
  { modelName: 'gemini-2.5-pro', history: [] },
]);
