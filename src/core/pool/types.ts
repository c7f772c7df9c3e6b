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
  /** Why a disabled key is out: consecutive failures (re-checked, reset) or revoked (401/403). */
  disabledBy?: 'failures' | 'revoked';
  /** Set (true) for a key restored out of rotation from the state file: it waits for a free re-check. */
  awaitingRecheck?: boolean;
  /** Epoch ms since the key is in its current state (unset for a key that never changed). */
  since?: number;
  /** Model ids the key serves, as the gateway lists them; undefined = unknown. */
  models?: readonly string[];
  /** (key, model) pairs refused, with reason and expiry (epoch ms; undefined = until the next list fetch). */
  exclusions: readonly ModelExclusion[];
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
  /** Epoch ms when the next key becomes usable (only when none is usable now). */
  nextUsableAt?: number;
  /** Live (key, model) exclusions over all keys. */
  excludedPairs: number;
}

/** What a request holds while it uses a key. */
export interface PoolLease {
  readonly id: string;
  readonly key: string;
}

export type FailureAction =
  /** The key (or the gateway) failed: next key; counts toward the consecutive-failure threshold. */
  | 'retry-next-key'
  /** 429: rest the key for cooldownMs. */
  | 'cool-down'
  /** 401/403 about the key: revoked. */
  | 'disable-key'
  /** Balance used up. */
  | 'exhausted'
  /** This key cannot serve this model: exclude the (key, model) pair only. */
  | 'exclude-model'
  /** The client's (or the prompt's, or the account's) problem: answer as it came, no retry. */
  | 'pass-to-client';

/** What a refusal is about. */
export type Blame = 'key' | 'model' | 'prompt' | 'gateway' | 'account' | 'client' | 'none';

export interface FailureDecision {
  action: FailureAction;
  blame: Blame;
  /** For cool-down: how long the key rests. */
  cooldownMs?: number;
  /** exclude-model: 'temporary' (无可用渠道: expires after the exclusion setting) or 'until-refresh' (permission). */
  exclusion?: 'temporary' | 'until-refresh';
  /** Short human reason, free of secrets ("HTTP 503", "timeout before headers", "balance used up"). */
  reason: string;
}

/** Whether the request should go on to another key. */
export function decisionRetries(d: FailureDecision): boolean {
  return d.action !== 'pass-to-client';
}

/** Whether the key's consecutive-failure count goes up. */
export function decisionCountsAsFailure(d: FailureDecision): boolean {
  return d.action === 'retry-next-key';
}

/** Which tier an attempt's key came from (issue 10 §1); see KeyPool.acquire. */
export type AcquireTier = 'usable' | 'failing' | 'cooling';

export interface AcquireRequest {
  /** The model the request asks for (from its body), when it names one. */
  model?: string;
  /** Ids of keys this request already tried. */
  tried: ReadonlySet<string>;
  /** Longest wait for a cooling key (tier 3); 0 = never wait. */
  maxWaitMs: number;
  /**
   * Id of a key to use when it is usable now for the model (session affinity: a conversation
   * stays on the key that holds its prompt cache); otherwise the normal choice. See chooseKey.
   */
  prefer?: string;
}

export type AcquireResult =
  | {
      kind: 'key';
      lease: PoolLease;
      tier: AcquireTier;
      /** >0 only for 'cooling': wait this long, then send. */
      waitMs: number;
      /** false when the key's model list is unknown. */
      modelKnown: boolean;
    }
  /**
   * Nothing to try. `noModel` is set when no key serves the model and no key's list is unknown,
   * with every id the keys do list (the model itself left out); present/ picks the closest.
   */
  | { kind: 'none'; noModel?: { model: string; served: readonly string[] }; nextUsableAt?: number };

/** Opaque handle of one counted failure, so that a detected gateway outage can undo it. */
export interface FailureTicket {
  readonly keyId: string;
  readonly at: number;
}

/** What the forwarder (and the gateway monitor) need of the key pool. */
export interface PoolPort {
  acquire(req: AcquireRequest): AcquireResult;
  reportSuccess(lease: PoolLease, latencyMs?: number): void;
  reportNeutral(lease: PoolLease): void;
  /** `model` is needed for exclude-model. Returns a ticket for failures that counted (retry-next-key). */
  reportFailure(lease: PoolLease, decision: FailureDecision, model?: string): FailureTicket | undefined;
  /** Undoes counted failures (a gateway outage was not the keys' fault): counters and any state they caused. */
  forgive(tickets: readonly FailureTicket[]): void;
  snapshot(): PoolSnapshot;
}

/** One refused (key, model) pair as views see it. */
export interface ModelExclusion {
  model: string;
  reason: string;
  /** Epoch ms when it ends; undefined = until the key's next model-list fetch. */
  until?: number;
}

/** What the state store keeps of the pool (issue 11). Keys only by keyHash. */
export interface PoolStateData {
  keys: Record<
    string /* keyHash */,
    {
      manuallyDisabled?: boolean;
      state?: 'disabled' | 'exhausted' | 'cooling';
      disabledBy?: 'failures' | 'revoked';
      /** exhausted: by a refused request (back when the balance goes up) or by the account's balance (back when > 0). */
      exhaustedBy?: 'request' | 'balance';
      reason?: string;
      since?: number;
      coolingUntil?: number;
      exclusions?: ModelExclusion[];
      stats?: { requests: number; successes: number; failures: number; lastError?: string; lastUsedAt?: number };
    }
  >;
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
