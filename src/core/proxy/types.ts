// The contract of the local proxy, as the CLI, the extension, /health and the bench use it.
import type { UsageRecordInput } from '../usage/types';
import type { AcquireTier } from './contracts';

export interface ProxyOptions {
  /** Default 127.0.0.1. Anything else only when the user asks for it in settings. */
  host: string;
  /** Default 5100; 0 picks a free port (tests). */
  port: number;
  /** Gateway base including /v1, e.g. https://api.daidaibird.top/v1. `/v1/x` is sent to `${upstreamBaseUrl}/x`. */
  upstreamBaseUrl: string;
  /** Retries on another key after the first attempt (default 3). */
  maxRetries: number;
  /** When set, clients must send it (Authorization Bearer, or x-api-key). Empty: any key is accepted. */
  accessToken?: string;
  /** Browser origins allowed to call the proxy (CORS). Empty: no browser origin is allowed. */
  allowedOrigins: string[];
  /** Largest request body buffered for replay (default 32 MiB); 413 past it. */
  bodyLimitBytes: number;
  /** Upstream time to response headers (default 120 s), then the next key. */
  headersTimeoutMs: number;
  /** Upstream silence between body chunks (default 300 s). */
  bodyTimeoutMs: number;
  /** Longest wait for a key cooling down after a 429 when no other key may serve (default 2 s; 0 = never wait). */
  cooldownWaitMs: number;
}

export const defaultProxyOptions: ProxyOptions = {
  host: '127.0.0.1',
  port: 5100,
  upstreamBaseUrl: 'https://api.daidaibird.top/v1',
  maxRetries: 3,
  accessToken: '',
  allowedOrigins: [],
  bodyLimitBytes: 32 * 1024 * 1024,
  headersTimeoutMs: 120_000,
  bodyTimeoutMs: 300_000,
  cooldownWaitMs: 2_000,
};

export type ProxyStateName = 'stopped' | 'starting' | 'running' | 'stopping';

export interface ProxyStatus {
  state: ProxyStateName;
  host?: string;
  port?: number;
  /** `http://127.0.0.1:PORT/v1` while running. */
  url?: string;
  startedAt?: number;
  /** Last start failure, phrased for a person. */
  error?: string;
}

/** One finished proxied request, for logs and views. Holds no secret. The usage history reads it as a UsageRecordInput. */
export interface RequestRecord extends UsageRecordInput {
  id: string;
  /** The model the client asked for, when resolution sent another (`claude-opus-4-8` → `model`, the one sent). */
  requestedModel?: string;
  /** Session affinity: the conversation's first turn, a turn on its key, or one that moved it (failover). */
  session?: 'new' | 'same' | 'moved';
  stream: boolean;
  /** Which tier of the pool the last attempt's key came from. */
  tier?: AcquireTier;
  /** Who asked, when not a client of the HTTP port: 'vscode-chat' for VS Code's chat (the in-process entry). */
  source?: string;
  /** (key, model) pairs stepped over: `{ keyId, reason: 'gpt-4o-mini not served by sk-ab…yz, moved on' }`. */
  movedOn?: { keyId: string; reason: string }[];
}
