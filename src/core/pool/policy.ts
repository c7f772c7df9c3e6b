// The failover policy: what one failed upstream attempt means for the key that made it and for
// the request. Pure (no clock unless given, no I/O) so it is tested as a table.
//
// Which key the next attempt gets is the pool's half (KeyPool.acquire), by tier: 'usable' (untried
// keys usable now, round-robin), then 'failing' (untried keys out by consecutive failures, a last
// resort), then 'cooling' (untried keys whose 429 cool-down ends within the request's wait). Never
// hand-disabled, revoked or exhausted keys, nor excluded (key, model) pairs. The tier comes back
// with each key so the forwarder can log it.

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
 * How the gateway words each kind of refusal, Chinese next to English, in one place: the policy
 * rows below, the gateway monitor and the tests read these lists. Strings match case-insensitively
 * anywhere in the body (a space also matches `_`/`-`); RegExps are used as they are.
 */
export const REFUSAL_WORDING = {
  /** The key's group has no channel for this model right now (may come back): temporary exclusion. */
  modelNoChannel: {
    zh: ['无可用渠道', '没有可用渠道', '无可用的渠道'],
    en: ['no available channel', 'no channel available', 'no available channels'],
  },
  /** The key (its package or group) may not use this model: exclusion until the next list fetch. */
  modelPermission: {
    zh: ['无权使用模型', '无权访问模型', '无权使用该模型', '无权访问该模型', '不支持该模型', '不支持模型', '模型不存在'],
    en: [
      'model_not_found',
      'model_not_supported',
      'does not have access to model',
      'do not have access to model',
      'not allowed to use model',
      'no access to model',
      'unsupported model',
      /\bmodel\b[^\n]{0,120}?\b(not found|does not exist|do(es)? not exist|not exist|is not supported|not supported)/i,
      // Anthropic: {"type":"error","error":{"type":"not_found_error","message":"model: claude-x"}}
      /not_found_error"[^\n]{0,40}"model: /i,
    ] as ReadonlyArray<string | RegExp>,
  },
  /** The prompt was refused by moderation: every key would get the same verdict. */
  content: {
    zh: ['敏感', '违规', '审核', '违禁', '不当内容', '内容安全'],
    en: [
      'sensitive_words_detected',
      'sensitive words',
      'sensitive content',
      'content_filter',
      'content filter',
      'content_policy_violation',
      'content policy',
      'content management policy',
      'data_inspection_failed',
      'inappropriate content',
      'moderation',
      'flagged',
    ],
  },
  /** The whole group's upstream is saturated: a short rest, not the key's fault. */
  groupSaturated: {
    zh: ['负载已饱和', '上游负载', '分组负载'],
    en: ['upstream load is saturated', 'load saturated', 'group is saturated'],
  },
  /** The account's (user's) quota on the gateway is used up: every key of the account gets the same answer. */
  accountQuota: {
    zh: ['用户额度不足', '用户余额不足'],
    en: ['insufficient_user_quota', 'insufficient user quota'],
  },
  /**
   * This key's balance, credit or quota is used up, as OpenAI, Anthropic, one-api/new-api style
   * gateways and DaiDai put it (a quota word next to a rate window is a rate limit: see looksExhausted).
   */
  keyQuota: {
    zh: [
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
    ],
    en: [
      'insufficient_quota',
      'insufficient quota',
      'insufficient_balance',
      'insufficient balance',
      'insufficient funds',
      'insufficient credit',
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
      'pre_consume_token_quota_failed',
    ],
  },
  /** The key itself is invalid, expired or unusable. */
  keyInvalid: {
    zh: ['无效的令牌', '令牌无效', '令牌已过期', '令牌状态不可用', '令牌已被禁用'],
    en: ['invalid_api_key', 'invalid api key', 'incorrect api key', 'api key expired', 'token has expired', 'token is expired', 'token expired'],
  },
} as const;

/** Every exhaustion word of {@link REFUSAL_WORDING}.keyQuota, both languages. Matched case-insensitively. */
export const EXHAUSTED_KEYWORDS: readonly string[] = [...REFUSAL_WORDING.keyQuota.en, ...REFUSAL_WORDING.keyQuota.zh];

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


type Wording = { readonly zh: ReadonlyArray<string | RegExp>; readonly en: ReadonlyArray<string | RegExp> };

/** One RegExp per kind over both languages, built once. */
function wordingRe(w: Wording): RegExp {
  const parts = [...w.zh, ...w.en].map((x) =>
    typeof x === 'string' ? escapeRegExp(x).replace(/[ _]/g, '[\\s_-]+') : x.source,
  );
  return new RegExp(parts.join('|'), 'i');
}

const NO_CHANNEL_RE = wordingRe(REFUSAL_WORDING.modelNoChannel);
const MODEL_PERMISSION_RE = wordingRe(REFUSAL_WORDING.modelPermission);
const CONTENT_RE = wordingRe(REFUSAL_WORDING.content);
const SATURATED_RE = wordingRe(REFUSAL_WORDING.groupSaturated);
const ACCOUNT_QUOTA_RE = wordingRe(REFUSAL_WORDING.accountQuota);
const KEY_INVALID_RE = wordingRe(REFUSAL_WORDING.keyInvalid);

/** Which refusal kind a body words (the wording lists above). Reads the first 8 KB only. */
export function refusalKind(body: string | undefined): keyof typeof REFUSAL_WORDING | undefined {
  if (!body) return undefined;
  const text = body.length > 8192 ? body.slice(0, 8192) : body;
  if (ACCOUNT_QUOTA_RE.test(text)) return 'accountQuota';
  if (CONTENT_RE.test(text)) return 'content';
  if (NO_CHANNEL_RE.test(text)) return 'modelNoChannel';
  if (MODEL_PERMISSION_RE.test(text)) return 'modelPermission';
  if (SATURATED_RE.test(text)) return 'groupSaturated';
  if (looksExhausted(text)) return 'keyQuota';
  if (KEY_INVALID_RE.test(text)) return 'keyInvalid';
  return undefined;
}

/** A saturated group asks for a short rest: long enough to step aside, short enough to come back soon. */
export const SATURATED_COOLDOWN_MS = 5_000;

const MODEL_STATUSES = new Set([403, 404, 503]);

const exhausted = (status?: number): FailureDecision => ({
  action: 'exhausted',
  blame: 'key',
  reason: status ? `balance used up (HTTP ${status})` : 'balance used up',
});

/**
 * Decides what a failed attempt means: what it blames and what the request does next. Rows, first
 * match wins (the order matters: a model refusal or a moderation verdict on 403 must not revoke
 * the key, an account's empty quota must not mark one key exhausted):
 *
 * | # | when | blame | action |
 * | - | ---- | ----- | ------ |
 * | 1 | no status, client abort | client | pass-to-client |
 * | 2 | no status, any other network error | gateway | retry-next-key (counted) |
 * | 3 | ≥ 400, account quota (用户额度不足, insufficient_user_quota) | account | pass-to-client: every key of the account gets the same answer |
 * | 4 | 400/403, content refused (敏感, 违规, 审核, moderation, content_filter, …) | prompt | pass-to-client |
 * | 5 | 403/404/503, no channel for the model (无可用渠道) | model | exclude-model 'temporary' |
 * | 6 | 403/404/503, key may not use the model (无权使用模型, model_not_found, …) | model | exclude-model 'until-refresh' |
 * | 7 | 402, or ≥ 400 whose body says the balance/quota is used up | key | exhausted |
 * | 8 | 429, group saturated (当前分组上游负载已饱和) | gateway | cool-down, short (Retry-After or 5 s) |
 * | 9 | 429 | key | cool-down for Retry-After (default, min 1 s, capped) |
 * | 10 | 401/403, or 400 whose body says the key is invalid/expired | key | disable-key (revoked) |
 * | 11 | 408 and 5xx | gateway | retry-next-key (counted toward the key's threshold) |
 * | 12 | any other status | client | pass-to-client, no retry, no penalty |
 *
 * Every action but pass-to-client retries (decisionRetries); only retry-next-key counts toward the
 * failure threshold (decisionCountsAsFailure).
 */
export function classifyFailure(input: FailureInput, opts: PolicyOptions = {}): FailureDecision {
  const defaultMs = opts.defaultCooldownMs ?? DEFAULT_COOLDOWN_MS;
  const maxMs = Math.max(MIN_COOLDOWN_MS, opts.maxCooldownMs ?? MAX_COOLDOWN_MS);
  const { status, errorCode, body } = input;

  if (status === undefined || status === null || !Number.isFinite(status)) {
    const code = errorCode ?? '';
    if (ABORT_CODES.has(code)) {
      return { action: 'pass-to-client', blame: 'client', reason: 'request aborted' };
    }
    const known = NETWORK_REASONS[code];
    return {
      action: 'retry-next-key',
      blame: 'gateway',
      reason: known ?? (code ? `network error (${safeCode(code)})` : 'network error'),
    };
  }

  const kind = status >= 400 ? refusalKind(body) : undefined;
  if (kind === 'accountQuota') {
    return { action: 'pass-to-client', blame: 'account', reason: `account quota used up (HTTP ${status})` };
  }
  if (kind === 'content' && (status === 400 || status === 403)) {
    return { action: 'pass-to-client', blame: 'prompt', reason: `prompt refused by moderation (HTTP ${status})` };
  }
  if ((kind === 'modelNoChannel' || kind === 'modelPermission') && MODEL_STATUSES.has(status)) {
    return kind === 'modelNoChannel'
      ? { action: 'exclude-model', blame: 'model', exclusion: 'temporary', reason: `no channel for this model (HTTP ${status})` }
      : { action: 'exclude-model', blame: 'model', exclusion: 'until-refresh', reason: `model not served by this key (HTTP ${status})` };
  }

  if (status === 402) return exhausted(status);
  if (status >= 400 && looksExhausted(body)) return exhausted(status);

  if (status === 429) {
    const parsed = parseRetryAfter(input.retryAfter, input.now ?? Date.now());
    if (kind === 'groupSaturated') {
      const ms = Math.min(maxMs, Math.max(MIN_COOLDOWN_MS, parsed ?? SATURATED_COOLDOWN_MS));
      return { action: 'cool-down', blame: 'gateway', cooldownMs: ms, reason: `group saturated, cooling ${formatSeconds(ms)}` };
    }
    const ms = Math.min(maxMs, Math.max(MIN_COOLDOWN_MS, parsed ?? defaultMs));
    return { action: 'cool-down', blame: 'key', cooldownMs: ms, reason: `rate limited, cooling ${formatSeconds(ms)}` };
  }

  if (status === 401 || status === 403 || (status === 400 && kind === 'keyInvalid')) {
    return { action: 'disable-key', blame: 'key', reason: `key refused (HTTP ${status}): invalid or revoked` };
  }

  if (status === 408 || (status >= 500 && status <= 599)) {
    return { action: 'retry-next-key', blame: 'gateway', reason: `HTTP ${status}` };
  }

  return { action: 'pass-to-client', blame: 'client', reason: `HTTP ${status}` };
}
