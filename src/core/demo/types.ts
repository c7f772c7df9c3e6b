// Contract of the demo DaiDai platform + gateway (src/core/demo). The demo ships it; the tests and
// the benchmark use it through test/fake/, which adds fault injection and a request log.

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

export interface DemoDaiDaiOptions {
  accounts?: FakeAccount[];
  keys?: FakeKey[];
  /** Orders per page of /api/general/orders when the client asks for more (default 2, to exercise paging). */
  ordersPageSize?: number;
  /** Default chunks for a streamed answer (default 8). */
  streamChunks?: number;
  /** Default delay between chunks in ms (default 0). */
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
}

/** The demo DaiDai platform (/api/*) and gateway (/v1/*) on one loopback server. */
export interface DemoDaiDai {
  /** Listens (port 0 = a free one) and resolves with the bound port. */
  start(port?: number, host?: string): Promise<number>;
  /** Closes the server and every socket (hung ones included) and clears timers. Idempotent. */
  stop(): Promise<void>;
  readonly port: number;
  /** Platform base, `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Gateway base, `${url}/v1`. */
  readonly gatewayUrl: string;
  /** Current orders with live balances (a copy). */
  keys(): FakeKey[];
  /** Replaces the account's orders; balances of keys already known are reset to the given ones. */
  setKeys(keys: readonly FakeKey[]): void;
}
