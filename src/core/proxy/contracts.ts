// The forwarder's view of its collaborators, as docs/CONTRACTS-WIP.md fixes them: the pool's and
// the gateway's types as their branches built them, and a structural copy of the usage meter's
// (built on branch `usage` at the same time) until that branch lands; then its import replaces
// the copy here, same names and shapes.
import type { FailureDecision, FailureInput, PoolPort } from '../pool/types';

// --- pool (merged) ---

export type {
  AcquireRequest,
  AcquireResult,
  AcquireTier,
  Blame,
  FailureAction,
  FailureDecision,
  FailureTicket,
  PoolPort,
} from '../pool/types';

/** What the forwarder needs of the pool: the contract's port without the snapshot (that is /health's). */
export type ForwardPool = Omit<PoolPort, 'snapshot'>;
export type Classify = (input: FailureInput) => FailureDecision;

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
