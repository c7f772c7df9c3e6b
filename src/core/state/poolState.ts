// The pool's state file: what the pool learned about each key (issue 11), by key hash only.
import { NO_BALANCE_REASON } from '../pool/health';
import type { PoolStateData } from '../pool/types';
import { isCount, isRecord, isTime, safeText as safeTextOf } from './decode';
import { JsonStateFile, type JsonStateFileOptions } from './jsonStateFile';

/** What the state store keeps of the pool: the pool's own shape, keys only by keyHash. */
export type { PoolStateData };
export type PoolKeyState = PoolStateData['keys'][string];

export const poolStateVersion = 1;

// Bounds so that a runaway writer (or a hand-edited file) cannot make the file, or the read at
// start, grow without limit.
const maxKeys = 10_000;
const maxExclusionsPerKey = 500;
const maxTextLength = 500;

const states = new Set(['disabled', 'exhausted', 'cooling']);
const disabledBys = new Set(['failures', 'revoked']);
/** keyHash is 24 hex chars; a little leeway in case its length changes, but never a key. */
const keyHashPattern = /^[0-9a-f]{16,64}$/;

/**
 * The decoder of the pool's state file (and the sanitizer of what is about to be written):
 * undefined when the whole is not of the shape; otherwise entries and fields that are not of the
 * shape are dropped one by one, and so is any text that looks like a key (defence in depth: the
 * file must hold no secret). KeyPool.importState trusts what it gives.
 */
export function sanitizePoolState(data: unknown): PoolStateData | undefined {
  if (!isRecord(data) || !isRecord(data.keys)) return undefined;
  const keys: Record<string, PoolKeyState> = {};
  let count = 0;
  for (const [hash, entry] of Object.entries(data.keys)) {
    if (count >= maxKeys) break;
    if (!keyHashPattern.test(hash)) continue;
    const clean = sanitizeKeyState(entry);
    if (!clean) continue;
    keys[hash] = clean;
    count++;
  }
  return { keys };
}

function sanitizeKeyState(entry: unknown): PoolKeyState | undefined {
  if (!isRecord(entry)) return undefined;
  const out: PoolKeyState = {};
  if (typeof entry.manuallyDisabled === 'boolean') out.manuallyDisabled = entry.manuallyDisabled;
  if (typeof entry.state === 'string' && states.has(entry.state)) out.state = entry.state as PoolKeyState['state'];
  if (typeof entry.disabledBy === 'string' && disabledBys.has(entry.disabledBy)) out.disabledBy = entry.disabledBy as PoolKeyState['disabledBy'];
  if (entry.exhaustedBy === 'request' || entry.exhaustedBy === 'balance') out.exhaustedBy = entry.exhaustedBy;
  const reason = safeText(entry.reason);
  if (reason !== undefined) out.reason = reason;
  // A file from before exhaustedBy was kept: the reason still tells an empty balance apart.
  if (out.state === 'exhausted' && out.exhaustedBy === undefined && out.reason === NO_BALANCE_REASON) out.exhaustedBy = 'balance';
  if (isTime(entry.since)) out.since = entry.since;
  if (isTime(entry.coolingUntil)) out.coolingUntil = entry.coolingUntil;
  if (Array.isArray(entry.exclusions)) {
    const exclusions: NonNullable<PoolKeyState['exclusions']> = [];
    for (const item of entry.exclusions) {
      if (exclusions.length >= maxExclusionsPerKey) break;
      if (!isRecord(item)) continue;
      const model = safeText(item.model);
      const why = safeText(item.reason);
      if (!model || why === undefined) continue;
      const exclusion: (typeof exclusions)[number] = { model, reason: why };
      if (isTime(item.until)) exclusion.until = item.until;
      exclusions.push(exclusion);
    }
    if (exclusions.length) out.exclusions = exclusions;
  }
  if (isRecord(entry.stats)) {
    const s = entry.stats;
    if (isCount(s.requests) && isCount(s.successes) && isCount(s.failures)) {
      const stats: NonNullable<PoolKeyState['stats']> = { requests: s.requests, successes: s.successes, failures: s.failures };
      const lastError = safeText(s.lastError);
      if (lastError !== undefined) stats.lastError = lastError;
      if (isTime(s.lastUsedAt)) stats.lastUsedAt = s.lastUsedAt;
      out.stats = stats;
    }
  }
  return Object.keys(out).length ? out : undefined;
}

function safeText(value: unknown): string | undefined {
  return safeTextOf(value, maxTextLength);
}

export type StateFileDeps = Omit<JsonStateFileOptions<unknown>, 'path' | 'version' | 'empty' | 'validate' | 'sanitize' | 'mergeWithDisk'>;

/** The pool's state file: checked when read, and stripped of anything key-like when written. */
export class PoolStateFile extends JsonStateFile<PoolStateData> {
  constructor(path: string, deps: StateFileDeps = {}) {
    super({
      ...deps,
      path,
      version: poolStateVersion,
      empty: () => ({ keys: {} }),
      validate: sanitizePoolState,
      sanitize: (data) => sanitizePoolState(data) ?? { keys: {} },
    });
  }
}
