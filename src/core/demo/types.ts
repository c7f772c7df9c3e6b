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
  /** Field the order listing uses for the key (the platform uses both). Default "key". */
  keyField?: 'key' | 'api_key';
  /** How the order listing writes balance/utilised. Default: alternating string/number by position. */
  balanceAs?: 'string' | 'number' | 'missing';
  createdAt?: string;
  /** Account that owns the order; default: every account. */
  userId?: number;
  /**
   * Model ids the key's package serves, exactly as the gateway lists them (channel prefixes
   * included). Undefined: every model of the fake's catalogue, and any model asked for.
   */
  models?: string[];
  /** The package's gateway group (named in the "no channel" refusal). Default "default". */
  group?: string;
  /**
   * How the gateway refuses a model outside `models`: 'no-channel' (503, 当前分组 … 无可用渠道,
   * code model_not_found; the default) or 'permission' (403, 该令牌无权使用模型).
   */
  refusal?: 'permission' | 'no-channel';
}

export interface FakeAccount {
  email: string;
  password: string;
  userId: number;
}

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
  /**
   * Cost in ¥ taken from a key's balance per successful request (default 0.01); with
   * `charge: 'priced'`, only for models without a price.
   */
  costPerRequest?: number;
  /**
   * 'flat': every successful request costs `costPerRequest` (the default without packages).
   * 'priced': the cost comes from the pricing the fake serves and the answer's token counts, as `fakeCostOf`
   * computes it (the default with `packages: true`), so `utilised` is the truth a usage
   * estimate can be checked against.
   */
  charge?: 'flat' | 'priced';
  /**
   * Without `keys`: the demo account with packages (DEMO_PACKAGE_KEYS: each key serves only its
   * package's models and refuses the others as the gateway does). Default false: DEMO_KEYS,
   * every key serving every model.
   */
  packages?: boolean;
  /**
   * Streams: 'requested' (default) sends the final usage chunk only when the request has
   * `stream_options.include_usage`; 'always' sends it on every OpenAI stream, as some gateways do.
   */
  usageChunk?: 'requested' | 'always';
  /** Clock for token expiry (default Date.now). */
  clock?: () => number;
  /** HTTP status for an expired or unknown platform token (default 401; the real platform also uses 403). */
  expiredTokenStatus?: number;
  /** Model ids of GET /v1/models for keys without their own list (default DEMO_MODELS; with packages, DEMO_PACKAGE_MODELS). */
  models?: string[];
  /** Length of /v1/embeddings vectors (default 16). */
  embeddingDims?: number;
  /** Newest gateway requests kept in `requests` (default 10000; older ones are dropped). */
  requestLogLimit?: number;
}

/** The fake DaiDai platform (/api/*) and gateway (/v1/*) on one loopback server. */
export interface FakeDaiDai {
  /** Listens (port 0 = a free one) and resolves with the bound port. */
  start(port?: number, host?: string): Promise<number>;
  /** Closes the server and every socket (hung ones included) and clears timers. Idempotent. */
  stop(): Promise<void>;
  readonly port: number;
  /** Platform base, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Gateway base, `${url}/v1`. */
  readonly gatewayUrl: string;
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
  /** Current orders with live balances (a copy). */
  keys(): FakeKey[];
  /** Replaces the account's orders; balances of keys already known are reset to the given ones. */
  setKeys(keys: readonly FakeKey[]): void;
}
