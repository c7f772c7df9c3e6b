// The forwarder's view of its collaborators in one place: the pool's, the gateway's and the
// usage meter's types, as their own folders define them.
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

// --- usage ---

export type { TokenUsage, UsageMeter, UsageTap } from '../usage/types';
