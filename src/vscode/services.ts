// The composition root: builds every object of the extension in one place, wires the events,
// and hands back one disposable plus the shutdown promise deactivate() returns.
import * as vscode from 'vscode';
import type { DaiDaiApi, DaiDaiStatus } from '../core/app/api';
import { CommandHandlers, COMMAND_IDS, type CommandName, type KeyArg } from '../core/app/commands';
import { CredentialStore } from '../core/app/credentialStore';
import { errorMessage, Session } from '../core/app/session';
import { readSettings, type DaiDaiSettings } from '../core/app/settings';
import { networkFromVscode, type NetworkSettings } from '../core/net/dispatchers';
import { clients, statusModel, treeRows, type ClientId, type ModelRow, type TreeRow } from '../core/present';
import type { Logger } from '../core/util/log';
import { initFromVscodeBundle } from '../core/l10n';
import { throttle } from '../core/util/throttle';
import { DASHBOARD_VIEW_TYPE, DashboardPanel } from './dashboardPanel';
import { RowsTreeProvider } from './rowsTree';
import { StatusBarController } from './statusBar';
import { createVscodeUi, SnippetDocuments, SNIPPET_SCHEME } from './vscodeUi';

/** Views re-render at most this often while requests flow (the pool fires on every request). */
const RENDER_INTERVAL_MS = 250;

export const KEYS_VIEW_ID = 'daidai.keys';
export const MODELS_VIEW_ID = 'daidai.models';

function readVscodeSettings(): DaiDaiSettings {
  const config = vscode.workspace.getConfiguration('daidai');
  return readSettings((id) => config.get(id));
}

/** VS Code's http.proxy, http.noProxy, http.proxyStrictSSL: VS Code applies them to its own fetch only, never to our undici. */
function readVscodeNetwork(): NetworkSettings {
  const http = vscode.workspace.getConfiguration('http');
  return networkFromVscode((id) => http.get(id));
}

function isClientId(v: unknown): v is ClientId {
  return typeof v === 'string' && clients.some((c) => c.id === v);
}

/** A model command receives the Models view's row, a model id, or nothing (then it asks). */
function modelArg(v: unknown): string | undefined {
  if (typeof v === 'string' && v) return v;
  if (v && typeof v === 'object' && typeof (v as ModelRow).model === 'string') return (v as ModelRow).model;
  return undefined;
}

function keyArg(v: unknown): KeyArg {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { keyId?: unknown }).keyId === 'string') return v as TreeRow;
  return undefined;
}

export class Services implements vscode.Disposable {
  readonly api: DaiDaiApi;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly session: Session;
  private readonly handlers: CommandHandlers;
  private readonly statusBar: StatusBarController;
  private readonly contextKeys = { 'daidai.loggedIn': false, 'daidai.proxyRunning': false };
  private shutdownPromise?: Promise<void>;
  private dashboard?: DashboardPanel;
  /** Re-renders the views now, whatever the throttle says (state changes a person caused). */
  private readonly renderNow: () => void;

  constructor(context: vscode.ExtensionContext) {
    // One bundle for the core's t() and vscode.l10n: the view models below speak the user's language.
    initFromVscodeBundle(vscode.l10n.bundle, vscode.env.language);
    const version = String(context.extension.packageJSON.version ?? '0.0.0');
    const log = this.own(vscode.window.createOutputChannel('DaiDai', { log: true }));
    const logger: Logger = log;
    const credentials = new CredentialStore(context.secrets, logger);
    this.own(credentials);

    this.session = new Session({
      logger,
      credentials,
      settings: readVscodeSettings(),
      network: readVscodeNetwork(),
      version,
      // Per machine, not globalState: every window would rewrite that on each change.
      stateDir: context.globalStorageUri.fsPath,
    });
    const snippets = this.own(new SnippetDocuments());
    this.own(vscode.workspace.registerTextDocumentContentProvider(SNIPPET_SCHEME, snippets));
    this.handlers = new CommandHandlers(this.session, createVscodeUi(log, snippets, { showDashboard: () => this.dashboard?.show() }), logger);

    // Views.
    const rows = (): TreeRow[] =>
      treeRows(this.session.accountView, this.session.pool.snapshot(), {
        now: Date.now(),
        demo: this.session.isDemo,
        lowBalance: this.session.settings.lowBalance,
      });
    const tree = this.own(new RowsTreeProvider(rows));
    const treeView = this.own(vscode.window.createTreeView(KEYS_VIEW_ID, { treeDataProvider: tree }));
    this.statusBar = this.own(new StatusBarController(COMMAND_IDS.statusBarMenu));

    const render = throttle(() => {
      tree.refresh();
      this.statusBar.render(this.model());
      const s = this.session.proxyStatus;
      const peer = this.session.peer;
      treeView.description =
        s.state === 'running'
          ? vscode.l10n.t('proxy on :{0}', s.port ?? '')
          : peer
            ? vscode.l10n.t('proxy on :{0} (other window)', peer.port)
            : this.session.signedIn
              ? vscode.l10n.t('proxy stopped')
              : undefined;
      this.updateContextKeys();
    }, RENDER_INTERVAL_MS);
    const renderNow = () => {
      render();
      render.flush();
    };
    this.disposables.push({ dispose: () => render.dispose() });
    this.renderNow = renderNow;

    this.disposables.push(
      this.session.onDidChange(renderNow),
      this.session.proxy.onDidChangeStatus(renderNow),
      this.session.pool.onDidChange(() => render()),
      this.session.onDidCountRequest(() => render()),
      this.session.onDidChangeInsight(() => render()),
      this.session.onDidFindLowBalance((keys) => this.handlers.warnLowBalance(keys)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('daidai')) void this.onSettingsChanged();
        if (e.affectsConfiguration('http')) this.session.applyNetwork(readVscodeNetwork());
      }),
    );

    // ---- Dashboard and Models view (issue 14): the panel posts on its own, throttled; the Models
    // tree re-renders when model lists, prices or availability change, and with the pool.
    this.dashboard = this.own(new DashboardPanel(context.extensionUri, this.session, { exportUsage: () => this.handlers.exportUsage() }));
    // An open dashboard comes back after a window reload (activation event onWebviewPanel:daidai.dashboard).
    this.own(vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, this.dashboard.serializer()));
    // A click on a model copies its id: people type these into SillyTavern, `[官Max]` and all.
    const modelsTree = this.own(
      new RowsTreeProvider(
        () => (this.session.signedIn ? this.handlers.modelRows() : []),
        (row) => ({ command: COMMAND_IDS.copyModelId, title: vscode.l10n.t('Copy Model ID'), arguments: [row.model] }),
      ),
    );
    this.own(vscode.window.createTreeView(MODELS_VIEW_ID, { treeDataProvider: modelsTree }));
    const renderModels = throttle(() => modelsTree.refresh(), RENDER_INTERVAL_MS);
    this.disposables.push(
      { dispose: () => renderModels.dispose() },
      this.session.onDidChangeInsight(() => renderModels()),
      this.session.onDidChange(() => renderModels()),
      this.session.pool.onDidChange(() => renderModels()),
    );
    // ---- end of dashboard and Models view ----

    // Commands.
    const h = this.handlers;
    const table: Record<CommandName, (...args: unknown[]) => unknown> = {
      login: () => h.login(),
      logout: () => h.logout(),
      refreshKeys: () => h.refreshKeys(),
      startProxy: () => h.startProxy(),
      stopProxy: () => h.stopProxy(),
      restartProxy: () => h.restartProxy(),
      copyProxyUrl: () => h.copyProxyUrl(),
      showLogs: () => h.showLogs(),
      tryDemo: () => h.tryDemo(),
      // Menus pass the tree row; keybindings or other extensions may pass a client id or a key id.
      connectClient: (client) => h.connectClient(isClientId(client) ? client : undefined),
      disableKey: (arg) => h.disableKey(keyArg(arg)),
      enableKey: (arg) => h.enableKey(keyArg(arg)),
      copyKey: (arg) => h.copyKey(keyArg(arg)),
      statusBarMenu: () => h.statusBarMenu(),
      resetKeyStates: () => h.resetKeyStates(),
      openDashboard: () => h.openDashboard(),
      exportUsage: () => h.exportUsage(),
      copyModelId: (model) => h.copyModelId(modelArg(model)),
      connectClientWithModel: (model) => h.connectClientWithModel(modelArg(model)),
    };
    for (const name of Object.keys(table) as CommandName[]) {
      const run = table[name];
      this.disposables.push(
        vscode.commands.registerCommand(COMMAND_IDS[name], async (...args: unknown[]) => {
          try {
            return await run(...args);
          } catch (err) {
            logger.error(vscode.l10n.t('Command {0} failed: {1}', COMMAND_IDS[name], errorMessage(err)));
            void vscode.window.showErrorMessage(`DaiDai: ${errorMessage(err)}`);
            return undefined;
          }
        }),
      );
    }

    renderNow();
    const ready = h.restoreOnStartup().catch((err) => logger.error(vscode.l10n.t('Startup login failed: {0}', errorMessage(err))));

    this.api = {
      ready,
      getTreeRows: () => tree.getChildren(),
      getStatus: () => this.status(),
    };
  }

  /** Stops the proxy and the demo platform; what deactivate() returns. Idempotent. */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.session.dispose();
    return this.shutdownPromise;
  }

  dispose(): void {
    void this.shutdown();
    for (const d of this.disposables.splice(0).reverse()) {
      try {
        d.dispose();
      } catch {
        // one failing disposable must not keep the others alive
      }
    }
  }

  private own<T extends vscode.Disposable | { dispose(): unknown }>(d: T): T {
    this.disposables.push(d as vscode.Disposable);
    return d;
  }

  private model() {
    return statusModel(this.session.proxyStatus, this.session.pool.snapshot(), {
      signedIn: this.session.signedIn,
      email: this.session.accountView.email,
      demo: this.session.isDemo,
      requests: this.session.requests,
      peer: this.session.peer && { url: this.session.peer.url, keys: this.session.peer.health.keys },
      gateway: this.session.gatewayHealth,
    });
  }

  private status(): DaiDaiStatus {
    this.renderNow();
    const shown = this.statusBar.shown ?? this.model();
    return {
      loggedIn: this.session.signedIn,
      demo: this.session.isDemo,
      email: this.session.accountView.email,
      proxy: this.session.proxyStatus,
      proxyUrl: this.session.proxyUrl(),
      keys: this.session.pool.snapshot().counts,
      requests: this.session.requests,
      statusBar: { text: shown.text, tooltip: shown.tooltip, kind: shown.kind },
      contextKeys: { ...this.contextKeys },
      dashboardOpen: this.dashboard?.isOpen ?? false,
    };
  }

  private updateContextKeys(): void {
    const next = { 'daidai.loggedIn': this.session.signedIn, 'daidai.proxyRunning': this.session.proxyStatus.state === 'running' };
    for (const key of Object.keys(next) as Array<keyof typeof next>) {
      if (this.contextKeys[key] === next[key]) continue;
      this.contextKeys[key] = next[key];
      void vscode.commands.executeCommand('setContext', key, next[key]);
    }
  }

  private async onSettingsChanged(): Promise<void> {
    const outcome = await this.session.applySettings(readVscodeSettings());
    if (outcome.restartError) {
      void vscode.window.showErrorMessage(vscode.l10n.t('The DaiDai proxy stopped: restarting it with the new settings failed: {0}', outcome.restartError));
    } else if (outcome.restartedFor.length) {
      void vscode.window.showInformationMessage(vscode.l10n.t('DaiDai proxy restarted to apply {0}: it now runs at {1}.', outcome.restartedFor.join(', '), this.session.proxyUrl()));
    }
    this.renderNow();
  }
}
