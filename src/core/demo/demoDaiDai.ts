// The demo DaiDai: the platform (account) API under /api/* and the model gateway under /v1/*
// (new-api style: packages as groups, its refusals and moderation) on one loopback server.
// "DaiDai: Try Demo" and `daidai-proxy demo` run it; the tests and the benchmark run it through
// test/fake/fakeDaiDai.ts, which adds fault injection and a request log through the protected
// seams below. Plain node:http with a lean hot path: the benchmark measures the proxy, not this.
// The gateway's routes are a table (gatewayRoutes.ts); this file holds what they share.

import * as http from 'node:http';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { send, sendError, ExchangeReply, JSON_HEADERS, type Exchange, type ExchangeHost } from './exchange';
import { DEMO_ACCOUNT, DEMO_KEYS, DEMO_MODELS, DEMO_MONITOR, DEMO_PACKAGE_KEYS, DEMO_PACKAGE_MODELS, DEMO_PACKAGE_MONITOR, DEMO_PACKAGE_PRICING, DEMO_PRICING } from './fixtures';
import { GATEWAY_ROUTES, GatewayRouter, type GatewayCall, type GatewayKeyView, type GatewayReply } from './gatewayRoutes';
import { fakeCostOf, type FakePricingRow, type FakeUsage } from './pricing';
import {
  type ApiFormat,
  gatewayRequestId,
  isModerated,
  lastUserText,
  modelPermissionMessage,
  modelsListBody,
  MODERATION_MESSAGE,
  newApiMiddlewareError,
  newApiRelayError,
  noChannelMessage,
} from './replies';
import type { DemoDaiDai, DemoDaiDaiOptions, FakeAccount, FakeKey, GatewayRequestLog } from './types';

export { DEMO_ACCOUNT } from './fixtures';

const MAX_BODY = 64 * 1024 * 1024;

/** A key as the gateway keeps it: its live balance, refusal and package. */
export interface KeyState extends GatewayKeyView {
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

/** How a gateway answer is paced: content chunks of a stream, and ms between its events. */
export interface ReplyPace {
  chunks: number;
  delayMs: number;
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

/** ¥ kept to 1e-9: priced answers cost millionths of a yuan, and sums must not drift. */
export function money(n: number): number {
  return Math.round(n * 1e9) / 1e9;
}

/** ¥ as the platform writes it ("12.50"), with the digits a priced answer needs ("3.200123"). */
function yuanText(n: number): string {
  const two = n.toFixed(2);
  if (Number(two) === money(n)) return two;
  return n.toFixed(6).replace(/(\.\d\d\d*?)0+$/, '$1');
}

const MODERATED_ROUTE_CODE = 'sensitive_words_detected';

function base64url(s: string | Buffer): string {
  return Buffer.from(s).toString('base64url');
}

/**
 * The demo platform + gateway. The protected members are the seams test/fake/fakeDaiDai.ts
 * builds its fault injection and request log on; the demo itself leaves them as they are.
 */
export class DemoDaiDaiServer implements DemoDaiDai, ExchangeHost {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  protected readonly tokens = new Map<string, TokenInfo>();
  protected readonly state = new Map<string, KeyState>();
  private orders: FakeKey[] = [];
  private seq = 0;
  private boundPort = 0;
  private boundHost = '127.0.0.1';
  private _stopped = false;

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
  private readonly priced: boolean;
  private readonly alwaysUsage: boolean;
  private readonly router = new GatewayRouter(GATEWAY_ROUTES);
  /** GET /v1/models of keys without their own list never changes: serialise it once. */
  private readonly modelsBody: Buffer;
  private readonly monitorBody: Buffer;
  private readonly pricing: readonly FakePricingRow[];

  constructor(opts: DemoDaiDaiOptions = {}) {
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
    if (this.server.listening) return Promise.reject(new Error(`The demo DaiDai is already listening on port ${this.boundPort}.`));
    this._stopped = false;
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
    this._stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stopping();
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
  }

  get stopped(): boolean {
    return this._stopped;
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

  // ---- seams (test/fake/fakeDaiDai.ts overrides them; the demo keeps these) -------------

  /** stop() was called: pending waits end here. */
  protected stopping(): void {}

  /** A platform call, before it is answered; true when the seam answered it. */
  protected interceptPlatform(_res: http.ServerResponse, _pathname: string): boolean {
    return false;
  }

  /** A gateway request arrived (its entry is updated in place as it goes). */
  protected requestArrived(_entry: GatewayRequestLog): void {}

  /** A gateway request's body was read, or it finished, or the client went away. */
  protected requestChanged(_entry: GatewayRequestLog): void {}

  /**
   * A gateway request whose body was read, before the gateway looks at its key: 'answered' when
   * the seam answered it, else how to pace the answer (default: the options').
   */
  protected interceptGateway(_ex: Exchange, _format: ApiFormat, _req: http.IncomingMessage, pace: ReplyPace): ReplyPace | 'answered' {
    return pace;
  }

  /** How the route's handler answers this exchange. */
  protected replyFor(ex: Exchange, format: ApiFormat, delayMs: number, ks: KeyState, model: string): GatewayReply {
    return new ExchangeReply(this, ex, format, delayMs, (usage) => this.charge(ks, model, usage));
  }

  /** @internal for the exchange writer: a timer that stop() clears. */
  later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
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
      res.end(req.method === 'HEAD' ? undefined : 'DaiDai demo: platform API under /api, gateway under /v1.\n');
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

  // ---- platform -------------------------------------------------------------------------

  private async platform(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): Promise<void> {
    const raw = await readBody(req);
    if (this.interceptPlatform(res, pathname)) return;

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

  private async gateway(req: http.IncomingMessage, res: http.ServerResponse, pathname: string, url: string): Promise<void> {
    const method = req.method ?? 'GET';
    const format: ApiFormat = pathname.startsWith('/v1/messages') ? 'anthropic' : 'openai';
    const key = this.keyOf(req, format);
    const entry: GatewayRequestLog = { seq: ++this.seq, key, method, path: url, aborted: false, finished: false, headers: req.headers, startedAt: Date.now() };
    const ex: Exchange = { entry, res, selfClosed: false, closed: false };
    this.requestArrived(entry);
    res.on('finish', () => {
      entry.finished = true;
      this.requestChanged(entry);
    });
    res.on('close', () => {
      ex.closed = true;
      if (!entry.finished && !ex.selfClosed) {
        entry.aborted = true;
        this.requestChanged(entry);
      }
    });

    let json: Record<string, unknown> | undefined;
    let malformed = false;
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (e) {
      if (e instanceof BadBody) return sendError(ex, format, 413, 'Request body too large.');
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
    this.requestChanged(entry);

    const pace = this.interceptGateway(ex, format, req, { chunks: this.streamChunks, delayMs: this.chunkDelayMs });
    if (pace === 'answered') return;

    const match = this.router.match(method, pathname);
    if (match.kind === 'none') return sendError(ex, format, 404, `Unknown path ${pathname}.`);
    if (match.kind === 'wrong-method') return sendError(ex, format, 405, `${method} is not allowed on ${pathname}.`);
    const route = match.route;

    if (!key) return sendError(ex, format, 401, format === 'anthropic' ? 'x-api-key header is required.' : 'No API key provided. Send it as Authorization: Bearer sk-….');
    const ks = this.state.get(key);
    if (!ks) return sendError(ex, format, 401, 'Invalid API key (无效的令牌).');
    if (ks.refusal) return sendError(ex, format, 403, ks.refusal);
    if (ks.balance <= 0) return sendError(ex, format, 402, `quota exhausted: 该令牌额度已用尽，余额不足 (balance ¥${ks.balance.toFixed(2)}).`);

    if (method === 'POST' && (malformed || !json)) return sendError(ex, format, 400, 'Malformed JSON in request body.');
    const body = json ?? {};
    const model = typeof body.model === 'string' ? body.model : '';

    // Moderation first, so that every usable key gives a prompt the same verdict whatever its
    // package (new-api itself checks the model list before its relay's moderation; the wording
    // and shapes are new-api's either way).
    const userText = route.moderated ? lastUserText(body.messages) : '';
    if (route.moderated && isModerated(userText)) {
      return send(ex, 400, JSON_HEADERS, newApiRelayError(format, MODERATION_MESSAGE, gatewayRequestId(entry.seq), MODERATED_ROUTE_CODE));
    }
    // The token's model list (new-api's auth) and the group's channels (its distributor) refuse
    // before the relay knows the API format: the OpenAI shape on every route.
    if (route.modelScoped && model && ks.models && !ks.models.has(model)) {
      const rid = gatewayRequestId(entry.seq);
      if (ks.modelRefusal === 'permission') return send(ex, 403, JSON_HEADERS, newApiMiddlewareError(modelPermissionMessage(model), rid));
      return send(ex, 503, JSON_HEADERS, newApiMiddlewareError(noChannelMessage(ks.group, model), rid, 'model_not_found'));
    }

    const call: GatewayCall = {
      format,
      pathname,
      body,
      raw,
      model,
      userText,
      chunks: pace.chunks,
      usageChunk: this.alwaysUsage,
      embeddingDims: this.dims,
      key: ks,
      reply: this.replyFor(ex, format, pace.delayMs, ks, model),
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

  /** Takes an answer's cost from the key. */
  private charge(ks: KeyState, model: string, usage: FakeUsage): void {
    const cost = this.priced ? fakeCostOf(model, usage, this.pricing) ?? this.cost : this.cost;
    if (cost === 0) return;
    ks.balance = money(ks.balance - cost);
    ks.used = money(ks.used + cost);
  }
}

/** The demo DaiDai platform + gateway ("DaiDai: Try Demo", `daidai-proxy demo`); call start() to listen. */
export function createDemoDaiDai(opts?: DemoDaiDaiOptions): DemoDaiDai {
  return new DemoDaiDaiServer(opts);
}
