// What each DaiDai command does, written against the small `Ui` interface so plain-Node tests
// can run them with sinon stubs. src/vscode/services.ts maps the command ids onto these methods.
import { t } from '../l10n';
import type { Credentials } from '../platform/types';
import { clients, clientSnippets, formatList, formatYuan, keyStateText, type ClientId, type ModelRow, type TreeRow } from '../present';
import type { KeySnapshot } from '../pool/types';
import type { ProxyStatus } from '../proxy/types';
import { recentRequestsCsv, usageCsv } from '../usage';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/mask';
import type { SessionSnapshot } from './snapshot';
import type { Ui } from './ui';
import { modelTreeRows, type SnapshotSource } from './views';

export const COMMAND_IDS = {
  login: 'daidai.login',
  logout: 'daidai.logout',
  refreshKeys: 'daidai.refreshKeys',
  startProxy: 'daidai.startProxy',
  stopProxy: 'daidai.stopProxy',
  restartProxy: 'daidai.restartProxy',
  copyProxyUrl: 'daidai.copyProxyUrl',
  showLogs: 'daidai.showLogs',
  tryDemo: 'daidai.tryDemo',
  connectClient: 'daidai.connectClient',
  disableKey: 'daidai.disableKey',
  enableKey: 'daidai.enableKey',
  copyKey: 'daidai.copyKey',
  statusBarMenu: 'daidai.statusBarMenu',
  resetKeyStates: 'daidai.resetKeyStates',
  // Dashboard and Models view (issue 14).
  openDashboard: 'daidai.openDashboard',
  exportUsage: 'daidai.exportUsage',
  copyModelId: 'daidai.copyModelId',
  connectClientWithModel: 'daidai.connectClientWithModel',
} as const;

export type CommandName = keyof typeof COMMAND_IDS;

/** A key command receives the tree row it was invoked on, its pool id, or nothing (then it asks). */
export type KeyArg = TreeRow | string | undefined;

const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

/** What the command handlers use of the session (Session implements it; tests pass a fake). */
export interface SessionPort extends SnapshotSource {
  /** Logs in with the stored login; false when there was none, throws when it failed. */
  restore(): Promise<boolean>;
  login(creds: Credentials): Promise<void>;
  tryDemo(): Promise<void>;
  logout(): Promise<void>;
  refresh(): Promise<void>;
  startProxy(): Promise<ProxyStatus>;
  stopProxy(): Promise<void>;
  restartProxy(): Promise<ProxyStatus>;
  setKeyDisabled(id: string, disabled: boolean): boolean;
  revealKey(id: string): string | undefined;
  resetKeyStates(): Promise<void>;
}

export class CommandHandlers {
  constructor(
    private readonly session: SessionPort,
    private readonly ui: Ui,
    private readonly logger: Logger,
  ) {}

  /** On activation: a silent login with the stored credentials, then the proxy if daidai.proxy.autoStart says so. */
  async restoreOnStartup(): Promise<void> {
    let hadCredentials: boolean;
    try {
      hadCredentials = await this.session.restore();
    } catch (err) {
      hadCredentials = true;
      this.notify(this.ui.showWarningMessage(t('DaiDai could not log in with your stored login: {0}', errorMessage(err)), t('Login'), t('Show Logs')), {
        [t('Login')]: () => this.login(),
        [t('Show Logs')]: () => this.showLogs(),
      });
    }
    if (!hadCredentials || !this.session.snapshot.settings.proxyAutoStart) return;
    try {
      await this.session.startProxy();
    } catch (err) {
      this.showStartError(err);
    }
  }

  async login(): Promise<boolean> {
    const email = await this.ui.showInputBox({
      title: t('DaiDai: Login (1/2)'),
      prompt: t('Email address of your DaiDai account'),
      placeHolder: 'you@example.com',
      value: this.snap.mode === 'account' ? this.snap.account.email : undefined,
      ignoreFocusOut: true,
      validateInput: (v) => (EMAIL_RE.test(v.trim()) ? undefined : t('Enter the email address you log in to DaiDai with.')),
    });
    if (!email?.trim()) return false;
    const password = await this.ui.showInputBox({
      title: t('DaiDai: Login (2/2)'),
      prompt: t('Password for {0}', email.trim()),
      password: true,
      ignoreFocusOut: true,
      validateInput: (v) => (v ? undefined : t('Enter your password.')),
    });
    if (!password) return false;
    const creds = { email: email.trim(), password };
    try {
      await this.ui.withProgress(t('Logging in to DaiDai…'), () => this.session.login(creds));
    } catch (err) {
      this.notify(this.ui.showErrorMessage(t('DaiDai login failed: {0}', errorMessage(err)), t('Try Again'), t('Show Logs')), {
        [t('Try Again')]: () => this.login(),
        [t('Show Logs')]: () => this.showLogs(),
      });
      return false;
    }
    this.afterSignIn(t('Logged in as {0}', creds.email));
    return true;
  }

  async tryDemo(): Promise<boolean> {
    try {
      await this.ui.withProgress(t('Starting the DaiDai demo account…'), () => this.session.tryDemo());
    } catch (err) {
      this.notify(this.ui.showErrorMessage(t('The demo account could not start: {0}', errorMessage(err)), t('Show Logs')), {
        [t('Show Logs')]: () => this.showLogs(),
      });
      return false;
    }
    this.afterSignIn(t('Demo account ready (this session only; nothing is stored)'));
    return true;
  }

  async logout(): Promise<void> {
    if (!this.snap.signedIn && this.snap.proxy.state === 'stopped') {
      this.notify(this.ui.showInformationMessage(t('You are not logged in to DaiDai.')));
      return;
    }
    await this.session.logout();
    this.notify(this.ui.showInformationMessage(t('Logged out of DaiDai: the proxy is stopped and your login, keys and balances are forgotten.')));
  }

  async refreshKeys(): Promise<boolean> {
    if (!this.snap.signedIn) {
      this.offerLogin(t('Log in to DaiDai (or try the demo account) to see your keys.'));
      return false;
    }
    try {
      await this.ui.withProgress(t('Refreshing DaiDai keys and balances…'), () => this.session.refresh());
      return true;
    } catch (err) {
      this.notify(this.ui.showErrorMessage(t('Refreshing DaiDai keys failed: {0}', errorMessage(err)), t('Try Again'), t('Show Logs')), {
        [t('Try Again')]: () => this.refreshKeys(),
        [t('Show Logs')]: () => this.showLogs(),
      });
      return false;
    }
  }

  async startProxy(): Promise<boolean> {
    if (this.snap.proxy.state === 'running') {
      this.notify(this.ui.showInformationMessage(t('The DaiDai proxy is already running at {0}.', this.snap.proxyUrl), t('Copy URL')), {
        [t('Copy URL')]: () => this.copyProxyUrl(),
      });
      return true;
    }
    try {
      const status = await this.session.startProxy();
      const after = this.snap;
      const peer = after.peer;
      if (peer) {
        this.notify(
          this.ui.showInformationMessage(
            t('The DaiDai proxy already runs in another window at {0}: this window uses it, and takes it over when that window closes.', peer.url),
            t('Copy URL'),
          ),
          { [t('Copy URL')]: () => this.copyProxyUrl() },
        );
        return true;
      }
      const counts = after.pool.counts;
      if (counts.total === 0) {
        this.notify(this.ui.showWarningMessage(t('The DaiDai proxy runs at {0}, but has no keys yet: log in or try the demo account.', String(status.url)), t('Login'), t('Try the Demo Account')), {
          [t('Login')]: () => this.login(),
          [t('Try the Demo Account')]: () => this.tryDemo(),
        });
      } else {
        this.notify(this.ui.showInformationMessage(t('DaiDai proxy running at {0} over {1} of {2} keys.', String(status.url), counts.usable, counts.total), t('Copy URL'), t('Connect a Client…')), {
          [t('Copy URL')]: () => this.copyProxyUrl(),
          [t('Connect a Client…')]: () => this.connectClient(),
        });
      }
      return true;
    } catch (err) {
      this.showStartError(err);
      return false;
    }
  }

  async stopProxy(): Promise<void> {
    if (this.snap.peer) {
      await this.session.stopProxy(); // stop watching it; the window that owns it keeps it running
      this.notify(this.ui.showInformationMessage(t('The DaiDai proxy runs in another window: stop it there. This window no longer takes it over.')));
      return;
    }
    if (this.snap.proxy.state === 'stopped') return;
    await this.session.stopProxy();
    this.notify(this.ui.showInformationMessage(t('DaiDai proxy stopped.')));
  }

  async restartProxy(): Promise<boolean> {
    try {
      const status = await this.session.restartProxy();
      this.notify(this.ui.showInformationMessage(t('DaiDai proxy restarted at {0}.', String(status.url))));
      return true;
    } catch (err) {
      this.showStartError(err);
      return false;
    }
  }

  async copyProxyUrl(): Promise<string> {
    const { proxyUrl: url, proxy } = this.snap;
    await this.ui.writeClipboard(url);
    const running = proxy.state === 'running';
    this.notify(this.ui.showInformationMessage(running ? t('Copied {0}.', url) : t('Copied {0} (the proxy is not running yet).', url), ...(running ? [] : [t('Start Proxy')])), {
      [t('Start Proxy')]: () => this.startProxy(),
    });
    return url;
  }

  showLogs(): void {
    this.ui.showLogs();
  }

  /** Shows the chosen client's settings or snippet and copies the base URL it wants. */
  async connectClient(clientId?: ClientId): Promise<ClientId | undefined> {
    return this.connect(clientId, undefined);
  }

  async disableKey(arg: KeyArg): Promise<boolean> {
    return this.setKeyDisabled(arg, true);
  }

  async enableKey(arg: KeyArg): Promise<boolean> {
    return this.setKeyDisabled(arg, false);
  }

  /** Copies a key in clear, after a modal confirmation: the one place a key reaches the clipboard. */
  async copyKey(arg: KeyArg): Promise<boolean> {
    const key = await this.resolveKey(arg, t('Copy which key?'));
    if (!key) return false;
    const ok = await this.ui.confirm(
      t('Copy the key {0} to the clipboard?', key.masked),
      t('A key is a secret: anyone who has it can spend its balance. Paste it only where you mean to use it, and clear your clipboard afterwards.'),
      t('Copy Key'),
    );
    if (!ok) return false;
    const clear = this.session.revealKey(key.id);
    if (!clear) {
      this.notify(this.ui.showErrorMessage(t('The key {0} is no longer on your account: refresh the keys.', key.masked)));
      return false;
    }
    await this.ui.writeClipboard(clear);
    this.logger.info(t('Key {0} copied to the clipboard by the user.', key.masked));
    this.notify(this.ui.showInformationMessage(t('Key {0} copied.', key.masked)));
    return true;
  }

  /** Forgets what the pool learned about the keys, after a confirmation. */
  async resetKeyStates(): Promise<boolean> {
    if (!this.snap.signedIn) {
      this.offerLogin(t('Log in to DaiDai (or try the demo account) first: there are no keys to reset.'));
      return false;
    }
    const ok = await this.ui.confirm(
      t('Reset the state of every DaiDai key?'),
      t('Keys taken out by hand, revoked, exhausted or cooling down, the models a key was refused and the request counters are forgotten: every key starts healthy again. Your login and the usage history stay.'),
      t('Reset Key States'),
    );
    if (!ok) return false;
    await this.session.resetKeyStates();
    this.notify(this.ui.showInformationMessage(t('Every DaiDai key starts healthy again; what the pool had learned is forgotten.')));
    return true;
  }

  /** The status-bar item's click: the proxy actions that fit the current state. */
  async statusBarMenu(): Promise<void> {
    const s = this.snap;
    const running = s.proxy.state === 'running';
    type Item = { label: string; description?: string; run: () => unknown };
    const items: Item[] = [];
    const peer = s.peer;
    if (running) {
      items.push({ label: `$(debug-stop) ${t('Stop Proxy')}`, description: s.proxyUrl, run: () => this.stopProxy() });
      items.push({ label: `$(debug-restart) ${t('Restart Proxy')}`, run: () => this.restartProxy() });
    } else if (peer) {
      // Stop belongs to the window that owns the proxy.
    } else {
      items.push({ label: `$(play) ${t('Start Proxy')}`, description: s.proxyUrl, run: () => this.startProxy() });
    }
    items.push({ label: `$(copy) ${t('Copy Proxy URL')}`, run: () => this.copyProxyUrl() });
    items.push({ label: `$(plug) ${t('Connect a Client…')}`, run: () => this.connectClient() });
    if (s.signedIn) {
      items.push({ label: `$(refresh) ${t('Refresh Keys and Balances')}`, run: () => this.refreshKeys() });
    } else {
      items.push({ label: `$(account) ${t('Login…')}`, run: () => this.login() });
      items.push({ label: `$(beaker) ${t('Try the Demo Account')}`, run: () => this.tryDemo() });
    }
    items.push({ label: `$(graph) ${t('Open Dashboard')}`, run: () => this.openDashboard() });
    items.push({ label: `$(output) ${t('Show Logs')}`, run: () => this.showLogs() });
    const placeHolder = running ? t('Proxy running at {0}', s.proxyUrl) : peer ? t('Proxy running in another window at {0}', peer.url) : t('Proxy stopped');
    const pick = await this.ui.showQuickPick(items, { title: 'DaiDai', placeHolder });
    await pick?.run();
  }

  /** A toast for each key that fell below the low-balance threshold (once per key per session). */
  warnLowBalance(keys: readonly KeySnapshot[]): void {
    if (keys.length === 0) return;
    const threshold = formatYuan(this.snap.settings.lowBalance);
    const list = formatList(keys.map((k) => `${k.masked}${k.name ? ` (${k.name})` : ''} ${formatYuan(k.balance)}`));
    const msg =
      keys.length === 1
        ? t('DaiDai key {0} is below {1}: top it up on the DaiDai site soon.', list, threshold)
        : t('{0} DaiDai keys are below {1}: {2}.', keys.length, threshold, list);
    this.notify(this.ui.showWarningMessage(msg));
  }

  // ---- dashboard and Models view (issue 14) ----

  /** The Models view's rows for the session as it is now. */
  modelRows(now = Date.now()): ModelRow[] {
    return modelTreeRows(this.snap, now);
  }

  openDashboard(): void {
    if (this.ui.showDashboard) this.ui.showDashboard();
    else this.notify(this.ui.showInformationMessage(t('The dashboard needs VS Code: run `daidai-proxy usage` in a terminal instead.')));
  }

  /**
   * Writes the usage history to a CSV file the person picks: the hourly rows (per key and model,
   * what `daidai-proxy usage --csv` gives) or the recent requests. Resolves with where it went.
   */
  async exportUsage(now = Date.now()): Promise<string | undefined> {
    const save = this.ui.saveTextFile;
    if (!save) return undefined;
    const kinds = [
      { label: t('Hourly usage by key and model'), detail: t('Requests, tokens and estimated ¥ per hour, the last 90 days'), kind: 'hourly' as const },
      { label: t('Recent requests'), detail: t('The last 1,000 requests one by one: time, model, masked key, status, tokens, ¥'), kind: 'recent' as const },
    ];
    const pick = await this.ui.showQuickPick(kinds, { title: t('DaiDai: Export Usage'), placeHolder: t('What to export?') });
    if (!pick) return undefined;
    const history = this.snap.history;
    // A byte-order mark so that Excel and WPS read 官 and 渠道 as UTF-8.
    const csv = pick.kind === 'hourly' ? usageCsv(history, 0, { bom: true }) : recentRequestsCsv(history, -Infinity, { bom: true });
    const day = localDay(now);
    const name = pick.kind === 'hourly' ? `daidai-usage-${day}.csv` : `daidai-requests-${day}.csv`;
    let where: string | undefined;
    try {
      where = await save.call(this.ui, name, csv, { title: t('DaiDai: Export Usage'), filterName: t('CSV files') });
    } catch (err) {
      this.notify(this.ui.showErrorMessage(t('Exporting the usage failed: {0}', errorMessage(err))));
      return undefined;
    }
    if (!where) return undefined;
    this.logger.info(`Usage exported (${pick.kind}) to ${where}.`);
    this.notify(this.ui.showInformationMessage(t('Usage exported to {0}', where)));
    return where;
  }

  /** Copies a model id (the Models view's click); asks which when none is given. */
  async copyModelId(model?: string): Promise<string | undefined> {
    const id = model ?? (await this.pickModel(t('Copy which model id?')));
    if (!id) return undefined;
    await this.ui.writeClipboard(id);
    const msg = t('Copied {0}', id);
    if (this.ui.flashMessage) this.ui.flashMessage(msg);
    else this.notify(this.ui.showInformationMessage(msg));
    return id;
  }

  /** "Connect a Client…" with this model in the snippets (Continue, Cline, the SDKs, curl). */
  async connectClientWithModel(model?: string, clientId?: ClientId): Promise<ClientId | undefined> {
    const chosen = model ?? (await this.pickModel(t('Connect a client with which model?')));
    if (!chosen) return undefined;
    return this.connect(clientId, chosen);
  }

  /** Both "Connect a Client" commands: asks which client (unless given), shows its snippet, copies its base URL. */
  private async connect(clientId: ClientId | undefined, model: string | undefined): Promise<ClientId | undefined> {
    let id = clientId;
    if (!id) {
      const pick = await this.ui.showQuickPick(
        clients.map((c) => ({ label: c.label, detail: c.detail, id: c.id })),
        { title: model ? t('DaiDai: Connect a Client with {0}', model) : t('DaiDai: Connect a Client'), placeHolder: t('Which program should use the DaiDai proxy?') },
      );
      id = pick?.id;
    }
    if (!id) return undefined;
    const s = this.snap;
    const running = s.proxy.state === 'running';
    const snippet = clientSnippets(s.proxyUrl, id, {
      ...(model ? { model } : {}),
      running,
      accessTokenSet: s.settings.proxyAccessToken !== '',
      models: s.models?.map((m) => m.id),
    });
    await this.ui.writeClipboard(snippet.baseUrl);
    await this.ui.showMarkdown(`connect-${id}.md`, snippet.markdown);
    this.notify(this.ui.showInformationMessage(t('Copied the base URL for {0}: {1}', snippet.title, snippet.baseUrl), ...(running ? [] : [t('Start Proxy')])), {
      [t('Start Proxy')]: () => this.startProxy(),
    });
    return id;
  }

  private async pickModel(placeHolder: string): Promise<string | undefined> {
    const rows = this.modelRows();
    if (rows.length === 0) {
      this.notify(this.ui.showInformationMessage(t('No model is known yet: log in, then wait for the keys\' model lists (or refresh the keys).')));
      return undefined;
    }
    const pick = await this.ui.showQuickPick(
      rows.map((r) => ({ label: r.model, description: r.description, model: r.model })),
      { title: 'DaiDai', placeHolder },
    );
    return pick?.model;
  }

  // ---- internals ----

  /** The session as it is now. */
  private get snap(): SessionSnapshot {
    return this.session.snapshot;
  }

  private afterSignIn(what: string): void {
    const s = this.snap;
    const view = s.account;
    const counts = s.pool.counts;
    const running = s.proxy.state === 'running';
    const msg =
      counts.total === 1
        ? t('{0}: 1 key, {1} in total.', what, formatYuan(view.totalBalance))
        : t('{0}: {1} keys, {2} in total.', what, counts.total, formatYuan(view.totalBalance));
    this.notify(this.ui.showInformationMessage(msg, ...(running ? [t('Connect a Client…')] : [t('Start Proxy')])), {
      [t('Start Proxy')]: () => this.startProxy(),
      [t('Connect a Client…')]: () => this.connectClient(),
    });
  }

  private offerLogin(message: string): void {
    this.notify(this.ui.showInformationMessage(message, t('Login'), t('Try the Demo Account')), {
      [t('Login')]: () => this.login(),
      [t('Try the Demo Account')]: () => this.tryDemo(),
    });
  }

  private showStartError(err: unknown): void {
    const code = (err as { code?: string })?.code;
    const portProblem = code === 'EADDRINUSE' || code === 'EACCES';
    this.notify(this.ui.showErrorMessage(t('The DaiDai proxy did not start: {0}', errorMessage(err)), ...(portProblem ? [t('Open Settings')] : []), t('Show Logs')), {
      [t('Open Settings')]: () => this.ui.openSettings(code === 'EADDRINUSE' || code === 'EACCES' ? 'daidai.proxy.port' : 'daidai.proxy'),
      [t('Show Logs')]: () => this.showLogs(),
    });
  }

  private async setKeyDisabled(arg: KeyArg, disabled: boolean): Promise<boolean> {
    const key = await this.resolveKey(arg, disabled ? t('Take which key out of rotation?') : t('Put which key back in rotation?'), (k) => k.manuallyDisabled !== disabled);
    if (!key) return false;
    const ok = this.session.setKeyDisabled(key.id, disabled);
    if (ok) this.logger.info(disabled ? t('Key {0} taken out of rotation by the user.', key.masked) : t('Key {0} put back in rotation by the user.', key.masked));
    return ok;
  }

  private async resolveKey(arg: KeyArg, placeHolder: string, filter: (k: KeySnapshot) => boolean = () => true): Promise<KeySnapshot | undefined> {
    const { pool, signedIn } = this.snap;
    const keys = pool.keys;
    const id = typeof arg === 'string' ? arg : arg?.keyId;
    if (id) return keys.find((k) => k.id === id);
    const candidates = keys.filter(filter);
    if (candidates.length === 0) {
      this.notify(this.ui.showInformationMessage(signedIn ? t('No key fits: nothing to do.') : t('Log in to DaiDai first.')));
      return undefined;
    }
    const pick = await this.ui.showQuickPick(
      candidates.map((k) => ({ label: k.masked, description: [k.name, formatYuan(k.balance), keyStateText(k, Date.now())].filter(Boolean).join(' · '), key: k })),
      { title: 'DaiDai', placeHolder },
    );
    return pick?.key;
  }

  /** Shows a notification without waiting for it, and runs the action of the button clicked. */
  private notify(shown: PromiseLike<string | undefined>, actions: Record<string, () => unknown> = {}): void {
    Promise.resolve(shown)
      .then((choice) => (choice ? actions[choice]?.() : undefined))
      .catch((err) => this.logger.error(t('DaiDai action failed: {0}', errorMessage(err))));
  }
}

/** `YYYY-MM-DD` in the local time zone, for file names. */
function localDay(now: number): string {
  const d = new Date(now);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}
