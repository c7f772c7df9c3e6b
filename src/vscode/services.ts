// The composition root: builds every object of the extension in one place, wires the events,
// and hands back one disposable plus the shutdown promise deactivate() returns.
import * as vscode from 'vscode';
import type { DaiDaiApi, DaiDaiStatus } from '../core/app/api';
import { CommandHandlers, COMMAND_IDS, type CommandName, type KeyArg } from '../core/app/commands';
import { CredentialStore } from '../core/app/credentialStore';
import { errorMessage, Session, type SessionSnapshot } from '../core/app/session';
import { keyTreeRows, modelTreeRows, statusOf } from '../core/app/views';
import { readSettings, type DaiDaiSettings } from '../core/app/settings';
import { networkFromVscode, type NetworkSettings } from '../core/net/dispatchers';
import { clients, type ClientId, type ModelRow, type TreeRow } from '../core/present';
import type { Logger } from '../core/util/log';
import { initFromVscodeBundle, t } from '../core/l10n';
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
    // VS Code's bundle for the core's t(), the one translator of the core and this skin.
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
    const tree = this.own(new RowsTreeProvider((): TreeRow[] => keyTreeRows(this.session.snapshot)));
    // A click on a model copies its id: people type these into SillyTavern, `[官Max]` and all.
    const modelsTree = this.own(
      new RowsTreeProvider(
        () => {
          const snap = this.session.snapshot;
          return snap.signedIn ? modelTreeRows(snap) : [];
        },
        (row) => ({ command: COMMAND_IDS.copyModelId, title: t('Copy Model ID'), arguments: [row.model] }),
      ),
    );
    const treeView = this.own(vscode.window.createTreeView(KEYS_VIEW_ID, { treeDataProvider: tree }));
    this.statusBar = this.own(new StatusBarController(COMMAND_IDS.statusBarMenu));

    const render = throttle(() => {
      const snap = this.session.snapshot;
      tree.refresh();
      modelsTree.refresh();
      this.statusBar.render(statusOf(snap));
      treeView.description =
        snap.proxy.state === 'running'
          ? t('proxy on :{0}', snap.proxy.port ?? '')
          : snap.peer
            ? t('proxy on :{0} (other window)', snap.peer.port)
            : snap.signedIn
              ? t('proxy stopped')
              : undefined;
      this.updateContextKeys(snap);
    }, RENDER_INTERVAL_MS);
    const renderNow = () => {
      render();
      render.flush();
    };
    this.disposables.push({ dispose: () => render.dispose() });
    this.renderNow = renderNow;

    this.disposables.push(
      // 'state' (a login, the proxy started) at once; 'activity' (requests, counters) throttled.
      this.session.onDidChangeSnapshot((change) => (change === 'state' ? renderNow() : render())),
      this.session.onDidFindLowBalance((keys) => this.handlers.warnLowBalance(keys)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('daidai')) void this.onSettingsChanged();
        if (e.affectsConfiguration('http')) this.session.applyNetwork(readVscodeNetwork());
      }),
    );

    // The dashboard posts on its own, throttled, while it is visible.
    this.dashboard = this.own(new DashboardPanel(context.extensionUri, this.session, { exportUsage: () => this.handlers.exportUsage() }));
    // An open dashboard comes back after a window reload (activation event onWebviewPanel:daidai.dashboard).
    this.own(vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, this.dashboard.serializer()));
    this.own(vscode.window.createTreeView(MODELS_VIEW_ID, { treeDataProvider: modelsTree }));

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
            logger.error(t('Command {0} failed: {1}', COMMAND_IDS[name], errorMessage(err)));
            void vscode.window.showErrorMessage(`DaiDai: ${errorMessage(err)}`);
            return undefined;
          }
        }),
      );
    }

    renderNow();
    const ready = h.restoreOnStartup().catch((err) => logger.error(t('Startup login failed: {0}', errorMessage(err))));

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

  private status(): DaiDaiStatus {
    this.renderNow();
    const snap = this.session.snapshot;
    const shown = this.statusBar.shown ?? statusOf(snap);
    return {
      loggedIn: snap.signedIn,
      demo: snap.demo,
      email: snap.account.email,
      proxy: snap.proxy,
      proxyUrl: snap.proxyUrl,
      keys: snap.pool.counts,
      requests: snap.requests,
      statusBar: { text: shown.text, tooltip: shown.tooltip, kind: shown.kind },
      contextKeys: { ...this.contextKeys },
      dashboardOpen: this.dashboard?.isOpen ?? false,
    };
  }

  private updateContextKeys(snap: SessionSnapshot): void {
    const next = { 'daidai.loggedIn': snap.signedIn, 'daidai.proxyRunning': snap.proxy.state === 'running' };
    for (const key of Object.keys(next) as Array<keyof typeof next>) {
      if (this.contextKeys[key] === next[key]) continue;
      this.contextKeys[key] = next[key];
      void vscode.commands.executeCommand('setContext', key, next[key]);
    }
  }

  private async onSettingsChanged(): Promise<void> {
    const outcome = await this.session.applySettings(readVscodeSettings());
    if (outcome.restartError) {
      void vscode.window.showErrorMessage(t('The DaiDai proxy stopped: restarting it with the new settings failed: {0}', outcome.restartError));
    } else if (outcome.restartedFor.length) {
      void vscode.window.showInformationMessage(t('DaiDai proxy restarted to apply {0}: it now runs at {1}.', outcome.restartedFor.join(', '), this.session.snapshot.proxyUrl));
    }
    this.renderNow();
  }
}
