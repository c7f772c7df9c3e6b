// The dashboard's model: everything the webview draws, computed here from the same history
// and the same sums as `daidai-proxy usage`, so the two agree. Pure: clock, time zone and
// translation come in; the page only places numbers and strings, it computes none.

import { t } from '../l10n';
import type { KeySnapshot, KeyState, PoolSnapshot } from '../pool/types';
import {
  cacheHitShare,
  DAY_MS,
  emptySum,
  groupBuckets,
  HOUR_MS,
  hourOf,
  requestedAsByModel,
  roundYuan,
  sumBuckets,
  totalsOf,
  utilisedByKey,
  type HourBucket,
  type RecentRequest,
  type RequestedAs,
  type UsageHistory,
  type UsageTotals,
} from '../usage';
import { formatYuan } from './format';
import { keyStateText } from './keys';
import { cacheHitText, costText, formatCount, requestedAsText } from './usageTable';

export interface DashboardInput {
  now: number;
  /** The pool as it is now (keys' state, balances). */
  pool?: PoolSnapshot;
  /** The account's total balance (¥), when known. */
  balance?: number;
  /** The user's offset from UTC in minutes (`-new Date().getTimezoneOffset()`), for "today" and the times shown. */
  utcOffsetMinutes?: number;
  /** Minutes the live part covers (default 30). */
  liveMinutes?: number;
}

export interface TotalsView extends UsageTotals {
  costText: string;
  inputText: string;
  outputText: string;
  requestsText: string;
  /** Cache reads over all input tokens, as text (`85%`, `≥40%`, `—`). */
  cacheHitText: string;
  /** Cache reads, writes and all input tokens, for the tooltip. */
  cacheDetailText: string;
  /** Part of the cache tokens was recorded before reads and writes were kept apart: the share is a lower bound. */
  cacheHitAtLeast: boolean;
}
export interface ShareView extends TotalsView {
  /** Part of the period's known cost (0–1; 0 when nothing is known). */
  share: number;
}
export interface ModelSpendRow extends ShareView {
  /** The model sent upstream (the one that served and is priced). */
  model: string;
  label: string;
  /** The names clients asked for it by, when resolution sent this model. */
  requestedAs: RequestedAs[];
  /** `requested as claude-opus-4-8 (12)`; '' when every request asked for the model itself. */
  requestedAsText: string;
}
export interface KeySpendRow extends ShareView {
  key: string;
  label: string;
  /** The account's own figure for the key in the period; null without a reading. */
  utilisedCny: number | null;
  utilisedText?: string;
  /** The estimate and the account's figure differ by more than a fen and 10 %. */
  differs: boolean;
}
export interface SeriesPoint {
  start: number;
  label: string;
  requests: number;
  tokens: number;
  costCny: number;
}
export interface PeriodView {
  id: 'today' | '7d' | '30d';
  label: string;
  since: number;
  total: TotalsView & { utilisedCny: number | null; utilisedText?: string };
  byModel: ModelSpendRow[];
  byKey: KeySpendRow[];
  /** Per hour for today, per day for 7 and 30 days, oldest first. */
  series: SeriesPoint[];
}
export interface BalanceView {
  totalCny: number;
  text: string;
  /** ¥ per day at the recent rate; undefined with no recent spend. */
  ratePerDayCny?: number;
  rateText?: string;
  daysLeft?: number;
  /** "about 6 days left"; undefined with no recent spend. */
  forecastText?: string;
  /** Where the rate comes from: the account's own figures, or the estimate from prices. */
  basis?: 'account' | 'estimate';
}
export interface LiveView {
  minutes: number;
  perMinute: { start: number; label: string; requests: number; failures: number }[];
  requestsPerMinute: number;
  requestsPerMinuteText: string;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  latencyP50Text: string;
  latencyP95Text: string;
  errors: { reason: string; count: number }[];
  /** The recent list (1,000 requests) starts inside the window: older minutes are not all there. */
  partial: boolean;
}
export interface KeyStateRow {
  id: string;
  name?: string;
  state: KeyState;
  stateText: string;
  manuallyDisabled: boolean;
  reason?: string;
  coolingUntil?: number;
  balance?: number;
  balanceText: string;
  requests: number;
  failures: number;
  todayCostText: string;
  forecastText?: string;
}
export interface RecentRow {
  at: number;
  timeText: string;
  route: string;
  /** The model sent upstream. */
  model: string;
  /** The model the client asked for, when resolution sent another. */
  requestedModel?: string;
  key: string;
  status: number;
  statusText: string;
  attempts: number;
  stream: boolean;
  tokensText: string;
  costText: string;
  durationText: string;
  failed: boolean;
}
export interface DashboardModel {
  generatedAt: number;
  periods: PeriodView[];
  balance?: BalanceView;
  live: LiveView;
  keys: KeyStateRow[];
  /** `filters.models`: the models that served and the names clients asked for (a choice matches either). */
  recent: { rows: RecentRow[]; filters: { models: string[]; keys: string[]; statuses: number[] } };
}

const MINUTE_MS = 60_000;
/** The forecast's window, and the shortest span a rate is taken over (a 5-minute burst is not a daily rate). */
const RATE_WINDOW_MS = 7 * DAY_MS;
const MIN_RATE_SPAN_MS = 6 * HOUR_MS;

export function dashboardModel(history: UsageHistory, input: DashboardInput): DashboardModel {
  const now = input.now;
  const offset = (input.utcOffsetMinutes ?? 0) * MINUTE_MS;
  const todayStart = Math.floor((now + offset) / DAY_MS) * DAY_MS - offset;
  const all = history.hourBuckets(hourOf(now - 30 * DAY_MS));

  const periods: PeriodView[] = [
    period(history, all, 'today', t('Today'), todayStart, now, offset),
    period(history, all, '7d', t('Last 7 days'), hourOf(now - 7 * DAY_MS), now, offset),
    period(history, all, '30d', t('Last 30 days'), hourOf(now - 30 * DAY_MS), now, offset),
  ];

  const rate = recentRate(history, all, now);
  const balance = input.balance !== undefined && Number.isFinite(input.balance) ? balanceView(input.balance, rate.total, rate.basis) : undefined;

  const todayByKey = new Map(periods[0]!.byKey.map((k) => [k.key, k]));
  const keys = (input.pool?.keys ?? []).map((k) => keyRow(k, todayByKey.get(k.id), rate.byKey.get(k.id), now));

  const recent = history.recent();
  return {
    generatedAt: now,
    periods,
    ...(balance ? { balance } : {}),
    live: liveView(recent, now, input.liveMinutes ?? 30, offset),
    keys,
    recent: recentView(recent, todayStart, offset),
  };
}

function totalsView(x: UsageTotals): TotalsView {
  return {
    ...x,
    costText: costText(x),
    inputText: formatCount(x.inputTokens),
    outputText: formatCount(x.outputTokens),
    requestsText: formatCount(x.requests),
    cacheHitText: cacheHitText(x),
    cacheDetailText: t('Cache reads {0} · cache writes {1} · input tokens in all {2}', formatCount(x.cacheReadTokens), formatCount(x.cacheWriteTokens), formatCount(x.inputTokens)),
    cacheHitAtLeast: cacheHitShare(x)?.atLeast ?? false,
  };
}

function period(history: UsageHistory, all: readonly HourBucket[], id: PeriodView['id'], label: string, since: number, now: number, offset: number): PeriodView {
  // Same rule as usageReport: an hour belongs to a period when it ends after the start.
  const buckets = all.filter((b) => b.hour + HOUR_MS > since);
  const total = sumBuckets(buckets);
  const known = total.costCny ?? 0;
  const share = (x: UsageTotals) => (known > 0 && x.costCny !== null ? x.costCny / known : 0);
  const spent = utilisedByKey(history.utilisedBuckets(since));
  let utilised: number | null = null;
  for (const y of spent.values()) utilised = (utilised ?? 0) + y;

  const asked = requestedAsByModel(buckets);
  const byKey: KeySpendRow[] = groupBuckets(buckets, 'key').map(([key, x]) => keySpendRow(key, x, spent.get(key), share(x)));
  for (const [key, yuan] of spent) if (!byKey.some((k) => k.key === key)) byKey.push(keySpendRow(key, totalsOf(emptySum()), yuan, 0));

  return {
    id,
    label,
    since,
    total: { ...totalsView(total), utilisedCny: utilised === null ? null : roundYuan(utilised), ...(utilised !== null ? { utilisedText: formatYuan(utilised, 'spend') } : {}) },
    byModel: groupBuckets(buckets, 'model').map(([model, x]) => {
      const requestedAs = asked.get(model) ?? [];
      return { model, label: model || t('(no model)'), requestedAs, requestedAsText: requestedAsText(requestedAs), ...totalsView(x), share: share(x) };
    }),
    byKey,
    series: id === 'today' ? series(buckets, since, now, HOUR_MS, offset, 'hour') : series(buckets, localDayStart(since, offset), now, DAY_MS, offset, 'day'),
  };
}

function keySpendRow(key: string, x: UsageTotals, utilised: number | undefined, share: number): KeySpendRow {
  const u = utilised === undefined ? null : roundYuan(utilised);
  const estimate = x.costCny ?? 0;
  const differs = u !== null && Math.abs(u - estimate) > Math.max(0.01, 0.1 * Math.max(u, estimate));
  return { key, label: key || t('(no key)'), ...totalsView(x), share, utilisedCny: u, ...(u !== null ? { utilisedText: formatYuan(u, 'spend') } : {}), differs };
}

function localDayStart(t: number, offset: number): number {
  return Math.floor((t + offset) / DAY_MS) * DAY_MS - offset;
}

function series(buckets: readonly HourBucket[], from: number, now: number, step: number, offset: number, kind: 'hour' | 'day'): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (let start = from; start <= now; start += step) {
    const d = new Date(start + offset);
    const label = kind === 'hour' ? `${two(d.getUTCHours())}:00` : `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())}`;
    points.push({ start, label, requests: 0, tokens: 0, costCny: 0 });
  }
  for (const b of buckets) {
    const i = Math.floor((b.hour - from) / step);
    const p = points[Math.min(Math.max(i, 0), points.length - 1)];
    if (!p) continue;
    p.requests += b.requests;
    p.tokens += b.inputTokens + b.outputTokens;
    p.costCny += b.costCny;
  }
  for (const p of points) p.costCny = roundYuan(p.costCny);
  return points;
}

interface Rate {
  total: number;
  byKey: Map<string, number>;
  basis: 'account' | 'estimate';
}

/**
 * ¥ per day over the last 7 days: the account's own figures when it reported any, else the
 * estimate. Taken over the time since the first spend in the window (at least 6 hours), so a
 * fresh install with one evening of use is not diluted over a week.
 */
function recentRate(history: UsageHistory, all: readonly HourBucket[], now: number): Rate {
  const since = now - RATE_WINDOW_MS;
  const spent = history.utilisedBuckets(since);
  const useAccount = spent.some((b) => b.yuan > 0);
  const perKey = new Map<string, number>();
  let first = Infinity;
  if (useAccount) {
    for (const b of spent) {
      perKey.set(b.key, (perKey.get(b.key) ?? 0) + b.yuan);
      if (b.yuan > 0) first = Math.min(first, b.hour);
    }
  } else {
    for (const b of all) {
      if (b.hour + HOUR_MS <= since || b.costCny <= 0) continue;
      perKey.set(b.key, (perKey.get(b.key) ?? 0) + b.costCny);
      first = Math.min(first, b.hour);
    }
  }
  const days = Math.min(RATE_WINDOW_MS, Math.max(MIN_RATE_SPAN_MS, now - first)) / DAY_MS;
  let total = 0;
  const byKey = new Map<string, number>();
  for (const [k, y] of perKey) {
    byKey.set(k, y / days);
    total += y;
  }
  return { total: first === Infinity ? 0 : total / days, byKey, basis: useAccount ? 'account' : 'estimate' };
}

/** "about 6 days left" for a balance at a daily rate; undefined without spend. */
export function forecastText(balance: number, perDay: number): { daysLeft: number; text: string } | undefined {
  if (!(perDay > 0) || !Number.isFinite(balance)) return undefined;
  const daysLeft = Math.max(0, balance) / perDay;
  let text: string;
  if (daysLeft > 365) text = t('more than a year left');
  else if (daysLeft >= 1.5) text = t('about {0} days left', Math.round(daysLeft));
  else if (daysLeft >= 1) text = t('about a day left');
  else if (daysLeft * 24 >= 1.5) text = t('about {0} hours left', Math.round(daysLeft * 24));
  else if (daysLeft * 24 >= 1) text = t('about an hour left');
  else text = t('less than an hour left');
  return { daysLeft, text };
}

function balanceView(balance: number, perDay: number, basis: Rate['basis']): BalanceView {
  const view: BalanceView = { totalCny: roundYuan(balance), text: formatYuan(balance, 'spend') };
  const f = forecastText(balance, perDay);
  if (f) {
    view.ratePerDayCny = roundYuan(perDay);
    view.rateText = t('{0}/day', formatYuan(perDay, 'spend'));
    view.daysLeft = Math.round(f.daysLeft * 10) / 10;
    view.forecastText = f.text;
    view.basis = basis;
  }
  return view;
}

/** The same words as the Keys view (present/keys.ts), so a key reads the same everywhere. */
function keyRow(k: KeySnapshot, today: KeySpendRow | undefined, perDay: number | undefined, now: number): KeyStateRow {
  const row: KeyStateRow = {
    id: k.id,
    state: k.state,
    stateText: keyStateText(k, now),
    manuallyDisabled: k.manuallyDisabled,
    balanceText: k.balance === undefined ? t('unknown') : formatYuan(k.balance, 'spend'),
    requests: k.stats.requests,
    failures: k.stats.failures,
    todayCostText: today ? today.costText : formatYuan(0, 'spend'),
  };
  if (k.name) row.name = k.name;
  if (k.reason) row.reason = k.reason;
  if (k.coolingUntil !== undefined) row.coolingUntil = k.coolingUntil;
  if (k.balance !== undefined) {
    row.balance = k.balance;
    const f = perDay !== undefined ? forecastText(k.balance, perDay) : undefined;
    if (f) row.forecastText = f.text;
  }
  return row;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function liveView(recent: readonly RecentRequest[], now: number, minutes: number, offset: number): LiveView {
  const lastMinute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const from = lastMinute - (minutes - 1) * MINUTE_MS;
  const perMinute: LiveView['perMinute'] = [];
  for (let i = 0; i < minutes; i++) {
    const start = from + i * MINUTE_MS;
    const d = new Date(start + offset);
    perMinute.push({ start, label: `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`, requests: 0, failures: 0 });
  }
  const latencies: number[] = [];
  const errors = new Map<string, number>();
  let count = 0;
  for (const r of recent) {
    if (r.at < from || r.at > now) continue;
    const slot = perMinute[Math.floor((r.at - from) / MINUTE_MS)];
    if (!slot) continue;
    count++;
    slot.requests++;
    if (r.failed) {
      slot.failures++;
      const reason = r.error ?? t('HTTP {0}', r.status);
      errors.set(reason, (errors.get(reason) ?? 0) + 1);
    } else if (!r.aborted) {
      latencies.push(r.durationMs);
    }
  }
  latencies.sort((a, b) => a - b);
  const p50 = percentile(latencies, 50);
  const p95 = percentile(latencies, 95);
  const rpm = Math.round((count / minutes) * 10) / 10;
  const view: LiveView = {
    minutes,
    perMinute,
    requestsPerMinute: rpm,
    requestsPerMinuteText: t('{0}/min', rpm),
    latencyP50Text: formatDuration(p50),
    latencyP95Text: formatDuration(p95),
    errors: [...errors].map(([reason, n]) => ({ reason, count: n })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    partial: recent.length >= 1000 && recent[0] !== undefined && recent[0].at > from,
  };
  if (p50 !== undefined) view.latencyP50Ms = p50;
  if (p95 !== undefined) view.latencyP95Ms = p95;
  return view;
}

function recentView(recent: readonly RecentRequest[], todayStart: number, offset: number): DashboardModel['recent'] {
  const models = new Set<string>();
  const keys = new Set<string>();
  const statuses = new Set<number>();
  const rows: RecentRow[] = [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const r = recent[i]!;
    models.add(r.model);
    if (r.requestedModel) models.add(r.requestedModel);
    keys.add(r.key);
    statuses.add(r.status);
    const d = new Date(r.at + offset);
    const clock = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
    rows.push({
      at: r.at,
      timeText: r.at >= todayStart ? clock : `${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${clock}`,
      route: r.route,
      model: r.model,
      ...(r.requestedModel ? { requestedModel: r.requestedModel } : {}),
      key: r.key,
      status: r.status,
      statusText: r.error ? `${r.status} · ${r.error}` : String(r.status),
      attempts: r.attempts,
      stream: r.stream,
      tokensText: r.inputTokens === undefined && r.outputTokens === undefined ? '—' : `${formatCount(r.inputTokens ?? 0)} → ${formatCount(r.outputTokens ?? 0)}`,
      costText: r.costCny === null ? t('price unknown') : formatYuan(r.costCny, 'spend'),
      durationText: formatDuration(r.durationMs),
      failed: r.failed,
    });
  }
  return {
    rows,
    filters: {
      models: [...models].sort((a, b) => a.localeCompare(b)),
      keys: [...keys].sort((a, b) => a.localeCompare(b)),
      statuses: [...statuses].sort((a, b) => a - b),
    },
  };
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
