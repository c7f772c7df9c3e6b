// One key as the pool holds it, and small pure helpers over it.

import { keyHash } from '../util/hash';
import type { Exclusion, KeyView } from './choice';
import { HEALTHY, type Health } from './health';
import type { AcquireResult, KeySnapshot, KeyStats, ModelExclusion, PoolLease } from './types';

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

/**
 * Sets the model ids a key serves (undefined = unknown) and ends its 'until-refresh'
 * exclusions (a fresh list is the gateway's newer word). True when anything changed.
 */
export function applyModels(e: Entry, models: readonly string[] | undefined): boolean {
  let changed = false;
  if (e.exclusions) {
    for (const [model, x] of e.exclusions) {
      if (x.until === undefined) {
        e.exclusions.delete(model);
        changed = true;
      }
    }
    if (e.exclusions.size === 0) e.exclusions = undefined;
  }
  if (models === undefined) {
    if (e.models !== undefined) changed = true;
    e.models = undefined;
    e.modelList = undefined;
  } else {
    const set = new Set<string>();
    for (const m of models) if (typeof m === 'string' && m) set.add(m);
    if (!sameList(e.modelList, set)) {
      e.models = set;
      e.modelList = Object.freeze([...set]);
      changed = true;
    }
  }
  return changed;
}

/** Every model id some key lists, but `model` (listed and refused on every key: naming it as an alternative would mislead). */
export function servedModels(entries: readonly Entry[], model: string): string[] {
  const all = new Set<string>();
  for (const e of entries) if (e.modelList) for (const m of e.modelList) all.add(m);
  all.delete(model);
  return [...all];
}

function sameList(list: readonly string[] | undefined, set: ReadonlySet<string>): boolean {
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
