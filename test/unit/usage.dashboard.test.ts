import * as assert from 'node:assert/strict';
import type { KeySnapshot, PoolSnapshot } from '../../src/core/pool/types';
import { setLanguage } from '../../src/core/l10n';
import { dashboardModel, forecastText, percentile } from '../../src/core/present';
import { DAY_MS, HOUR_MS, parseSince, UsageHistory, usageReport, type UsageRecordInput } from '../../src/core/usage';

const NOW = Date.UTC(2026, 10, 30, 12, 30, 0); // 20:30 in China (UTC+8)
const CST = 480;
const KEY_A = 'sk-aaaa…4444';
const KEY_B = 'sk-eeee…8888';
const MIN = 60_000;

function key(over: Partial<KeySnapshot> & { id: string }): KeySnapshot {
  return { masked: over.id, state: 'healthy', manuallyDisabled: false, consecutiveFailures: 0, stats: { requests: 0, successes: 0, failures: 0 }, exclusions: [], ...over };
}
const pool: PoolSnapshot = {
  keys: [
    key({ id: KEY_A, name: 'Main', balance: 3, stats: { requests: 9, successes: 9, failures: 0 } }),
    key({ id: KEY_B, state: 'cooling', coolingUntil: NOW + 30_000, reason: 'HTTP 429', balance: 1.5, stats: { requests: 4, successes: 2, failures: 2 } }),
  ],
  counts: { total: 2, healthy: 1, cooling: 1, disabled: 0, exhausted: 0, usable: 1 },
  totals: { requests: 13, successes: 11, failures: 2 },
  excludedPairs: 0,
  resets: 0,
};

function history(): UsageHistory {
  const h = new UsageHistory();
  const add = (at: number, cost: number | undefined, over: Partial<UsageRecordInput>) =>
    h.add({ method: 'POST', path: '/v1/chat/completions', status: 200, attempts: 1, durationMs: 500, aborted: false, stream: true, model: 'gpt-4o-mini', keyId: KEY_A, usage: { inputTokens: 100, outputTokens: 10 }, ...over }, at, cost);
  add(NOW - 20 * DAY_MS, 2, {});
  add(NOW - 2 * DAY_MS, 1, {});
  add(NOW - 10 * HOUR_MS, 0.5, { model: 'claude-sonnet-4-5', keyId: KEY_B, durationMs: 1000 });
  add(NOW - 2 * MIN, 0.01, { durationMs: 400 });
  add(NOW - 2 * MIN + 1, 0.01, { durationMs: 600 });
  add(NOW - MIN, 0, { model: 'claude-sonnet-4-5', keyId: KEY_B, status: 502, error: 'HTTP 502', usage: undefined, attempts: 4 });
  add(NOW - MIN + 1, 0, { model: 'claude-sonnet-4-5', keyId: KEY_B, status: 429, error: 'rate limited', usage: undefined });
  return h;
}

describe('usage dashboard model', () => {
  const model = dashboardModel(history(), { now: NOW, pool, balance: 4.5, utcOffsetMinutes: CST });

  it('today, 7 and 30 days: spend and tokens, by model and by key', () => {
    const [today, week, month] = model.periods;
    assert.deepEqual(
      model.periods.map((p) => [p.id, p.total.requests, p.total.costCny, p.total.costText]),
      [
        ['today', 5, 0.52, '¥0.52'],
        ['7d', 6, 1.52, '¥1.52'],
        ['30d', 7, 3.52, '¥3.52'],
      ],
    );
    assert.equal(today!.since, Date.UTC(2026, 10, 29, 16, 0, 0), 'midnight in China');
    assert.deepEqual(
      today!.byModel.map((m) => [m.model, m.requests, m.costText, Math.round(m.share * 100)]),
      [
        ['claude-sonnet-4-5', 3, '¥0.50', 96],
        ['gpt-4o-mini', 2, '¥0.02', 4],
      ],
    );
    assert.deepEqual(today!.byKey.map((k) => [k.key, k.requests, k.failures, k.inputText, k.costText]), [
      [KEY_B, 3, 2, '100', '¥0.50'],
      [KEY_A, 2, 0, '200', '¥0.02'],
    ]);
    assert.equal(month!.total.inputText, '500');
    assert.equal(week!.byKey.find((k) => k.key === KEY_A)!.costCny, 1.02);
  });

  it('agrees with the CLI report over the same period', () => {
    const report = usageReport(history(), { since: parseSince('7d', NOW), now: NOW });
    const week = model.periods[1]!;
    assert.equal(week.total.requests, report.total.requests);
    assert.equal(week.total.costCny, report.total.costCny);
    assert.deepEqual(week.byModel.map((m) => [m.model, m.requests, m.costCny]), report.byModel.map((m) => [m.model, m.requests, m.costCny]));
  });

  it('series: per local hour today, per local day for the longer periods', () => {
    const today = model.periods[0]!;
    assert.equal(today.series.length, 21);
    assert.equal(today.series[0]!.label, '00:00');
    assert.equal(today.series.at(-1)!.label, '20:00');
    assert.deepEqual(today.series.filter((p) => p.costCny > 0).map((p) => [p.label, p.requests, p.costCny]), [
      ['10:00', 1, 0.5],
      ['20:00', 4, 0.02],
    ]);
    const week = model.periods[1]!;
    assert.equal(week.series.length, 8, 'seven days back from 20:30 starts on the 23rd');
    assert.equal(week.series[0]!.label, '11-23');
    assert.deepEqual(week.series.filter((p) => p.costCny > 0).map((p) => [p.label, p.costCny]), [
      ['11-28', 1],
      ['11-30', 0.52],
    ]);
  });

  it('the balance with a forecast at the recent rate', () => {
    const rate = 1.52 / (2 + 0.5 / 24); // spend in the last 7 days, over the time since the first of it
    assert.deepEqual(model.balance, {
      totalCny: 4.5,
      text: '¥4.50',
      ratePerDayCny: Math.round(rate * 1e6) / 1e6,
      rateText: '¥0.75/day',
      daysLeft: Math.round((4.5 / rate) * 10) / 10,
      forecastText: 'about 6 days left',
      basis: 'estimate',
    });
  });

  it('prefers the account’s own figures for the rate when it has them', () => {
    const h = history();
    h.recordUtilised(KEY_A, 10, NOW - 3 * DAY_MS);
    h.recordUtilised(KEY_A, 14.5, NOW - 3 * HOUR_MS);
    const m = dashboardModel(h, { now: NOW, pool, balance: 4.5, utcOffsetMinutes: CST });
    assert.equal(m.balance!.basis, 'account');
    assert.equal(m.balance!.ratePerDayCny, 18, '¥4.50 in 6 hours (the shortest span a rate is taken over)');
    assert.equal(m.balance!.forecastText, 'about 6 hours left');
    const rowA = m.periods[0]!.byKey.find((k) => k.key === KEY_A)!;
    assert.equal(rowA.utilisedText, '¥4.50');
    assert.equal(rowA.differs, true, 'estimate ¥0.02, account ¥4.50');
  });

  it('no forecast without spend; none without a balance', () => {
    const empty = dashboardModel(new UsageHistory(), { now: NOW, balance: 10 });
    assert.deepEqual(empty.balance, { totalCny: 10, text: '¥10.00' });
    assert.equal(dashboardModel(history(), { now: NOW }).balance, undefined);
    assert.equal(empty.periods[0]!.total.costText, '¥0.00');
  });

  it('live: requests per minute, latency p50/p95, errors by reason', () => {
    const live = model.live;
    assert.equal(live.minutes, 30);
    assert.equal(live.perMinute.length, 30);
    assert.deepEqual(live.perMinute.slice(-3).map((m) => [m.label, m.requests, m.failures]), [
      ['20:28', 2, 0],
      ['20:29', 2, 2],
      ['20:30', 0, 0],
    ]);
    assert.equal(live.requestsPerMinute, 0.1);
    assert.equal(live.latencyP50Ms, 400);
    assert.equal(live.latencyP95Ms, 600);
    assert.equal(live.latencyP95Text, '600 ms');
    assert.deepEqual(live.errors, [
      { reason: 'HTTP 502', count: 1 },
      { reason: 'rate limited', count: 1 },
    ]);
    assert.equal(live.partial, false);
  });

  it('the pool’s state per key, with today’s spend and a forecast', () => {
    assert.deepEqual(
      model.keys.map((k) => [k.id, k.stateText, k.balanceText, k.todayCostText, k.requests, k.failures]),
      [
        [KEY_A, 'healthy', '¥3.00', '¥0.02', 9, 0],
        [KEY_B, 'cooling, back in 30 s', '¥1.50', '¥0.50', 4, 2],
      ],
    );
    assert.equal(model.keys[1]!.coolingUntil, NOW + 30_000);
    assert.ok(model.keys[0]!.forecastText?.startsWith('about '));
  });

  it('the recent requests, newest first, with what to filter by', () => {
    const { rows, filters } = model.recent;
    assert.equal(rows.length, 7);
    assert.deepEqual(
      rows.slice(0, 3).map((r) => [r.timeText, r.model, r.statusText, r.tokensText, r.costText, r.durationText]),
      [
        ['20:29:00', 'claude-sonnet-4-5', '429 · rate limited', '—', '¥0.00', '500 ms'],
        ['20:29:00', 'claude-sonnet-4-5', '502 · HTTP 502', '—', '¥0.00', '500 ms'],
        ['20:28:00', 'gpt-4o-mini', '200', '100 → 10', '¥0.01', '600 ms'],
      ],
    );
    assert.equal(rows.at(-1)!.timeText, '11-10 20:30:00', 'not today: with the date');
    assert.deepEqual(filters, { models: ['claude-sonnet-4-5', 'gpt-4o-mini'], keys: [KEY_A, KEY_B], statuses: [200, 429, 502] });
  });

  it('is plain data (survives postMessage) and holds no secret', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(model)), model);
  });
});

describe('usage dashboard helpers', () => {
  it('forecastText', () => {
    assert.equal(forecastText(10, 0), undefined);
    assert.equal(forecastText(10, 1)!.text, 'about 10 days left');
    assert.equal(forecastText(1.2, 1)!.text, 'about a day left');
    assert.equal(forecastText(0.5, 1)!.text, 'about 12 hours left');
    assert.equal(forecastText(0.01, 1)!.text, 'less than an hour left');
    assert.equal(forecastText(1000, 1)!.text, 'more than a year left');
    setLanguage('zh-cn');
    try {
      assert.equal(forecastText(10, 1)!.text, '约可用 10 天');
    } finally {
      setLanguage('en');
    }
  });
  it('percentile (nearest rank)', () => {
    assert.equal(percentile([], 50), undefined);
    assert.equal(percentile([5], 95), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95), 10);
  });
});
