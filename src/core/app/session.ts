// The application service: one account (real, demo, or plain keys), one key pool, one proxy,
// the refresh timer and the request log. The extension (src/vscode/services.ts), the CLI
// (src/cli.ts) and so the benchmark build this same object with their own ports (credentials,
// settings, logger); it never calls VS Code (the handlers in commands.ts do, through `Ui`).
import { Agent } from 'undici';
import { t } from '../l10n';
import { createDemoDaiDai, DEMO_ACCOUNT } from '../demo/demoDaiDai';
import type { DemoDaiDai } from '../demo/types';
import { Account } from '../platform/account';
import { PlatformClient } from '../platform/client';
import { createGatewayProbe, GatewayMonitor, type GatewayHealth, type GatewayModel } from '../gateway';
import type { Credentials, ModelAvailability, ModelPrice } from '../platform/types';
import { KeyPool } from '../pool/keyPool';
import type { KeySnapshot, PoolKeyInput } from '../pool/types';
import { lowBalanceKeys, requestLogLine, requestServed, type AccountView, type RequestCounts } from '../present';
import { probePeer, type PeerHealth } from '../proxy/peer';
import { ProxyServer, ProxyStartError } from '../proxy/server';
import type { ProxyStatus, RequestRecord } from '../proxy/types';
import type { StateIdentity } from '../state';
import { createUsageMeter, PriceBook, requestCost, type UsageHistory } from '../usage';
import { Emitter, type Disposable, type Event } from '../util/event';
import { emailHash } from '../util/hash';
import { logsAt, type ConsoleLogger, type Logger } from '../util/log';
import { maskKey, redactSecrets } from '../util/mask';
import { changedSettings, proxyOptionsOf, routingOptionsOf, settingIds, type DaiDaiSettings } from './settings';
import { RequestRouter } from '../routing/router';
import { StateKeeper } from './stateKeeper';

/** What the session uses of core/platform/account.ts's Account. */
export interface AccountLike {
  readonly snapshot: AccountView;
  readonly onDidChange: Event<unknown>;
  signIn(creds: Credentials): Promise<unknown>;
  signOut(): unknown;
  refresh(): Promise<unknown>;
  dispose?(): unknown;
  /** The platform's price list and model monitor, when the account can ask for them. */
  readonly client?: { pricing(): Promise<ModelPrice[]>; monitor(): Promise<ModelAvailability[]> };
}

/** Where the login is kept: VS Code's SecretStorage in the extension, the environment in the CLI. */
export interface CredentialsPort {
  get(): Promise<Credentials | undefined>;
  /** False when the store refused (the login still holds for this session). */
  set(creds: Credentials): Promise<boolean>;
  clear(): Promise<boolean>;
  /** Another window stored or forgot the credentials. */
  readonly onDidChange: Event<void>;
}

export interface SessionDeps {
  logger: Logger;
  credentials: CredentialsPort;
  settings: DaiDaiSettings;
  /** Builds an account (and its platform client) for a platform base URL; default: the real platform client. */
  createAccount?(platformBaseUrl: string, logger: Logger): AccountLike;
  /** The embedded demo platform for "Try the Demo Account"; default: src/core/demo's. */
  createDemo?(): DemoDaiDai;
  version?: string;
  /** How often another window's proxy is polled (default PEER_POLL_MS; tests go faster). */
  peerPollMs?: number;
  /**
   * What to do when our own proxy already serves the port: 'share' (the extension: use it and take
   * the port over when it stops) or 'refuse' (the CLI: startProxy throws PeerProxyRunning).
   */
  peers?: 'share' | 'refuse';
  /**
   * Where what the pool learned and the usage history are kept (the extension's globalStorageUri,
   * the CLI's --state-dir). Undefined: nothing is kept (tests, and the demo never is).
   */
  stateDir?: string;
}

export type SessionMode = 'signed-out' | 'account' | 'demo' | 'keys';

/** Our own proxy, run by another window (or a `daidai-proxy serve`), found on the port we wanted. */
export interface PeerProxy {
  /** `http://127.0.0.1:PORT/v1`, what clients use. */
  url: string;
  port: number;
  /** Its latest /health (no key in it). */
  health: PeerHealth;
  /** Epoch ms since this window uses it. */
  since: number;
}

/** startProxy() with `peers: 'refuse'` found one of our proxies on the port. */
export class PeerProxyRunning extends Error {
  constructor(readonly peer: PeerProxy) {
    super(t('A DaiDai proxy already serves port {0} ({1}).', peer.port, peer.url));
    this.name = 'PeerProxyRunning';
  }
}

/** Polls in a row that do not find our proxy (a timeout, another program) before a window stops using it. */
const PEER_MISSES_TO_LEAVE = 3;

/** How often a window that uses another window's proxy reads its /health and tries to take the port over. */
export const PEER_POLL_MS = 3_000;

/** The real platform: an Account over a PlatformClient for that base URL. */
export function createPlatformAccount(platformBaseUrl: string, logger: Logger): AccountLike {
  return new Account(new PlatformClient({ baseUrl: platformBaseUrl, logger }), { logger });
}

/** What applying new settings did, for the message the user sees. */
export interface SettingsOutcome {
  /** Setting ids (`daidai.…`) that made us restart the running proxy. */
  restartedFor: string[];
  /** Set when the restart failed. */
  restartError?: string;
}

export class Session {
  readonly pool: KeyPool;
  readonly proxy: ProxyServer;
  private account: AccountLike;
  private accountSub: Disposable;
  private demo?: DemoDaiDai;
  /** Plain keys (DAIDAI_KEYS or a keys file) instead of an account: where they came from. */
  private plainKeys?: { source: string; keys: PoolKeyInput[] };
  private _settings: DaiDaiSettings;
  private counts: RequestCounts = { served: 0, failed: 0 };
  private readonly warnedLow = new Set<string>();
  private refreshTimer?: NodeJS.Timeout;
  private _peer?: PeerProxy;
  private peerTimer?: NodeJS.Timeout;
  /** The user (or autoStart) wants a proxy: when another window's goes away, this one takes the port over. */
  private wantsProxy = false;
  /** Polls in a row whose answer was not our /health. */
  private peerMisses = 0;
  private readonly subscriptions: Disposable[] = [];
  private readonly changeEmitter = new Emitter<void>();
  private readonly lowBalanceEmitter = new Emitter<KeySnapshot[]>();
  private readonly requestEmitter = new Emitter<void>();
  private readonly logger: Logger;
  private disposed = false;
  /** One connection pool to the gateway, shared by the proxy and the background checks. */
  private readonly agent: Agent;
  /** Model resolution and session affinity for the proxy (src/core/routing). */
  private readonly router: RequestRouter;
  private monitor?: { upstream: string; monitor: GatewayMonitor };
  private readonly state: StateKeeper;
  private readonly meter = createUsageMeter();
  private market: { prices: ModelPrice[]; book: PriceBook; availability: ModelAvailability[]; fetchedAt?: number } = {
    prices: [],
    book: new PriceBook([]),
    availability: [],
  };
  private readonly insightEmitter = new Emitter<void>();
  private readonly lazyLog?: ConsoleLogger['lazy'];

  /** Account, mode or key list changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  /** Keys that fell below daidai.balances.lowThreshold, each reported once per session. */
  readonly onDidFindLowBalance: Event<KeySnapshot[]> = this.lowBalanceEmitter.event;
  /** The client-level request counters moved (fires per proxied request; read `requests`). */
  readonly onDidCountRequest: Event<void> = this.requestEmitter.event;
  /** Model lists, prices, availability or the gateway's health changed. */
  readonly onDidChangeInsight: Event<void> = this.insightEmitter.event;

  constructor(private readonly deps: SessionDeps) {
    this.logger = deps.logger;
    const lazy = (deps.logger as Partial<ConsoleLogger>).lazy;
    this.lazyLog = lazy ? lazy.bind(deps.logger) : undefined;
    this._settings = deps.settings;
    this.pool = new KeyPool({ failureThreshold: deps.settings.failureThreshold, logger: deps.logger });
    this.pool.setExclusionMinutes(deps.settings.modelExclusionMinutes);
    this.agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
    this.state = new StateKeeper(deps.stateDir, this.pool, deps.logger, () => this.proxy.status.state === 'running');
    const watch = () => this.monitor?.monitor.watch;
    this.router = new RequestRouter(routingOptionsOf(deps.settings));
    this.proxy = new ProxyServer({
      pool: this.pool,
      router: this.router,
      options: proxyOptionsOf(deps.settings),
      logger: deps.logger,
      version: deps.version,
      dispatcher: this.agent,
      models: () => this.monitor?.monitor.models(),
      gateway: {
        get outage() {
          return watch()?.outage;
        },
        recordFailure: (keyId, signature, ticket) => watch()?.recordFailure(keyId, signature, ticket),
        recordSuccess: () => watch()?.recordSuccess(),
        onDidChange: this.insightEmitter.event,
      },
      usage: this.meter,
      gatewayHealth: () => this.monitor?.monitor.health(),
      healthAccount: () => (this.account.snapshot.signedIn && this.account.snapshot.email ? emailHash(this.account.snapshot.email) : undefined),
    });
    this.subscriptions.push(
      this.proxy.onDidRequest((r) => {
        if (requestServed(r)) this.counts.served++;
        else this.counts.failed++;
        // A line per request is formatted only when the logger shows it, and by a batching logger
        // (the CLI's) only when its batch is written: off the request's path.
        const level = r.status >= 500 || r.aborted ? 'warn' : 'info';
        if (this.lazyLog) this.lazyLog(level, r, requestLogLine);
        else if (logsAt(this.logger, level)) this.logger[level](requestLogLine(r));
        this.recordUsage(r);
        this.requestEmitter.fire();
      }),
      deps.credentials.onDidChange(() => void this.onCredentialsChangedElsewhere()),
    );
    this.account = this.newAccount(deps.settings.platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
  }

  get settings(): DaiDaiSettings {
    return this._settings;
  }

  get mode(): SessionMode {
    if (this.plainKeys) return 'keys';
    if (!this.account.snapshot.signedIn) return 'signed-out';
    return this.demo ? 'demo' : 'account';
  }

  /** Logged in, or serving plain keys: the pool has the keys to use. */
  get signedIn(): boolean {
    return this.plainKeys !== undefined || this.account.snapshot.signedIn;
  }

  get isDemo(): boolean {
    return this.demo !== undefined && this.signedIn;
  }

  get accountView(): AccountView {
    return this.account.snapshot;
  }

  /**
   * Serves plain keys (DAIDAI_KEYS, a keys file) instead of an account's: no login, no refresh.
   * `source` names where they came from, for messages.
   */
  async useKeys(keys: readonly PoolKeyInput[], source: string, identity?: StateIdentity): Promise<void> {
    this.plainKeys = { source, keys: keys.map((k) => ({ ...k })) };
    this.stopRefreshTimer();
    this.pool.setKeys(this.plainKeys.keys);
    this.logger.debug(t('Using {0} key(s) from {1}.', keys.length, source));
    await this.state.open(identity);
    this.ensureMonitor();
    this.changeEmitter.fire();
  }

  /** The usage history of the account in use (restored from the state folder). */
  get history(): UsageHistory {
    return this.state.history;
  }

  /** Every model some key serves, as the gateway describes it; undefined until a list is known. */
  get models(): GatewayModel[] | undefined {
    return this.monitor?.monitor.models();
  }

  /** The platform's prices and model availability, fetched with the keys. */
  get marketInfo(): { readonly prices: readonly ModelPrice[]; readonly availability: readonly ModelAvailability[]; readonly fetchedAt?: number } {
    return this.market;
  }

  /** Set while the gateway is considered down. */
  get gatewayHealth(): GatewayHealth | undefined {
    return this.monitor?.monitor.health();
  }

  /**
   * `DaiDai: Reset Key States` / `serve --reset-state`: forgets what the pool learned (hand-disabled,
   * revoked, exhausted, cool-downs, exclusions, counters), here and in the state file.
   */
  async resetKeyStates(): Promise<void> {
    await this.state.resetPoolState();
    const keys = this.plainKeys ? this.plainKeys.keys : this.poolInputs();
    this.pool.setKeys([]);
    this.pool.setKeys(keys);
    this.state.saveNow();
    this.logger.info(t('Key states reset: every key starts healthy again.'));
    void this.monitor?.monitor.refreshModels();
    this.changeEmitter.fire();
  }

  get proxyStatus(): ProxyStatus {
    return this.proxy.status;
  }

  get requests(): RequestCounts {
    return { ...this.counts };
  }

  /** The URL clients use: the running proxy's, else the one the settings will give. */
  proxyUrl(): string {
    const s = this.proxy.status;
    if (s.state === 'running' && s.url) return s.url;
    const host = this._settings.proxyHost;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `http://${shown}:${this._settings.proxyPort}/v1`;
  }

  /**
   * Logs in; remembers the credentials unless `remember` is false. Throws the platform's error.
   * `quiet`: the caller reports the outcome itself (the CLI's one line), so nothing is logged here.
   */
  async login(creds: Credentials, opts: { remember?: boolean; silent?: boolean; quiet?: boolean } = {}): Promise<void> {
    if (this.demo) await this.leaveDemo();
    this.plainKeys = undefined;
    if (!opts.quiet) this.logger.info(opts.silent ? t('Logging in again to {0} as {1}…', this._settings.platformBaseUrl, creds.email) : t('Logging in to {0} as {1}…', this._settings.platformBaseUrl, creds.email));
    try {
      await this.account.signIn(creds);
    } catch (err) {
      if (!opts.quiet) this.logger.warn(t('Login as {0} failed: {1}', creds.email, errorMessage(err)));
      throw err;
    }
    if (opts.remember !== false) await this.deps.credentials.set(creds);
    this.logger.info(t('Logged in as {0}.', creds.email));
    await this.afterSignIn({ kind: 'account', email: creds.email });
    this.scheduleRefresh();
  }

  /** On activation: logs in with the stored credentials, if any. Resolves false when there were none; throws when the login failed. */
  async restore(): Promise<boolean> {
    const creds = await this.deps.credentials.get();
    if (!creds) return false;
    await this.login(creds, { remember: false, silent: true });
    return true;
  }

  /** Forgets credentials, keys and balances, and stops the proxy. */
  async logout(): Promise<void> {
    const email = this.account.snapshot.email;
    this.wantsProxy = false;
    this.leavePeer();
    await this.proxy.stop();
    this.stopRefreshTimer();
    await this.deps.credentials.clear();
    this.account.signOut();
    if (this.demo) await this.leaveDemo();
    this.plainKeys = undefined;
    await this.state.open(undefined);
    this.disposeMonitor();
    this.pool.setKeys([]);
    this.warnedLow.clear();
    this.counts = { served: 0, failed: 0 };
    this.logger.info(email ? t('Logged out ({0}); credentials, keys and balances forgotten.', email) : t('Logged out; credentials, keys and balances forgotten.'));
    this.changeEmitter.fire();
  }

  /** Fetches the key list and balances again. Throws the platform's error. */
  async refresh(): Promise<void> {
    if (this.plainKeys) return; // plain keys have no account to ask
    if (!this.signedIn) throw new Error(t('Not logged in: log in to DaiDai first.'));
    try {
      await this.account.refresh();
    } catch (err) {
      this.logger.warn(t('Refreshing keys failed: {0}', errorMessage(err)));
      throw err;
    }
    this.logger.info(t('Keys and balances refreshed.'));
    void this.monitor?.monitor.refreshModels();
    void this.fetchMarket();
  }

  /**
   * Starts the embedded fake platform on a free port and logs into its demo account. For this
   * session only: nothing is stored, and settings keep pointing at the real platform.
   */
  async tryDemo(): Promise<void> {
    if (!this.demo) {
      const demo = (this.deps.createDemo ?? (() => createDemoDaiDai({ packages: true })))();
      await demo.start(0, '127.0.0.1');
      this.demo = demo;
      this.logger.info(t('Demo platform running at {0} (gateway {1}); this session only.', demo.url, demo.gatewayUrl));
      this.useAccount(demo.url);
      await this.setUpstream(demo.gatewayUrl);
    }
    try {
      await this.account.signIn({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    } catch (err) {
      this.logger.warn(t('Demo login failed: {0}', errorMessage(err)));
      await this.leaveDemo();
      throw err;
    }
    this.logger.info(t('Logged in to the demo account {0}.', DEMO_ACCOUNT.email));
    await this.afterSignIn(undefined); // the demo keeps nothing
    this.scheduleRefresh();
    this.changeEmitter.fire();
  }

  /** Another window's proxy this window uses, while the port is taken by it. */
  get peer(): PeerProxy | undefined {
    return this._peer;
  }

  /**
   * Starts the proxy. When the port is taken by another DaiDai proxy (a second VS Code window, or a
   * `daidai-proxy serve`), this is not an error: this window uses that proxy (see `peer`) and takes
   * the port over when it goes away. Throws for anything else holding the port.
   */
  async startProxy(): Promise<ProxyStatus> {
    this.wantsProxy = true;
    await this.state.ready(); // what the state file says applies before the first request
    try {
      const status = await this.proxy.start();
      this.leavePeer();
      return status;
    } catch (err) {
      if (err instanceof ProxyStartError && err.code === 'EADDRINUSE' && (await this.findPeer())) return this.proxy.status;
      throw err;
    }
  }

  async stopProxy(): Promise<void> {
    this.wantsProxy = false;
    this.leavePeer();
    await this.proxy.stop();
  }

  async restartProxy(): Promise<ProxyStatus> {
    return this.proxy.restart();
  }

  /** Takes a key out of rotation (or puts it back). False for an unknown id. Kept across reloads. */
  setKeyDisabled(id: string, disabled: boolean): boolean {
    const ok = this.pool.setManualDisabled(id, disabled);
    if (ok) this.state.saveNow();
    return ok;
  }

  /** The key in clear for a pool id: only for the confirmed "Copy Key". The pool owns the ids. */
  revealKey(id: string): string | undefined {
    return this.pool.revealKey(id);
  }

  /** Applies changed settings at once; restarts a running proxy when a change needs it. */
  async applySettings(next: DaiDaiSettings): Promise<SettingsOutcome> {
    const prev = this._settings;
    const changed = changedSettings(prev, next);
    this._settings = next;
    const outcome: SettingsOutcome = { restartedFor: [] };
    if (changed.length === 0) return outcome;
    this.logger.info(t('Settings changed: {0}', changed.map((k) => `daidai.${settingIds[k]}`).join(', ')));

    if (changed.includes('failureThreshold')) this.pool.setFailureThreshold(next.failureThreshold);
    if (changed.includes('modelExclusionMinutes')) this.pool.setExclusionMinutes(next.modelExclusionMinutes);
    if (changed.includes('refreshMinutes')) this.scheduleRefresh();
    if (changed.includes('lowBalance')) this.checkLowBalance();
    this.router.setOptions(routingOptionsOf(next));

    if (changed.includes('platformBaseUrl') && !this.demo) {
      const creds = this.signedIn ? await this.deps.credentials.get() : undefined;
      this.account.signOut();
      this.useAccount(next.platformBaseUrl);
      if (creds) {
        try {
          await this.login(creds, { remember: false, silent: true });
        } catch {
          // logged by login(); the view shows the signed-out state
        }
      }
    }

    const upstream = this.demo ? this.demo.gatewayUrl : next.upstreamBaseUrl;
    const { needsRestart } = this.proxy.updateOptions(proxyOptionsOf(next, upstream));
    if (needsRestart) {
      const proxyKeys: Array<keyof DaiDaiSettings> = ['proxyHost', 'proxyPort', 'upstreamBaseUrl'];
      outcome.restartedFor = changed.filter((k) => proxyKeys.includes(k) && !(k === 'upstreamBaseUrl' && this.demo)).map((k) => `daidai.${settingIds[k]}`);
      try {
        await this.proxy.restart();
        this.logger.info(outcome.restartedFor.length ? t('Proxy restarted to apply {0}.', outcome.restartedFor.join(', ')) : t('Proxy restarted to apply the new settings.'));
      } catch (err) {
        outcome.restartError = errorMessage(err);
      }
    }
    return outcome;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.stopRefreshTimer();
    this.leavePeer();
    for (const d of this.subscriptions) d.dispose();
    this.accountSub.dispose();
    try {
      await this.proxy.dispose();
      await this.state.close();
    } finally {
      this.disposeMonitor();
      this.insightEmitter.dispose();
      await this.agent.close().catch(() => undefined);
      this.account.dispose?.();
      this.pool.dispose();
      await this.demo?.stop();
      this.demo = undefined;
      this.changeEmitter.dispose();
      this.lowBalanceEmitter.dispose();
      this.requestEmitter.dispose();
    }
  }

  // ---- internals ----

  /** The address to ask for the proxy on our port: a wildcard host is reached on loopback. */
  private peerAddress(): { host: string; port: number } {
    const o = this.proxy.options;
    const host = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
    return { host, port: o.port };
  }

  /** Asks the port's holder whether it is one of ours; if so, uses it. */
  private async findPeer(): Promise<boolean> {
    const { host, port } = this.peerAddress();
    if (port === 0) return false;
    const probe = await probePeer(host, port, { timeoutMs: 1000, token: this.proxy.options.accessToken });
    if (probe.kind !== 'daidai') return false;
    const shown = host.includes(':') ? `[${host}]` : host;
    const peer: PeerProxy = { url: `http://${shown}:${port}/v1`, port, health: probe.health, since: this._peer?.since ?? Date.now() };
    if (this.deps.peers === 'refuse') throw new PeerProxyRunning(peer);
    const first = !this._peer;
    this._peer = peer;
    if (first) this.logger.info(t('Port {0} is served by another DaiDai proxy (another window or daidai-proxy): using it; this window takes over when it stops.', port));
    this.schedulePeerPoll();
    this.changeEmitter.fire();
    return true;
  }

  private schedulePeerPoll(): void {
    if (this.peerTimer || this.disposed) return;
    this.peerTimer = setTimeout(() => {
      this.peerTimer = undefined;
      void this.pollPeer();
    }, this.deps.peerPollMs ?? PEER_POLL_MS);
    this.peerTimer.unref?.();
  }

  /** Reads the other proxy's /health; when it is gone, takes the port over if a proxy is wanted here. */
  private async pollPeer(): Promise<void> {
    if (!this._peer || this.disposed) return;
    const { host, port } = this.peerAddress();
    const probe = await probePeer(host, port, { timeoutMs: 2000, token: this.proxy.options.accessToken });
    if (!this._peer || this.disposed) return;
    if (probe.kind === 'daidai') {
      this.peerMisses = 0;
      this._peer = { ...this._peer, health: probe.health };
      this.changeEmitter.fire();
      this.schedulePeerPoll();
      return;
    }
    // A busy machine can make the other proxy's /health slow: one miss is not a verdict.
    if (probe.kind === 'other' && ++this.peerMisses < PEER_MISSES_TO_LEAVE) {
      this.schedulePeerPoll();
      return;
    }
    if (probe.kind === 'none' && this.wantsProxy) {
      try {
        await this.proxy.start();
        this.logger.info(t('The other DaiDai proxy on port {0} stopped: this window took it over.', port));
        this.leavePeer();
        return;
      } catch (err) {
        // Another window may have been quicker: if it is ours, keep using it.
        if (err instanceof ProxyStartError && err.code === 'EADDRINUSE' && (await this.findPeer())) return;
        this.logger.warn(t('Taking over port {0} failed: {1}', port, errorMessage(err)));
      }
    }
    if (probe.kind === 'other') this.logger.warn(t('Port {0} is now held by another program, not a DaiDai proxy.', port));
    this.leavePeer();
  }

  private leavePeer(): void {
    this.peerMisses = 0;
    if (this.peerTimer) clearTimeout(this.peerTimer);
    this.peerTimer = undefined;
    if (!this._peer) return;
    this._peer = undefined;
    if (!this.disposed) this.changeEmitter.fire();
  }

  private useAccount(platformBaseUrl: string): void {
    this.accountSub.dispose();
    this.account.dispose?.();
    this.account = this.newAccount(platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
    this.onAccountChanged();
  }

  private newAccount(platformBaseUrl: string): AccountLike {
    return (this.deps.createAccount ?? createPlatformAccount)(platformBaseUrl, this.logger);
  }

  private async setUpstream(upstreamBaseUrl: string): Promise<void> {
    const { needsRestart } = this.proxy.updateOptions({ upstreamBaseUrl });
    this.ensureMonitor();
    if (needsRestart) await this.proxy.restart();
  }

  private poolInputs(): PoolKeyInput[] {
    const s = this.account.snapshot;
    return s.signedIn ? s.keys.map((k) => ({ key: k.key, name: k.name, balance: k.balance, used: k.used, createdAt: k.createdAt })) : [];
  }

  /** After a login: the account's state files, the model lists, prices and availability. */
  private async afterSignIn(identity: StateIdentity | undefined): Promise<void> {
    await this.state.open(identity);
    this.ensureMonitor();
    void this.fetchMarket();
  }

  /** One gateway monitor while there are keys, for the gateway the proxy forwards to. */
  private ensureMonitor(): void {
    if (this.disposed) return;
    const upstream = this.proxy.options.upstreamBaseUrl;
    if (!this.signedIn) return this.disposeMonitor();
    if (this.monitor?.upstream === upstream) return;
    this.disposeMonitor();
    const monitor = new GatewayMonitor({ pool: this.pool, probe: createGatewayProbe(this.agent, upstream), logger: this.logger });
    monitor.onDidChange(() => this.insightEmitter.fire());
    this.monitor = { upstream, monitor };
    void monitor.start().catch((err) => this.logger.debug(t('Fetching the model lists failed: {0}', errorMessage(err))));
  }

  private disposeMonitor(): void {
    const m = this.monitor;
    this.monitor = undefined;
    m?.monitor.dispose();
  }

  /** Prices and the model monitor, with the keys; a failure keeps what was known (and says so once). */
  private async fetchMarket(): Promise<void> {
    const client = this.account.client;
    if (!client || this.plainKeys) return;
    const [prices, availability] = await Promise.allSettled([client.pricing(), client.monitor()]);
    if (this.disposed) return;
    if (prices.status === 'fulfilled') this.market = { ...this.market, prices: prices.value, book: new PriceBook(prices.value) };
    else this.logger.debug(t('Fetching the price list failed: {0}', errorMessage(prices.reason)));
    if (availability.status === 'fulfilled') this.market = { ...this.market, availability: availability.value };
    else this.logger.debug(t('Fetching the model monitor failed: {0}', errorMessage(availability.reason)));
    this.market.fetchedAt = Date.now();
    this.insightEmitter.fire();
  }

  /** One finished request into the usage history (tokens and the estimated ¥ from the prices). */
  private recordUsage(r: RequestRecord): void {
    this.state.history.add(r, Date.now(), requestCost(r, this.market.book));
  }

  private async leaveDemo(): Promise<void> {
    const demo = this.demo;
    if (!demo) return;
    this.demo = undefined;
    this.account.signOut();
    this.useAccount(this._settings.platformBaseUrl);
    try {
      await this.setUpstream(this._settings.upstreamBaseUrl);
    } finally {
      await demo.stop();
      this.logger.info(t('Demo platform stopped.'));
    }
  }

  private onAccountChanged(): void {
    if (this.plainKeys) return;
    const s = this.account.snapshot;
    this.pool.setKeys(this.poolInputs());
    // The account's own "used" per key: the truth the usage estimate is checked against.
    if (s.signedIn) this.state.history.recordUtilisedFrom(this.pool.snapshot().keys, Date.now());
    if (!s.signedIn) this.stopRefreshTimer();
    this.checkLowBalance();
    this.changeEmitter.fire();
  }

  private checkLowBalance(): void {
    const fresh = lowBalanceKeys(this.pool.snapshot(), this._settings.lowBalance).filter((k) => !this.warnedLow.has(k.id));
    if (fresh.length === 0) return;
    for (const k of fresh) this.warnedLow.add(k.id);
    this.logger.warn(t('Low balance: {0}', fresh.map((k) => `${k.masked} ¥${k.balance?.toFixed(2)}`).join(', ')));
    this.lowBalanceEmitter.fire(fresh);
  }

  private scheduleRefresh(): void {
    this.stopRefreshTimer();
    const minutes = this._settings.refreshMinutes;
    if (!(minutes > 0) || !this.signedIn || this.disposed) return;
    this.refreshTimer = setInterval(() => {
      this.refresh().catch(() => {
        // logged by refresh(); the next tick tries again
      });
    }, minutes * 60_000);
    this.refreshTimer.unref?.();
  }

  private stopRefreshTimer(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /** Another window logged in or out: follow it, unless this window plays with the demo. */
  private async onCredentialsChangedElsewhere(): Promise<void> {
    if (this.demo || this.disposed) return;
    const creds = await this.deps.credentials.get();
    if (!creds && this.signedIn) {
      this.logger.info(t('Logged out in another window: logging out here too.'));
      await this.proxy.stop();
      this.account.signOut();
      this.changeEmitter.fire();
    } else if (creds && (!this.signedIn || this.account.snapshot.email !== creds.email)) {
      this.logger.info(t('Logged in in another window: using the same login here.'));
      await this.login(creds, { remember: false, silent: true }).catch(() => undefined);
    }
  }
}

/** A person-readable message for any error, free of secrets. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  return redactSecrets(text);
}
