// What the pool keeps across restarts (issue 11): written by keyHash only, never a key in clear;
// read back from what the state file's decoder (sanitizePoolState, src/core/state) gave.

import { hashOf, liveExclusions, type Entry } from './entry';
import { keyStateOf, type HealthEvent } from './health';
import type { PoolStateData } from './types';

/** The state file's data for the keys the pool has now. */
export function stateOf(entries: readonly Entry[], now: number): PoolStateData {
  const keys: PoolStateData['keys'] = {};
  for (const e of entries) keys[hashOf(e)] = stateRecordOf(e, now);
  return { keys };
}

/** What the state file keeps of a key. */
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

/** How the pool applies a restored record: through its own single doors for health and exclusions. */
export interface RestoreOps {
  move(e: Entry, ev: HealthEvent): boolean;
  exclude(e: Entry, model: string, reason: string, until: number | undefined): void;
  touch(e: Entry): void;
}

export interface Restored {
  out: number;
  exhausted: number;
  cooling: number;
  manual: number;
  pairs: number;
}

/**
 * Applies `data` (already decoded: its shape is trusted) to the keys present; undefined when it
 * named none of them. Cool-downs and exclusions over at `now` are not restored.
 */
export function restoreState(entries: readonly Entry[], data: PoolStateData, now: number, ops: RestoreOps): Restored | undefined {
  let any = false;
  const restored: Restored = { out: 0, exhausted: 0, cooling: 0, manual: 0, pairs: 0 };
  for (const e of entries) {
    const hash = hashOf(e);
    const rec = Object.prototype.hasOwnProperty.call(data.keys, hash) ? data.keys[hash] : undefined;
    if (!rec) continue;
    any = true;
    ops.touch(e);
    if (rec.manuallyDisabled !== undefined) e.manuallyDisabled = rec.manuallyDisabled;
    if (e.manuallyDisabled) restored.manual++;
    if (rec.state !== undefined) {
      const moved = ops.move(e, {
        type: 'restored',
        state: rec.state,
        outBy: rec.disabledBy,
        exhaustedBy: rec.exhaustedBy,
        reason: rec.reason,
        since: rec.since,
        coolingUntil: rec.coolingUntil,
        balance: e.balance,
      });
      if (rec.state === 'disabled') restored.out++;
      else if (moved) restored[rec.state]++;
    }
    for (const x of rec.exclusions ?? []) {
      if (x.until !== undefined && x.until <= now) continue;
      ops.exclude(e, x.model, x.reason, x.until);
      restored.pairs++;
    }
    const s = rec.stats;
    if (s) {
      e.stats.requests = s.requests;
      e.stats.successes = s.successes;
      e.stats.failures = s.failures;
      if (s.lastError !== undefined) e.stats.lastError = s.lastError;
      if (s.lastUsedAt !== undefined) e.stats.lastUsedAt = s.lastUsedAt;
    }
  }
  return any ? restored : undefined;
}
