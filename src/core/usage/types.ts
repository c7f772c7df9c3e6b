// The contract of usage capture, plus the shapes the history, the reports and the dashboard
// share. Below the proxy in the layers: the proxy's RequestRecord is one of the records read here.

import type { ModelPrice } from '../platform/types';

/**
 * Tokens of one answer. `inputTokens` counts the input that was *not* served from a cache
 * (Anthropic's meaning); OpenAI's `prompt_tokens` includes its cached tokens, so the meter
 * subtracts them. Input in total = inputTokens + cacheReadTokens + cacheWriteTokens.
 */
export interface TokenUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

/** Watches the chunks of one answer on their way to the client; never changes or holds them. */
export interface UsageTap {
  write(chunk: Buffer): void;
  end(): TokenUsage | undefined;
}

/** One per proxy; the forwarder asks it for a tap when an answer starts (2xx only). */
export interface UsageMeter {
  tap(route: { path: string; flavor: 'openai' | 'anthropic' }, contentType: string | undefined): UsageTap | undefined;
}

/**
 * A price as costOf reads it. The platform's list has no cache prices today; when a row
 * someday carries them they apply, otherwise cache tokens cost what input tokens cost.
 */
export interface UsagePrice extends ModelPrice {
  cacheReadPerMillion?: number;
  cacheWritePerMillion?: number;
}

/** What the history takes of a finished request (the proxy's RequestRecord is one): the fields it reads. */
export interface UsageRecordInput {
  id?: string;
  method: string;
  path: string;
  /** The model sent upstream (the one that served, after resolution). */
  model?: string;
  /** The model the client asked for, when resolution sent another (`claude-opus-4-8` → `model`). */
  requestedModel?: string;
  stream?: boolean;
  status: number;
  /** Masked id of the key that served (or last tried). */
  keyId?: string;
  attempts: number;
  durationMs: number;
  aborted: boolean;
  error?: string;
  usage?: TokenUsage;
  /** Who asked when not a client of the port: 'vscode-chat' for VS Code's own chat. */
  source?: string;
}

/** Sums over a set of requests. `costCny` is the sum of the known costs only. */
export interface UsageTotals {
  requests: number;
  failures: number;
  /** Input tokens in total, cache included. */
  inputTokens: number;
  outputTokens: number;
  /** The part of inputTokens read from or written to a cache. */
  cacheTokens: number;
  /** The part of cacheTokens read from a cache (a cache hit). */
  cacheReadTokens: number;
  /** The part of cacheTokens written to a cache. What is left of cacheTokens after reads and
   * writes was recorded before the two were kept apart: its kind is unknown. */
  cacheWriteTokens: number;
  /** ¥ of the requests whose cost is known; null when requests > 0 and none is known. */
  costCny: number | null;
  /** Requests whose cost could not be known (no price, or no usage on a per-token price). */
  unpricedRequests: number;
}

/** One of the last 1,000 requests. Holds no secret: the key only as its masked id. */
export interface RecentRequest {
  /** Epoch ms when the request finished. */
  at: number;
  method: string;
  /** The client's route, without the query. */
  route: string;
  /** The model sent upstream (the one that served). */
  model: string;
  /** The model the client asked for, only when resolution sent another. */
  requestedModel?: string;
  /** Masked key id ('' when no key was tried). */
  key: string;
  status: number;
  attempts: number;
  stream: boolean;
  inputTokens?: number;
  outputTokens?: number;
  /** Cache reads and writes, part of inputTokens. */
  cacheTokens?: number;
  /** The parts of cacheTokens read and written; both absent on a request recorded before they were kept apart. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** null: cost unknown. */
  costCny: number | null;
  durationMs: number;
  failed: boolean;
  aborted: boolean;
  /** Who asked when not a client of the proxy's port: 'vscode-chat' for VS Code's own chat. */
  source?: string;
  /** Short, secret-free reason when it failed. */
  error?: string;
}
