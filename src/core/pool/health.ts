// A key's health: one value, changed only by nextHealth(), a pure table of (health × event) →
// health. The pool applies its result in one place (KeyPool.move), so nothing sets a side field
// after a state change: why a key is out, since when, until when it cools and whether it waits
// for a re-check all travel inside the value.
//
// Taken out by hand is not part of it: the user's switch is orthogonal to what the key's own
// history says (a key out by hand still runs dry, its cool-down still ends, and the views show
// both: "out by you, exhausted underneath"), so it stays a flag beside the health.

import type { KeyState } from './types';

/** Out after consecutive failures (re-checked, reset when nothing else is left) or revoked (401/403). */
export type OutBy = 'failures' | 'revoked';
/** Exhausted by a refused request (back when the balance goes up) or by the account's balance (back when > 0). */
export type ExhaustedBy = 'request' | 'balance';

export type Health =
  | { readonly kind: 'healthy'; readonly since?: number }
  | { readonly kind: 'cooling'; readonly until: number; readonly reason?: string; readonly since?: number }
  /** `recheck`: restored out from the state file: out of every tier until a re-check passes. */
  | { readonly kind: 'out'; readonly by: OutBy; readonly recheck: boolean; readonly reason?: string; readonly since?: number }
  | { readonly kind: 'exhausted'; readonly by: ExhaustedBy; readonly reason?: string; readonly since?: number };

/** A key that never changed. */
export const HEALTHY: Health = Object.freeze({ kind: 'healthy' });

export const NO_BALANCE_REASON = 'no balance left';
export const RESTORED_OUT_REASON = 'out before the restart; waiting for a re-check';

export type HealthEvent =
  /** An attempt succeeded: a key out by failures is back. */
  | { readonly type: 'success' }
  /** A counted failure (retry-next-key); `streak` already includes it. */
  | { readonly type: 'failure'; readonly streak: number; readonly threshold: number; readonly reason: string }
  /** A 429: rest until `until` (never shortens a cool-down under way). */
  | { readonly type: 'cool-down'; readonly until: number; readonly reason: string }
  /** 401/403 about the key. */
  | { readonly type: 'revoked'; readonly reason: string }
  /** A request refused for money (402 and its kin). */
  | { readonly type: 'refused-for-money'; readonly reason: string }
  /** The account's balance for the key, as a refresh read it. */
  | { readonly type: 'balance'; readonly balance: number; readonly previous: number | undefined }
  /** The clock moved: a cool-down whose end has passed is over. */
  | { readonly type: 'time' }
  /** No key was usable: keys out by failures (not waiting for a re-check) come back. */
  | { readonly type: 'reset' }
  /** A free re-check (GET /v1/models with the key) passed. */
  | { readonly type: 'recheck-passed' }
  /** Counted failures were forgiven (a gateway outage); `before` is the health the last one took the key out of. */
  | { readonly type: 'forgiven'; readonly streak: number; readonly threshold: number; readonly before: Health }
  /** What the state file said about the key (already decoded), applied after a restart. */
  | {
      readonly type: 'restored';
      readonly state: 'disabled' | 'exhausted' | 'cooling';
      readonly outBy?: OutBy;
      readonly exhaustedBy?: ExhaustedBy;
      readonly reason?: string;
      readonly since?: number;
      readonly coolingUntil?: number;
      /** The balance the account shows now for the key (undefined: unknown). */
      readonly balance: number | undefined;
    };

/** The events without data, shared: the hot path allocates none. */
export const SUCCESS: HealthEvent = Object.freeze({ type: 'success' });
export const TIME: HealthEvent = Object.freeze({ type: 'time' });
export const RESET: HealthEvent = Object.freeze({ type: 'reset' });
export const RECHECK_PASSED: HealthEvent = Object.freeze({ type: 'recheck-passed' });

/**
 * The next health of a key, or the very same object when the event changes nothing. `now` is
 * the clock: it stamps `since` when the kind changes and decides whether a cool-down is over.
 */
export function nextHealth(h: Health, ev: HealthEvent, now: number): Health {
  switch (ev.type) {
    case 'success':
      return h.kind === 'out' && h.by === 'failures' ? healthy(now) : h;
    case 'failure':
      if (ev.streak < ev.threshold || (h.kind !== 'healthy' && h.kind !== 'cooling')) return h;
      return { kind: 'out', by: 'failures', recheck: false, reason: `${ev.streak} consecutive failures: ${ev.reason}`, since: now };
    case 'cool-down': {
      if (h.kind === 'healthy') return { kind: 'cooling', until: ev.until, reason: ev.reason, since: now };
      if (h.kind !== 'cooling') return h; // a worse state stays
      return { kind: 'cooling', until: Math.max(ev.until, h.until), reason: ev.reason, since: h.since };
    }
    case 'revoked':
      // A key already out keeps its `since` and whether it waits for a re-check.
      return h.kind === 'out'
        ? { kind: 'out', by: 'revoked', recheck: h.recheck, reason: ev.reason, since: h.since }
        : { kind: 'out', by: 'revoked', recheck: false, reason: ev.reason, since: now };
    case 'refused-for-money':
      return { kind: 'exhausted', by: 'request', reason: ev.reason, since: h.kind === 'exhausted' ? h.since : now };
    case 'balance':
      if (ev.balance <= 0) return h.kind === 'exhausted' ? h : { kind: 'exhausted', by: 'balance', reason: NO_BALANCE_REASON, since: now };
      // Back from an empty balance, or topped up after a refused request.
      if (h.kind === 'exhausted' && (h.by === 'balance' || (ev.previous !== undefined && ev.balance > ev.previous))) return healthy(now);
      return h;
    case 'time':
      return h.kind === 'cooling' && h.until <= now ? healthy(now) : h;
    case 'reset':
      return isFailing(h) ? healthy(now) : h;
    case 'recheck-passed':
      return h.kind === 'out' ? healthy(now) : h;
    case 'forgiven': {
      if (h.kind !== 'out' || h.by !== 'failures' || ev.streak >= ev.threshold) return h;
      const b = ev.before;
      return b.kind === 'cooling' && b.until > now ? { kind: 'cooling', until: b.until, reason: b.reason, since: now } : healthy(now);
    }
    case 'restored':
      return restored(h, ev, now);
  }
}

function restored(h: Health, ev: Extract<HealthEvent, { type: 'restored' }>, now: number): Health {
  switch (ev.state) {
    case 'disabled':
      return {
        kind: 'out',
        by: ev.outBy === 'failures' ? 'failures' : 'revoked',
        recheck: true,
        reason: ev.reason ?? RESTORED_OUT_REASON,
        since: ev.since ?? (h.kind === 'out' ? h.since : now),
      };
    case 'exhausted': {
      if (h.kind === 'out' || h.kind === 'exhausted') return h;
      const byBalance = ev.exhaustedBy === 'balance';
      if (byBalance && ev.balance !== undefined && ev.balance > 0) return h; // the account shows money again
      return { kind: 'exhausted', by: byBalance ? 'balance' : 'request', reason: ev.reason ?? NO_BALANCE_REASON, since: ev.since ?? now };
    }
    case 'cooling': {
      const until = ev.coolingUntil ?? 0;
      if (h.kind !== 'healthy' || until <= now) return h;
      return { kind: 'cooling', until, reason: ev.reason, since: ev.since ?? now };
    }
  }
}

/** Whether an event that moved a key from `was` to `next` ends its failure streak. */
export function endsStreak(ev: HealthEvent, was: Health, next: Health): boolean {
  switch (ev.type) {
    case 'success':
      return true;
    case 'reset':
    case 'recheck-passed':
    case 'balance':
      // Only when the key actually came back (a re-check of a healthy key ends nothing).
      return was !== next && next.kind === 'healthy';
    default:
      return false;
  }
}

/** Out by consecutive failures and not waiting for a re-check: the last-resort tier, what a reset brings back. */
export function isFailing(h: Health): boolean {
  return h.kind === 'out' && h.by === 'failures' && !h.recheck;
}

/** Worth a free re-check: out by failures, or restored out and waiting for one. */
export function wantsRecheck(h: Health): boolean {
  return h.kind === 'out' && (h.by === 'failures' || h.recheck);
}

/** The word views and logs use for the kind. */
export function keyStateOf(h: Health): KeyState {
  return h.kind === 'out' ? 'disabled' : h.kind;
}

function healthy(now: number): Health {
  return { kind: 'healthy', since: now };
}
