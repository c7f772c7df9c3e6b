// The extension's state: one account (real or demo), one key pool, one proxy. Everything a
// command does goes through here; it never calls VS Code (the handlers in commands.ts do), so
// plain-Node tests drive it against the fake platform.
import { createFakeDaiDai, DEMO_ACCOUNT } from '../core/demo/fakeDaiDai';
import type { FakeDaiDai } from '../core/demo/types';
import type { Credentials } from '../core/platform/types';
import { KeyPool } from '../core/pool/keyPool';
import type { KeySnapshot, PoolKeyInput } from '../core/pool/types';
import { lowBalanceKeys, requestLogLine, requestServed, type AccountView, type RequestCounts } from '../core/present';
import { ProxyServer } from '../core/proxy/server';
import type { ProxyStatus } from '../core/proxy/types';
import { Emitter, type Disposable, type Event } from '../core/util/event';
import type { Logger } from '../core/util/log';
import { redactSecrets } from '../core/util/mask';
import type { CredentialStore } from './credentialStore';
import { changedSettings, proxyOptionsOf, settingIds, type DaiDaiSettings } from './settings';

/** What the session uses of core/platform/account.ts's Account. */
export interface AccountLike {
  readonly snapshot: AccountView;
  readonly onDidChange: Event<unknown>;
  signIn(creds: Credentials): Promise<unknown>;
  signOut(): unknown;
  refresh(): Promise<unknown>;
  dispose?(): unknown;
}

export interface SessionDeps {
  logger: Logger;
  credentials: CredentialStore;
  settings: DaiDaiSettings;
  /** Builds an account (and its platform client) for a platform base URL. */
  createAccount(platformBaseUrl: string): AccountLike;
  /** The embedded fake platform for "Try the Demo Account"; default: the real fake. */
  createDemo?(): FakeDaiDai;
  version?: string;
}

export type SessionMode = 'signed-out' | 'account' | 'demo';

/** What applying new settings did, for the message the user sees. */
export interface SettingsOutcome {
  /** Setting ids (`daidai.…`) that made us restart the running proxy. */
  restartedFor: string[];
  /** Set when the restart failed. */
  restartError?: string;
  /** Setting ids that only apply after a reload of the window. */
  needReload: string[];
}

export class Session {
  readonly pool: KeyPool;
  readonly proxy: ProxyServer;
  private account: AccountLike;
  private accountSub: Disposable;
  private demo?: FakeDaiDai;
  private _settings: DaiDaiSettings;
  private counts: RequestCounts = { served: 0, failed: 0 };
  private readonly warnedLow = new Set<string>();
  private refreshTimer?: NodeJS.Timeout;
  private readonly subscriptions: Disposable[] = [];
  private readonly changeEmitter = new Emitter<void>();
  private readonly lowBalanceEmitter = new Emitter<KeySnapshot[]>();
  private readonly requestEmitter = new Emitter<RequestCounts>();
  private readonly logger: Logger;
  private disposed = false;

  /** Account, mode or key list changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;
  /** Keys that fell below daidai.balances.lowThreshold, each reported once per session. */
  readonly onDidFindLowBalance: Event<KeySnapshot[]> = this.lowBalanceEmitter.event;
  /** The client-level request counters moved (fires per proxied request). */
  readonly onDidCountRequest: Event<RequestCounts> = this.requestEmitter.event;

  constructor(private readonly deps: SessionDeps) {
    this.logger = deps.logger;
    this._settings = deps.settings;
    this.pool = new KeyPool({ failureThreshold: deps.settings.failureThreshold, logger: deps.logger });
    this.proxy = new ProxyServer({ pool: this.pool, options: proxyOptionsOf(deps.settings), logger: deps.logger, version: deps.version });
    this.subscriptions.push(
      this.proxy.onDidRequest((r) => {
        if (requestServed(r)) this.counts.served++;
        else this.counts.failed++;
        const line = requestLogLine(r);
        if (r.status >= 500 || r.aborted) this.logger.warn(line);
        else this.logger.info(line);
        this.requestEmitter.fire({ ...this.counts });
      }),
      deps.credentials.onDidChange(() => void this.onCredentialsChangedElsewhere()),
    );
    this.account = deps.createAccount(deps.settings.platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
  }

  get settings(): DaiDaiSettings {
    return this._settings;
  }

  get mode(): SessionMode {
    if (!this.account.snapshot.signedIn) return 'signed-out';
    return this.demo ? 'demo' : 'account';
  }

  get signedIn(): boolean {
    return this.account.snapshot.signedIn;
  }

  get isDemo(): boolean {
    return this.demo !== undefined && this.signedIn;
  }

  get accountView(): AccountView {
    return this.account.snapshot;
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

  /** Logs in; remembers the credentials in SecretStorage unless `remember` is false. Throws the platform's error. */
  async login(creds: Credentials, opts: { remember?: boolean; silent?: boolean } = {}): Promise<void> {
    if (this.demo) await this.leaveDemo();
    this.logger.info(`${opts.silent ? 'Logging in again' : 'Logging in'} to ${this._settings.platformBaseUrl} as ${creds.email}…`);
    try {
      await this.account.signIn(creds);
    } catch (err) {
      this.logger.warn(`Login as ${creds.email} failed: ${errorMessage(err)}`);
      throw err;
    }
    if (opts.remember !== false) await this.deps.credentials.set(creds);
    this.logger.info(`Logged in as ${creds.email}.`);
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
    await this.proxy.stop();
    this.stopRefreshTimer();
    await this.deps.credentials.clear();
    this.account.signOut();
    if (this.demo) await this.leaveDemo();
    this.pool.setKeys([]);
    this.warnedLow.clear();
    this.counts = { served: 0, failed: 0 };
    this.logger.info(`Logged out${email ? ` (${email})` : ''}; credentials, keys and balances forgotten.`);
    this.changeEmitter.fire();
  }

  /** Fetches the key list and balances again. Throws the platform's error. */
  async refresh(): Promise<void> {
    if (!this.signedIn) throw new Error('Not logged in: log in to DaiDai first.');
    try {
      await this.account.refresh();
    } catch (err) {
      this.logger.warn(`Refreshing keys failed: ${errorMessage(err)}`);
      throw err;
    }
    this.logger.info('Keys and balances refreshed.');
  }

  /**
   * Starts the embedded fake platform on a free port and logs into its demo account. For this
   * session only: nothing is stored, and settings keep pointing at the real platform.
   */
  async tryDemo(): Promise<void> {
    if (!this.demo) {
      const demo = (this.deps.createDemo ?? (() => createFakeDaiDai({ packages: true })))();
      await demo.start(0, '127.0.0.1');
      this.demo = demo;
      this.logger.info(`Demo platform running at ${demo.url} (gateway ${demo.gatewayUrl}); this session only.`);
      this.useAccount(demo.url);
      await this.setUpstream(demo.gatewayUrl);
    }
    try {
      await this.account.signIn({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    } catch (err) {
      this.logger.warn(`Demo login failed: ${errorMessage(err)}`);
      await this.leaveDemo();
      throw err;
    }
    this.logger.info(`Logged in to the demo account ${DEMO_ACCOUNT.email}.`);
    this.scheduleRefresh();
    this.changeEmitter.fire();
  }

  async startProxy(): Promise<ProxyStatus> {
    return this.proxy.start();
  }

  async stopProxy(): Promise<void> {
    await this.proxy.stop();
  }

  async restartProxy(): Promise<ProxyStatus> {
    return this.proxy.restart();
  }

  /** Takes a key out of rotation (or puts it back). False for an unknown id. */
  setKeyDisabled(id: string, disabled: boolean): boolean {
    return this.pool.setManualDisabled(id, disabled);
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
    const outcome: SettingsOutcome = { restartedFor: [], needReload: [] };
    if (changed.length === 0) return outcome;
    this.logger.info(`Settings changed: ${changed.map((k) => `daidai.${settingIds[k]}`).join(', ')}`);

    if (changed.includes('failureThreshold')) this.pool.setFailureThreshold(next.failureThreshold);
    if (changed.includes('refreshMinutes')) this.scheduleRefresh();
    if (changed.includes('lowBalance')) this.checkLowBalance();

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
        this.logger.info(`Proxy restarted to apply ${outcome.restartedFor.join(', ') || 'the new settings'}.`);
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
    for (const d of this.subscriptions) d.dispose();
    this.accountSub.dispose();
    try {
      await this.proxy.dispose();
    } finally {
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

  private useAccount(platformBaseUrl: string): void {
    this.accountSub.dispose();
    this.account.dispose?.();
    this.account = this.deps.createAccount(platformBaseUrl);
    this.accountSub = this.account.onDidChange(() => this.onAccountChanged());
    this.onAccountChanged();
  }

  private async setUpstream(upstreamBaseUrl: string): Promise<void> {
    const { needsRestart } = this.proxy.updateOptions({ upstreamBaseUrl });
    if (needsRestart) await this.proxy.restart();
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
      this.logger.info('Demo platform stopped.');
    }
  }

  private onAccountChanged(): void {
    const s = this.account.snapshot;
    const keys: PoolKeyInput[] = s.signedIn ? s.keys.map((k) => ({ key: k.key, name: k.name, balance: k.balance, used: k.used, createdAt: k.createdAt })) : [];
    this.pool.setKeys(keys);
    if (!s.signedIn) this.stopRefreshTimer();
    this.checkLowBalance();
    this.changeEmitter.fire();
  }

  private checkLowBalance(): void {
    const fresh = lowBalanceKeys(this.pool.snapshot(), this._settings.lowBalance).filter((k) => !this.warnedLow.has(k.id));
    if (fresh.length === 0) return;
    for (const k of fresh) this.warnedLow.add(k.id);
    this.logger.warn(`Low balance: ${fresh.map((k) => `${k.masked} ¥${k.balance?.toFixed(2)}`).join(', ')}`);
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
      this.logger.info('Logged out in another window: logging out here too.');
      await this.proxy.stop();
      this.account.signOut();
      this.changeEmitter.fire();
    } else if (creds && (!this.signedIn || this.account.snapshot.email !== creds.email)) {
      this.logger.info('Logged in in another window: using the same login here.');
      await this.login(creds, { remember: false, silent: true }).catch(() => undefined);
    }
  }
}

/** A person-readable message for any error, free of secrets. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  return redactSecrets(text);
}
