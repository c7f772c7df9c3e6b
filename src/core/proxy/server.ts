// ProxyServer: a small object with a clear life. start() listens (127.0.0.1 by default) and
// resolves once bound; stop() closes the listener and every open connection, keep-alive and
// streaming ones included, which also aborts their upstream requests.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Agent, type Dispatcher } from 'undici';
import { t } from '../l10n';
import type { GatewayModel, GatewayWatch } from '../gateway/types';
import { classifyFailure } from '../pool/policy';
import type { UsageMeter } from '../usage/types';
import type { PoolSnapshot } from '../pool/types';
import { Emitter } from '../util/event';
import { connectHost } from '../util/hosts';
import { nullLogger, type Logger } from '../util/log';
import { createApp } from './app';
import type { PoolPort } from './forward';
import { parseUpstreamBase } from './routes';
import { isLoopbackAddress } from './safety';
import { defaultProxyOptions, type ProxyOptions, type ProxyStatus, type RequestRecord } from './types';

export interface ProxyServerDeps {
  pool: PoolPort & { snapshot(): PoolSnapshot };
  options: Partial<ProxyOptions>;
  logger?: Logger;
  /** Injected by tests (MockAgent) or shared by the composition root; otherwise one Agent of our own. */
  dispatcher?: Dispatcher;
  version?: string;
  /** emailHash of the account served, for /health. */
  healthAccount?: () => string | undefined;
  /** The union of the keys' model lists, for /v1/models (undefined: forward as before). */
  models?: () => GatewayModel[] | undefined;
  /** The outage detector the forwarder reports attempts to. */
  gateway?: GatewayWatch;
  /** Reads token usage off each 2xx answer. */
  usage?: UsageMeter;
  /** Set while the gateway is considered down, for /health. */
  gatewayHealth?: () => { reason: string; since: number } | undefined;
}

/** Options that only take effect on a new listener or a new upstream connection pool. */
const restartKeys: ReadonlyArray<keyof ProxyOptions> = ['host', 'port', 'upstreamBaseUrl', 'headersTimeoutMs', 'bodyTimeoutMs'];

export class ProxyStartError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ProxyStartError';
  }
}

export class ProxyServer {
  private opts: ProxyOptions;
  private server?: Server;
  private sockets = new Set<Socket>();
  private ownAgent?: Agent;
  private _status: ProxyStatus = { state: 'stopped' };
  private readonly logger: Logger;
  private readonly statusEmitter = new Emitter<ProxyStatus>();
  private readonly requestEmitter = new Emitter<RequestRecord>();
  private stopping?: Promise<void>;

  readonly onDidChangeStatus = this.statusEmitter.event;
  readonly onDidRequest = this.requestEmitter.event;

  constructor(private readonly deps: ProxyServerDeps) {
    this.opts = { ...defaultProxyOptions, ...stripUndefined(deps.options) };
    this.logger = deps.logger ?? nullLogger;
  }

  get status(): ProxyStatus {
    return this._status;
  }

  get options(): Readonly<ProxyOptions> {
    return this.opts;
  }

  /** Applies what it can at once; says whether the rest waits for a restart. */
  updateOptions(partial: Partial<ProxyOptions>): { needsRestart: boolean } {
    const next = { ...this.opts, ...stripUndefined(partial) };
    const changed = restartKeys.some((k) => JSON.stringify(next[k]) !== JSON.stringify(this.opts[k]));
    this.opts = next;
    return { needsRestart: changed && this._status.state === 'running' };
  }

  async start(): Promise<ProxyStatus> {
    if (this._status.state === 'running') return this._status;
    if (this.stopping) await this.stopping;
    const opts = this.opts;
    const upstream = parseUpstreamBase(opts.upstreamBaseUrl);
    this.setStatus({ state: 'starting' });

    const dispatcher = this.deps.dispatcher ?? (this.ownAgent = this.ownAgent ?? newAgent(opts));
    const app = createApp({
      pool: this.deps.pool,
      dispatcher,
      upstream,
      options: () => this.opts,
      status: () => this._status,
      classify: classifyFailure,
      logger: this.logger,
      onRecord: (r) => this.requestEmitter.fire(r),
      version: this.deps.version,
      healthAccount: this.deps.healthAccount,
      models: this.deps.models,
      gateway: this.deps.gateway,
      usage: this.deps.usage,
      gatewayHealth: this.deps.gatewayHealth,
    });
    const server = createServer(app.callback());
    // SSE answers can be quiet for minutes while a model thinks; Node's default 5 min request
    // timeout only covers receiving the request, which is what we want, so leave it.
    server.keepAliveTimeout = 30_000;
    server.on('connection', (socket: Socket) => {
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });

    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException) => reject(startError(err, opts));
        server.once('error', onError);
        server.listen(opts.port, opts.host, () => {
          server.off('error', onError);
          resolve();
        });
      });
    } catch (err) {
      this.setStatus({ state: 'stopped', error: (err as Error).message });
      throw err;
    }
    server.on('error', (err) => this.logger.error(t('proxy server error: {0}', err.message)));
    this.server = server;
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    const shownHost = connectHost(opts.host);
    if (!isLoopbackAddress(opts.host)) {
      this.logger.warn(
        opts.accessToken
          ? t('The proxy listens on {0}, reachable from other machines.', opts.host)
          : t('The proxy listens on {0}, reachable from other machines. Set daidai.proxy.accessToken so that only your clients can use your keys.', opts.host),
      );
    }
    this.setStatus({ state: 'running', host: opts.host, port, url: `http://${shownHost}:${port}/v1`, startedAt: Date.now() });
    this.logger.info(t('proxy listening on {0} → {1}', `http://${shownHost}:${port}/v1`, `${upstream.origin}${upstream.basePath}`));
    return this._status;
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const server = this.server;
    if (!server) {
      if (this._status.state !== 'stopped') this.setStatus({ state: 'stopped' });
      return Promise.resolve();
    }
    this.setStatus({ ...this._status, state: 'stopping' });
    this.stopping = new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive and streaming sockets would keep close() waiting for minutes.
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
    }).then(async () => {
      this.server = undefined;
      this.stopping = undefined;
      // A restart may point at another upstream or other timeouts: start with a fresh pool.
      const agent = this.ownAgent;
      this.ownAgent = undefined;
      if (agent) await agent.close().catch(() => agent.destroy());
      this.setStatus({ state: 'stopped' });
      this.logger.info(t('proxy stopped'));
    });
    return this.stopping;
  }

  async restart(): Promise<ProxyStatus> {
    await this.stop();
    return this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    this.statusEmitter.dispose();
    this.requestEmitter.dispose();
  }

  private setStatus(s: ProxyStatus): void {
    this._status = s;
    this.statusEmitter.fire(s);
  }
}

function newAgent(opts: ProxyOptions): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    connections: 256,
  });
}

function startError(err: NodeJS.ErrnoException, opts: ProxyOptions): ProxyStartError {
  if (err.code === 'EADDRINUSE') {
    return new ProxyStartError(
      t('Port {0} is in use by another program. Change daidai.proxy.port (or --port) or stop that program.', opts.port),
      'EADDRINUSE',
    );
  }
  if (err.code === 'EACCES') {
    return new ProxyStartError(t('Not allowed to listen on port {0}. Choose a port above 1024 in daidai.proxy.port (or --port).', opts.port), 'EACCES');
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new ProxyStartError(t('Cannot listen on {0}: no such address on this machine. Check daidai.proxy.host (or --host).', opts.host), err.code);
  }
  return new ProxyStartError(t('The proxy could not start on {0}: {1}', `${opts.host}:${opts.port}`, err.message), err.code ?? 'UNKNOWN');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
