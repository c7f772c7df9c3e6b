// The failover policy: what one failed upstream attempt means for the key that made it and for
// the request. Pure (no clock unless given, no I/O) so it is tested as a table.

import type { FailureDecision, FailureInput } from './types';

export interface PolicyOptions {
  /** Cool-down when a 429 carries no usable Retry-After (default 30 s). */
  defaultCooldownMs?: number;
  /** Longest cool-down any Retry-After can ask for (default 10 min). */
  maxCooldownMs?: number;
}

export const DEFAULT_COOLDOWN_MS = 30_000;
export const MAX_COOLDOWN_MS = 10 * 60_000;
/** A Retry-After of 0 or a date in the past would make the key spin; rest it at least this long. */
export const MIN_COOLDOWN_MS = 1_000;

/**
 * Wording that says a key's balance, credit or quota is used up, in English and Chinese, as
 * OpenAI, Anthropic, one-api/new-api style gateways and DaiDai put it. Matched case-insensitively.
 */
export const EXHAUSTED_KEYWORDS: readonly string[] = [
  'insufficient_quota',
  'insufficient quota',
  'insufficient_balance',
  'insufficient balance',
  'insufficient funds',
  'insufficient credit',
  'insufficient_user_quota',
  'quota exceeded',
  'quota_exceeded',
  'exceeded your current quota',
  'quota exhausted',
  'quota is exhausted',
  'quota has been exhausted',
  'quota is not enough',
  'quota not enough',
  'out of quota',
  'out of credit',
  'credit balance is too low',
  'balance is too low',
  'balance is insufficient',
  'not enough balance',
  'not enough credit',
  'no balance',
  'billing_hard_limit_reached',
  'billing hard limit',
  'payment required',
  '余额不足',
  '余额已用',
  '余额为0',
  '额度不足',
  '额度已用尽',
  '额度已用完',
  '额度用尽',
  '额度已耗尽',
  '配额不足',
  '配额已用',
  '欠费',
  '已用完',
  '已用尽',
];

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** One regex over {@link EXHAUSTED_KEYWORDS}; spaces also match `_`/`-`/several spaces. */
export const EXHAUSTED_RE: RegExp = new RegExp(
  EXHAUSTED_KEYWORDS.map((k) => escapeRegExp(k).replace(/[ _]/g, '[\\s_-]+')).join('|'),
  'i',
);

/**
 * Words of a rate window. Google-style gateways say "Quota exceeded for ... requests per minute"
 * on a 429 that only means "slow down": that is a cool-down, not an empty wallet.
 */
export const RATE_WINDOW_RE = /rate[\s_-]?limit|per[\s_-]?(minute|min|second|sec|hour)\b|\b(rpm|tpm|rps|ipm)\b|请求过于频繁|频率/i;

/** Exhaustion words that are never about a rate window. */
const MONEY_RE = /balance|credit|billing|payment|insufficient|余额|欠费/i;

/** Whether an error body says the key has no balance/credit/quota left. Reads the first 8 KB only. */
export function looksExhausted(body: string | undefined): boolean {
  if (!body) return false;
  const text = body.length > 8192 ? body.slice(0, 8192) : body;
  const m = EXHAUSTED_RE.exec(text);
  if (!m) return false;
  // A quota word next to a rate window is a rate limit, unless money is mentioned too.
  if (RATE_WINDOW_RE.test(text) && !MONEY_RE.test(text)) return false;
  return true;
}

/**
 * Parses a Retry-After value (RFC 9110: delta-seconds or an HTTP date) into milliseconds from
 * `now`. Returns undefined when absent or unreadable; never negative; not capped (the caller caps).
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = String(value).trim();
  if (!v) return undefined;
  // Delta-seconds. RFC says an integer; some servers send "1.5", accept it.
  if (/^\d+(\.\d+)?$/.test(v)) {
    const ms = Number(v) * 1000;
    return Number.isFinite(ms) ? ms : undefined;
  }
  // An HTTP date has letters (a weekday or month); bare negative numbers and junk fall through.
  if (!/[a-z]/i.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Short, secret-free words for network error codes (undici and Node). */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ECONNRESET: 'connection reset',
  ECONNREFUSED: 'connection refused',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'connect timeout',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'socket error',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout before headers',
  UND_ERR_BODY_TIMEOUT: 'timeout in body',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_RESPONSE_STATUS_CODE: 'bad response',
  UND_ERR_REQ_CONTENT_LENGTH_MISMATCH: 'body length mismatch',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'body length mismatch',
  TimeoutError: 'timeout',
  UND_ERR_INFO: 'bad response',
};

/**
 * Codes that mean *we* cancelled the attempt (the client hung up). The key did nothing wrong and
 * nobody is left to retry for.
 */
const ABORT_CODES = new Set(['AbortError', 'ABORT_ERR', 'UND_ERR_ABORTED']);

function formatSeconds(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  return `${Math.round(s / 60)} min`;
}

/** Keeps an unknown error code printable and short: it comes from the network stack, not a person. */
function safeCode(code: string): string {
  return code.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40) || 'unknown';
}

const exhausted = (status?: number): FailureDecision => ({
  action: 'exhausted',
  countsAsFailure: false,
  retry: true,
  reason: status ? `balance used up (HTTP ${status})` : 'balance used up',
});

/**
 * Decides what a failed attempt means. Rules, first match wins:
 * - no status: client abort → pass-to-client; any other network error code → retry-next-key;
 * - 402, or any error status whose body says the balance/quota is used up → exhausted;
 * - 429 → cool-down for Retry-After (default, min 1 s, capped);
 * - 401/403 → disable-key;
 * - 408 and 5xx → retry-next-key (counts toward the failure threshold);
 * - any other status → pass-to-client, no retry, no penalty.
 */
export function classifyFailure(input: FailureInput, opts: PolicyOptions = {}): FailureDecision {
  const defaultMs = opts.defaultCooldownMs ?? DEFAULT_COOLDOWN_MS;
  const maxMs = Math.max(MIN_COOLDOWN_MS, opts.maxCooldownMs ?? MAX_COOLDOWN_MS);
  const { status, errorCode, body } = input;

  if (status === undefined || status === null || !Number.isFinite(status)) {
    const code = errorCode ?? '';
    if (ABORT_CODES.has(code)) {
      return { action: 'pass-to-client', countsAsFailure: false, retry: false, reason: 'request aborted' };
    }
    const known = NETWORK_REASONS[code];
    return {
      action: 'retry-next-key',
      countsAsFailure: true,
      retry: true,
      reason: known ?? (code ? `network error (${safeCode(code)})` : 'network error'),
    };
  }

  if (status === 402) return exhausted(status);
  if (status >= 400 && looksExhausted(body)) return exhausted(status);

  if (status === 429) {
    const parsed = parseRetryAfter(input.retryAfter, input.now ?? Date.now());
    const ms = Math.min(maxMs, Math.max(MIN_COOLDOWN_MS, parsed ?? defaultMs));
    return {
      action: 'cool-down',
      cooldownMs: ms,
      countsAsFailure: false,
      retry: true,
      reason: `rate limited, cooling ${formatSeconds(ms)}`,
    };
  }

  if (status === 401 || status === 403) {
    return {
      action: 'disable-key',
      countsAsFailure: false,
      retry: true,
      reason: `key refused (HTTP ${status}): invalid or revoked`,
    };
  }

  if (status === 408 || (status >= 500 && status <= 599)) {
    return { action: 'retry-next-key', countsAsFailure: true, retry: true, reason: `HTTP ${status}` };
  }

  return { action: 'pass-to-client', countsAsFailure: false, retry: false, reason: `HTTP ${status}` };
}
