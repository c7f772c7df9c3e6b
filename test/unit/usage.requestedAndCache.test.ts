// Issue 19: the usage history keeps the model a client asked for next to the one that served, and
// cache reads apart from cache writes; the report, the CLI table, the CSVs and the dashboard show
// both and the cache-hit share per model. A history written before either (rows of ten fields, one
// combined cache count) still reads, its cache tokens of unknown kind: never guessed as hits.
import * as assert from 'node:assert/strict';
import { setLanguage } from '../../src/core/l10n';
import { dashboardModel, formatUsageTable, requestedAsText } from '../../src/core/present';
import { decodeUsageHistory, type UsageDecodeReport } from '../../src/core/state';
import {
  cacheHitShare,
  HOUR_MS,
  normalizeUsage,
  recentRequestsCsv,
  usageCsv,
  UsageHistory,
  usageReport,
  type TokenUsage,
  type UsageHistoryData,
  type UsageRecordInput,
} from '../../src/core/usage';
import { addUsage, usageDelta } from '../../src/core/usage/historyMerge';

const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const KEY_A = 'sk-aaaa…4444';
const KEY_B = 'sk-eeee…8888';
const OPUS = '[官Max]claude-opus-4-6-20260205';

function rec(over: Partial<UsageRecordInput> = {}): UsageRecordInput {
  return { method: 'POST', path: '/v1/messages', model: OPUS, stream: true, status: 200, keyId: KEY_A, attempts: 1, durationMs: 900, aborted: false, usage: { inputTokens: 100, outputTokens: 20 }, ...over };
}

function load(data: unknown, now: number, report: UsageDecodeReport = { dropped: 0 }): UsageHistory {
  const decoded = decodeUsageHistory(data, report);
  if (decoded === undefined) throw new Error(report.problem);
  return UsageHistory.fromData(decoded, now);
}

/** A Claude Code session asking for claude-opus-4-8 (served by the Max channel's opus), plus a direct ask and a GPT one. */
function coding(): UsageHistory {
  const h = new UsageHistory();
  // First turn writes the cache, later turns read it (Anthropic: input_tokens leaves both out).
  h.add(rec({ requestedModel: 'claude-opus-4-8', usage: { inputTokens: 50, cacheWriteTokens: 950, outputTokens: 30 } }), T0 + 1_000, 0.01);
  h.add(rec({ requestedModel: 'claude-opus-4-8', usage: { inputTokens: 40, cacheReadTokens: 950, cacheWriteTokens: 10, outputTokens: 20 } }), T0 + 2_000, 0.01);
  h.add(rec({ requestedModel: 'claude-opus-4-8', keyId: KEY_B, usage: { inputTokens: 60, cacheReadTokens: 940, outputTokens: 20 } }), T0 + 3_000, 0.01);
  h.add(rec({ requestedModel: 'claude-opus-4-7' }), T0 + 4_000, 0.01);
  h.add(rec({ requestedModel: OPUS }), T0 + 5_000, 0.01); // asked for the served id itself: nothing to note
  h.add(rec({ model: 'gpt-4o-mini', path: '/v1/chat/completions', usage: { inputTokens: 400, cacheReadTokens: 600, outputTokens: 10 } }), T0 + 6_000, 0.001);
  return h;
}

describe('usage history: the requested model next to the served one', () => {
  it('records the requested model only when resolution sent another, per bucket and per request', () => {
    const h = coding();
    const opus = h.hourBuckets().filter((b) => b.model === OPUS);
    assert.deepEqual(
      opus.map((b) => [b.key, b.requested, b.requests]),
      [
        [KEY_A, 'claude-opus-4-8', 2],
        [KEY_B, 'claude-opus-4-8', 1],
        [KEY_A, 'claude-opus-4-7', 1],
        [KEY_A, '', 1],
      ],
    );
    const recent = h.recent();
    assert.equal(recent[0]!.requestedModel, 'claude-opus-4-8');
    assert.equal(recent[0]!.model, OPUS);
    assert.ok(!('requestedModel' in recent[4]!), 'asked for the served id: no requested model kept');
    assert.ok(!('requestedModel' in recent[5]!));
  });

  it('the report lists, per served model, the names it was asked for by, most requests first', () => {
    const report = usageReport(coding(), { since: T0, now: T0 + 10_000 });
    const opus = report.byModel.find((m) => m.model === OPUS)!;
    assert.equal(opus.requests, 5);
    assert.deepEqual(opus.requestedAs, [
      { model: 'claude-opus-4-8', requests: 3 },
      { model: 'claude-opus-4-7', requests: 1 },
    ]);
    assert.deepEqual(report.byModel.find((m) => m.model === 'gpt-4o-mini')!.requestedAs, []);
  });

  it('the CLI table notes the requested names under the served model', () => {
    const text = formatUsageTable(usageReport(coding(), { since: T0, now: T0 + 10_000 }));
    const lines = text.split('\n');
    const at = lines.findIndex((l) => l.startsWith(OPUS));
    assert.ok(at > 0, text);
    assert.equal(lines[at + 1], '  ↳ requested as claude-opus-4-8 (3), claude-opus-4-7 (1)', text);
    assert.ok(lines.every((l) => !l.startsWith('claude-opus-4-8')), 'a requested name is no row of its own');
  });

  it('lists three names, then how many more; escapes what a client put in a name', () => {
    const names = ['a', 'b', 'c', 'd', 'e\u001b[31mred'].map((model, i) => ({ model, requests: 10 - i }));
    assert.equal(requestedAsText(names), 'requested as a (10), b (9), c (8), 2 more');
    assert.equal(requestedAsText([{ model: 'x\u001b]0;pwned\u0007\nFAKE', requests: 1 }]), 'requested as x\\x1b]0;pwned\\x07\\nFAKE (1)');
    assert.equal(requestedAsText([]), '');
    setLanguage('zh-cn');
    try {
      assert.equal(requestedAsText(names.slice(0, 2)), '请求时为 a（10）、b（9）');
    } finally {
      setLanguage('en');
    }
  });

  it('the CSVs carry the requested model next to the model', () => {
    const h = coding();
    const hourly = usageCsv(h, T0).split('\r\n');
    assert.ok(hourly.includes(`2026-12-07T10:00:00.000Z,${KEY_A},${OPUS},claude-opus-4-8,2,0,2000,50,1910,950,960,0.02,0`), hourly.join('\n'));
    assert.ok(hourly.includes(`2026-12-07T10:00:00.000Z,${KEY_A},${OPUS},,1,0,100,20,0,0,0,0.01,0`), hourly.join('\n'));
    const recent = recentRequestsCsv(h, T0).split('\r\n');
    assert.equal(recent[1], `2026-12-07T10:00:01.000Z,POST,/v1/messages,${OPUS},claude-opus-4-8,${KEY_A},200,1,true,1000,30,950,0,950,0.01,900,false,,`);
  });
});

describe('usage history: cache reads and writes apart, the cache-hit share', () => {
  /** A history of one answer per wire format, each read by the meter's own normalizeUsage. */
  function wires(): UsageHistory {
    const h = new UsageHistory();
    const add = (model: string, usage: TokenUsage | undefined) => h.add(rec({ model, usage }), T0 + 1, 0);
    // Anthropic: input_tokens excludes the cache; reads and writes come apart.
    add('claude', normalizeUsage({ input_tokens: 100, cache_read_input_tokens: 800, cache_creation_input_tokens: 100, output_tokens: 5 }));
    // OpenAI chat: prompt_tokens includes its cached tokens (reads).
    add('gpt-chat', normalizeUsage({ prompt_tokens: 1000, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 600 } }));
    // Responses API: input_tokens includes input_tokens_details.cached_tokens (reads).
    add('gpt-responses', normalizeUsage({ input_tokens: 2000, input_tokens_details: { cached_tokens: 500 }, output_tokens: 5 }));
    add('no-cache', normalizeUsage({ prompt_tokens: 300, completion_tokens: 5 }));
    return h;
  }

  it('share = cache reads / all input tokens, right for each wire format', () => {
    const report = usageReport(wires(), { since: T0, now: T0 + 2 });
    const share = (m: string) => {
      const row = report.byModel.find((r) => r.model === m)!;
      return [row.inputTokens, row.cacheReadTokens, row.cacheWriteTokens, cacheHitShare(row)];
    };
    assert.deepEqual(share('claude'), [1000, 800, 100, { share: 0.8, atLeast: false }]);
    assert.deepEqual(share('gpt-chat'), [1000, 600, 0, { share: 0.6, atLeast: false }]);
    assert.deepEqual(share('gpt-responses'), [2000, 500, 0, { share: 0.25, atLeast: false }]);
    assert.deepEqual(share('no-cache'), [300, 0, 0, { share: 0, atLeast: false }]);
    assert.equal(cacheHitShare({ inputTokens: 0, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 }), null);
    const table = formatUsageTable(report);
    assert.match(table, /^claude\s+1\s+0\s+1,000\s+5\s+80%/m);
    assert.match(table, /^gpt-chat\s+1\s+0\s+1,000\s+5\s+60%/m);
    assert.match(table, /^gpt-responses\s+1\s+0\s+2,000\s+5\s+25%/m);
    assert.match(table, /^no-cache\s+1\s+0\s+300\s+5\s+0%/m);
  });

  it('a new file round-trips reads, writes and the requested model; rows without them stay ten fields', () => {
    const h = coding();
    const data = JSON.parse(JSON.stringify(h.toJSON())) as UsageHistoryData;
    const lengths = new Map(data.hours.map((r) => [`${r[2]}|${r[12] ?? ''}|${r[1]}`, r.length]));
    assert.equal(lengths.get(`${OPUS}|claude-opus-4-8|${KEY_A}`), 13);
    assert.equal(lengths.get(`gpt-4o-mini||${KEY_A}`), 12, 'cache tokens, nothing requested: the split only');
    assert.equal(lengths.get(`${OPUS}||${KEY_A}`), 10, 'no cache, nothing requested: the ten fields of before');
    const report = { dropped: 0 };
    const back = load(data, T0 + HOUR_MS, report);
    assert.equal(report.dropped, 0);
    assert.deepEqual(back.toJSON(), h.toJSON());
    assert.deepEqual(back.hourBuckets(), h.hourBuckets());
    assert.deepEqual(back.recent(), h.recent());
  });

  it('an old file (one combined cache count) reads without loss; its cache tokens stay of unknown kind', () => {
    const old = {
      version: 1,
      hours: [
        [T0, KEY_A, 'claude-sonnet-4-5', 2, 0, 1000, 40, 900, 0.02, 0],
        [T0, KEY_A, 'gpt-4o-mini', 1, 0, 100, 10, 0, 0.001, 0],
      ],
      utilised: [],
      baselines: [],
      recent: [
        { at: T0 + 1, method: 'POST', route: '/v1/messages', model: 'claude-sonnet-4-5', key: KEY_A, status: 200, attempts: 1, stream: true, inputTokens: 500, outputTokens: 20, cacheTokens: 450, costCny: 0.01, durationMs: 10, failed: false, aborted: false },
      ],
    };
    const report = { dropped: 0 };
    const h = load(old, T0 + 10, report);
    assert.equal(report.dropped, 0, 'an old row is no damaged row');
    const sonnet = h.hourBuckets().find((b) => b.model === 'claude-sonnet-4-5')!;
    assert.deepEqual([sonnet.cacheTokens, sonnet.cacheReadTokens, sonnet.cacheWriteTokens, sonnet.requested], [900, 0, 0, '']);
    // The share says "at least": the old tokens may have been reads, they are not counted as such.
    const r = usageReport(h, { since: T0, now: T0 + 10 });
    assert.deepEqual(cacheHitShare(r.byModel.find((m) => m.model === 'claude-sonnet-4-5')!), { share: 0, atLeast: true });
    const table = formatUsageTable(r);
    assert.match(table, /^claude-sonnet-4-5\s+2\s+0\s+1,000\s+40\s+≥0%/m);
    assert.match(table, /^gpt-4o-mini\s+1\s+0\s+100\s+10\s+0%/m);
    assert.ok(table.includes('≥: part of the cache tokens was recorded before reads and writes were kept apart'), table);
    // The CSVs leave the split empty (unknown), not 0.
    assert.ok(usageCsv(h, T0).includes(`,${KEY_A},claude-sonnet-4-5,,2,0,1000,40,900,,,0.02,0`));
    assert.ok(recentRequestsCsv(h).includes(',500,20,450,,,0.01,'));
    // Written again and read back: still unknown, nothing invented.
    const again = load(JSON.parse(JSON.stringify(h.toJSON())), T0 + 10);
    assert.deepEqual(again.hourBuckets(), h.hourBuckets());
    assert.deepEqual(again.recent(), h.recent());
    // New requests in the same hour add their known split; the old part stays unknown.
    again.add(rec({ model: 'claude-sonnet-4-5', usage: { inputTokens: 100, cacheReadTokens: 900, outputTokens: 1 } }), T0 + 20, 0.01);
    const mixed = again.hourBuckets().find((b) => b.model === 'claude-sonnet-4-5')!;
    assert.deepEqual([mixed.cacheTokens, mixed.cacheReadTokens, mixed.cacheWriteTokens], [1800, 900, 0]);
    assert.deepEqual(cacheHitShare(mixed), { share: 0.45, atLeast: true });
  });

  it('reads what makes sense of the later fields and keeps the row when they do not', () => {
    const data = {
      version: 1,
      hours: [
        [T0, KEY_A, 'a', 1, 0, 100, 1, 50, 0, 0, 40, 20], // reads + writes above the cache tokens
        [T0, KEY_A, 'b', 1, 0, 100, 1, 50, 0, 0, 'x', 1, 7], // not counts; a requested that is no text
        [T0, KEY_A, 'c', 1, 0, 100, 1, 0, 0, 0, 0, 0, 'c'], // requested = served
        [T0, KEY_A, 'd', 1, 0, 100, 1, 30, 0, 0, 10, 20, 'x'.repeat(500)],
      ],
      recent: [{ at: T0, route: '/v1/messages', model: 'm', requestedModel: 'm', status: 200, attempts: 1, durationMs: 1, costCny: 0, cacheTokens: 10, cacheReadTokens: 30 }],
    };
    const report = { dropped: 0 };
    const h = load(data, T0 + 1, report);
    assert.equal(report.dropped, 0);
    const by = new Map(h.hourBuckets().map((b) => [b.model, b]));
    assert.deepEqual([by.get('a')!.cacheReadTokens, by.get('a')!.cacheWriteTokens, by.get('a')!.cacheTokens], [0, 0, 50]);
    assert.deepEqual([by.get('b')!.cacheReadTokens, by.get('b')!.requested], [0, '']);
    assert.equal(by.get('c')!.requested, '');
    assert.deepEqual([by.get('d')!.cacheReadTokens, by.get('d')!.cacheWriteTokens, by.get('d')!.requested.length], [10, 20, 200]);
    const [r] = h.recent();
    assert.equal(r!.requestedModel, undefined);
    assert.equal(r!.cacheReadTokens, undefined, 'a split above the total is dropped');
    assert.equal(r!.cacheTokens, 10);
  });

  it('two processes on one file: each adds its own reads, writes and requested names', () => {
    const a = new UsageHistory();
    a.add(rec({ requestedModel: 'claude-opus-4-8', usage: { inputTokens: 10, cacheReadTokens: 90, outputTokens: 1 } }), T0 + 1, 0.01);
    const base = a.toJSON();
    a.add(rec({ requestedModel: 'claude-opus-4-8', usage: { inputTokens: 10, cacheWriteTokens: 90, outputTokens: 1 } }), T0 + 2, 0.01);
    const b = new UsageHistory();
    b.add(rec({ requestedModel: 'claude-opus-4-8', usage: { inputTokens: 20, cacheReadTokens: 80, outputTokens: 1 } }), T0 + 3, 0.01);
    b.add(rec({ usage: { inputTokens: 5, outputTokens: 1 } }), T0 + 4, 0.01);
    const disk = addUsage(base, b.toJSON());
    const merged = load(JSON.parse(JSON.stringify(addUsage(disk, usageDelta(a.toJSON(), base)))), T0 + 5);
    const asked = merged.hourBuckets().find((x) => x.requested === 'claude-opus-4-8')!;
    assert.deepEqual(
      [asked.requests, asked.inputTokens, asked.cacheTokens, asked.cacheReadTokens, asked.cacheWriteTokens],
      [3, 300, 260, 170, 90],
    );
    assert.equal(merged.hourBuckets().find((x) => x.requested === '')!.requests, 1);
    assert.equal(merged.recent().length, 4);
  });
});

describe('usage dashboard: requested and served model, cache-hit share per model', () => {
  const model = dashboardModel(coding(), { now: T0 + 10_000, utcOffsetMinutes: 0 });
  const today = model.periods[0]!;

  it('by model: the served model with the names it was asked for, and its cache-hit share', () => {
    const opus = today.byModel.find((m) => m.model === OPUS)!;
    assert.equal(opus.requestedAsText, 'requested as claude-opus-4-8 (3), claude-opus-4-7 (1)');
    // 1,890 of 3,200 input tokens read from the cache.
    assert.equal(opus.cacheReadTokens, 1890);
    assert.equal(opus.inputTokens, 3200);
    assert.equal(opus.cacheHitText, '59%');
    assert.equal(opus.cacheDetailText, 'Cache reads 1,890 · cache writes 960 · input tokens in all 3,200');
    assert.equal(opus.cacheHitAtLeast, false);
    const gpt = today.byModel.find((m) => m.model === 'gpt-4o-mini')!;
    assert.equal(gpt.requestedAsText, '');
    assert.equal(gpt.cacheHitText, '60%');
    assert.equal(today.total.cacheHitText, '59%'); // 2,490 of 4,200
  });

  it('recent requests: requested next to served; the model filter offers both names', () => {
    const first = model.recent.rows.at(-1)!;
    assert.equal(first.model, OPUS);
    assert.equal(first.requestedModel, 'claude-opus-4-8');
    assert.ok(!('requestedModel' in model.recent.rows[0]!), 'gpt-4o-mini asked for itself');
    assert.deepEqual(model.recent.filters.models, [OPUS, 'claude-opus-4-7', 'claude-opus-4-8', 'gpt-4o-mini']);
  });

  it('in Chinese', () => {
    setLanguage('zh-cn');
    try {
      const zh = dashboardModel(coding(), { now: T0 + 10_000 }).periods[0]!.byModel.find((m) => m.model === OPUS)!;
      assert.equal(zh.requestedAsText, '请求时为 claude-opus-4-8（3）、claude-opus-4-7（1）');
      assert.equal(zh.cacheDetailText, '缓存读取 1,890 · 缓存写入 960 · 输入 token 共 3,200');
    } finally {
      setLanguage('en');
    }
  });
});
