// What the proxy spent, kept per hour, key and model for 90 days, plus the last 1,000 requests
// and the account's own spend per key (the change of each key's `utilised` between refreshes).
// add() is O(1) (one Map update and one ring slot): it runs for every request. Nothing here
// touches the disk: the state store writes toJSON() off the hot path.

import { Emitter, type Event } from '../util/event';
import { maskKey, redactSecrets } from '../util/mask';
import { totalInputTokens } from './meter';
import type { RecentRequest, UsageRecordInput } from './types';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

export interface UsageHistoryOptions {
  /** Days kept (default 90). */
  retentionDays?: number;
  /** Requests kept in the recent list (default 1,000). */
  maxRecent?: number;
  /** Hour × key × model buckets kept at most (default 50,000); the oldest go first. */
  maxBuckets?: number;
}

/** One hour of one key serving one model. */
export interface HourBucket {
  /** Epoch ms of the hour's start (UTC hours; every time zone's hours start on them except a few half-hour ones). */
  hour: number;
  /** Masked key id; '' when no key was tried. */
  key: string;
  /** The model sent upstream (the one that served, priced); '' when the request named none. */
  model: string;
  /** The model the client asked for when resolution sent another (`claude-opus-4-8`); '' when it asked for `model` itself. */
  requested: string;
  requests: number;
  failures: number;
  /** Cache included. */
  inputTokens: number;
  outputTokens: number;
  /** Cache reads and writes (part of inputTokens). */
  cacheTokens: number;
  /** The parts of cacheTokens read from and written to a cache. What is left was recorded before the two were kept apart (a file of an earlier build): its kind is unknown. */
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Sum of the known costs (¥). */
  costCny: number;
  /** Requests whose cost is unknown; costCny leaves them out. */
  unpricedRequests: number;
}

/** ¥ the account itself says a key spent in one hour. */
export interface UtilisedBucket {
  hour: number;
  key: string;
  yuan: number;
}

export const USAGE_HISTORY_VERSION = 1;

/**
 * One hour bucket in the file: [hour, key, model, requests, failures, inputTokens, outputTokens,
 * cacheTokens, costCny, unpricedRequests, cacheReadTokens, cacheWriteTokens, requested]. The last
 * three came later and are left off while they say nothing (no cache tokens, nothing requested
 * under another name), so the file stays small and a build that reads ten fields still reads it;
 * a row of ten with cacheTokens above 0 comes from before reads and writes were kept apart.
 */
export type HourRow = [number, string, string, number, number, number, number, number, number, number, number?, number?, string?];

/** The file form. Buckets as arrays: a 90-day history has tens of thousands of them. */
export interface UsageHistoryData {
  version: typeof USAGE_HISTORY_VERSION;
  hours: HourRow[];
  /** [hour, key, yuan] */
  utilised: [number, string, number][];
  /** [key, last utilised ¥ seen, epoch ms seen] */
  baselines: [string, number, number][];
  recent: RecentRequest[];
}

const MAX_TEXT = 200;

export class UsageHistory {
  private readonly retentionMs: number;
  private readonly maxRecent: number;
  private readonly maxBuckets: number;
  private readonly hours = new Map<string, HourBucket>();
  private readonly spent = new Map<string, UtilisedBucket>();
  private readonly baselines = new Map<string, { yuan: number; at: number }>();
  /** Ring of the last requests; `ringStart` is the oldest once full. */
  private ring: RecentRequest[] = [];
  private ringStart = 0;
  private prunedForHour = -1;
  /** The bucket the last request went to (dropped whenever buckets are). */
  private lastBucket: HourBucket | undefined;
  private readonly changed = new Emitter<void>();
  /** Fires after every change (once per request: subscribers throttle). */
  readonly onDidChange: Event<void> = this.changed.event;

  constructor(options: UsageHistoryOptions = {}) {
    this.retentionMs = (options.retentionDays ?? 90) * DAY_MS;
    this.maxRecent = Math.max(1, options.maxRecent ?? 1000);
    this.maxBuckets = Math.max(1, options.maxBuckets ?? 50_000);
  }

  /**
   * Records a finished request. `costCny`: what it cost (requestCost()), undefined when
   * unknown. `now`: when it finished (the injected clock).
   */
  add(record: UsageRecordInput, now: number, costCny: number | undefined): void {
    const hour = hourOf(now);
    this.pruneHourly(now, hour);
    const key = safeKeyId(record.keyId);
    const model = clip(record.model ?? '');
    const requested = record.requestedModel !== undefined && record.requestedModel !== record.model ? clip(record.requestedModel) : '';
    const failed = isFailure(record);
    const u = record.usage;
    const input = totalInputTokens(u);
    const output = u?.outputTokens ?? 0;
    const cacheRead = u?.cacheReadTokens ?? 0;
    const cacheWrite = u?.cacheWriteTokens ?? 0;
    const cache = cacheRead + cacheWrite;
    const known = costCny !== undefined && Number.isFinite(costCny);

    // A client's requests mostly land in the bucket of the one before: no id built, no lookup.
    let b = this.lastBucket;
    if (b === undefined || b.hour !== hour || b.key !== key || b.model !== model || b.requested !== requested) {
      const id = bucketId(hour, key, model, requested);
      b = this.hours.get(id);
      if (!b) {
        b = { hour, key, model, requested, requests: 0, failures: 0, inputTokens: 0, outputTokens: 0, cacheTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costCny: 0, unpricedRequests: 0 };
        this.hours.set(id, b);
        this.bound(this.hours);
      }
      this.lastBucket = b;
    }
    b.requests++;
    if (failed) b.failures++;
    b.inputTokens += input;
    b.outputTokens += output;
    b.cacheTokens += cache;
    b.cacheReadTokens += cacheRead;
    b.cacheWriteTokens += cacheWrite;
    if (known) b.costCny += costCny;
    else b.unpricedRequests++;

    const r: RecentRequest = {
      at: now,
      method: clip(record.method),
      route: clip(routeOf(record.path)),
      model,
      key,
      status: record.status,
      attempts: record.attempts,
      stream: record.stream === true,
      costCny: known ? costCny : null,
      durationMs: record.durationMs,
      failed,
      aborted: record.aborted,
    };
    if (u) {
      r.inputTokens = input;
      r.outputTokens = output;
      if (cache) {
        r.cacheTokens = cache;
        if (cacheRead) r.cacheReadTokens = cacheRead;
        if (cacheWrite) r.cacheWriteTokens = cacheWrite;
      }
    }
    if (requested) r.requestedModel = requested;
    if (record.error) r.error = clip(redactSecrets(record.error));
    if (record.source) r.source = clip(record.source);
    this.pushRecent(r);
    this.fire();
  }

  /**
   * The account's own figure for a key's spend, read at each refresh: the rise since the
   * last reading is spent in the current hour. The first reading only sets the baseline; a
   * fall (refund, reissued key) moves the baseline down without a negative spend. A rise
   * seen after the app was off lands in the hour it is seen.
   */
  recordUtilised(keyId: string, utilisedYuan: number, now: number): void {
    if (!Number.isFinite(utilisedYuan) || utilisedYuan < 0) return;
    const key = safeKeyId(keyId);
    const prev = this.baselines.get(key);
    this.baselines.set(key, { yuan: utilisedYuan, at: now });
    if (!prev) return;
    const delta = Math.round((utilisedYuan - prev.yuan) * 1e8) / 1e8;
    if (delta <= 0) return;
    const hour = hourOf(now);
    this.pruneHourly(now, hour);
    const id = `${hour}\u0000${key}`;
    let b = this.spent.get(id);
    if (!b) {
      b = { hour, key, yuan: 0 };
      this.spent.set(id, b);
      this.bound(this.spent);
    }
    b.yuan += delta;
    this.fire();
  }

  /**
   * recordUtilised for every key of a pool snapshot that knows its `used` (call it after each
   * refresh of the account: `history.recordUtilisedFrom(pool.snapshot().keys, now)`).
   */
  recordUtilisedFrom(keys: readonly { id: string; used?: number }[], now: number): void {
    for (const k of keys) if (k.used !== undefined) this.recordUtilised(k.id, k.used, now);
  }

  /** Hour buckets that end after `since` (all when omitted), oldest first as recorded. The history's own objects: read only. */
  hourBuckets(since = -Infinity): readonly Readonly<HourBucket>[] {
    const out: HourBucket[] = [];
    for (const b of this.hours.values()) if (b.hour + HOUR_MS > since) out.push(b);
    return out;
  }

  utilisedBuckets(since = -Infinity): readonly Readonly<UtilisedBucket>[] {
    const out: UtilisedBucket[] = [];
    for (const b of this.spent.values()) if (b.hour + HOUR_MS > since) out.push(b);
    return out;
  }

  /** The recent requests, oldest first. */
  recent(): RecentRequest[] {
    return this.ring.length < this.maxRecent || this.ringStart === 0
      ? this.ring.slice()
      : this.ring.slice(this.ringStart).concat(this.ring.slice(0, this.ringStart));
  }

  /** Drops what is older than the retention period. */
  prune(now: number): void {
    const cutoff = now - this.retentionMs;
    this.lastBucket = undefined;
    for (const [id, b] of this.hours) if (b.hour + HOUR_MS <= cutoff) this.hours.delete(id);
    for (const [id, b] of this.spent) if (b.hour + HOUR_MS <= cutoff) this.spent.delete(id);
    for (const [k, v] of this.baselines) if (v.at <= cutoff) this.baselines.delete(k);
    const kept = this.recent().filter((r) => r.at > cutoff);
    if (kept.length !== this.ring.length) {
      this.ring = kept;
      this.ringStart = 0;
    }
    this.prunedForHour = hourOf(now);
  }

  toJSON(): UsageHistoryData {
    return {
      version: USAGE_HISTORY_VERSION,
      hours: [...this.hours.values()].map(hourRow),
      utilised: [...this.spent.values()].map((b) => [b.hour, b.key, round8(b.yuan)]),
      baselines: [...this.baselines].map(([k, v]) => [k, v.yuan, v.at]),
      recent: this.recent(),
    };
  }

  /**
   * A history from its file form, pruned on `now`. `data` is what the state file's decoder
   * (decodeUsageHistory, src/core/state) gave: its rows are trusted; null is an empty history.
   * Rows of the same hour, key and model are merged; the size bound keeps the newest.
   */
  static fromData(data: UsageHistoryData | null, now: number, options: UsageHistoryOptions = {}): UsageHistory {
    const h = new UsageHistory(options);
    if (data === null) return h;
    // Oldest first, so that the size bound drops the oldest.
    const hours = [...data.hours].sort((a, b) => a[0] - b[0]);
    for (const row of hours) {
      const b = bucketOfRow(row);
      const id = bucketId(b.hour, b.key, b.model, b.requested);
      const had = h.hours.get(id);
      if (had) mergeInto(had, b);
      else h.hours.set(id, b);
    }
    for (const [hour, key, yuan] of data.utilised) {
      const id = `${hour}\u0000${key}`;
      const had = h.spent.get(id);
      if (had) had.yuan += yuan;
      else h.spent.set(id, { hour, key, yuan });
    }
    for (const [key, yuan, at] of data.baselines) h.baselines.set(key, { yuan, at });
    const recent = [...data.recent].sort((a, b) => a.at - b.at);
    h.ring = recent.slice(-h.maxRecent);
    h.bound(h.hours);
    h.bound(h.spent);
    h.prune(now);
    return h;
  }

  /**
   * Takes over the contents of `data` (the file after this process merged its own requests onto
   * another's, historyMerge.ts), without a change event: nothing new happened here.
   */
  replaceData(data: UsageHistoryData | null, now: number): void {
    const h = UsageHistory.fromData(data, now, { retentionDays: this.retentionMs / DAY_MS, maxRecent: this.maxRecent, maxBuckets: this.maxBuckets });
    this.lastBucket = undefined;
    this.hours.clear();
    for (const [k, v] of h.hours) this.hours.set(k, v);
    this.spent.clear();
    for (const [k, v] of h.spent) this.spent.set(k, v);
    this.baselines.clear();
    for (const [k, v] of h.baselines) this.baselines.set(k, v);
    this.ring = h.ring;
    this.ringStart = h.ringStart;
    this.prunedForHour = h.prunedForHour;
  }

  private pushRecent(r: RecentRequest): void {
    if (this.ring.length < this.maxRecent) {
      this.ring.push(r);
      return;
    }
    this.ring[this.ringStart] = r;
    this.ringStart = (this.ringStart + 1) % this.maxRecent;
  }

  /** At most once an hour: pruning walks every bucket. */
  private pruneHourly(now: number, hour: number): void {
    if (hour !== this.prunedForHour) this.prune(now);
  }

  /** Maps keep insertion order, which is time order: the first entries are the oldest. */
  private bound(map: Map<string, unknown>): void {
    if (map.size > this.maxBuckets) this.lastBucket = undefined;
    while (map.size > this.maxBuckets) {
      const first = map.keys().next();
      if (first.done) return;
      map.delete(first.value);
    }
  }

  private fire(): void {
    if (this.changed.listenerCount > 0) this.changed.fire();
  }
}

/** `GET /v1/models` or `/v1/models/{id}` (the path is the client's, under /v1): listing models costs nothing and is no use of one. */
export function isModelList(r: Pick<UsageRecordInput, 'method' | 'path'>): boolean {
  return (r.method === 'GET' || r.method === 'HEAD') && /^\/models(?:\/|$|\?)/.test(r.path);
}

/** A request that did not get its answer: an error status, or an answer cut off upstream. */
export function isFailure(r: Pick<UsageRecordInput, 'status' | 'error' | 'aborted'>): boolean {
  if (r.status >= 400) return true;
  // The client hanging up is the client's choice, not a failure of the proxy or the key.
  if (r.aborted) return false;
  return r.status < 200 || !!r.error;
}

export function hourOf(t: number): number {
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}

function bucketId(hour: number, key: string, model: string, requested: string): string {
  return `${hour}\u0000${key}\u0000${model}\u0000${requested}`;
}

/** A bucket's file row, without the trailing fields that say nothing (HourRow). */
export function hourRow(b: Readonly<HourBucket>): HourRow {
  const row: HourRow = [b.hour, b.key, b.model, b.requests, b.failures, b.inputTokens, b.outputTokens, b.cacheTokens, round8(b.costCny), b.unpricedRequests];
  if (b.requested) row.push(b.cacheReadTokens, b.cacheWriteTokens, b.requested);
  else if (b.cacheTokens > 0) row.push(b.cacheReadTokens, b.cacheWriteTokens);
  return row;
}

/** The bucket a (decoded) file row holds; a row without the split holds cache tokens of unknown kind. */
export function bucketOfRow(r: Readonly<HourRow>): HourBucket {
  return {
    hour: r[0],
    key: r[1],
    model: r[2],
    requested: r[12] ?? '',
    requests: r[3],
    failures: r[4],
    inputTokens: r[5],
    outputTokens: r[6],
    cacheTokens: r[7],
    cacheReadTokens: r[10] ?? 0,
    cacheWriteTokens: r[11] ?? 0,
    costCny: r[8],
    unpricedRequests: r[9],
  };
}

/** The id of a row's bucket: hour, key, served and requested model. */
export function hourRowId(r: Readonly<HourRow>): string {
  return bucketId(r[0], r[1], r[2], r[12] ?? '');
}

function routeOf(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? path : path.slice(0, q);
}

function clip(s: string): string {
  return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s;
}

/**
 * Key ids are masked already (`sk-abcd…wxyz`, `#2` on a collision). Anything that looks like
 * a key in clear is masked here too: a history file must never hold one.
 */
export function safeKeyId(id: string | undefined): string {
  if (!id) return '';
  if (id.includes('…') && id.length <= 40) return id;
  return maskKey(id);
}

function round8(n: number): number {
  return Math.round(n * 1e8) / 1e8;
}

export function mergeInto(a: HourBucket, b: Readonly<HourBucket>): void {
  a.requests += b.requests;
  a.failures += b.failures;
  a.inputTokens += b.inputTokens;
  a.outputTokens += b.outputTokens;
  a.cacheTokens += b.cacheTokens;
  a.cacheReadTokens += b.cacheReadTokens;
  a.cacheWriteTokens += b.cacheWriteTokens;
  a.costCny += b.costCny;
  a.unpricedRequests += b.unpricedRequests;
}
