import * as assert from 'node:assert/strict';
import { displayWidth, formatUsageTable, formatYuan } from '../../src/core/present';
import { setLanguage } from '../../src/core/l10n';
import {
  csvField,
  DAY_MS,
  HOUR_MS,
  parseSince,
  PriceBook,
  recentRequestsCsv,
  requestCost,
  usageCsv,
  UsageHistory,
  usageReport,
  type UsageRecordInput,
} from '../../src/core/usage';

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0);
const KEY_A = 'sk-aaaa…4444';
const KEY_B = 'sk-eeee…8888';
const book = new PriceBook([
  { model: 'gpt-4o-mini', inputPerMillion: 1, outputPerMillion: 4 },
  { model: '[官Max]claude-sonnet-4-5', inputPerMillion: 20, outputPerMillion: 100 },
]);

/** A known session: what the forwarder would have recorded, priced as the lead wires it. */
function session(): UsageHistory {
  const h = new UsageHistory();
  const add = (at: number, over: Partial<UsageRecordInput>) => {
    const r: UsageRecordInput = { method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1, durationMs: 500, aborted: false, stream: true, ...over };
    h.add(r, at, requestCost(r, book));
  };
  add(T0 + 1_000, { model: 'gpt-4o-mini', keyId: KEY_A, usage: { inputTokens: 1000, outputTokens: 500 } }); // ¥0.003
  add(T0 + 2_000, { model: 'gpt-4o-mini', keyId: KEY_B, usage: { inputTokens: 2000, outputTokens: 250 } }); // ¥0.003
  add(T0 + 3_000, { model: 'claude-sonnet-4-5', path: '/v1/messages', keyId: KEY_A, usage: { inputTokens: 100, cacheReadTokens: 900, outputTokens: 100 } }); // ¥0.03
  add(T0 + 4_000, { model: 'gpt-4o-mini', keyId: KEY_A, status: 502, attempts: 4, error: 'HTTP 502' }); // ¥0
  add(T0 + HOUR_MS, { model: 'mystery-model', keyId: KEY_B, usage: { inputTokens: 10, outputTokens: 10 } }); // unknown
  add(T0 - 3 * DAY_MS, { model: 'gpt-4o-mini', keyId: KEY_A, usage: { inputTokens: 1e6, outputTokens: 0 } }); // ¥1, outside 24h
  h.recordUtilised(KEY_A, 5, T0);
  h.recordUtilised(KEY_A, 5.04, T0 + 10_000);
  return h;
}

describe('usage report (daidai-proxy usage --json)', () => {
  it('gives the JSON for a known session', () => {
    const now = T0 + HOUR_MS + 30 * 60_000;
    const report = usageReport(session(), { since: parseSince('24h', now), now });
    assert.deepEqual(report, {
      since: '2026-11-29T11:00:00.000Z',
      until: '2026-11-30T11:30:00.000Z',
      total: { requests: 5, failures: 1, inputTokens: 4010, outputTokens: 860, cacheTokens: 900, cacheReadTokens: 900, cacheWriteTokens: 0, costCny: 0.036, unpricedRequests: 1, utilisedCny: 0.04 },
      byModel: [
        { model: 'claude-sonnet-4-5', requestedAs: [], requests: 1, failures: 0, inputTokens: 1000, outputTokens: 100, cacheTokens: 900, cacheReadTokens: 900, cacheWriteTokens: 0, costCny: 0.03, unpricedRequests: 0 },
        { model: 'gpt-4o-mini', requestedAs: [], requests: 3, failures: 1, inputTokens: 3000, outputTokens: 750, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costCny: 0.006, unpricedRequests: 0 },
        { model: 'mystery-model', requestedAs: [], requests: 1, failures: 0, inputTokens: 10, outputTokens: 10, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costCny: null, unpricedRequests: 1 },
      ],
      byKey: [
        { key: KEY_A, requests: 3, failures: 1, inputTokens: 2000, outputTokens: 600, cacheTokens: 900, cacheReadTokens: 900, cacheWriteTokens: 0, costCny: 0.033, unpricedRequests: 0, utilisedCny: 0.04 },
        { key: KEY_B, requests: 2, failures: 0, inputTokens: 2010, outputTokens: 260, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costCny: 0.003, unpricedRequests: 1, utilisedCny: null },
      ],
    });
    // The shape the issue names, in every row.
    for (const row of [report.total, ...report.byModel, ...report.byKey]) {
      for (const f of ['requests', 'inputTokens', 'outputTokens', 'costCny']) assert.ok(f in row, f);
    }
  });

  it('a longer period takes the older hours in', () => {
    const now = T0 + HOUR_MS;
    const report = usageReport(session(), { since: parseSince('7d', now), now });
    assert.equal(report.total.requests, 6);
    assert.equal(report.total.costCny, 1.036);
  });

  it('a key the account says spent, with no request through the proxy, is listed', () => {
    const h = new UsageHistory();
    h.recordUtilised(KEY_B, 1, T0);
    h.recordUtilised(KEY_B, 3, T0 + 1);
    const report = usageReport(h, { since: T0 - DAY_MS, now: T0 + 2 });
    assert.deepEqual(report.byKey, [{ key: KEY_B, requests: 0, failures: 0, inputTokens: 0, outputTokens: 0, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costCny: 0, unpricedRequests: 0, utilisedCny: 2 }]);
    assert.equal(report.total.utilisedCny, 2);
  });

  it('formats the table: by model, by key, total; ¥ as ¥12.50; unknown prices said so', () => {
    const now = T0 + HOUR_MS + 30 * 60_000;
    const text = formatUsageTable(usageReport(session(), { since: parseSince('24h', now), now }));
    const lines = text.split('\n');
    assert.equal(lines[0], 'Usage since 2026-11-29 11:00 UTC (until 2026-11-30 11:30 UTC)');
    // Cache hit: cache reads over all input (900 of 1,000 for Claude; 900 of 4,010 in all).
    assert.ok(lines.some((l) => /^claude-sonnet-4-5\s+1\s+0\s+1,000\s+100\s+90%\s+¥0\.03$/.test(l)), text);
    assert.ok(lines.some((l) => /^mystery-model\s+1\s+0\s+10\s+10\s+0%\s+price unknown$/.test(l)), text);
    assert.ok(lines.some((l) => /^sk-eeee…8888\s+2\s+0\s+2,010\s+260\s+0%\s+<¥0\.01\*$/.test(l)), text);
    assert.ok(lines.some((l) => /^Total\s+5\s+1\s+4,010\s+860\s+22%\s+¥0\.04\*$/.test(l)), text);
    assert.ok(text.includes('cache tokens are estimated at the input price'), 'cache tokens were used: says how they are priced');
    assert.ok(!text.includes('≥'), 'every cache token of this session has its kind');
    assert.ok(text.includes('* Requests without a known price: 1.'));
    assert.ok(text.includes('The account itself reports ¥0.04 spent'));
    // Columns line up: every row of a section ends at the same column.
    const ends = lines.filter((l) => /^(gpt|claude|mystery|Total|sk-)/.test(l)).map(displayWidth);
    assert.equal(new Set(ends).size, 1, text);
  });

  it('lines up CJK model names (two columns each)', () => {
    const h = new UsageHistory();
    h.add({ method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1, durationMs: 1, aborted: false, model: '[官Max]claude', keyId: KEY_A }, T0, 12.5);
    h.add({ method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1, durationMs: 1, aborted: false, model: 'gpt-4o-mini-long', keyId: KEY_A }, T0, 1);
    const lines = formatUsageTable(usageReport(h, { since: T0, now: T0 + 1 })).split('\n');
    const rows = lines.filter((l) => l.startsWith('[官Max]') || l.startsWith('gpt-4o-mini-long'));
    assert.equal(rows.length, 2);
    assert.equal(displayWidth(rows[0]!), displayWidth(rows[1]!));
    assert.ok(rows[0]!.endsWith('¥12.50'));
  });

  it('formatYuan: amounts, spend (under a fen said so), prices (the digits they need), unknown', () => {
    assert.equal(formatYuan(12.5), '¥12.50');
    assert.equal(formatYuan(0), '¥0.00');
    assert.equal(formatYuan(0.001), '¥0.00');
    assert.equal(formatYuan(0.001, 'spend'), '<¥0.01');
    assert.equal(formatYuan(0, 'spend'), '¥0.00');
    assert.equal(formatYuan(0.075, 'price'), '¥0.075');
    assert.equal(formatYuan(15, 'price'), '¥15.00');
    assert.equal(formatYuan(null), '¥?');
    assert.equal(formatYuan(undefined, 'spend'), '¥?');
  });

  it('writes the table in Chinese with the core t() (no translator passed in)', () => {
    const now = T0 + HOUR_MS + 30 * 60_000;
    setLanguage('zh-cn');
    try {
      const text = formatUsageTable(usageReport(session(), { since: parseSince('24h', now), now }));
      assert.ok(text.includes('价格未知'), text);
      assert.ok(!text.includes('price unknown'), text);
      assert.ok(!text.includes('By model'), text);
    } finally {
      setLanguage('en');
    }
  });
});

describe('usage report: parseSince', () => {
  const now = Date.UTC(2026, 11, 1, 6, 0, 0);
  it('reads periods and dates', () => {
    assert.equal(parseSince('24h', now), now - DAY_MS);
    assert.equal(parseSince('7d', now), now - 7 * DAY_MS);
    assert.equal(parseSince(' 30d ', now), now - 30 * DAY_MS);
    assert.equal(parseSince('2w', now), now - 14 * DAY_MS);
    assert.equal(parseSince('90min', now), now - 90 * 60_000);
    assert.equal(parseSince('2026-11-30', now), Date.UTC(2026, 10, 30));
    assert.equal(parseSince('2026-11-30T08:00:00+08:00', now), Date.UTC(2026, 10, 30, 0, 0, 0));
  });
  it('says what it takes on anything else', () => {
    for (const bad of ['', 'yesterday', '7', '7x', '2026-13-45']) assert.throws(() => parseSince(bad, now), /Use 24h, 7d, 30d/, bad);
  });
});

describe('usage report: CSV', () => {
  it('quotes as RFC 4180 says', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('cr\rhere'), '"cr\rhere"');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(null), '');
    assert.equal(csvField(12.5), '12.5');
  });

  it('one row per hour × key × model, CRLF, cost empty when unknown', () => {
    const h = session();
    h.add({ method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1, durationMs: 1, aborted: false, model: '=HYPERLINK("x"),"quoted"', keyId: KEY_A }, T0 + 5_000, undefined);
    const text = usageCsv(h, T0);
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'hour_start,key,model,requested_model,requests,failures,input_tokens,output_tokens,cache_tokens,cache_read_tokens,cache_write_tokens,cost_cny,unpriced_requests');
    assert.equal(lines.at(-1), '', 'ends with CRLF');
    assert.deepEqual(lines.slice(1, -1), [
      `2026-11-30T10:00:00.000Z,${KEY_A},"'=HYPERLINK(""x""),""quoted""",,1,0,0,0,0,0,0,,1`,
      `2026-11-30T10:00:00.000Z,${KEY_A},claude-sonnet-4-5,,1,0,1000,100,900,900,0,0.03,0`,
      `2026-11-30T10:00:00.000Z,${KEY_A},gpt-4o-mini,,2,1,1000,500,0,0,0,0.003,0`,
      `2026-11-30T10:00:00.000Z,${KEY_B},gpt-4o-mini,,1,0,2000,250,0,0,0,0.003,0`,
      `2026-11-30T11:00:00.000Z,${KEY_B},mystery-model,,1,0,10,10,0,0,0,,1`,
    ]);
    assert.ok(usageCsv(h, T0, { bom: true }).startsWith('\ufeffhour_start,'));
  });

  it('the recent requests as CSV', () => {
    const text = recentRequestsCsv(session(), T0);
    const lines = text.split('\r\n');
    assert.equal(lines[0], 'time,method,route,model,requested_model,key,status,attempts,stream,input_tokens,output_tokens,cache_tokens,cache_read_tokens,cache_write_tokens,cost_cny,duration_ms,failed,error,source');
    assert.equal(lines.length, 2 + 5);
    assert.equal(lines[3], `2026-11-30T10:00:03.000Z,POST,/v1/messages,claude-sonnet-4-5,,${KEY_A},200,1,true,1000,100,900,900,0,0.03,500,false,,`);
    assert.equal(lines[4], `2026-11-30T10:00:04.000Z,POST,/v1/chat/completions,gpt-4o-mini,,${KEY_A},502,4,true,,,,,,0,500,true,HTTP 502,`);
    assert.equal(lines[5], `2026-11-30T11:00:00.000Z,POST,/v1/chat/completions,mystery-model,,${KEY_B},200,1,true,10,10,,,,,500,false,,`);
  });
});
