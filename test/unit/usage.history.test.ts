import * as assert from 'node:assert/strict';
import { decodeUsageHistory, type UsageDecodeReport } from '../../src/core/state';
import { DAY_MS, HOUR_MS, UsageHistory, type UsageRecordInput } from '../../src/core/usage';

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0); // 2026-11-30 10:00 UTC
const KEY_A = 'sk-aaaa…4444';
const KEY_B = 'sk-eeee…8888';
const SECRET = 'sk-aaaa1111bbbb2222cccc3333dddd4444';

/** A history from its file form as the product reads it: the state file's decoder, then fromData. Throws what the decoder found wrong. */
function load(data: unknown, now: number, report: UsageDecodeReport = { dropped: 0 }): UsageHistory {
  const decoded = decodeUsageHistory(data, report);
  if (decoded === undefined) throw new Error(report.problem);
  return UsageHistory.fromData(decoded, now);
}

function rec(over: Partial<UsageRecordInput> = {}): UsageRecordInput {
  return { method: 'POST', path: '/v1/chat/completions', model: 'gpt-4o-mini', stream: true, status: 200, keyId: KEY_A, attempts: 1, durationMs: 800, aborted: false, usage: { inputTokens: 100, outputTokens: 20 }, ...over };
}

describe('usage history: hourly roll-up', () => {
  it('sums requests, failures, tokens and known cost per hour, key and model', () => {
    const h = new UsageHistory();
    h.add(rec(), T0 + 60_000, 0.001);
    h.add(rec({ usage: { inputTokens: 50, cacheReadTokens: 200, outputTokens: 5 } }), T0 + 120_000, 0.002);
    h.add(rec({ status: 502, usage: undefined, error: 'HTTP 502' }), T0 + 180_000, 0);
    h.add(rec({ keyId: KEY_B }), T0 + 240_000, 0.001);
    h.add(rec({ model: 'claude-x' }), T0 + 300_000, undefined); // price unknown
    h.add(rec(), T0 + HOUR_MS + 1, 0.001); // next hour

    const buckets = h.hourBuckets();
    assert.equal(buckets.length, 4);
    const a = buckets.find((b) => b.hour === T0 && b.key === KEY_A && b.model === 'gpt-4o-mini')!;
    assert.deepEqual(
      { ...a },
      { hour: T0, key: KEY_A, model: 'gpt-4o-mini', requested: '', requests: 3, failures: 1, inputTokens: 350, outputTokens: 25, cacheTokens: 200, cacheReadTokens: 200, cacheWriteTokens: 0, costCny: 0.003, unpricedRequests: 0 },
    );
    const unknown = buckets.find((b) => b.model === 'claude-x')!;
    assert.equal(unknown.unpricedRequests, 1);
    assert.equal(unknown.costCny, 0);
    assert.equal(buckets.filter((b) => b.hour === T0 + HOUR_MS).length, 1);
    assert.equal(h.hourBuckets(T0 + HOUR_MS).length, 1, 'since: the hours that end after it');
  });

  it('a client that hangs up is not a failure; a cut stream is', () => {
    const h = new UsageHistory();
    h.add(rec({ aborted: true, error: 'client went away' }), T0, undefined);
    h.add(rec({ error: 'cut mid-stream: ECONNRESET' }), T0, undefined);
    h.add(rec({ status: 429 }), T0, 0);
    assert.equal(h.hourBuckets()[0]!.failures, 2);
  });

  it('keeps 90 days on the injected clock: pruned on add and on load', () => {
    const h = new UsageHistory();
    h.add(rec(), T0, 0.01);
    h.add(rec({ model: 'later' }), T0 + 10 * DAY_MS, 0.01);
    h.recordUtilised(KEY_A, 1, T0);
    h.recordUtilised(KEY_A, 2, T0 + 1000);
    assert.equal(h.hourBuckets().length, 2);
    h.add(rec({ model: 'much later' }), T0 + 90 * DAY_MS + HOUR_MS, 0.01);
    assert.deepEqual(h.hourBuckets().map((b) => b.model), ['later', 'much later']);
    assert.equal(h.utilisedBuckets().length, 0);
    assert.deepEqual(h.recent().map((r) => r.model), ['later', 'much later']);

    const saved = JSON.parse(JSON.stringify(h.toJSON()));
    const loaded = load(saved, T0 + 100 * DAY_MS + HOUR_MS);
    assert.deepEqual(loaded.hourBuckets().map((b) => b.model), ['much later']);
    assert.deepEqual(loaded.recent().map((r) => r.model), ['much later']);
  });

  it('keeps the last 1,000 requests, oldest first', () => {
    const h = new UsageHistory();
    for (let i = 0; i < 1234; i++) h.add(rec({ model: `m${i}` }), T0 + i, 0);
    const recent = h.recent();
    assert.equal(recent.length, 1000);
    assert.equal(recent[0]!.model, 'm234');
    assert.equal(recent[999]!.model, 'm1233');
    assert.equal(h.toJSON().recent.length, 1000);
    assert.equal(load(JSON.parse(JSON.stringify(h.toJSON())), T0 + 2000).recent()[0]!.model, 'm234');
  });

  it('is bounded in buckets: the oldest go first', () => {
    const h = new UsageHistory({ maxBuckets: 5 });
    for (let i = 0; i < 8; i++) h.add(rec({ model: `m${i}` }), T0 + i * HOUR_MS, 0);
    assert.deepEqual(h.hourBuckets().map((b) => b.model), ['m3', 'm4', 'm5', 'm6', 'm7']);
  });

  it('records a recent request with everything the table shows, and no secret', () => {
    const h = new UsageHistory();
    h.add(rec({ path: '/v1/messages?beta=true', keyId: SECRET, error: `upstream said: invalid key ${SECRET}`, status: 401 }), T0 + 5, 0);
    const [r] = h.recent();
    assert.deepEqual(r, {
      at: T0 + 5,
      method: 'POST',
      route: '/v1/messages',
      model: 'gpt-4o-mini',
      key: 'sk-aaaa…4444',
      status: 401,
      attempts: 1,
      stream: true,
      inputTokens: 100,
      outputTokens: 20,
      costCny: 0,
      durationMs: 800,
      failed: true,
      aborted: false,
      error: 'upstream said: invalid key sk-aaaa…4444',
    });
    assert.ok(!JSON.stringify(h.toJSON()).includes(SECRET));
  });

  it('fires onDidChange on add', () => {
    const h = new UsageHistory();
    let n = 0;
    const sub = h.onDidChange(() => n++);
    h.add(rec(), T0, 0);
    sub.dispose();
    h.add(rec(), T0, 0);
    assert.equal(n, 1);
  });
});

describe('usage history: the account’s own spend (utilised)', () => {
  it('keeps the rise of utilised per key and hour; the first reading is a baseline; a fall is no spend', () => {
    const h = new UsageHistory();
    h.recordUtilised(KEY_A, 10, T0);
    h.recordUtilised(KEY_A, 10.5, T0 + 60_000);
    h.recordUtilised(KEY_A, 10.75, T0 + 120_000);
    h.recordUtilised(KEY_B, 3, T0 + 120_000);
    h.recordUtilised(KEY_A, 9, T0 + HOUR_MS); // refund
    h.recordUtilised(KEY_A, 9.2, T0 + HOUR_MS + 1);
    h.recordUtilised(KEY_A, Number.NaN, T0 + HOUR_MS + 2);
    const rows = h.utilisedBuckets().map((b) => [b.hour - T0, b.key, Math.round(b.yuan * 1e6) / 1e6]);
    assert.deepEqual(rows, [
      [0, KEY_A, 0.75],
      [HOUR_MS, KEY_A, 0.2],
    ]);
  });

  it('recordUtilisedFrom reads a pool snapshot’s keys', () => {
    const h = new UsageHistory();
    h.recordUtilisedFrom([{ id: KEY_A, used: 1 }, { id: KEY_B }], T0);
    h.recordUtilisedFrom([{ id: KEY_A, used: 1.25 }, { id: KEY_B, used: 4 }], T0 + 1);
    h.recordUtilisedFrom([{ id: KEY_A, used: 1.25 }, { id: KEY_B, used: 4.5 }], T0 + 2);
    assert.deepEqual(h.utilisedBuckets().map((b) => [b.key, b.yuan]), [
      [KEY_A, 0.25],
      [KEY_B, 0.5],
    ]);
  });

  it('the baseline survives a restart (toJSON, decoder, fromData)', () => {
    const h = new UsageHistory();
    h.recordUtilised(KEY_A, 10, T0);
    const loaded = load(JSON.parse(JSON.stringify(h.toJSON())), T0 + HOUR_MS);
    loaded.recordUtilised(KEY_A, 11, T0 + HOUR_MS);
    assert.deepEqual(loaded.utilisedBuckets().map((b) => b.yuan), [1]);
  });
});

describe('usage history: toJSON / the state file\'s decoder and fromData', () => {
  function sample(): UsageHistory {
    const h = new UsageHistory();
    h.add(rec(), T0 + 1, 0.0012);
    h.add(rec({ keyId: KEY_B, model: '[官Max]claude, "quoted"', usage: { inputTokens: 1, cacheWriteTokens: 2, outputTokens: 3 } }), T0 + 2, undefined);
    h.add(rec({ status: 503, error: 'no channel', usage: undefined }), T0 + HOUR_MS, 0);
    h.recordUtilised(KEY_A, 1, T0);
    h.recordUtilised(KEY_A, 1.5, T0 + 3);
    return h;
  }

  it('round-trips through JSON text', () => {
    const h = sample();
    const data = JSON.parse(JSON.stringify(h.toJSON()));
    assert.equal(data.version, 1);
    const report = { dropped: 0 };
    const back = load(data, T0 + 2 * HOUR_MS, report);
    assert.deepEqual(back.toJSON(), h.toJSON());
    assert.equal(report.dropped, 0);
  });

  it('drops damaged entries, keeps the rest', () => {
    const data = JSON.parse(JSON.stringify(sample().toJSON()));
    data.hours.push([T0, KEY_A, 'x', -1, 0, 0, 0, 0, 0, 0], 'junk', [T0, 1, 'x', 1, 0, 0, 0, 0, 0, 0], [T0, KEY_A, 'x', 1, 2, 0, 0, 0, 0, 0], [T0, KEY_A, 'x', 1, 0, 0, 0, 0, 'NaN', 0]);
    data.utilised.push([T0, KEY_A, -5], null);
    data.baselines.push(['k', 'x', 1]);
    data.recent.push({ at: 'yesterday' }, 7, { ...data.recent[0], costCny: 'free' });
    const report = { dropped: 0 };
    const back = load(data, T0 + 2 * HOUR_MS, report);
    assert.equal(report.dropped, 11);
    assert.deepEqual(back.toJSON(), sample().toJSON());
  });

  it('missing data is an empty history; a different format or version throws (so the file is set aside, not overwritten)', () => {
    assert.equal(load(undefined, T0).hourBuckets().length, 0);
    assert.equal(load(null, T0).recent().length, 0);
    assert.throws(() => load([1, 2], T0), /usage history/);
    assert.throws(() => load({ version: 2, hours: [] }, T0), /version 2/);
    const noLists = load({ version: 1 }, T0);
    assert.equal(noLists.hourBuckets().length, 0);
  });

  it('masks a key in clear found in a file', () => {
    const data = JSON.parse(JSON.stringify(sample().toJSON()));
    data.hours[0][1] = SECRET;
    data.recent[0].key = SECRET;
    const text = JSON.stringify(load(data, T0 + 2 * HOUR_MS).toJSON());
    assert.ok(!text.includes(SECRET));
    assert.ok(text.includes('sk-aaaa…4444'));
  });
});
