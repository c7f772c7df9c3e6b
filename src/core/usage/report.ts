// The usage report: one model for `daidai-proxy usage` (table, --json, --csv) and the
// dashboard, so that the two always show the same numbers. Pure: the clock comes in.

// The formatters below take `tr` as a parameter (tests pass plainText) and shadow this import;
// importing l10n's `t` under the same name is what lets `npm run l10n:export` and the bundle test
// find their `tr('…')` messages, so that the real `t` the CLI passes has their Chinese. Only
// parseSince, which has no parameter for it, calls the import itself.
import { t as tr } from '../l10n';
import { DAY_MS, HOUR_MS, hourOf, type HourBucket, type UsageHistory, type UtilisedBucket } from './history';
import type { RecentRequest, UsageTotals } from './types';

/** Translates an English source message with `{0}`-style placeholders (l10n's `t`). */
export type Translate = (message: string, ...args: (string | number)[]) => string;

export const plainText: Translate = (message, ...args) => message.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] !== undefined ? String(args[Number(i)]) : m));

export interface ModelUsage extends UsageTotals {
  model: string;
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
  cost: number;
  unpriced: number;
}

export function emptySum(): Sum {
  return { requests: 0, failures: 0, inputTokens: 0, outputTokens: 0, cacheTokens: 0, cost: 0, unpriced: 0 };
}

export function addBucket(s: Sum, b: HourBucket): void {
  s.requests += b.requests;
  s.failures += b.failures;
  s.inputTokens += b.inputTokens;
  s.outputTokens += b.outputTokens;
  s.cacheTokens += b.cacheTokens;
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
    // Unknown only when nothing in the group has a known cost: a partial sum is still
    // reported (with unpricedRequests saying how much it leaves out), never filled in.
    costCny: s.requests > 0 && s.unpriced === s.requests ? null : roundYuan(s.cost),
    unpricedRequests: s.unpriced,
  };
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
  const byKey: KeyUsage[] = groupBuckets(buckets, 'key').map(([key, t]) => ({ key, ...t, utilisedCny: spent.has(key) ? roundYuan(spent.get(key)!) : null }));
  // Keys the account says spent money through something other than this proxy.
  for (const [key, yuan] of spent) {
    if (!byKey.some((k) => k.key === key)) byKey.push({ key, ...totalsOf(emptySum()), utilisedCny: roundYuan(yuan) });
  }
  let utilised: number | null = null;
  for (const y of spent.values()) utilised = (utilised ?? 0) + y;
  return {
    since: new Date(since).toISOString(),
    until: new Date(options.now).toISOString(),
    total: { ...sumBuckets(buckets), utilisedCny: utilised === null ? null : roundYuan(utilised) },
    byModel: groupBuckets(buckets, 'model').map(([model, t]) => ({ model, ...t })),
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
    const t = Date.parse(s);
    if (Number.isFinite(t)) return t;
  }
  throw new Error(tr('"{0}" is not a period. Use 24h, 7d, 30d, or a date such as 2026-11-30.', text));
}

// ---- money and numbers, as every view shows them ----

/** `12.5` → `¥12.50`; a positive amount under a fen → `<¥0.01`; null → undefined (say "price unknown"). */
export function formatCny(yuan: number | null | undefined): string | undefined {
  if (yuan === null || yuan === undefined || !Number.isFinite(yuan)) return undefined;
  if (yuan > 0 && yuan < 0.005) return '<¥0.01';
  return `¥${yuan.toFixed(2)}`;
}

/** The cost of a total, honest about what it leaves out: `¥1.20`, `¥1.20*` (some unpriced), `price unknown`. */
export function costText(t: Pick<UsageTotals, 'costCny' | 'unpricedRequests'>, tr: Translate = plainText): string {
  const yuan = formatCny(t.costCny);
  if (yuan === undefined) return tr('price unknown');
  return t.unpricedRequests > 0 ? `${yuan}*` : yuan;
}

/** `1234567` → `1,234,567`. */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

// ---- the CLI's table ----

/** Terminal columns a string takes: CJK and full-width characters take two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const wide =
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      (c >= 0x20000 && c <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

function pad(s: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? fill + s : s + fill;
}

/** The plain-text table `daidai-proxy usage` prints: by model, by key, the total. */
export function formatUsageTable(report: UsageReport, tr: Translate = plainText): string {
  const head = [tr('Requests'), tr('Failed'), tr('Input tokens'), tr('Output tokens'), tr('Est. ¥')];
  const row = (name: string, t: UsageTotals): string[] => [name, formatCount(t.requests), formatCount(t.failures), formatCount(t.inputTokens), formatCount(t.outputTokens), costText(t, tr)];
  const sections: { title: string; rows: string[][] }[] = [
    { title: tr('By model'), rows: report.byModel.map((m) => row(m.model || tr('(no model)'), m)) },
    { title: tr('By key'), rows: report.byKey.map((k) => row(k.key || tr('(no key)'), k)) },
  ];
  const totalRow = row(tr('Total'), report.total);
  const all = [...sections.flatMap((s) => [[s.title, ...head], ...s.rows]), totalRow];
  const widths = head.map((_, i) => Math.max(...all.map((r) => displayWidth(r[i + 1] ?? ''))));
  const nameWidth = Math.max(...all.map((r) => displayWidth(r[0]!)));
  const line = (r: string[]) => [pad(r[0]!, nameWidth, false), ...r.slice(1).map((c, i) => pad(c, widths[i]!, true))].join('  ').trimEnd();

  const out: string[] = [tr('Usage since {0} (until {1})', report.since.replace('T', ' ').replace(/:00\.000Z$/, ' UTC'), report.until.replace('T', ' ').replace(/:\d{2}\.\d{3}Z$/, ' UTC'))];
  for (const s of sections) {
    out.push('', line([s.title, ...head]));
    if (s.rows.length === 0) out.push(`  ${tr('(none)')}`);
    for (const r of s.rows) out.push(line(r));
  }
  out.push('', line(totalRow));
  if (report.total.unpricedRequests > 0) {
    out.push(tr('* Requests without a known price: {0}. Their cost is not in the ¥ sums.', report.total.unpricedRequests));
  }
  if (report.total.utilisedCny !== null) {
    out.push(tr('The account itself reports {0} spent by these keys in this period.', formatCny(report.total.utilisedCny)!));
  }
  return out.join('\n') + '\n';
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

function amount(n: number | null): string {
  return n === null ? '' : String(roundYuan(n));
}

/** One row per hour × key × model since `since` (epoch ms). cost_cny is empty when unknown. */
export function usageCsv(history: UsageHistory, since: number, options: CsvOptions = {}): string {
  const buckets = history.hourBuckets(hourOf(since)).slice().sort((a, b) => a.hour - b.hour || a.key.localeCompare(b.key) || a.model.localeCompare(b.model));
  return csv(
    buckets.map((b) => [new Date(b.hour).toISOString(), b.key, b.model, b.requests, b.failures, b.inputTokens, b.outputTokens, b.cacheTokens, amount(b.requests > 0 && b.unpricedRequests === b.requests ? null : b.costCny), b.unpricedRequests]),
    ['hour_start', 'key', 'model', 'requests', 'failures', 'input_tokens', 'output_tokens', 'cache_tokens', 'cost_cny', 'unpriced_requests'],
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
      r.key,
      r.status,
      r.attempts,
      r.stream,
      r.inputTokens,
      r.outputTokens,
      r.cacheTokens,
      amount(r.costCny),
      Math.round(r.durationMs),
      r.failed,
      r.error,
      r.source,
    ]),
    ['time', 'method', 'route', 'model', 'key', 'status', 'attempts', 'stream', 'input_tokens', 'output_tokens', 'cache_tokens', 'cost_cny', 'duration_ms', 'failed', 'error', 'source'],
    options,
  );
}
