// Which key an attempt gets: a pure function over a read-only view of the pool's keys, so the
// rules are tested as a table. It runs on every attempt, so it allocates nothing: it returns an
// index, and the tier follows from the chosen key's health (tierOf).

import { isFailing, type Health } from './health';
import type { AcquireTier } from './types';

/** One refused (key, model) pair. */
export interface Exclusion {
  readonly reason: string;
  /** Epoch ms; undefined = until the key's next model list. */
  readonly until?: number;
}

/** What the choice reads of a key. The pool's own entries are passed as they are (no copy). */
export interface KeyView {
  readonly id: string;
  readonly health: Health;
  readonly manuallyDisabled: boolean;
  /** Exact model ids the key serves; undefined = unknown ("serves anything"). */
  readonly models?: ReadonlySet<string>;
  readonly exclusions?: ReadonlyMap<string, Exclusion>;
}

export interface ChoiceRequest {
  /** The model the request names, if any. */
  readonly model?: string;
  /** Ids this request already tried. */
  readonly tried?: ReadonlySet<string>;
  /** Longest wait for a cooling key; 0 = never wait. */
  readonly maxWaitMs: number;
  /** A key id that wins when it is usable now for the model (see chooseKey). */
  readonly prefer?: string;
}

/**
 * The index in `keys` of the key for one attempt, or -1 when there is none; `start` is where the
 * round-robin scan begins (the pool's cursor). Never a key out by hand, revoked, exhausted,
 * waiting for a re-check, tried by this request, or whose list lacks the model (or whose pair
 * with it is excluded). Among the rest, in this order:
 *
 * 1. `prefer`: the key with that id, when it is usable now for the model (healthy, not tried,
 *    its list names the model or is unknown, the pair not excluded). This is the hook for
 *    session affinity (a conversation stays on the key that holds its prompt cache); when the
 *    preferred key is not usable, the choice falls back to the rules below as if no key were
 *    preferred.
 * 2. tier 'usable': healthy keys, the first from `start`;
 * 3. tier 'failing': keys out by consecutive failures (a last resort);
 * 4. tier 'cooling': keys cooling down whose end is within `maxWaitMs`, the soonest end first.
 *
 * With a model, keys whose list names it come before keys whose list is unknown, across all
 * three tiers (a known cooling key before an unknown usable one).
 */
export function chooseKey(keys: readonly KeyView[], start: number, req: ChoiceRequest, now: number): number {
  const n = keys.length;
  const { model, tried, prefer } = req;
  const maxWait = req.maxWaitMs > 0 ? req.maxWaitMs : 0;
  // First index per (rank, tier): rank 0 = the key's list names the model (or no model asked), 1 = list unknown.
  let u0 = -1, f0 = -1, c0 = -1, u1 = -1, f1 = -1, c1 = -1;
  let cu0 = Infinity, cu1 = Infinity;
  for (let i = 0; i < n; i++) {
    const idx = (start + i) % n;
    const k = keys[idx];
    if (k.manuallyDisabled || (tried !== undefined && tried.has(k.id))) continue;
    const unknown = model !== undefined && k.models === undefined;
    if (model !== undefined && !serves(k, model, now)) continue;
    const h = k.health;
    if (h.kind === 'healthy') {
      if (prefer !== undefined && k.id === prefer) return idx;
      if (unknown) {
        if (u1 < 0) u1 = idx;
      } else if (u0 < 0) u0 = idx;
    } else if (isFailing(h)) {
      if (unknown) {
        if (f1 < 0) f1 = idx;
      } else if (f0 < 0) f0 = idx;
    } else if (h.kind === 'cooling') {
      if (h.until - now > maxWait) continue;
      if (unknown) {
        if (h.until < cu1) {
          cu1 = h.until;
          c1 = idx;
        }
      } else if (h.until < cu0) {
        cu0 = h.until;
        c0 = idx;
      }
    }
  }
  if (u0 >= 0) return u0;
  if (f0 >= 0) return f0;
  if (c0 >= 0) return c0;
  if (u1 >= 0) return u1;
  if (f1 >= 0) return f1;
  return c1;
}

/** The tier of a key chooseKey returned. */
export function tierOf(h: Health): AcquireTier {
  return h.kind === 'healthy' ? 'usable' : h.kind === 'cooling' ? 'cooling' : 'failing';
}

/** Whether the key may serve `model`: its list names it (or is unknown) and the pair is not excluded now. */
export function serves(k: KeyView, model: string, now: number): boolean {
  if (k.models !== undefined && !k.models.has(model)) return false;
  if (k.exclusions === undefined) return true;
  const x = k.exclusions.get(model);
  return x === undefined || (x.until !== undefined && x.until <= now);
}

/** What acquire needs to know when the choice was not a usable key (a rare path: it may allocate). */
export interface PoolSummary {
  /** Some key not out by hand is healthy. */
  anyUsable: boolean;
  /** Some key not out by hand is out by failures (a reset would bring it back). */
  anyFailing: boolean;
  /** Keys that serve the model (whatever their state); 0 without a model. */
  servable: number;
  /** The soonest end of a cool-down of a key not out by hand (Infinity when none). */
  minCooling: number;
}

export function summarize(keys: readonly KeyView[], model: string | undefined, now: number): PoolSummary {
  const s: PoolSummary = { anyUsable: false, anyFailing: false, servable: 0, minCooling: Infinity };
  for (const k of keys) {
    const h = k.health;
    if (!k.manuallyDisabled) {
      if (h.kind === 'healthy') s.anyUsable = true;
      else if (isFailing(h)) s.anyFailing = true;
      else if (h.kind === 'cooling' && h.until < s.minCooling) s.minCooling = h.until;
    }
    if (model !== undefined && serves(k, model, now)) s.servable++;
  }
  return s;
}
