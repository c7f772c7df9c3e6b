// Contract of the fake DaiDai platform + gateway (src/core/demo). Tests, the demo and the
// benchmark use it.

export interface FakeKey {
  key: string;
  name: string;
  payPackage?: string;
  balance: number;
  used: number;
  /** Order state; only "success" is usable. Default "success". */
  state?: string;
  hasError?: boolean;
}

export interface FakeAccount {
  email: string;
  password: string;
  userId: number;
}

/** Per-key misbehaviour of the gateway. */
export interface Fault {
  /** Answer this status with an error body in the route's own format. */
  status?: number;
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

export interface GatewayRequestLog {
  seq: number;
  /** The key the request carried (Authorization Bearer or x-api-key), in clear: tests only. */
  key?: string;
  method: string;
  /** Path as received, with query. */
  path: string;
  model?: string;
  stream?: boolean;
  status?: number;
  /** True when the client went away before the answer was complete. */
  aborted: boolean;
  /** True once the answer was completely sent. */
  finished: boolean;
  headers: Record<string, string | string[] | undefined>;
  startedAt: number;
}

export interface FakeDaiDaiOptions {
  accounts?: FakeAccount[];
  keys?: FakeKey[];
  /** Orders per page of /api/general/orders when the client asks for more (default 2, to exercise paging). */
  ordersPageSize?: number;
  /** Default chunks for a streamed answer (default 8); a request may ask with header x-demo-chunks. */
  streamChunks?: number;
  /** Default delay between chunks in ms (default 0); a request may ask with header x-demo-chunk-delay-ms. */
  chunkDelayMs?: number;
  /** Token lifetime (ms); expired tokens get 401. Default 1 hour. */
  tokenTtlMs?: number;
  /** Cost in ¥ taken from a key's balance per successful request (default 0.01). */
  costPerRequest?: number;
}
