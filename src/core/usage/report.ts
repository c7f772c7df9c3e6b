// The usage report: one model for `daidai-proxy usage` (--json, --csv, and the table
// present/usageTable.ts writes) and the dashboard, so that they always show the same numbers.
// Pure: the clock comes in.
import { t } from '../l10n';
import { DAY_MS, HOUR_MS, hourOf, type HourBucket, type UsageHistory, type UtilisedBucket } from './history';
import type { RecentRequest, UsageTotals } from './types';

export interface ModelUsage extends UsageTotals {
  /** The model sent upstream (the one that served and is priced). */
  model: string;
  /** The names clients asked for that resolved to this model, most requests first (not the model's own name). */
  requestedAs: RequestedAs[];
}
/** A name clients asked for, and how many requests used it. */
export interface RequestedAs {
  model: string;
  requests: number;
}
export interface KeyUsage extends UsageTotals {
  /** Masked key id. */
  key: string;
  /** ¥ the account's own figures say the key spent in the period; null without a reading. */
  utilisedCny: number | null;
}
/** Exactly what `daidai-proxy usage --json` prints. */
export interface UsageReport {
  /** Start of the period, on the hour (history is kept per hour). */
  since: string;
  until: string;
  total: UsageTotals & { utilisedCny: number | null };
  byModel: ModelUsage[];
  byKey: KeyUsage[];
}

/** Sums being built; `costCny` stays a number until totalsOf decides whether it is known. */
export interface Sum {
  requests: number;
  failures: number;
  inputTokens: number;
  outputTokens: number;
  cacheTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cost: number;
  unpriced: number;
}

export function emptySum(): Sum {
  return { requests: 0, failures: 0, inputTokens: 0, outputTokens: 0, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, cost: 0, unpriced: 0 };
}

export function addBucket(s: Sum, b: HourBucket): void {
  s.requests += b.requests;
  s.failures += b.failures;
  s.inputTokens += b.inputTokens;
  s.outputTokens += b.outputTokens;
  s.cacheTokens += b.cacheTokens;
  s.cacheReadTokens += b.cacheReadTokens;
  s.cacheWriteTokens += b.cacheWriteTokens;
  s.cost += b.costCny;
  s.unpriced += b.unpricedRequests;
}

export function totalsOf(s: Sum): UsageTotals {
  return {
    requests: s.requests,
    failures: s.failures,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    cacheTokens: s.cacheTokens,
    cacheReadTokens: s.cacheReadTokens,
    cacheWriteTokens: s.cacheWriteTokens,
    // Unknown only when nothing in the group has a known cost: a partial sum is still
    // reported (with unpricedRequests saying how much it leaves out), never filled in.
    costCny: s.requests > 0 && s.unpriced === s.requests ? null : roundYuan(s.cost),
    unpricedRequests: s.unpriced,
  };
}

/**
 * The cache-hit share: cache reads over all input tokens (cache reads and writes included), 0–1;
 * null without input. `atLeast`: some cache tokens were recorded before reads and writes were kept
 * apart (an earlier build's history), so the share may be higher than it says; it is never guessed.
 */
export function cacheHitShare(x: Pick<UsageTotals, 'inputTokens' | 'cacheTokens' | 'cacheReadTokens' | 'cacheWriteTokens'>): { share: number; atLeast: boolean } | null {
  if (!(x.inputTokens > 0)) return null;
  return { share: Math.min(1, x.cacheReadTokens / x.inputTokens), atLeast: x.cacheTokens > x.cacheReadTokens + x.cacheWriteTokens };
}

/** Per model sent upstream: the other names clients asked for it by, most requests first. */
export function requestedAsByModel(buckets: readonly HourBucket[]): Map<string, RequestedAs[]> {
  const counts = new Map<string, Map<string, number>>();
  for (const b of buckets) {
    if (!b.requested) continue;
    let m = counts.get(b.model);
    if (!m) counts.set(b.model, (m = new Map()));
    m.set(b.requested, (m.get(b.requested) ?? 0) + b.requests);
  }
  const out = new Map<string, RequestedAs[]>();
  for (const [model, m] of counts) {
    out.set(
      model,
      [...m].map(([name, requests]) => ({ model: name, requests })).sort((a, b) => b.requests - a.requests || a.model.localeCompare(b.model)),
    );
  }
  return out;
}

export function roundYuan(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/** Sums of the buckets grouped by a field; sorted by cost, then requests, then name. */
export function groupBuckets(buckets: readonly HourBucket[], by: 'model' | 'key'): [string, UsageTotals][] {
  const groups = new Map<string, Sum>();
  for (const b of buckets) {
    const name = b[by];
    let s = groups.get(name);
    if (!s) groups.set(name, (s = emptySum()));
    addBucket(s, b);
  }
  return [...groups].map(([name, s]) => [name, totalsOf(s)] as [string, UsageTotals]).sort(([an, a], [bn, b]) => byCostThenRequests(a, b) || an.localeCompare(bn));
}

function byCostThenRequests(a: UsageTotals, b: UsageTotals): number {
  return (b.costCny ?? -1) - (a.costCny ?? -1) || b.requests - a.requests;
}

export function sumBuckets(buckets: readonly HourBucket[]): UsageTotals {
  const s = emptySum();
  for (const b of buckets) addBucket(s, b);
  return totalsOf(s);
}

/** The account's spend per key over utilised buckets. */
export function utilisedByKey(buckets: readonly UtilisedBucket[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const b of buckets) out.set(b.key, (out.get(b.key) ?? 0) + b.yuan);
  return out;
}

/** The report of everything since `since` (epoch ms; rounded down to its hour). */
export function usageReport(history: UsageHistory, options: { since: number; now: number }): UsageReport {
  const since = hourOf(options.since);
  const buckets = history.hourBuckets(since);
  const spent = utilisedByKey(history.utilisedBuckets(since));
  const byKey: KeyUsage[] = groupBuckets(buckets, 'key').map(([key, totals]) => ({ key, ...totals, utilisedCny: spent.has(key) ? roundYuan(spent.get(key)!) : null }));
  // Keys the account says spent money through something other than this proxy.
  for (const [key, yuan] of spent) {
    if (!byKey.some((k) => k.key === key)) byKey.push({ key, ...totalsOf(emptySum()), utilisedCny: roundYuan(yuan) });
  }
  let utilised: number | null = null;
  for (const y of spent.values()) utilised = (utilised ?? 0) + y;
  const asked = requestedAsByModel(buckets);
  return {
    since: new Date(since).toISOString(),
    until: new Date(options.now).toISOString(),
    total: { ...sumBuckets(buckets), utilisedCny: utilised === null ? null : roundYuan(utilised) },
    byModel: groupBuckets(buckets, 'model').map(([model, totals]) => ({ model, ...totals, requestedAs: asked.get(model) ?? [] })),
    byKey,
  };
}

/**
 * `--since` values: `24h`, `7d`, `30d`, `2w`, `90min`, or a date / ISO time. Throws an error
 * phrased for a person on anything else.
 */
export function parseSince(text: string, now: number): number {
  const s = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*(min|h|d|w)$/i.exec(s);
  if (m) {
    const unit = { min: 60_000, h: HOUR_MS, d: DAY_MS, w: 7 * DAY_MS }[m[2]!.toLowerCase() as 'min' | 'h' | 'd' | 'w'];
    return now - Number(m[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(s)) {
    const at = Date.parse(s);
    if (Number.isFinite(at)) return at;
  }
  throw new Error(t('"{0}" is not a period. Use 24h, 7d, 30d, or a date such as 2026-11-30.', text));
}

// ---- CSV (RFC 4180) ----

/** One CSV field: quoted when it holds a comma, a quote or a line break; quotes doubled. */
export function csvField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * A text field a client chose (model names): spreadsheets run a cell that starts with = + - @
 * as a formula, so such a value gets a leading apostrophe, as OWASP advises.
 */
function csvText(value: string): string {
  return csvField(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
}

function csv(rows: (string | number | boolean | null | undefined)[][], header: string[], options: CsvOptions): string {
  const lines = [header.join(','), ...rows.map((r) => r.map((v) => (typeof v === 'string' ? csvText(v) : csvField(v))).join(','))];
  // Excel and WPS read a CSV without a BOM in the local code page, which garbles 官 and 渠道.
  return (options.bom ? '\ufeff' : '') + lines.join('\r\n') + '\r\n';
}

export interface CsvOptions {
  /** Start with a UTF-8 byte-order mark (for spreadsheets). */
  bom?: boolean;
}

/** Cache reads and writes as two cells; both empty when cache tokens were recorded before they were kept apart (unknown, not 0). */
function cacheSplit(total: number | undefined, read: number, write: number): [number | undefined, number | undefined] {
  if (total === undefined || read + write < total) return [undefined, undefined];
  return [read, write];
}

function amount(n: number | null): string {
  return n === null ? '' : String(roundYuan(n));
}

/** One row per hour × key × model since `since` (epoch ms). cost_cny is empty when unknown. */
export function usageCsv(history: UsageHistory, since: number, options: CsvOptions = {}): string {
  const buckets = history
    .hourBuckets(hourOf(since))
    .slice()
    .sort((a, b) => a.hour - b.hour || a.key.localeCompare(b.key) || a.model.localeCompare(b.model) || a.requested.localeCompare(b.requested));
  return csv(
    buckets.map((b) => [
      new Date(b.hour).toISOString(),
      b.key,
      b.model,
      b.requested,
      b.requests,
      b.failures,
      b.inputTokens,
      b.outputTokens,
      b.cacheTokens,
      ...cacheSplit(b.cacheTokens, b.cacheReadTokens, b.cacheWriteTokens),
      amount(b.requests > 0 && b.unpricedRequests === b.requests ? null : b.costCny),
      b.unpricedRequests,
    ]),
    ['hour_start', 'key', 'model', 'requested_model', 'requests', 'failures', 'input_tokens', 'output_tokens', 'cache_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cost_cny', 'unpriced_requests'],
    options,
  );
}

/** The recent requests (at most 1,000) since `since`, oldest first. */
export function recentRequestsCsv(history: UsageHistory, since = -Infinity, options: CsvOptions = {}): string {
  const rows = history.recent().filter((r) => r.at >= since);
  return csv(
    rows.map((r: RecentRequest) => [
      new Date(r.at).toISOString(),
      r.method,
      r.route,
      r.model,
      r.requestedModel,
      r.key,
      r.status,
      r.attempts,
      r.stream,
      r.inputTokens,
      r.outputTokens,
      r.cacheTokens,
      ...cacheSplit(r.cacheTokens, r.cacheReadTokens ?? 0, r.cacheWriteTokens ?? 0),
      amount(r.costCny),
      Math.round(r.durationMs),
      r.failed,
      r.error,
      r.source,
    ]),
    ['time', 'method', 'route', 'model', 'requested_model', 'key', 'status', 'attempts', 'stream', 'input_tokens', 'output_tokens', 'cache_tokens', 'cache_read_tokens', 'cache_write_tokens', 'cost_cny', 'duration_ms', 'failed', 'error', 'source'],
    options,
  );
}
