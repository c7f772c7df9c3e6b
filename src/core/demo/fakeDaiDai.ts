// The fake DaiDai: the platform (account) API under /api/* and the model gateway under /v1/*
// (new-api style: packages as groups, its refusals and moderation) on one loopback server.
// Tests, `npm run demo` and the benchmark use it, so it is plain node:http with a lean hot path:
// the benchmark measures the proxy, not this fake. The gateway's routes are a table
// (gatewayRoutes.ts); this file holds what they share.

import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { DEMO_ACCOUNT, DEMO_KEYS, DEMO_MODELS, DEMO_MONITOR, DEMO_PACKAGE_KEYS, DEMO_PACKAGE_MODELS, DEMO_PACKAGE_MONITOR, DEMO_PACKAGE_PRICING, DEMO_PRICING } from './fixtures';
import { GATEWAY_ROUTES, GatewayRouter, type GatewayCall, type GatewayKeyView, type GatewayReply } from './gatewayRoutes';
import { fakeCostOf, type FakePricingRow, type FakeUsage } from './pricing';
import {
  type ApiFormat,
  errorBody,
  gatewayRequestId,
  isModerated,
  lastUserText,
  modelPermissionMessage,
  modelsListBody,
  MODERATION_MESSAGE,
  newApiMiddlewareError,
  newApiRelayError,
  nginxErrorPage,
  noChannelMessage,
} from './replies';
import type { FakeAccount, FakeDaiDai, FakeDaiDaiOptions, FakeKey, Fault, FaultFn, GatewayRequestLog } from './types';

export type { FakeDaiDai, FakeDaiDaiOptions, FakeKey, Fault, FaultFn, FaultRequest, GatewayRequestLog } from './types';
export {
  DEMO_ACCOUNT,
  DEMO_KEYS,
  DEMO_USABLE_KEYS,
  DEMO_MODELS,
  DEMO_PACKAGE_KEYS,
  DEMO_PACKAGE_MODELS,
  DEMO_PACKAGE_MODELS_BY_GROUP,
  DEMO_PRICING,
  DEMO_MONITOR,
  DEMO_PACKAGE_PRICING,
  DEMO_PACKAGE_MONITOR,
  demoKey,
  seededRandom,
} from './fixtures';
export {
  replyText,
  streamedReplyText,
  splitPieces,
  embeddingVector,
  fakePromptTokens,
  fakeInputTokens,
  fakeCompletionTokens,
  fakeEmbeddingTokens,
  gatewayRequestId,
  MODERATED_WORDS,
  MODERATION_MESSAGE,
} from './replies';
export { fakeCostOf, fakePriceOf, stripChannelPrefix, type FakePrice, type FakePricingRow, type FakeUsage } from './pricing';

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
const MAX_BODY = 64 * 1024 * 1024;
const MAX_CHUNKS = 10_000;
const MAX_DELAY_MS = 60_000;

interface KeyState extends GatewayKeyView {
  balance: number;
  used: number;
  /** Why the gateway refuses the key even with balance left (unpaid or broken order). */
  refusal?: string;
  /** The package's models; undefined = every model. */
  models?: ReadonlySet<string>;
  group: string;
  modelRefusal: 'permission' | 'no-channel';
}

interface TokenInfo {
  userId: number;
  expiresAt: number;
}

/** One gateway exchange in flight: what the stream loop and the close handler share. */
interface Exchange {
  entry: GatewayRequestLog;
  res: http.ServerResponse;
  /** We destroyed the socket ourselves (fault): not the client going away. */
  selfClosed: boolean;
  closed: boolean;
}

class BadBody extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new BadBody('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) return undefined;
  return JSON.parse(buf.toString('utf8'));
}

function headerInt(v: string | string[] | undefined, min: number, max: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(max, Math.max(min, n));
}

/** ¥ kept to 1e-9: priced answers cost millionths of a yuan, and sums must not drift. */
function money(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/** ¥ as the platform writes it ("12.50"), with the digits a priced answer needs ("3.200123"). */
function yuanText(n: number): string {
  const two = n.toFixed(2);
  if (Number(two) === money(n)) return two;
  return n.toFixed(6).replace(/(\.\d\d\d*?)0+$/, '$1');
}

type FaultSource = Fault | FaultFn;

const MODERATED_ROUTE_CODE = 'sensitive_words_detected';

function base64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

class FakeDaiDaiServer implements FakeDaiDai {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<{ pred: (r: GatewayRequestLog) => boolean; resolve: (r: GatewayRequestLog) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly faults = new Map<string, FaultSource>();
  private gatewayFault: FaultSource | undefined;
  private readonly platformFaults = new Map<string, Fault>();
  private readonly tokens = new Map<string, TokenInfo>();
  private readonly state = new Map<string, KeyState>();
  private readonly calls: Record<string, number> = {};
  private orders: FakeKey[] = [];
  private log: GatewayRequestLog[] = [];
  private seq = 0;
  private boundPort = 0;
  private boundHost = '127.0.0.1';
  private stopped = false;

  private readonly accounts: FakeAccount[];
  private readonly pageSize: number;
  private readonly streamChunks: number;
  private readonly chunkDelayMs: number;
  private readonly tokenTtlMs: number;
  private readonly cost: number;
  private readonly clock: () => number;
  private readonly expiredStatus: number;
  private readonly models: string[];
  private readonly modelSet: ReadonlySet<string>;
  private readonly dims: number;
  private readonly logLimit: number;
  private readonly priced: boolean;
  private readonly alwaysUsage: boolean;
  private readonly router = new GatewayRouter(GATEWAY_ROUTES);
  /** GET /v1/models of keys without their own list never changes: serialise it once. */
  private readonly modelsBody: Buffer;
  private readonly monitorBody: Buffer;
  private readonly pricing: readonly FakePricingRow[];

  constructor(opts: FakeDaiDaiOptions = {}) {
    this.accounts = opts.accounts?.length ? opts.accounts.map((a) => ({ ...a })) : [{ ...DEMO_ACCOUNT }];
    this.pageSize = Math.max(1, opts.ordersPageSize ?? 2);
    this.streamChunks = Math.max(1, opts.streamChunks ?? 8);
    this.chunkDelayMs = Math.max(0, opts.chunkDelayMs ?? 0);
    this.tokenTtlMs = opts.tokenTtlMs ?? 3_600_000;
    this.cost = opts.costPerRequest ?? 0.01;
    this.clock = opts.clock ?? Date.now;
    this.expiredStatus = opts.expiredTokenStatus ?? 401;
    const packages = opts.packages === true;
    this.models = opts.models ? [...opts.models] : packages ? [...DEMO_PACKAGE_MODELS] : [...DEMO_MODELS];
    this.modelSet = new Set(this.models);
    this.dims = Math.max(1, opts.embeddingDims ?? 16);
    this.logLimit = Math.max(1, opts.requestLogLimit ?? 10_000);
    this.priced = (opts.charge ?? (packages ? 'priced' : 'flat')) === 'priced';
    this.alwaysUsage = opts.usageChunk === 'always';
    this.modelsBody = Buffer.from(modelsListBody(this.models));
    this.monitorBody = Buffer.from(JSON.stringify(packages ? DEMO_PACKAGE_MONITOR : DEMO_MONITOR));
    this.pricing = packages ? DEMO_PACKAGE_PRICING : DEMO_PRICING;
    this.setKeys(opts.keys ?? (packages ? DEMO_PACKAGE_KEYS : DEMO_KEYS));

    this.server = http.createServer({ noDelay: true, keepAlive: true }, (req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    // A client that sends garbage must not take the fake down.
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  // ---- life -----------------------------------------------------------------------------

  start(port = 0, host = '127.0.0.1'): Promise<number> {
    if (this.server.listening) return Promise.reject(new Error(`The fake DaiDai is already listening on port ${this.boundPort}.`));
    this.stopped = false;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const addr = this.server.address();
        this.boundPort = typeof addr === 'object' && addr ? addr.port : port;
        this.boundHost = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host;
        resolve(this.boundPort);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('The fake DaiDai stopped before a matching request arrived.'));
    }
    this.waiters.clear();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.boundHost.includes(':') ? `[${this.boundHost}]` : this.boundHost;
    return `http://${host}:${this.boundPort}`;
  }

  get gatewayUrl(): string {
    return `${this.url}/v1`;
  }

  // ---- control --------------------------------------------------------------------------

  setFault(key: string, fault: FaultSource | undefined): void {
    if (fault) this.faults.set(key, typeof fault === 'function' ? fault : { ...fault });
    else this.faults.delete(key);
  }

  setGatewayFault(fault: FaultSource | undefined): void {
    this.gatewayFault = fault === undefined || typeof fault === 'function' ? fault : { ...fault };
  }

  clearFaults(): void {
    this.faults.clear();
    this.platformFaults.clear();
    this.gatewayFault = undefined;
  }

  setPlatformFault(path: string, fault: Fault | undefined): void {
    if (fault) this.platformFaults.set(path, { ...fault });
    else this.platformFaults.delete(path);
  }

  get requests(): readonly GatewayRequestLog[] {
    return this.log;
  }

  clearRequests(): void {
    this.log = [];
  }

  waitForRequest(pred: (r: GatewayRequestLog) => boolean, timeoutMs = 5000): Promise<GatewayRequestLog> {
    const found = this.log.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`No matching gateway request within ${timeoutMs} ms (${this.log.length} logged).`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  get platformCalls(): Readonly<Record<string, number>> {
    return this.calls;
  }

  resetPlatformCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  setBalance(key: string, balance: number): void {
    const s = this.state.get(key);
    if (!s) throw new Error('setBalance: that key is not one of the fake account\'s keys.');
    s.balance = money(balance);
  }

  balanceOf(key: string): number | undefined {
    return this.state.get(key)?.balance;
  }

  keys(): FakeKey[] {
    return this.orders.map((o) => {
      const s = this.state.get(o.key);
      return s ? { ...o, balance: s.balance, used: s.used } : { ...o };
    });
  }

  setKeys(keys: readonly FakeKey[]): void {
    this.orders = keys.map((k) => ({ ...k, models: k.models ? [...k.models] : undefined }));
    this.state.clear();
    for (const o of this.orders) {
      if (!o.key) continue;
      const usable = (o.state ?? 'success') === 'success' && !o.hasError;
      const prev = this.state.get(o.key);
      if (prev) {
        // A key in several orders is usable when any of its orders is; its first order's package counts.
        if (usable) prev.refusal = undefined;
        continue;
      }
      this.state.set(o.key, this.keyState(o, usable));
    }
  }

  private keyState(o: FakeKey, usable: boolean): KeyState {
    const models = o.models ? new Set(o.models) : undefined;
    const catalogue = this.modelSet;
    return {
      balance: money(o.balance),
      used: money(o.used),
      refusal: usable ? undefined : o.hasError ? '该令牌对应的订单异常，已被禁用 (key disabled: broken order)' : '该令牌对应的订单未完成支付 (key disabled: order not paid)',
      models,
      group: o.group ?? 'default',
      modelRefusal: o.refusal ?? 'no-channel',
      modelsBody: o.models ? Buffer.from(modelsListBody([...models!])) : this.modelsBody,
      lists: models ? (id) => models.has(id) : (id) => catalogue.has(id),
    };
  }

  // ---- dispatch -------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (pathname === '/v1' || pathname.startsWith('/v1/')) {
      this.gateway(req, res, pathname, url).catch((e) => this.internalError(res, e));
    } else if (pathname.startsWith('/api/')) {
      this.platform(req, res, pathname).catch((e) => this.internalError(res, e));
    } else if (pathname === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : 'Fake DaiDai: platform API under /api, gateway under /v1.\n');
    } else {
      req.resume();
      res.writeHead(404, JSON_HEADERS);
      res.end('{"code":404,"msg":"Not Found"}');
    }
  }

  private internalError(res: http.ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = e instanceof BadBody ? 413 : 500;
    res.writeHead(status, JSON_HEADERS);
    res.end(JSON.stringify({ code: status, msg: e instanceof Error ? e.message : String(e) }));
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private takeFault(map: Map<string, FaultSource>, id: string | undefined, entry?: GatewayRequestLog): Fault | undefined {
    if (id === undefined || map.size === 0) return undefined;
    const f = map.get(id);
    if (!f) return undefined;
    if (typeof f === 'function') return entry ? askFault(f, entry) : undefined;
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) map.delete(id);
    }
    return f;
  }

  /** The whole gateway's fault for this request, counted down like a key's. */
  private takeGatewayFault(entry: GatewayRequestLog): Fault | undefined {
    const f = this.gatewayFault;
    if (!f) return undefined;
    if (typeof f === 'function') return askFault(f, entry);
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) this.gatewayFault = undefined;
    }
    return f;
  }

  // ---- platform -------------------------------------------------------------------------

  private async platform(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    this.calls[pathname] = (this.calls[pathname] ?? 0) + 1;
    const raw = await readBody(req);
    const fault = this.takeFault(this.platformFaults, pathname);
    if (fault && this.applyBlockingFault(res, fault)) return;
    if (fault?.html) {
      const status = fault.status ?? 502;
      res.writeHead(status, fault.retryAfter ? { ...HTML_HEADERS, 'retry-after': fault.retryAfter } : HTML_HEADERS);
      res.end(nginxErrorPage(status, http.STATUS_CODES[status] ?? 'Error'));
      return;
    }
    if (fault?.status) {
      const body = fault.body === undefined ? JSON.stringify({ code: fault.status, msg: `Demo fault: HTTP ${fault.status}` }) : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
      const headers: http.OutgoingHttpHeaders = { ...JSON_HEADERS };
      if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
      res.writeHead(fault.status, headers);
      res.end(body);
      return;
    }

    const method = req.method ?? 'GET';
    const expect = pathname === '/api/monitors/status' ? 'GET' : 'POST';
    const known = ['/api/users/login', '/api/general/orders', '/api/general/keyQuota', '/api/commodity/getPricing', '/api/monitors/status'].includes(pathname);
    if (!known) return this.platformJson(res, 404, { code: 404, msg: '接口不存在' });
    if (method !== expect) return this.platformJson(res, 405, { code: 405, msg: 'Method Not Allowed' });

    if (pathname === '/api/monitors/status') {
      res.writeHead(200, JSON_HEADERS);
      res.end(this.monitorBody);
      return;
    }

    let body: Record<string, unknown>;
    try {
      const parsed = parseJson(raw);
      body = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
    } catch {
      return this.platformJson(res, 200, { code: 400, msg: '请求参数格式错误' });
    }

    if (pathname === '/api/users/login') return this.login(res, body);

    const account = this.authorise(req);
    if (!account) return this.platformJson(res, this.expiredStatus, { code: this.expiredStatus, msg: '登录已过期，请重新登录' });

    switch (pathname) {
      case '/api/general/orders':
        return this.listOrders(res, account, body);
      case '/api/general/keyQuota':
        return this.keyQuota(res, account, body);
      case '/api/commodity/getPricing':
        return this.platformJson(res, 200, { code: 200, msg: { list: this.pricing, channelDescs: { '官Max': '官方 Max 渠道' } } });
    }
  }

  private platformJson(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, JSON_HEADERS);
    res.end(JSON.stringify(body));
  }

  private login(res: http.ServerResponse, body: Record<string, unknown>): void {
    const email = typeof body.userEmail === 'string' ? body.userEmail.trim().toLowerCase() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    if (!email || !password) return this.platformJson(res, 200, { code: 400, msg: '请输入邮箱和密码' });
    const account = this.accounts.find((a) => a.email.toLowerCase() === email && a.password === password);
    if (!account) return this.platformJson(res, 200, { code: 400, msg: '邮箱或密码错误' });
    const now = this.clock();
    const expiresAt = now + this.tokenTtlMs;
    const payload = { userId: account.userId, userEmail: account.email, iat: Math.floor(now / 1000), exp: Math.floor(expiresAt / 1000) };
    const token = `${base64url('{"alg":"HS256","typ":"JWT"}')}.${base64url(JSON.stringify(payload))}.${randomBytes(32).toString('base64url')}`;
    this.tokens.set(token, { userId: account.userId, expiresAt });
    this.platformJson(res, 200, {
      code: 200,
      token,
      msg: { userId: account.userId, userEmail: account.email, userName: account.email.split('@')[0], role: 'user', createTime: '2025-08-01 00:00:00' },
    });
  }

  private authorise(req: http.IncomingMessage): FakeAccount | undefined {
    const auth = req.headers.authorization;
    if (typeof auth !== 'string' || !/^bearer\s+/i.test(auth)) return undefined;
    const token = auth.replace(/^bearer\s+/i, '').trim();
    const info = this.tokens.get(token);
    if (!info) return undefined;
    if (this.clock() >= info.expiresAt) {
      this.tokens.delete(token);
      return undefined;
    }
    return this.accounts.find((a) => a.userId === info.userId);
  }

  /** `userData` must be a JSON *string* naming the signed-in user, as the real platform wants it. */
  private checkUserData(account: FakeAccount, body: Record<string, unknown>): string | undefined {
    if (typeof body.userData !== 'string') return '参数错误: userData 必须是 JSON 字符串';
    try {
      const u = JSON.parse(body.userData) as { userId?: unknown } | null;
      if (!u || String(u.userId) !== String(account.userId)) return '无权访问该用户的数据';
    } catch {
      return '参数错误: userData 格式错误';
    }
    return undefined;
  }

  private ordersOf(account: FakeAccount): FakeKey[] {
    return this.orders.filter((o) => o.userId === undefined || o.userId === account.userId);
  }

  private listOrders(res: http.ServerResponse, account: FakeAccount, body: Record<string, unknown>): void {
    const bad = this.checkUserData(account, body);
    if (bad) return this.platformJson(res, 200, { code: 400, msg: bad });
    const page = Math.max(1, Math.floor(Number(body.page) || 1));
    const asked = Math.max(1, Math.floor(Number(body.pageSize) || 10));
    const size = Math.min(asked, this.pageSize);
    const all = this.ordersOf(account);
    const totalPages = Math.max(1, Math.ceil(all.length / size));
    const rows = all.slice((page - 1) * size, page * size).map((o) => this.orderRow(o, this.orders.indexOf(o)));
    this.platformJson(res, 200, { code: 200, msg: rows, totalPages, total: all.length, page, pageSize: size });
  }

  private orderRow(o: FakeKey, index: number): Record<string, unknown> {
    const s = o.key ? this.state.get(o.key) : undefined;
    const balance = s ? s.balance : o.balance;
    const used = s ? s.used : o.used;
    const row: Record<string, unknown> = {
      id: 1000 + index,
      orderNo: `DD${20250000 + index}`,
      name: o.name,
      payPackage: o.payPackage,
      createdAt: o.createdAt ?? '2025-08-01 00:00:00',
      state: o.state ?? 'success',
      hasError: o.hasError ?? false,
    };
    row[o.keyField ?? 'key'] = o.key || null;
    const form = o.balanceAs ?? (index % 2 === 0 ? 'string' : 'number');
    if (form === 'string') {
      row.balance = yuanText(balance);
      row.utilised = yuanText(used);
    } else if (form === 'number') {
      row.balance = money(balance);
      row.utilised = money(used);
    }
    return row;
  }

  private keyQuota(res: http.ServerResponse, account: FakeAccount, body: Record<string, unknown>): void {
    const bad = this.checkUserData(account, body);
    if (bad) return this.platformJson(res, 200, { code: 400, msg: bad });
    const key = typeof body.key === 'string' ? body.key : '';
    const owned = key && this.ordersOf(account).some((o) => o.key === key);
    const s = owned ? this.state.get(key) : undefined;
    if (!s) return this.platformJson(res, 200, { code: 404, msg: '未找到该密钥' });
    this.platformJson(res, 200, { code: 200, msg: { balance: yuanText(s.balance), utilised: yuanText(s.used) } });
  }

  // ---- gateway --------------------------------------------------------------------------

  private notify(entry: GatewayRequestLog): void {
    if (this.waiters.size === 0) return;
    for (const w of this.waiters) {
      let hit = false;
      try {
        hit = w.pred(entry);
      } catch {
        hit = false;
      }
      if (hit) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(entry);
      }
    }
  }

  private record(entry: GatewayRequestLog): void {
    this.log.push(entry);
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - Math.floor(this.logLimit / 2));
  }

  /** Destroys or stalls the exchange when the fault says so; true when nothing more must be sent. */
  private applyBlockingFault(res: http.ServerResponse, fault: Fault, ex?: Exchange): boolean {
    if (fault.resetConnection) {
      if (ex) ex.selfClosed = true;
      res.socket?.destroy();
      return true;
    }
    if (fault.hangMs !== undefined && fault.hangMs >= 0) {
      this.later(() => {
        if (res.writableEnded || res.destroyed) return;
        if (ex) ex.selfClosed = true;
        res.socket?.destroy();
      }, fault.hangMs);
      return true;
    }
    // Hang: send nothing; the client's timeout or abort ends it, or stop() does.
    return fault.hang === true;
  }

  private async gateway(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, url: string): Promise<void> {
    const method = req.method ?? 'GET';
    const format: ApiFormat = pathname.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    const key = this.keyOf(req, format);
    const entry: GatewayRequestLog = { seq: ++this.seq, key, method, path: url, aborted: false, finished: false, headers: req.headers, startedAt: Date.now() };
    const ex: Exchange = { entry, res, selfClosed: false, closed: false };
    this.record(entry);
    res.on('finish', () => {
      entry.finished = true;
      this.notify(entry);
    });
    res.on('close', () => {
      ex.closed = true;
      if (!entry.finished && !ex.selfClosed) {
        entry.aborted = true;
        this.notify(entry);
      }
    });

    let json: Record<string, unknown> | undefined;
    let malformed = false;
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (e) {
      if (e instanceof BadBody) return this.gatewayError(ex, format, 413, 'Request body too large.');
      return; // the client went away while sending
    }
    if (method === 'POST') {
      try {
        const parsed = parseJson(raw);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
        else malformed = true;
      } catch {
        malformed = true;
      }
      if (json) {
        if (typeof json.model === 'string') entry.model = json.model;
        entry.stream = json.stream === true;
      }
    }
    this.notify(entry);

    // The gateway's front fails before any key is looked at; then the key's own misbehaviour.
    const fault = this.takeGatewayFault(entry) ?? this.takeFault(this.faults, key, entry);
    if (fault) {
      if (this.applyBlockingFault(res, fault, ex)) return;
      if (fault.html) {
        const status = fault.status ?? 502;
        const headers: http.OutgoingHttpHeaders = fault.retryAfter ? { ...HTML_HEADERS, 'retry-after': fault.retryAfter } : HTML_HEADERS;
        return this.send(ex, status, headers, nginxErrorPage(status, http.STATUS_CODES[status] ?? 'Error'));
      }
      if (fault.status) {
        const headers: http.OutgoingHttpHeaders = { ...JSON_HEADERS };
        if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
        const body = fault.body === undefined ? errorBody(format, fault.status, `Demo fault: HTTP ${fault.status} for this key.`) : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
        return this.send(ex, fault.status, headers, body);
      }
    }

    const match = this.router.match(method, pathname);
    if (match.kind === 'none') return this.gatewayError(ex, format, 404, `Unknown path ${pathname}.`);
    if (match.kind === 'wrong-method') return this.gatewayError(ex, format, 405, `${method} is not allowed on ${pathname}.`);
    const route = match.route;

    if (!key) return this.gatewayError(ex, format, 401, format === 'anthropic' ? 'x-api-key header is required.' : 'No API key provided. Send it as Authorization: Bearer sk-….');
    const ks = this.state.get(key);
    if (!ks) return this.gatewayError(ex, format, 401, 'Invalid API key (无效的令牌).');
    if (ks.refusal) return this.gatewayError(ex, format, 403, ks.refusal);
    if (ks.balance <= 0) return this.gatewayError(ex, format, 402, `quota exhausted: 该令牌额度已用尽，余额不足 (balance ¥${ks.balance.toFixed(2)}).`);

    if (method === 'POST' && (malformed || !json)) return this.gatewayError(ex, format, 400, 'Malformed JSON in request body.');
    const body = json ?? {};
    const model = typeof body.model === 'string' ? body.model : '';

    // Moderation first, so that every usable key gives a prompt the same verdict whatever its
    // package (new-api itself checks the model list before its relay's moderation; the wording
    // and shapes are new-api's either way).
    const userText = route.moderated ? lastUserText(body.messages) : '';
    if (route.moderated && isModerated(userText)) {
      return this.send(ex, 400, JSON_HEADERS, newApiRelayError(format, MODERATION_MESSAGE, gatewayRequestId(entry.seq), MODERATED_ROUTE_CODE));
    }
    // The token's model list (new-api's auth) and the group's channels (its distributor) refuse
    // before the relay knows the API format: the OpenAI shape on every route.
    if (route.modelScoped && model && ks.models && !ks.models.has(model)) {
      const rid = gatewayRequestId(entry.seq);
      if (ks.modelRefusal === 'permission') return this.send(ex, 403, JSON_HEADERS, newApiMiddlewareError(modelPermissionMessage(model), rid));
      return this.send(ex, 503, JSON_HEADERS, newApiMiddlewareError(noChannelMessage(ks.group, model), rid, 'model_not_found'));
    }

    const call: GatewayCall = {
      format,
      pathname,
      body,
      raw,
      model,
      userText,
      chunks: headerInt(req.headers['x-demo-chunks'], 1, MAX_CHUNKS) ?? this.streamChunks,
      usageChunk: this.alwaysUsage,
      embeddingDims: this.dims,
      key: ks,
      reply: new ExchangeReply(this, ex, ks, format, model, fault?.chunkDelayMs ?? headerInt(req.headers['x-demo-chunk-delay-ms'], 0, MAX_DELAY_MS) ?? this.chunkDelayMs, fault?.cutAfterChunks),
    };
    route.handle(call);
  }

  private keyOf(req: http.IncomingMessage, format: ApiFormat): string | undefined {
    const auth = req.headers.authorization;
    const bearer = typeof auth === 'string' && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, '').trim() || undefined : undefined;
    const xKey = req.headers['x-api-key'];
    const apiKey = typeof xKey === 'string' && xKey.trim() ? xKey.trim() : undefined;
    return format === 'anthropic' ? apiKey ?? bearer : bearer ?? apiKey;
  }

  /** @internal for ExchangeReply: takes an answer's cost from the key. */
  charge(ks: KeyState, model: string, usage: FakeUsage): void {
    const cost = this.priced ? fakeCostOf(model, usage, this.pricing) ?? this.cost : this.cost;
    if (cost === 0) return;
    ks.balance = money(ks.balance - cost);
    ks.used = money(ks.used + cost);
  }

  /** @internal for ExchangeReply. */
  gatewayError(ex: Exchange, format: ApiFormat, status: number, message: string): void {
    this.send(ex, status, JSON_HEADERS, errorBody(format, status, message));
  }

  /** @internal for ExchangeReply. */
  send(ex: Exchange, status: number, headers: http.OutgoingHttpHeaders, body: string | Buffer): void {
    if (ex.closed) return;
    ex.entry.status = status;
    ex.res.writeHead(status, headers);
    ex.res.end(body);
  }

  /** A non-streamed answer, slowed by `delay` and cut halfway when a fault asks for it. */
  /** @internal for ExchangeReply. */
  sendMaybeCut(ex: Exchange, body: string, delay: number, cut: number | undefined): void {
    if (delay > 0 && cut === undefined) {
      this.later(() => this.send(ex, 200, JSON_HEADERS, body), delay);
      return;
    }
    if (cut === undefined) return this.send(ex, 200, JSON_HEADERS, body);
    ex.entry.status = 200;
    const buf = Buffer.from(body);
    ex.res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(buf.length) });
    ex.res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => this.cutNow(ex));
  }

  private cutNow(ex: Exchange): void {
    ex.selfClosed = true;
    ex.res.socket?.destroy();
  }

  /**
   * Writes SSE events. Without a delay they go out in one write (the benchmark's case); with one,
   * headers go out at once and each event after `delay` ms. `cut` destroys the socket after that
   * many events (every SSE event counts, the role chunk and Anthropic's message_start included).
   */
  /** @internal for ExchangeReply. */
  stream(ex: Exchange, events: string[], delay: number, cut: number | undefined): void {
    if (ex.closed) return;
    ex.entry.status = 200;
    const res = ex.res;
    res.writeHead(200, SSE_HEADERS);
    const limit = cut === undefined ? events.length : Math.max(0, Math.min(cut, events.length));
    const complete = limit === events.length;
    if (delay <= 0) {
      if (complete) {
        res.end(events.join(''));
      } else if (limit === 0) {
        res.flushHeaders();
        this.cutNow(ex);
      } else {
        res.write(events.slice(0, limit).join(''), () => this.cutNow(ex));
      }
      return;
    }
    res.flushHeaders();
    let i = 0;
    const next = (): void => {
      if (ex.closed || this.stopped) return;
      if (i >= limit) {
        if (complete) res.end();
        else this.cutNow(ex);
        return;
      }
      const last = i === limit - 1;
      res.write(events[i++], last && !complete ? () => this.cutNow(ex) : undefined);
      if (last && !complete) return;
      if (i >= limit && complete) {
        res.end();
        return;
      }
      this.later(next, delay);
    };
    next();
  }
}

function askFault(fn: FaultFn, entry: GatewayRequestLog): Fault | undefined {
  return fn({ seq: entry.seq, model: entry.model, stream: entry.stream === true, path: entry.path });
}

/** A route handler's answers, bound to one exchange, its key, its delay and its cut. */
class ExchangeReply implements GatewayReply {
  constructor(
    private readonly server: FakeDaiDaiServer,
    private readonly ex: Exchange,
    private readonly ks: KeyState,
    private readonly format: ApiFormat,
    private readonly model: string,
    private readonly delay: number,
    private readonly cut: number | undefined,
  ) {}

  error(status: number, message: string): void {
    this.server.gatewayError(this.ex, this.format, status, message);
  }

  json(body: string | Buffer): void {
    this.server.send(this.ex, 200, JSON_HEADERS, body);
  }

  answer(body: string): void {
    this.server.sendMaybeCut(this.ex, body, this.delay, this.cut);
  }

  stream(events: string[]): void {
    this.server.stream(this.ex, events, this.delay, this.cut);
  }

  charge(usage: FakeUsage): void {
    this.server.charge(this.ks, this.model, usage);
  }
}

/** A fake DaiDai platform + gateway; call start() to listen. */
export function createFakeDaiDai(opts?: FakeDaiDaiOptions): FakeDaiDai {
  return new FakeDaiDaiServer(opts);
}
