// The test controls of the fake DaiDai: fault injection, the gateway's request log and the
// platform's call counts, over the demo platform the product ships (src/core/demo).

import type { DemoDaiDai, DemoDaiDaiOptions, GatewayRequestLog } from '../../src/core/demo/types';

export type { FakeAccount, FakeKey, GatewayRequestLog } from '../../src/core/demo/types';

/** Per-key misbehaviour of the gateway. */
export interface Fault {
  /** Answer this status with an error body in the route's own format (with `html`: default 502). */
  status?: number;
  /** Answer an nginx-style HTML error page (`content-type: text/html`) instead of JSON, as a gateway's front does. */
  html?: boolean;
  /** Hang this long before headers, then reset the connection (a front that gives up). */
  hangMs?: number;
  /** Error body override (string sent as is, object as JSON). */
  body?: string | object;
  /** Retry-After header value for the error answer. */
  retryAfter?: string;
  /** Never send headers (the connection stays open until the client goes away). */
  hang?: boolean;
  /** Destroy the socket before any response. */
  resetConnection?: boolean;
  /** Streams: destroy the socket after this many chunks. */
  cutAfterChunks?: number;
  /** Streams: delay between chunks (ms). */
  chunkDelayMs?: number;
  /** How many requests the fault applies to before it clears itself (default: until cleared). */
  times?: number;
}

/** What a fault function is told about one gateway request. */
export interface FaultRequest {
  /** The request's sequence number in the gateway log. */
  seq: number;
  model?: string;
  stream: boolean;
  /** Path as received, with query. */
  path: string;
}

/**
 * Called once per gateway request (of one key, or of every request for the gateway fault), after
 * the body is read: a seeded chaos source. The fault it answers applies to that request only
 * (its `times` is not used).
 */
export type FaultFn = (req: FaultRequest) => Fault | undefined;

export interface FakeDaiDaiOptions extends DemoDaiDaiOptions {
  /** Newest gateway requests kept in `requests` (default 10000; older ones are dropped). */
  requestLogLimit?: number;
}

/**
 * The demo platform with test controls. A request may also ask for its stream's chunks with the
 * header x-demo-chunks and for the delay between them with x-demo-chunk-delay-ms.
 */
export interface FakeDaiDai extends DemoDaiDai {
  /**
   * Misbehaviour of the gateway for one key (undefined clears it). A function is called once per
   * gateway request with that key and answers the fault for that request (or none).
   */
  setFault(key: string, fault: Fault | FaultFn | undefined): void;
  /** Misbehaviour of the whole gateway (every key, and requests without one), before any key's fault: an outage. */
  setGatewayFault(fault: Fault | FaultFn | undefined): void;
  /** Clears every fault: per key, the gateway's and the platform's. */
  clearFaults(): void;
  /** Misbehaviour of one platform path such as `/api/general/orders` (status, body, hang, resetConnection, times). */
  setPlatformFault(path: string, fault: Fault | undefined): void;
  /** Gateway requests, oldest first (entries are updated in place as requests finish or abort). */
  readonly requests: readonly GatewayRequestLog[];
  clearRequests(): void;
  /** Resolves with the first log entry (present, new or updated) that matches; rejects after timeoutMs (default 5000). */
  waitForRequest(pred: (r: GatewayRequestLog) => boolean, timeoutMs?: number): Promise<GatewayRequestLog>;
  /** Platform calls by path (`/api/users/login` → 2), failures included. */
  readonly platformCalls: Readonly<Record<string, number>>;
  resetPlatformCalls(): void;
  /** Invalidates every issued platform token (the next call gets 401/403). */
  expireTokens(): void;
  setBalance(key: string, balance: number): void;
  balanceOf(key: string): number | undefined;
}
