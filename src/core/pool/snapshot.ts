// The pool as views and /health read it: built from the entries only when someone reads it,
// each key's part kept while the key's revision holds.

import { maskKey, redactSecrets } from '../util/mask';
import { chooseKey, type ChoiceRequest } from './choice';
import { liveExclusions, type Entry } from './entry';
import { keyStateOf } from './health';
import type { KeySnapshot, KeyState, PoolCounts, PoolSnapshot } from './types';

/** What snapshot().nextKeyId asks: a request without a model that waits for nothing. */
const PEEK: ChoiceRequest = Object.freeze({ tried: new Set<string>(), maxWaitMs: 0 });

export interface PoolFacts {
  cursor: number;
  resets: number;
  lastKeyId: string | undefined;
}

export function buildSnapshot(entries: readonly Entry[], facts: PoolFacts, now: number): PoolSnapshot {
  const counts: PoolCounts = { total: 0, healthy: 0, cooling: 0, disabled: 0, exhausted: 0, usable: 0 };
  const totals = { requests: 0, successes: 0, failures: 0 };
  const keys: KeySnapshot[] = [];
  let excludedPairs = 0;
  let minCooling = Infinity;
  for (const e of entries) {
    // Counts are effective (a key out by hand counts as disabled, so usable === healthy and the
    // buckets add up to total); the key's own `state` stays its automatic state, so a view can
    // say "out of rotation by you" and still show that it is, say, exhausted underneath.
    const h = e.health;
    const bucket: KeyState = e.manuallyDisabled ? 'disabled' : keyStateOf(h);
    counts.total++;
    counts[bucket]++;
    if (bucket === 'healthy') counts.usable++;
    if (bucket === 'cooling' && h.kind === 'cooling' && h.until < minCooling) minCooling = h.until;
    totals.requests += e.stats.requests;
    totals.successes += e.stats.successes;
    totals.failures += e.stats.failures;
    const k = keySnapshotOf(e, now);
    excludedPairs += k.exclusions.length;
    keys.push(k);
  }
  // The id acquire() would return now for a request without a model (a reset included).
  const next = entries.length ? chooseKey(entries, facts.cursor, PEEK, now) : -1;
  const snap: PoolSnapshot = {
    keys: Object.freeze(keys),
    counts: Object.freeze(counts),
    nextKeyId: next >= 0 ? entries[next].id : undefined,
    totals: Object.freeze(totals),
    resets: facts.resets,
    lastKeyId: facts.lastKeyId,
    excludedPairs,
  };
  if (counts.usable === 0 && minCooling !== Infinity) snap.nextUsableAt = minCooling;
  return Object.freeze(snap);
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
