// The forwarder's view of its collaborators, as docs/CONTRACTS-WIP.md fixes them. The pool and
// usage parts are built on other branches at the same time; until they land these structural
// copies let the proxy compile and be tested on its own. When a branch merges, its type
// replaces the copy here (same names, same shapes), and `adaptPool` loses its legacy half.
// The gateway's types are already the real ones.
import type { FailureInput, PoolLease, PoolSnapshot } from '../pool/types';

// --- pool (src/core/pool/types.ts on branch `pool`) ---

export type FailureAction = 'retry-next-key' | 'cool-down' | 'disable-key' | 'exhausted' | 'exclude-model' | 'pass-to-client';
export type Blame = 'key' | 'model' | 'prompt' | 'gateway' | 'account' | 'client' | 'none';

/** What the forwarder reads of a classified failure (the pool's FailureDecision has more). */
export interface FailureDecision {
  action: FailureAction;
  blame?: Blame;
  cooldownMs?: number;
  exclusion?: 'temporary' | 'until-refresh';
  reason: string;
}

export type AcquireTier = 'usable' | 'failing' | 'cooling';

export interface AcquireRequest {
  model?: string;
  tried: ReadonlySet<string>;
  maxWaitMs: number;
}

export type AcquireResult =
  | { kind: 'key'; lease: PoolLease; tier: AcquireTier; waitMs: number; modelKnown: boolean }
  | { kind: 'none'; noModel?: { model: string; closest: string[] }; nextUsableAt?: number };

export interface FailureTicket {
  readonly keyId: string;
  readonly at: number;
}

export interface PoolPort {
  acquire(req: AcquireRequest): AcquireResult;
  reportSuccess(lease: PoolLease, latencyMs?: number): void;
  reportNeutral(lease: PoolLease): void;
  reportFailure(lease: PoolLease, decision: FailureDecision, model?: string): FailureTicket | undefined;
  forgive(tickets: readonly FailureTicket[]): void;
}

/** Today's KeyPool (before branch `pool` lands): acquire by exclusion set, no tiers, no tickets. */
export interface LegacyPoolPort {
  acquire(exclude?: ReadonlySet<string>): PoolLease | undefined;
  reportSuccess(lease: PoolLease, latencyMs: number): void;
  reportFailure(lease: PoolLease, decision: never, latencyMs?: number): void;
  reportNeutral(lease: PoolLease): void;
}

export type AnyPoolPort = PoolPort | LegacyPoolPort;
export type PoolWithSnapshot = AnyPoolPort & { snapshot(): PoolSnapshot };
export type Classify = (input: FailureInput) => FailureDecision;

function isContractPool(pool: AnyPoolPort): pool is PoolPort {
  return typeof (pool as Partial<PoolPort>).forgive === 'function';
}

/**
 * The forwarder speaks only the contract's PoolPort. A pool of today's shape is wrapped once
 * (not per request): every key it hands out is tier 'usable', no wait, no tickets.
 */
export function adaptPool(pool: AnyPoolPort): PoolPort {
  if (isContractPool(pool)) return pool;
  const legacy = pool as {
    acquire(exclude?: ReadonlySet<string>): PoolLease | undefined;
    reportSuccess(lease: PoolLease, latencyMs?: number): void;
    reportFailure(lease: PoolLease, decision: FailureDecision): void;
    reportNeutral(lease: PoolLease): void;
  };
  return {
    acquire(req) {
      const lease = legacy.acquire(req.tried);
      return lease ? { kind: 'key', lease, tier: 'usable', waitMs: 0, modelKnown: false } : { kind: 'none' };
    },
    reportSuccess: (lease, latencyMs) => legacy.reportSuccess(lease, latencyMs),
    reportNeutral: (lease) => legacy.reportNeutral(lease),
    reportFailure(lease, decision) {
      // Today's pool knows no (key, model) exclusion; a refusal of the model is not the key's fault.
      if (decision.action === 'exclude-model') legacy.reportNeutral(lease);
      else legacy.reportFailure(lease, decision);
      return undefined;
    },
    forgive() {},
  };
}

// --- gateway (merged): the types the forwarder uses ---

export type { GatewayModel, GatewayWatch } from '../gateway/types';

// --- usage (src/core/usage/types.ts on branch `usage`) ---

export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

export interface UsageTap {
  write(chunk: Buffer): void;
  end(): TokenUsage | undefined;
}

export interface UsageMeter {
  tap(route: { path: string; flavor: 'openai' | 'anthropic' }, contentType: string | undefined): UsageTap | undefined;
}
