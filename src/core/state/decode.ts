// The rules every decoder of a saved file uses, written once: what counts as a time, a count, an
// amount, a record, and text that may be kept. The pool's state and the usage history decode
// with these (poolState.ts, usageState.ts), so the two files cannot drift apart again.

import { looksLikeKey } from './secrets';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Epoch ms: finite and after 1970 (0 means "never set" in a hand-edited file, not a time). */
export function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** A counter: a whole number, 0 or more. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** An amount (¥, ms): finite, 0 or more. */
export function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Rows of a list field; a missing or non-list field is no rows. */
export function rowsOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `text` cut to `max` characters. */
export function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** A string that does not look like a key, cut to `max`; undefined otherwise (the file must hold no secret). */
export function safeText(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || looksLikeKey(value)) return undefined;
  return clip(value, max);
}
