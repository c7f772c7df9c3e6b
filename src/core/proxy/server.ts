// ProxyServer: a small object with a clear life. start() listens (127.0.0.1 by default) and
// resolves once bound; stop() closes the listener and every open connection, keep-alive and
// streaming ones included, which also aborts their upstream requests.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { Agent } from 'undici';
import { t } from '../l10n';
import { classifyFailure } from '../pool/policy';
import { Emitter } from '../util/event';
import type { Knobs } from '../knobs';
import { connectHost } from '../util/hosts';
import { createApp } from './app';
import { createProxyEnv, withDefaults, type ProxyEnv, type ProxyEnvInit } from './env';
import { answerError } from './errors';
import { proxyRequest, type ProxyRequest } from './inProcess';
import { parseUpstreamBase } from './routes';
import { isLoopbackAddress } from './safety';
import type { ResponseSink } from './sink';
import type { ProxyOptions, ProxyStatus, RequestRecord } from './types';

/** Options that only take effect on a new listener or a new upstream connection pool (the timeouts go with each attempt). */
const restartKeys: ReadonlyArray<keyof ProxyOptions> = ['host', 'port', 'upstreamBaseUrl'];

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
  /** The one environment of the request path, handed by reference to the app and the entries. */
  private readonly env: ProxyEnv;
  private server?: Server;
  private sockets = new Set<Socket>();
  private ownAgent?: Agent;
  private readonly statusEmitter = new Emitter<ProxyStatus>();
  private readonly requestEmitter = new Emitter<RequestRecord>();
  private stopping?: Promise<void>;

  readonly onDidChangeStatus = this.statusEmitter.event;
  /** Every finished request: from the port and from the in-process entry (`source` says which caller). */
  readonly onDidRequest = this.requestEmitter.event;

  constructor(private readonly init: ProxyEnvInit) {
    const fire = (r: RequestRecord) => this.requestEmitter.fire(r);
    const own = init.dispatcher ? undefined : (this.ownAgent = newAgent(withDefaults(init.options ?? {})));
    this.env = createProxyEnv({ ...init, record: fire }, classifyFailure, init.dispatcher ?? own!);
  }

  get status(): ProxyStatus {
    return this.env.status;
  }

  get options(): Readonly<ProxyOptions> {
    return this.env.options;
  }

  /** Applies what it can at once; says whether the rest waits for a restart. */
  updateOptions(partial: Partial<ProxyOptions>): { needsRestart: boolean } {
    const next = withDefaults(partial, this.env.options);
    const changed = restartKeys.some((k) => JSON.stringify(next[k]) !== JSON.stringify(this.env.options[k]));
    this.env.options = next;
    return { needsRestart: changed && this.env.status.state === 'running' };
  }

  /**
   * The in-process entry (VS Code's chat provider): runs `request` through the same pool and
   * failover loop as the port, its answer streaming into `sink`; works while the proxy is stopped
   * (then against the upstream the settings name now). Resolves when the answer has ended or
   * failed; errors arrive in the sink in the request's API format, as from the port.
   */
  request(request: ProxyRequest, sink: ResponseSink): Promise<void> {
    if (this.env.status.state !== 'running') {
      try {
        this.env.upstream = parseUpstreamBase(this.env.options.upstreamBaseUrl);
      } catch (err) {
        answerError(sink, 'openai', 502, (err as Error).message, 'upstream_invalid');
        return Promise.resolve();
      }
      if (!this.init.dispatcher) this.env.dispatcher = this.agent();
    }
    return proxyRequest(this.env, request, sink);
  }

  async start(): Promise<ProxyStatus> {
    if (this.env.status.state === 'running') return this.env.status;
    if (this.stopping) await this.stopping;
    const env = this.env;
    const opts = env.options;
    env.upstream = parseUpstreamBase(opts.upstreamBaseUrl);
    this.setStatus({ state: 'starting' });

    if (!this.init.dispatcher) env.dispatcher = this.agent();
    const server = createServer(createApp(env).callback());
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
        const onError = (err: NodeJS.ErrnoException) => reject(startError(err, opts, env.knobs));
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
    server.on('error', (err) => env.logger.error(t('proxy server error: {0}', err.message)));
    this.server = server;
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : opts.port;
    const shownHost = connectHost(opts.host);
    if (!isLoopbackAddress(opts.host)) {
      env.logger.warn(
        opts.accessToken
          ? t('The proxy listens on {0}, reachable from other machines.', opts.host)
          : t('The proxy listens on {0}, reachable from other machines. Set {1} so that only your clients can use your keys.', opts.host, env.knobs.accessToken),
      );
    }
    this.setStatus({ state: 'running', host: opts.host, port, url: `http://${shownHost}:${port}/v1`, startedAt: Date.now() });
    env.logger.info(t('proxy listening on {0} → {1}', `http://${shownHost}:${port}/v1`, `${env.upstream.origin}${env.upstream.basePath}`));
    return env.status;
  }

  stop(): Promise<void> {
    if (this.stopping) return this.stopping;
    const server = this.server;
    if (!server) {
      if (this.env.status.state !== 'stopped') this.setStatus({ state: 'stopped' });
      return Promise.resolve();
    }
    this.setStatus({ ...this.env.status, state: 'stopping' });
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
      this.env.logger.info(t('proxy stopped'));
    });
    return this.stopping;
  }

  async restart(): Promise<ProxyStatus> {
    await this.stop();
    return this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    const agent = this.ownAgent;
    this.ownAgent = undefined;
    if (agent) await agent.close().catch(() => agent.destroy());
    this.statusEmitter.dispose();
    this.requestEmitter.dispose();
  }

  /** Our own upstream pool when none was injected: made when first needed, closed on stop. */
  private agent(): Agent {
    return (this.ownAgent ??= newAgent(this.env.options));
  }

  private setStatus(s: ProxyStatus): void {
    this.env.status = s;
    this.statusEmitter.fire(s);
  }
}

function newAgent(opts: ProxyOptions): Agent {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
    // No cap: requests hanging at the gateway must not queue a normal one behind them.
  });
}

function startError(err: NodeJS.ErrnoException, opts: ProxyOptions, knobs: Knobs): ProxyStartError {
  if (err.code === 'EADDRINUSE') {
    return new ProxyStartError(t('Port {0} is in use by another program. Change {1} or stop that program.', opts.port, knobs.port), 'EADDRINUSE');
  }
  if (err.code === 'EACCES') {
    return new ProxyStartError(t('Not allowed to listen on port {0}. Choose a port above 1024 in {1}.', opts.port, knobs.port), 'EACCES');
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
    return new ProxyStartError(t('Cannot listen on {0}: no such address on this machine. Check {1}.', opts.host, knobs.host), err.code);
  }
  return new ProxyStartError(t('The proxy could not start on {0}: {1}', `${opts.host}:${opts.port}`, err.message), err.code ?? 'UNKNOWN');
}
