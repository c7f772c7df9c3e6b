// The application service: one account source (signed out, a DaiDai account, the demo, or plain
// keys), one key pool, one proxy, the gateway monitor, the state files and the request log; built
// by the extension, the CLI and so the benchmark with their own ports. Never calls VS Code. Views
// read `snapshot` and listen to `onDidChangeSnapshot`; the peer watcher, refresh timer and market
// info are their own classes in this folder.
import { t } from '../l10n';
import { createDemoDaiDai, DEMO_ACCOUNT } from '../demo/demoDaiDai';
import type { DemoDaiDai } from '../demo/types';
import { directNetwork, type NetworkSettings } from '../net/dispatchers';
import { diagnoseGateway } from '../gateway/diagnose';
import { settingsKnobs } from '../knobs';
import { createGatewayProbe, GatewayMonitor, type GatewayHealth, type GatewayModel } from '../gateway';
import type { Credentials } from '../platform/types';
import { KeyPool } from '../pool/keyPool';
import type { KeySnapshot, PoolKeyInput } from '../pool/types';
import type { AccountView, RequestCounts } from '../present';
import { ProxyServer, ProxyStartError } from '../proxy/server';
import type { ProxyStatus, RequestRecord } from '../proxy/types';
import type { StateIdentity } from '../state';
import { createUsageMeter, isModelList, requestCost, type UsageHistory } from '../usage';
import { Emitter, type Disposable, type Event } from '../util/event';
import { emailHash } from '../util/hash';
import { connectHost } from '../util/hosts';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/mask';
import { LowBalanceWatch } from './lowBalance';
import { MarketInfo, type MarketView } from './marketInfo';
import { ModelListWatch } from './modelList';
import { SessionNetwork } from './network';
import { PeerWatcher, type PeerProxy } from './peerWatcher';
import { RefreshTimer } from './refreshTimer';
import { RequestLog } from './requestLog';
import { changedSettings, proxyOptionsOf, restartReasons, routingOptionsOf, settingIds, type DaiDaiSettings } from './settings';
import { RequestRouter } from '../routing/router';
import { createPlatformAccount, type AccountLike, type SessionDeps, type SettingsOutcome } from './sessionDeps';
import type { AccountSource, SessionChange, SessionMode, SessionSnapshot, SignOutReason } from './snapshot';
import { StateKeeper } from './stateKeeper';

export { errorMessage } from '../util/mask';
export { PEER_POLL_MS, PeerProxyRunning, type PeerProxy } from './peerWatcher';
export type { AccountSource, SessionChange, SessionMode, SessionSnapshot, SignOutReason } from './snapshot';
export { createPlatformAccount, type AccountLike, type CredentialsPort, type SessionDeps, type SettingsOutcome } from './sessionDeps';

const SIGNED_OUT: AccountSource = Object.freeze({ kind: 'signed-out' });

export class Session {
  readonly pool: KeyPool;
  readonly proxy: ProxyServer;
  private source: AccountSource = SIGNED_OUT;
  /** The platform connection: the real platform's, or the demo's while the demo runs. */
  private account: AccountLike;
  private accountSub: Disposable;
  private _settings: DaiDaiSettings;
  private readonly requestLog: RequestLog;
  private readonly lowBalance: LowBalanceWatch;
  private readonly refreshTimer = new RefreshTimer(() => this.refresh());
  private readonly peers: PeerWatcher;
  private readonly market: MarketInfo;
  private readonly subscriptions: Disposable[] = [];
  private historySub?: Disposable;
  private readonly changeEmitter = new Emitter<void>();
  private readonly requestEmitter = new Emitter<void>();
  private readonly snapshotEmitter = new Emitter<SessionChange>();
  private readonly modelList = new ModelListWatch(() => this.models);
  private readonly logger: Logger;
  private disposed = false;
  /** The ways out: the proxy's, the background checks', the account's (each its own connections). */
  private readonly net: SessionNetwork;
  /** Model resolution and session affinity for the proxy (src/core/routing). */
  private readonly router: RequestRouter;
  private monitor?: { upstream: string; monitor: GatewayMonitor; started: Promise<void> };
  private readonly state: StateKeeper;
  private readonly meter = createUsageMeter();
  private readonly insightEmitter = new Emitter<void>();

  /** Account, mode or key list changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  /** Keys that fell below daidai.balances.lowThreshold, each reported once per session. */
  readonly onDidFindLowBalance: Event<KeySnapshot[]>;
  /** The client-level request counters moved (fires per proxied request; read `requests`). */
  readonly onDidCountRequest: Event<void> = this.requestEmitter.event;
  /** Model lists, prices, availability or the gateway's health changed. */
  readonly onDidChangeInsight: Event<void> = this.insightEmitter.event;
  /** Anything `snapshot` shows changed; the views' one event. */
  readonly onDidChangeSnapshot: Event<SessionChange> = this.snapshotEmitter.event;
  /** The ids in `snapshot.models` changed (a chat model provider lists them again). */
  readonly onDidChangeModels: Event<void> = this.modelList.onDidChange;

  constructor(private readonly deps: SessionDeps) {
    this.logger = deps.logger;
    this.requestLog = new RequestLog(deps.logger);
    this.lowBalance = new LowBalanceWatch(deps.logger);
    this.onDidFindLowBalance = this.lowBalance.onDidFind;
    this._settings = deps.settings;
    this.pool = new KeyPool({ failureThreshold: deps.settings.failureThreshold, logger: deps.logger });
    this.pool.setExclusionMinutes(deps.settings.modelExclusionMinutes);
    this.net = new SessionNetwork(deps.network ?? directNetwork, deps.logger);
    this.state = new StateKeeper(deps.stateDir, this.pool, deps.logger, () => this.proxy.status.state === 'running');
    this.market = new MarketInfo(deps.logger);
    const watch = () => this.monitor?.monitor.watch;
    this.router = new RequestRouter(routingOptionsOf(deps.settings));
    this.proxy = new ProxyServer({
      pool: this.pool,
      router: this.router,
      options: proxyOptionsOf(deps.settings),
      logger: deps.logger,
      version: deps.version,
      dispatcher: this.net.proxy,
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
      knobs: deps.knobs,
      healthAccount: () => (this.account.snapshot.signedIn && this.account.snapshot.email ? emailHash(this.account.snapshot.email) : undefined),
    });
    this.peers = new PeerWatcher({ proxy: this.proxy, logger: deps.logger, peers: deps.peers ?? 'share', pollMs: deps.peerPollMs, changed: () => this.changeEmitter.fire() });
    const state = () => this.snapshotEmitter.fire('state');
    const activity = () => this.snapshotEmitter.fire('activity');
    const withModels = (fire: () => void) => () => {
      fire();
      this.modelList.check();
    };
    this.subscriptions.push(
      this.proxy.onDidRequest((r) => {
        this.requestLog.record(r);
        this.recordUsage(r);
        this.requestEmitter.fire();
      }),
      deps.credentials.onDidChange(() => void this.onCredentialsChangedElsewhere()),
      this.market.onDidChange(() => this.insightEmitter.fire()),
      // The views' one event, and the models' own.
      this.changeEmitter.event(withModels(state)),
      this.insightEmitter.event(withModels(activity)),
      this.proxy.onDidChangeStatus(state),
      this.pool.onDidChange(activity),
      this.requestEmitter.event(activity),
    );
    this.watchHistory();
    this.account = this.newAccount(deps.settings.platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
  }

  get settings(): DaiDaiSettings {
    return this._settings;
  }

  /** Where the keys come from now. */
  get accountSource(): AccountSource {
    return this.source;
  }

  get mode(): SessionMode {
    return this.source.kind;
  }

  /** Logged in, or serving plain keys: the pool has the keys to use. */
  get signedIn(): boolean {
    return this.source.kind !== 'signed-out';
  }

  get isDemo(): boolean {
    return this.source.kind === 'demo';
  }

  get accountView(): AccountView {
    return this.account.snapshot;
  }

  /** Everything the views show, as it is now. */
  get snapshot(): SessionSnapshot {
    return {
      mode: this.source.kind, signedIn: this.signedIn, demo: this.isDemo, account: this.account.snapshot, settings: this._settings,
      pool: this.pool.snapshot(), proxy: this.proxy.status, proxyUrl: this.proxyUrl(), peer: this.peers.peer, requests: this.requests,
      gateway: this.gatewayHealth, models: this.models, market: this.market.view, history: this.state.history,
    };
  }

  /** Serves plain keys (DAIDAI_KEYS, a keys file; `origin` says which) instead of an account's: no login, no refresh. */
  async useKeys(keys: readonly PoolKeyInput[], origin: string, identity?: StateIdentity): Promise<void> {
    const copy = keys.map((k) => ({ ...k }));
    this.source = { kind: 'keys', origin, keys: copy };
    this.refreshTimer.stop();
    this.pool.setKeys(copy);
    this.logger.debug(t('Using {0} key(s) from {1}.', keys.length, origin));
    await this.openState(identity);
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
  get marketInfo(): MarketView {
    return this.market.view;
  }

  /** Set while the gateway is considered down. */
  get gatewayHealth(): GatewayHealth | undefined {
    return this.monitor?.monitor.health();
  }

  /** `DaiDai: Reset Key States` / `serve --reset-state`: forgets all the pool learned, here and in the state file. */
  async resetKeyStates(): Promise<void> {
    await this.state.resetPoolState();
    const keys = this.source.kind === 'keys' ? this.source.keys : this.poolInputs();
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
    return this.requestLog.counts;
  }

  /** The URL clients use: the running proxy's, else the one the settings will give. */
  proxyUrl(): string {
    const s = this.proxy.status;
    if (s.state === 'running' && s.url) return s.url;
    return `http://${connectHost(this._settings.proxyHost)}:${this._settings.proxyPort}/v1`;
  }

  /**
   * Logs in; remembers the credentials unless `remember` is false. Throws the platform's error.
   * `quiet`: the caller reports the outcome itself (the CLI's one line), so nothing is logged here.
   */
  async login(creds: Credentials, opts: { remember?: boolean; silent?: boolean; quiet?: boolean } = {}): Promise<void> {
    if (this.source.kind === 'demo') await this.leaveDemo(this.source.platform);
    this.source = SIGNED_OUT;
    if (!opts.quiet) this.logger.info(opts.silent ? t('Logging in again to {0} as {1}…', this._settings.platformBaseUrl, creds.email) : t('Logging in to {0} as {1}…', this._settings.platformBaseUrl, creds.email));
    try {
      await this.account.signIn(creds);
    } catch (err) {
      if (!opts.quiet) this.logger.warn(t('Login as {0} failed: {1}', creds.email, errorMessage(err)));
      throw err;
    }
    this.source = { kind: 'account', email: this.account.snapshot.email ?? creds.email };
    if (opts.remember !== false) await this.deps.credentials.set(creds);
    if (!opts.quiet) this.logger.info(t('Logged in as {0}.', creds.email));
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

  /** `DaiDai: Logout`: forgets credentials, keys and balances, and stops the proxy. */
  logout(): Promise<void> {
    return this.signOut('logout');
  }

  /**
   * Signs out, for either reason, to the same place: the proxy stopped (and another window's no
   * longer watched or taken over), the demo platform stopped, no keys, no state files, no gateway
   * monitor, the counters and low-balance warnings reset. Only 'logout' clears the stored login:
   * for 'elsewhere' the other window already did, and the store is shared.
   */
  async signOut(reason: SignOutReason): Promise<void> {
    const email = this.account.snapshot.email;
    if (reason === 'elsewhere') this.logger.info(t('Logged out in another window: logging out here too.'));
    this.peers.wantsProxy = false;
    this.peers.leave();
    await this.proxy.stop();
    this.refreshTimer.stop();
    if (reason === 'logout') await this.deps.credentials.clear();
    await this.openState(undefined); // what the pool learned is written before the keys go
    this.disposeMonitor();
    this.pool.setKeys([]);
    this.lowBalance.reset();
    this.requestLog.reset();
    const left = this.source;
    this.source = SIGNED_OUT;
    this.account.signOut();
    if (left.kind === 'demo') await this.leaveDemo(left.platform);
    if (reason === 'logout') this.logger.info(email ? t('Logged out ({0}); credentials, keys and balances forgotten.', email) : t('Logged out; credentials, keys and balances forgotten.'));
    this.changeEmitter.fire();
  }

  /** Reloads keys and balances (and with them the model lists, prices and availability). */
  async refresh(): Promise<void> {
    if (this.source.kind === 'keys') return; // plain keys have no account to ask
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

  /** Starts the embedded demo platform on a free port and logs into its demo account; nothing is stored. */
  async tryDemo(): Promise<void> {
    let platform = this.source.kind === 'demo' ? this.source.platform : undefined;
    if (!platform) {
      const demo = (this.deps.createDemo ?? (() => createDemoDaiDai({ packages: true })))();
      await demo.start(0, '127.0.0.1');
      platform = demo;
      this.logger.info(t('Demo platform running at {0} (gateway {1}); this session only.', demo.url, demo.gatewayUrl));
      this.useAccount(demo.url);
      await this.setUpstream(demo.gatewayUrl);
    }
    try {
      await this.account.signIn({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    } catch (err) {
      this.logger.warn(t('Demo login failed: {0}', errorMessage(err)));
      this.source = SIGNED_OUT;
      await this.leaveDemo(platform);
      throw err;
    }
    this.source = { kind: 'demo', platform };
    // No line of its own: the platform client's "Signed in to … as demo@daidai.local." after the
    // "Demo platform running at …" line says it (three lines said one thing).
    // The demo keeps nothing, unless the host asks for its usage (the CLI: `usage` after `demo`).
    await this.afterSignIn(this.deps.keepDemoUsage ? { kind: 'account', email: DEMO_ACCOUNT.email } : undefined);
    this.scheduleRefresh();
    this.changeEmitter.fire();
  }

  /** Another window's proxy this window uses, while the port is taken by it. */
  get peer(): PeerProxy | undefined {
    return this.peers.peer;
  }

  /**
   * Start-up diagnosis (the CLI): one GET /models with the first key. A sentence naming the knob
   * when the gateway's address looks wrong or the gateway is down; undefined when it answered as
   * a gateway. Also waits for the first model-list fetch, so that what that logs comes first.
   */
  async checkGateway(timeoutMs = 5_000): Promise<string | undefined> {
    const upstream = this.proxy.options.upstreamBaseUrl;
    const probe = createGatewayProbe(this.net.checks, upstream);
    const [said] = await Promise.all([diagnoseGateway(probe, this.pool.leases()[0]?.key, upstream, (this.deps.knobs ?? settingsKnobs).upstreamUrl, timeoutMs), this.monitor?.started]);
    return said;
  }

  /**
   * Starts the proxy. When the port is taken by another DaiDai proxy (a second VS Code window, or a
   * `daidai-proxy serve`), this is not an error: this window uses that proxy (see `peer`) and takes
   * the port over when it goes away. Throws for anything else holding the port.
   */
  async startProxy(): Promise<ProxyStatus> {
    this.peers.wantsProxy = true;
    await this.state.ready(); // what the state file says applies before the first request
    try {
      const status = await this.proxy.start();
      this.peers.leave();
      return status;
    } catch (err) {
      if (err instanceof ProxyStartError && err.code === 'EADDRINUSE' && (await this.peers.find())) return this.proxy.status;
      throw err;
    }
  }

  async stopProxy(): Promise<void> {
    this.peers.wantsProxy = false;
    this.peers.leave();
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
    if (changed.includes('lowBalance')) this.lowBalance.check(this.pool.snapshot(), this._settings.lowBalance);
    this.router.setOptions(routingOptionsOf(next));

    const demo = this.source.kind === 'demo' ? this.source.platform : undefined;
    if (changed.includes('platformBaseUrl') && !demo) {
      const creds = this.source.kind === 'account' ? await this.deps.credentials.get() : undefined;
      if (this.source.kind === 'account') this.source = SIGNED_OUT;
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

    const upstream = demo ? demo.gatewayUrl : next.upstreamBaseUrl;
    const { needsRestart } = this.proxy.updateOptions(proxyOptionsOf(next, upstream));
    if (needsRestart) {
      outcome.restartedFor = restartReasons(changed, !!demo);
      try {
        await this.proxy.restart();
        this.logger.info(outcome.restartedFor.length ? t('Proxy restarted to apply {0}.', outcome.restartedFor.join(', ')) : t('Proxy restarted to apply the new settings.'));
      } catch (err) {
        outcome.restartError = errorMessage(err);
      }
    }
    return outcome;
  }

  /** New http.proxy / noProxy / proxyStrictSSL: new connections use them; requests under way finish on the old ones. */
  applyNetwork(network: NetworkSettings): void {
    if (!this.disposed) this.net.apply(network);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.refreshTimer.stop();
    this.peers.dispose();
    for (const d of this.subscriptions) d.dispose();
    this.historySub?.dispose();
    this.accountSub.dispose();
    try {
      await this.proxy.dispose();
      await this.state.close();
    } finally {
      this.disposeMonitor();
      this.market.dispose();
      this.insightEmitter.dispose();
      await this.net.close();
      this.account.dispose?.();
      this.pool.dispose();
      const left = this.source;
      this.source = SIGNED_OUT;
      if (left.kind === 'demo') await left.platform.stop();
      this.changeEmitter.dispose();
      this.lowBalance.dispose();
      this.requestEmitter.dispose();
      this.snapshotEmitter.dispose();
      this.modelList.dispose();
    }
  }

  // ---- internals ----

  private useAccount(platformBaseUrl: string): void {
    this.accountSub.dispose();
    this.account.dispose?.();
    this.account = this.newAccount(platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
    this.onAccountChanged();
  }

  private newAccount(platformBaseUrl: string): AccountLike {
    return this.deps.createAccount ? this.deps.createAccount(platformBaseUrl, this.logger, this.net.platform) : createPlatformAccount(platformBaseUrl, this.logger, this.net.platform, this.deps.knobs);
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

  /** The state files of `identity` (none: nothing kept), and the views follow its usage history. */
  private async openState(identity: StateIdentity | undefined): Promise<void> {
    await this.state.open(identity);
    this.watchHistory();
  }

  private watchHistory(): void {
    this.historySub?.dispose();
    if (this.disposed) return;
    this.historySub = this.state.history.onDidChange(() => this.snapshotEmitter.fire('activity'));
  }

  /** After a login: the account's state files, the model lists, prices and availability. */
  private async afterSignIn(identity: StateIdentity | undefined): Promise<void> {
    await this.openState(identity);
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
    const monitor = new GatewayMonitor({ pool: this.pool, probe: createGatewayProbe(this.net.checks, upstream), logger: this.logger });
    monitor.onDidChange(() => this.insightEmitter.fire());
    const started = monitor.start().catch((err) => this.logger.debug(t('Fetching the model lists failed: {0}', errorMessage(err))));
    this.monitor = { upstream, monitor, started };
  }

  private disposeMonitor(): void {
    const m = this.monitor;
    this.monitor = undefined;
    m?.monitor.dispose();
    if (m) this.modelList.check();
  }

  /** Prices and the model monitor, with the keys; a failure keeps what was known (and says so once). */
  private async fetchMarket(): Promise<void> {
    const client = this.account.client;
    if (!client || this.source.kind === 'keys') return;
    await this.market.fetch(client);
  }

  /** One finished request into the usage history (tokens and the estimated ¥ from the prices). */
  private recordUsage(r: RequestRecord): void {
    if (isModelList(r)) return; // not a use of a model: not in the usage report
    this.state.history.add(r, Date.now(), requestCost(r, this.market.book));
  }

  /** Stops the demo platform and points the account and the proxy back at the real platform. */
  private async leaveDemo(platform: DemoDaiDai): Promise<void> {
    this.account.signOut();
    this.useAccount(this._settings.platformBaseUrl);
    try {
      await this.setUpstream(this._settings.upstreamBaseUrl);
    } finally {
      await platform.stop();
      this.logger.info(t('Demo platform stopped.'));
    }
  }

  private onAccountChanged(): void {
    if (this.source.kind === 'keys') return;
    const s = this.account.snapshot;
    this.pool.setKeys(this.poolInputs());
    // The account's own "used" per key: the truth the usage estimate is checked against.
    if (s.signedIn) this.state.history.recordUtilisedFrom(this.pool.snapshot().keys, Date.now());
    if (!s.signedIn) this.refreshTimer.stop();
    this.lowBalance.check(this.pool.snapshot(), this._settings.lowBalance);
    this.changeEmitter.fire();
  }

  private scheduleRefresh(): void {
    this.refreshTimer.schedule(this._settings.refreshMinutes, this.signedIn && this.source.kind !== 'keys' && !this.disposed);
  }

  /** Another window logged in or out: follow it, unless this window plays with the demo or serves plain keys. */
  private async onCredentialsChangedElsewhere(): Promise<void> {
    if (this.disposed || this.source.kind === 'demo' || this.source.kind === 'keys') return;
    const creds = await this.deps.credentials.get();
    if (!creds && this.signedIn) {
      await this.signOut('elsewhere');
    } else if (creds && (!this.signedIn || this.account.snapshot.email !== creds.email)) {
      this.logger.info(t('Logged in in another window: using the same login here.'));
      await this.login(creds, { remember: false, silent: true }).catch(() => undefined);
    }
  }
}
