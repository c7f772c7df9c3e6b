// `DaiDai: Open Dashboard`: one webview panel that draws the core's dashboardModel (the same sums
// as `daidai-proxy usage`). Every word goes through the core's t() (the model's and the page's
// own below) and is posted with the numbers; the page (media/dashboard/) only places them. No
// retainContextWhenHidden: the page keeps its choices with setState and asks for a fresh model
// when it is shown again.
import * as vscode from 'vscode';
import { dashboardOf, type SnapshotSource } from '../core/app/views';
import { t } from '../core/l10n';
import type { DashboardModel } from '../core/present';
import type { Disposable } from '../core/util/event';
import { DASHBOARD_MEDIA, dashboardHtml, DashboardUpdates } from './dashboardWebview';

export const DASHBOARD_VIEW_TYPE = 'daidai.dashboard';

/** Every word the page shows besides the model's own texts. */
export interface DashboardText {
  title: string;
  spend: string;
  tokens: string;
  input: string;
  output: string;
  requests: string;
  failures: string;
  balance: string;
  noBalance: string;
  rate: string;
  basisAccount: string;
  basisEstimate: string;
  byModel: string;
  byKey: string;
  model: string;
  key: string;
  share: string;
  accountFigure: string;
  differs: string;
  unpricedNote: string;
  cacheHit: string;
  cacheNote: string;
  cacheAtLeastNote: string;
  requestedAs: string;
  spendPerHour: string;
  spendPerDay: string;
  live: string;
  requestsPerMinute: string;
  latencyP50: string;
  latencyP95: string;
  errorsByReason: string;
  noErrors: string;
  partial: string;
  perMinute: string;
  pool: string;
  state: string;
  todayCost: string;
  noKeys: string;
  recent: string;
  time: string;
  route: string;
  status: string;
  attempts: string;
  duration: string;
  cost: string;
  allModels: string;
  allKeys: string;
  allStatuses: string;
  failedOnly: string;
  noRequests: string;
  noMatch: string;
  shown: string;
  exportUsage: string;
  updated: string;
  stream: string;
}

export function dashboardText(): DashboardText {
  return {
    title: t('DaiDai Dashboard'),
    spend: t('Spend'),
    tokens: t('Tokens'),
    input: t('Input'),
    output: t('Output'),
    requests: t('Requests'),
    failures: t('Failures'),
    balance: t('Balance'),
    noBalance: t('No balance known yet.'),
    rate: t('Recent rate'),
    basisAccount: t("from the account's own figures"),
    basisEstimate: t('estimated from the prices'),
    byModel: t('By model'),
    byKey: t('By key'),
    model: t('Model'),
    key: t('Key'),
    share: t('Share'),
    accountFigure: t('Account says'),
    differs: t('The estimate and the account differ'),
    unpricedNote: t('* some requests have no known price and are left out of the sum.'),
    cacheHit: t('Cache hit'),
    cacheNote: t('Cache hit: the share of input tokens read from a prompt cache. The price list has no cache price, so cache tokens are estimated at the input price.'),
    cacheAtLeastNote: t('≥: part of the cache tokens was recorded before reads and writes were kept apart; those are not counted as hits.'),
    requestedAs: t('Requested as {0}', '{0}'),
    spendPerHour: t('Spend per hour'),
    spendPerDay: t('Spend per day'),
    live: t('Live'),
    requestsPerMinute: t('Requests per minute'),
    latencyP50: t('Latency p50'),
    latencyP95: t('Latency p95'),
    errorsByReason: t('Errors by reason'),
    noErrors: t('No errors.'),
    partial: t('The last 1,000 requests do not reach back this far: older minutes are incomplete.'),
    perMinute: t('Requests and failures per minute'),
    pool: t('Keys in the pool'),
    state: t('State'),
    todayCost: t('Today'),
    noKeys: t('No keys: log in or try the demo account.'),
    recent: t('Recent requests'),
    time: t('Time'),
    route: t('Route'),
    status: t('Status'),
    attempts: t('Attempts'),
    duration: t('Duration'),
    cost: t('Cost'),
    allModels: t('All models'),
    allKeys: t('All keys'),
    allStatuses: t('All statuses'),
    failedOnly: t('Failed only'),
    noRequests: t('No requests yet: point a client at the proxy and they show up here.'),
    noMatch: t('No request matches the filters.'),
    shown: t('{0} of {1} shown', '{0}', '{1}'),
    exportUsage: t('Export Usage…'),
    updated: t('Updated {0}', '{0}'),
    stream: t('stream'),
  };
}

/** What the page is sent: the numbers and the words. */
export interface DashboardMessage {
  type: 'update';
  model: DashboardModel;
  text: DashboardText;
}

export class DashboardPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private updates?: DashboardUpdates;
  private panelSubs: vscode.Disposable[] = [];
  private readonly subs: Disposable[] = [];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly session: SnapshotSource,
    private readonly actions: { exportUsage(): unknown },
  ) {
    // The session's one event covers the usage history too (also after a login swapped it).
    this.subs.push(this.session.onDidChangeSnapshot(() => this.changed()));
  }

  get isOpen(): boolean {
    return this.panel !== undefined;
  }

  /** Opens the panel, or brings it forward. */
  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, t('DaiDai Dashboard'), vscode.ViewColumn.Active, this.webviewOptions());
    this.attach(panel);
  }

  /**
   * The panel VS Code kept open across a window reload (registerWebviewPanelSerializer): it gets
   * a fresh page, which takes its filters back from its own saved state and asks for the numbers.
   */
  restore(panel: vscode.WebviewPanel): void {
    if (this.panel) {
      panel.dispose(); // one dashboard is enough
      return;
    }
    panel.webview.options = this.webviewOptions();
    this.attach(panel);
  }

  /** Serializes nothing of its own: the page keeps its choices with setState. */
  serializer(): vscode.WebviewPanelSerializer {
    return { deserializeWebviewPanel: async (panel) => this.restore(panel) };
  }

  private webviewOptions(): vscode.WebviewOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, ...DASHBOARD_MEDIA)] };
  }

  /** Something the page shows changed: posts, throttled, only while the panel is visible. */
  changed(): void {
    this.updates?.changed();
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'daidai.svg');
    const webview = panel.webview;
    const media = vscode.Uri.joinPath(this.extensionUri, ...DASHBOARD_MEDIA);
    webview.html = dashboardHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'dashboard.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'dashboard.css')).toString(),
      lang: vscode.env.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en',
      title: t('DaiDai Dashboard'),
    });
    const updates = new DashboardUpdates(() => this.post(), { visible: panel.visible });
    this.updates = updates;
    this.panelSubs = [
      panel.onDidChangeViewState((e) => updates.setVisible(e.webviewPanel.visible)),
      webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.detach()),
    ];
  }

  private onMessage(m: unknown): void {
    const type = m && typeof m === 'object' ? (m as { type?: unknown }).type : undefined;
    // The page is untrusted input: only these two messages mean anything.
    if (type === 'ready') this.updates?.now();
    else if (type === 'exportUsage') void this.actions.exportUsage();
  }

  private post(): void {
    const panel = this.panel;
    if (!panel) return;
    const message: DashboardMessage = { type: 'update', model: dashboardOf(this.session.snapshot), text: dashboardText() };
    void panel.webview.postMessage(message);
  }

  private detach(): void {
    for (const d of this.panelSubs.splice(0)) d.dispose();
    this.updates?.dispose();
    this.updates = undefined;
    this.panel = undefined;
  }

  dispose(): void {
    this.panel?.dispose();
    this.detach();
    for (const d of this.subs.splice(0)) d.dispose();
  }
}
