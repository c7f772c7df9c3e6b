// The Models view's rows (src/core/present/models.ts): prices in each form, matched with and
// without a [channel] prefix, availability and its warning, the keys serving each model, in
// English and in Chinese.
import * as assert from 'node:assert/strict';
import { setLanguage } from '../../src/core/l10n';
import type { ModelAvailability, ModelPrice } from '../../src/core/platform/types';
import type { KeySnapshot, PoolSnapshot } from '../../src/core/pool/types';
import { availabilityOf, formatYuan, modelRows, priceText, type ModelsInput } from '../../src/core/present';

const NOW = 1_700_000_000_000;
const KEY_A = 'sk-aaaa…1111';
const KEY_B = 'sk-bbbb…2222';
const KEY_C = 'sk-cccc…3333';

function key(over: Partial<KeySnapshot> & { id: string }): KeySnapshot {
  return { masked: over.id, state: 'healthy', manuallyDisabled: false, consecutiveFailures: 0, stats: { requests: 0, successes: 0, failures: 0 }, exclusions: [], ...over };
}

function pool(keys: KeySnapshot[]): PoolSnapshot {
  return {
    keys,
    counts: { total: keys.length, healthy: keys.length, cooling: 0, disabled: 0, exhausted: 0, usable: keys.length },
    totals: { requests: 0, successes: 0, failures: 0 },
    resets: 0,
    excludedPairs: 0,
  };
}

const prices: ModelPrice[] = [
  { model: '[官Max]claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5 官方Max', inputPerMillion: 12, outputPerMillion: 60 },
  { model: 'gpt-4o-mini', inputPerMillion: 0.15, outputPerMillion: 0.6 },
  { model: 'gpt-4o-image', perCall: 0.1 },
  { model: 'claude-3-5-haiku-20241022', inputPerMillion: 0.8, outputPerMillion: 4 },
];

const availability: ModelAvailability[] = [
  { modelName: '[官Max]claude-sonnet-4-5-20250929', availability: 98.5 },
  { modelName: '[官Max]claude-opus-4-1-20250805', availability: 87.75 },
  { modelName: 'gpt-4o-mini', availability: 100 },
  { modelName: 'gemini-2.5-pro' },
];

function input(over: Partial<ModelsInput> = {}): ModelsInput {
  return {
    models: [{ id: '[官Max]claude-sonnet-4-5-20250929' }, { id: '[官Max]claude-opus-4-1-20250805' }, { id: 'gpt-4o-mini' }, { id: 'gpt-4o-image' }, { id: 'gemini-2.5-pro' }],
    pool: pool([
      key({ id: KEY_A, name: 'Claude A', models: ['[官Max]claude-sonnet-4-5-20250929', '[官Max]claude-opus-4-1-20250805'] }),
      key({ id: KEY_B, models: ['[官Max]claude-sonnet-4-5-20250929', 'gpt-4o-mini', 'gpt-4o-image'], exclusions: [{ model: 'gpt-4o-mini', reason: 'no channel', until: NOW + 60_000 }] }),
      key({ id: KEY_C, models: ['gpt-4o-mini', 'claude-3-5-haiku-20241022'] }),
    ]),
    prices,
    availability,
    now: NOW,
    ...over,
  };
}

const byModel = (rows: ReturnType<typeof modelRows>) => new Map(rows.map((r) => [r.model, r]));

describe('present: Models view rows', () => {
  it('lists the union first, then models only a key lists, each once, labelled with the id as the gateway names it', () => {
    const rows = modelRows(input());
    assert.deepEqual(
      rows.map((r) => r.label),
      ['[官Max]claude-sonnet-4-5-20250929', '[官Max]claude-opus-4-1-20250805', 'gpt-4o-mini', 'gpt-4o-image', 'gemini-2.5-pro', 'claude-3-5-haiku-20241022'],
    );
    assert.deepEqual(rows.map((r) => r.id), rows.map((r) => `model/${r.model}`));
  });

  it('is empty while no list is known (the welcome text shows)', () => {
    assert.deepEqual(modelRows(input({ models: undefined, pool: pool([key({ id: KEY_A })]) })), []);
  });

  it('prices per million tokens in and out, per call, or says the price is unknown', () => {
    const rows = byModel(modelRows(input()));
    assert.equal(rows.get('gpt-4o-mini')!.priceText, '¥0.15 in / ¥0.60 out per M tokens');
    assert.match(rows.get('gpt-4o-mini')!.description, /^¥0\.15\/¥0\.60 per M · 100% available · 2 keys$/);
    assert.equal(rows.get('gpt-4o-image')!.priceText, '¥0.10 per call');
    assert.match(rows.get('gpt-4o-image')!.description, /^¥0\.10\/call · /);
    assert.equal(rows.get('gemini-2.5-pro')!.priceText, 'price unknown');
    assert.equal(rows.get('gemini-2.5-pro')!.price, undefined);
    assert.equal(priceText({ model: 'x', inputPerMillion: 2 }), '¥2.00 in / ¥? out per M tokens');
    assert.equal(priceText({ model: 'x' }), 'price unknown');
    assert.equal(formatYuan(0.075, 'price'), '¥0.075');
    assert.equal(formatYuan(15, 'price'), '¥15.00');
  });

  it('matches prices with and without a [channel] prefix', () => {
    const bare = modelRows(input({ models: [{ id: 'claude-sonnet-4-5-20250929' }, { id: '[官Max]claude-3-5-haiku-20241022' }], pool: pool([]) }));
    const rows = byModel(bare);
    // The gateway's bare id finds the list's prefixed row; a prefixed id finds the list's bare row.
    assert.equal(rows.get('claude-sonnet-4-5-20250929')!.priceText, '¥12.00 in / ¥60.00 out per M tokens');
    assert.equal(rows.get('[官Max]claude-3-5-haiku-20241022')!.priceText, '¥0.80 in / ¥4.00 out per M tokens');
    assert.match(rows.get('claude-sonnet-4-5-20250929')!.tooltip, /Claude Sonnet 4\.5 官方Max/);
  });

  it('leaves the price unknown when channels disagree for a bare id', () => {
    const two: ModelPrice[] = [
      { model: '[官Max]gpt-4o', inputPerMillion: 10, outputPerMillion: 40 },
      { model: '[逆向]gpt-4o', inputPerMillion: 1, outputPerMillion: 4 },
    ];
    const [row] = modelRows(input({ models: [{ id: 'gpt-4o' }], pool: pool([]), prices: two }));
    assert.equal(row!.priceText, 'price unknown');
  });

  it('shows the latest availability, with a warning icon and context under 95 %', () => {
    const rows = byModel(modelRows(input()));
    const opus = rows.get('[官Max]claude-opus-4-1-20250805')!;
    assert.equal(opus.availability, 87.75);
    assert.deepEqual(opus.icon, { id: 'warning', color: 'charts.yellow' });
    assert.equal(opus.contextValue, 'model:warning');
    assert.match(opus.description, /87\.75% available \(low\)/);
    assert.match(opus.tooltip, /Availability: 87\.75% \(under 95%: expect failures\)/);
    const sonnet = rows.get('[官Max]claude-sonnet-4-5-20250929')!;
    assert.equal(sonnet.contextValue, 'model');
    assert.notEqual(sonnet.icon.id, 'warning');
    assert.match(sonnet.description, /98\.5% available/);
    // The monitor lists gemini without a history: no number, no warning.
    const gemini = rows.get('gemini-2.5-pro')!;
    assert.equal(gemini.availability, undefined);
    assert.equal(gemini.contextValue, 'model');
    assert.match(gemini.tooltip, /Availability: the model monitor has no figure/);
  });

  it('matches availability across the prefix, and not when channels disagree', () => {
    assert.equal(availabilityOf('claude-sonnet-4-5-20250929', availability), 98.5);
    assert.equal(availabilityOf('[官Max]gpt-4o-mini', availability), 100);
    const split: ModelAvailability[] = [
      { modelName: '[a]m', availability: 99 },
      { modelName: '[b]m', availability: 50 },
    ];
    assert.equal(availabilityOf('m', split), undefined);
    assert.equal(availabilityOf('m', [{ modelName: '[a]m', availability: 99 }]), 99);
  });

  it('names the keys that serve each model (masked, in the tooltip) and counts them in the description', () => {
    const rows = byModel(modelRows(input()));
    const sonnet = rows.get('[官Max]claude-sonnet-4-5-20250929')!;
    assert.deepEqual(sonnet.servedBy.map((s) => s.keyId), [KEY_A, KEY_B]);
    assert.match(sonnet.description, / · 2 keys$/);
    assert.match(sonnet.tooltip, /Served by 2 keys:\n {2}sk-aaaa…1111 \(Claude A\)\n {2}sk-bbbb…2222/);
    const mini = rows.get('gpt-4o-mini')!;
    assert.deepEqual(mini.servedBy.map((s) => s.keyId), [KEY_B, KEY_C]);
    assert.equal(mini.servedBy[0]!.excluded, 'no channel');
    assert.match(mini.tooltip, /sk-bbbb…2222 — refused for now: no channel/);
    const gemini = rows.get('gemini-2.5-pro')!;
    assert.deepEqual(gemini.servedBy, []);
    assert.match(gemini.description, / · 0 keys$/);
    assert.match(rows.get('gpt-4o-image')!.description, / · 1 key$/);
  });

  it('forgets an exclusion that has expired, and mentions keys whose list is unknown', () => {
    const rows = byModel(modelRows(input({ now: NOW + 120_000, pool: pool([...input().pool!.keys, key({ id: 'sk-dddd…4444' })]) })));
    assert.equal(rows.get('gpt-4o-mini')!.servedBy[0]!.excluded, undefined);
    assert.match(rows.get('gpt-4o-mini')!.tooltip, /1 more key\(s\) whose model list is not known yet/);
  });

  it('never shows a key in clear', () => {
    const clear = 'sk-ThisIsAVerySecretKeyValue1234';
    const rows = modelRows(input({ pool: pool([key({ id: 'sk-This…1234', masked: 'sk-This…1234', models: ['gpt-4o-mini'] })]) }));
    for (const r of rows) assert.ok(!JSON.stringify(r).includes(clear));
  });
});

describe('present: Models view rows in Chinese', () => {
  before(() => setLanguage('zh-cn'));
  after(() => setLanguage('en'));

  it('speaks Chinese in descriptions and tooltips; model ids and money stay as they are', () => {
    const rows = byModel(modelRows(input()));
    const mini = rows.get('gpt-4o-mini')!;
    assert.equal(mini.priceText, '每百万 Token 输入 ¥0.15 / 输出 ¥0.60');
    assert.equal(mini.description, '每百万 ¥0.15/¥0.60 · 可用率 100% · 2 个密钥');
    assert.equal(rows.get('gpt-4o-image')!.priceText, '每次 ¥0.10');
    assert.equal(rows.get('gemini-2.5-pro')!.priceText, '价格未知');
    const opus = rows.get('[官Max]claude-opus-4-1-20250805')!;
    assert.match(opus.description, /可用率 87\.75%（偏低）/);
    assert.match(opus.tooltip, /可用率：87\.75%（低于 95%：可能会失败）/);
    assert.match(mini.tooltip, /提供此模型的有 2 个密钥：/);
    assert.match(mini.tooltip, /暂时拒绝：no channel/);
    assert.match(mini.tooltip, /点击复制模型 ID。/);
    assert.equal(mini.label, 'gpt-4o-mini');
    for (const r of rows.values()) {
      const words = r.tooltip
        .replace(r.model, '')
        .replace(/sk-[\w…]+/g, '')
        .replace(/\(Claude A\)|Claude Sonnet 4\.5 官方Max|Token|ID|no channel/g, '')
        .match(/[A-Za-z]{3,}/g);
      assert.equal(words, null, `English left in the tooltip of ${r.model}: ${r.tooltip}`);
    }
  });
});
