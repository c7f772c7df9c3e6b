// One key as the pool holds it, and the pure pieces that read it: its part of the snapshot and
// of the state file.

import { keyHash } from '../util/hash';
import { maskKey, redactSecrets } from '../util/mask';
import type { Exclusion, KeyView } from './choice';
import { HEALTHY, keyStateOf, type Health } from './health';
import type { AcquireResult, KeySnapshot, KeyStats, ModelExclusion, PoolLease, PoolStateData } from './types';

export type Acquired = Extract<AcquireResult, { kind: 'key' }>;

export interface Entry extends KeyView {
  id: string;
  readonly key: string;
  lease: PoolLease;
  /** keyHash(key), computed when first needed (export/import only). */
  hash?: string;
  name?: string;
  balance?: number;
  used?: number;
  /** Changed only through KeyPool.move (nextHealth). */
  health: Health;
  manuallyDisabled: boolean;
  consecutiveFailures: number;
  /** Bumped whenever the failure streak starts over, so forgive() leaves a newer streak alone. */
  streakEpoch: number;
  stats: KeyStats;
  models?: Set<string>;
  /** The same ids in the gateway's order, for the snapshot. */
  modelList?: readonly string[];
  exclusions?: Map<string, Exclusion>;
  /** Frozen results for the waitless tiers, [tier usable|failing][model list unknown|known], built once. */
  results?: (Acquired | undefined)[];
  /** Bumped on every change of the key: the snapshot part below is current while `snapRev` equals it. */
  rev: number;
  snap?: KeySnapshot;
  snapRev: number;
}

export function newEntry(key: string): Entry {
  return {
    id: '',
    key,
    lease: { id: '', key },
    health: HEALTHY,
    manuallyDisabled: false,
    consecutiveFailures: 0,
    streakEpoch: 0,
    stats: { requests: 0, successes: 0, failures: 0 },
    rev: 0,
    snapRev: -1,
  };
}

export function hashOf(e: Entry): string {
  return (e.hash ??= keyHash(e.key));
}

export function liveExclusions(e: Entry, now: number): ModelExclusion[] {
  const out: ModelExclusion[] = [];
  if (!e.exclusions) return out;
  for (const [model, x] of e.exclusions) {
    if (x.until !== undefined && x.until <= now) continue;
    const m: ModelExclusion = { model, reason: x.reason };
    if (x.until !== undefined) m.until = x.until;
    out.push(m);
  }
  return out;
}

/** This key's part of the snapshot, rebuilt only when the key changed since the last one. */
export function keySnapshotOf(e: Entry, now: number): KeySnapshot {
  if (e.snap !== undefined && e.snapRev === e.rev) return e.snap;
  const h = e.health;
  const k: KeySnapshot = {
    id: e.id,
    masked: maskKey(e.key),
    state: keyStateOf(h),
    manuallyDisabled: e.manuallyDisabled,
    consecutiveFailures: e.consecutiveFailures,
    stats: Object.freeze({ ...e.stats }),
    exclusions: Object.freeze(liveExclusions(e, now).map((x) => Object.freeze(x))),
  };
  if (e.name !== undefined) k.name = redactSecrets(e.name);
  if (e.balance !== undefined) k.balance = e.balance;
  if (e.used !== undefined) k.used = e.used;
  if (h.kind === 'cooling') k.coolingUntil = h.until;
  if (h.kind === 'out') {
    k.disabledBy = h.by;
    if (h.recheck) k.awaitingRecheck = true;
  }
  if (h.since !== undefined) k.since = h.since;
  if (h.kind !== 'healthy' && h.reason !== undefined) k.reason = h.reason;
  if (e.modelList !== undefined) k.models = e.modelList;
  e.snap = Object.freeze(k);
  e.snapRev = e.rev;
  return e.snap;
}

/** What the state file keeps of a key (by keyHash, never in clear). */
export function stateRecordOf(e: Entry, now: number): PoolStateData['keys'][string] {
  const rec: PoolStateData['keys'][string] = {};
  if (e.manuallyDisabled) rec.manuallyDisabled = true;
  const h = e.health;
  if (h.kind === 'out' || h.kind === 'exhausted' || (h.kind === 'cooling' && h.until > now)) {
    rec.state = keyStateOf(h) as 'disabled' | 'exhausted' | 'cooling';
    if (h.reason !== undefined) rec.reason = h.reason;
    if (h.since !== undefined) rec.since = h.since;
    if (h.kind === 'out') rec.disabledBy = h.by;
    if (h.kind === 'exhausted') rec.exhaustedBy = h.by;
    if (h.kind === 'cooling') rec.coolingUntil = h.until;
  }
  const exclusions = liveExclusions(e, now);
  if (exclusions.length) rec.exclusions = exclusions;
  const s = e.stats;
  rec.stats = { requests: s.requests, successes: s.successes, failures: s.failures };
  if (s.lastError !== undefined) rec.stats.lastError = s.lastError;
  if (s.lastUsedAt !== undefined) rec.stats.lastUsedAt = s.lastUsedAt;
  return rec;
}

export function sameList(list: readonly string[] | undefined, set: ReadonlySet<string>): boolean {
  if (list === undefined || list.length !== set.size) return false;
  let i = 0;
  for (const m of set) if (list[i++] !== m) return false;
  return true;
}

export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}#${i}`;
    if (!taken.has(id)) return id;
  }
}

export function finiteOr<T>(v: unknown, fallback: T): number | T {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}
