// Shapes of the DaiDai account API as our code uses them, after tolerant parsing.

export interface Credentials {
  email: string;
  password: string;
}

/** One usable key of the account (one entry per key, even if several orders carry it). */
export interface AccountKey {
  key: string;
  /** Order name, or package name, or a fallback. */
  name: string;
  package?: string;
  /** ¥ left. */
  balance?: number;
  /** ¥ used. */
  used?: number;
  createdAt?: string;
}

export interface PlatformUser {
  userId: string | number;
  userEmail?: string;
  [k: string]: unknown;
}

export interface KeyQuota {
  balance?: number;
  used?: number;
}

export interface ModelPrice {
  model: string;
  title?: string;
  /** Fixed ¥ per call when set. */
  perCall?: number;
  /** ¥ per million tokens. */
  inputPerMillion?: number;
  outputPerMillion?: number;
}

export interface ModelAvailability {
  /** Model name as the monitor gives it, channel prefix included (`[官Max]claude-…`). */
  modelName: string;
  /** 0–100. */
  availability?: number;
}

export type PlatformErrorKind =
  /** The platform answered code !== 200; message is the platform's own text. */
  | 'refused'
  /** Login failed or the token could not be renewed. */
  | 'auth'
  /** Could not reach the host. */
  | 'network'
  /** An answer we could not understand. */
  | 'protocol';

/** What views and the pool read of the signed-in account; swapped whole on every change. */
export interface AccountSnapshot {
  readonly signedIn: boolean;
  readonly email?: string;
  /** Usable keys, one per key, in the platform's order. Keys in clear: never render them as such. */
  readonly keys: readonly AccountKey[];
  /** Sum of the known balances (¥). */
  readonly totalBalance: number;
  /** Epoch ms of the last successful refresh. */
  readonly refreshedAt?: number;
  /** Last sign-in or refresh failure, phrased for a person and free of secrets. */
  readonly error?: string;
  readonly errorKind?: PlatformErrorKind;
  /** A sign-in or refresh is in flight. */
  readonly refreshing: boolean;
}
