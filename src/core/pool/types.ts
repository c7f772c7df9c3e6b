// The contract between the key pool, the proxy, /health and the views.

export type KeyState = 'healthy' | 'cooling' | 'disabled' | 'exhausted';

/** A key as the pool is given it (from the platform, DAIDAI_KEYS or a keys file). */
export interface PoolKeyInput {
  key: string;
  name?: string;
  balance?: number;
  used?: number;
  createdAt?: string;
}

export interface KeyStats {
  requests: number;
  successes: number;
  failures: number;
  lastError?: string;
  lastUsedAt?: number;
  lastLatencyMs?: number;
  avgLatencyMs?: number;
}

/** What views and /health see of a key. Never holds the key itself. */
export interface KeySnapshot {
  /** Stable id, the masked key (`sk-abcd…wxyz`), suffixed `#2` etc. on the rare collision. */
  id: string;
  masked: string;
  name?: string;
  balance?: number;
  used?: number;
  state: KeyState;
  /** Taken out of rotation by the user; survives pool resets and key refreshes. */
  manuallyDisabled: boolean;
  /** Epoch ms when a cooling key becomes usable again. */
  coolingUntil?: number;
  /** Why the key is not healthy (already free of secrets). */
  reason?: string;
  consecutiveFailures: number;
  stats: KeyStats;
}

export interface PoolCounts {
  total: number;
  healthy: number;
  cooling: number;
  disabled: number;
  exhausted: number;
  /** Keys a request could use right now (healthy, not manually disabled). */
  usable: number;
}

export interface PoolSnapshot {
  keys: readonly KeySnapshot[];
  counts: PoolCounts;
  /** Masked id of the key the next request would get. */
  nextKeyId?: string;
  totals: { requests: number; successes: number; failures: number };
  /** How many times every key was out and the pool reset itself. */
  resets: number;
  /** Masked id of the last key that served a request. */
  lastKeyId?: string;
}

/** What a request holds while it uses a key. */
export interface PoolLease {
  readonly id: string;
  readonly key: string;
}

export type FailureAction = 'retry-next-key' | 'cool-down' | 'disable-key' | 'exhausted' | 'pass-to-client';

export interface FailureDecision {
  action: FailureAction;
  /** For cool-down: how long the key rests. */
  cooldownMs?: number;
  /** Whether the key's consecutive-failure count goes up (retry-next-key). */
  countsAsFailure: boolean;
  /** Whether the proxy should try another key. */
  retry: boolean;
  /** Short human reason, free of secrets ("HTTP 503", "timeout before headers", "balance used up"). */
  reason: string;
}

export interface FailureInput {
  /** Upstream HTTP status, when there was a response. */
  status?: number;
  /** Network error code when there was none (ECONNRESET, ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, …). */
  errorCode?: string;
  /** Upstream body text (first few KB) for error responses. */
  body?: string;
  /** Raw Retry-After header value (seconds or an HTTP date). */
  retryAfter?: string | null;
  /** Clock for HTTP-date Retry-After. */
  now?: number;
}
