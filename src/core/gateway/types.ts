// The gateway monitor's contract (docs/CONTRACTS-WIP.md, "Gateway monitor"): what the model
// catalog, the background re-checks and the outage detector need of the pool and the gateway,
// and what the forwarder tells the outage detector.
import type { FailureTicket, PoolLease } from '../pool/types';
import type { Event } from '../util/event';

/** The pool hands tickets out with counted failures; the outage detector only passes them back. */
export type { FailureTicket };

/** One model as the gateway's GET /v1/models describes it (kept whole for the union). */
export interface GatewayModel {
  id: string;
  [k: string]: unknown;
}

/** GET {upstreamBase}/models with one key. */
export type ProbeResult =
  | { ok: true; models: GatewayModel[] }
  | { ok: false; status?: number; errorCode?: string; reason: string };

export interface GatewayProbe {
  models(key: string, timeoutMs: number): Promise<ProbeResult>;
}

/** What the forwarder tells the outage detector about each attempt. */
export interface GatewayWatch {
  /** Set while the gateway is considered down. */
  readonly outage: { reason: string; since: number } | undefined;
  /** An attempt failed in a gateway-shaped way: `signature` is the error code (ECONNREFUSED…) or `HTTP 502:<hash of the first 512 bytes>`. */
  recordFailure(keyId: string, signature: string, ticket: FailureTicket | undefined): void;
  /** Any upstream answer that shows the gateway is up (2xx, or a 4xx from the gateway itself). */
  recordSuccess(): void;
  readonly onDidChange: Event<void>;
}

/** What /health shows while the gateway is down. */
export interface GatewayHealth {
  status: 'gateway-unreachable';
  reason: string;
  since: number;
}

/** What the gateway monitor needs of the key pool (KeyPool implements it). */
export interface GatewayPoolPort {
  /** Every key, for the model-list fetch and the outage probe. */
  leases(): PoolLease[];
  /** undefined = unknown = "serves anything". */
  setModels(id: string, models: readonly string[] | undefined): void;
  /** Keys out by consecutive failures, and restored revoked keys awaiting a re-check. */
  recheckCandidates(): PoolLease[];
  /** ok → back to healthy; not ok → stays out (a 401/403 keeps a revoked key out). */
  recheckResult(id: string, ok: boolean): void;
  /** Undoes counted failures: the gateway was down, not the keys. */
  forgive(tickets: readonly FailureTicket[]): void;
  /** Fires on every change (no payload needed). */
  readonly onDidChange: Event<unknown>;
}
