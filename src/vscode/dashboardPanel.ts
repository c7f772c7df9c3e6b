// `DaiDai: Open Dashboard`: one webview panel that draws the core's dashboardModel (the same sums
// as `daidai-proxy usage`). The extension translates every word and posts it with the numbers;
// the page (media/dashboard/) only places them. No retainContextWhenHidden: the page keeps its
// choices with setState and asks for a fresh model when it is shown again.
import * as vscode from 'vscode';
import type { Session } from '../core/app/session';
import { plainText, dashboardModel, type DashboardModel, type Translate } from '../core/usage';
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
    title: vscode.l10n.t('DaiDai Dashboard'),
    spend: vscode.l10n.t('Spend'),
    tokens: vscode.l10n.t('Tokens'),
    input: vscode.l10n.t('Input'),
    output: vscode.l10n.t('Output'),
    requests: vscode.l10n.t('Requests'),
    failures: vscode.l10n.t('Failures'),
    balance: vscode.l10n.t('Balance'),
    noBalance: vscode.l10n.t('No balance known yet.'),
    rate: vscode.l10n.t('Recent rate'),
    basisAccount: vscode.l10n.t("from the account's own figures"),
    basisEstimate: vscode.l10n.t('estimated from the prices'),
    byModel: vscode.l10n.t('By model'),
    byKey: vscode.l10n.t('By key'),
    model: vscode.l10n.t('Model'),
    key: vscode.l10n.t('Key'),
    share: vscode.l10n.t('Share'),
    accountFigure: vscode.l10n.t('Account says'),
    differs: vscode.l10n.t('The estimate and the account differ'),
    unpricedNote: vscode.l10n.t('* some requests have no known price and are left out of the sum.'),
    spendPerHour: vscode.l10n.t('Spend per hour'),
    spendPerDay: vscode.l10n.t('Spend per day'),
    live: vscode.l10n.t('Live'),
    requestsPerMinute: vscode.l10n.t('Requests per minute'),
    latencyP50: vscode.l10n.t('Latency p50'),
    latencyP95: vscode.l10n.t('Latency p95'),
    errorsByReason: vscode.l10n.t('Errors by reason'),
    noErrors: vscode.l10n.t('No errors.'),
    partial: vscode.l10n.t('The last 1,000 requests do not reach back this far: older minutes are incomplete.'),
    perMinute: vscode.l10n.t('Requests and failures per minute'),
    pool: vscode.l10n.t('Keys in the pool'),
    state: vscode.l10n.t('State'),
    todayCost: vscode.l10n.t('Today'),
    noKeys: vscode.l10n.t('No keys: log in or try the demo account.'),
    recent: vscode.l10n.t('Recent requests'),
    time: vscode.l10n.t('Time'),
    route: vscode.l10n.t('Route'),
    status: vscode.l10n.t('Status'),
    attempts: vscode.l10n.t('Attempts'),
    duration: vscode.l10n.t('Duration'),
    cost: vscode.l10n.t('Cost'),
    allModels: vscode.l10n.t('All models'),
    allKeys: vscode.l10n.t('All keys'),
    allStatuses: vscode.l10n.t('All statuses'),
    failedOnly: vscode.l10n.t('Failed only'),
    noRequests: vscode.l10n.t('No requests yet: point a client at the proxy and they show up here.'),
    noMatch: vscode.l10n.t('No request matches the filters.'),
    shown: vscode.l10n.t('{0} of {1} shown', '{0}', '{1}'),
    exportUsage: vscode.l10n.t('Export Usage…'),
    updated: vscode.l10n.t('Updated {0}', '{0}'),
    stream: vscode.l10n.t('stream'),
  };
}

/**
 * The words dashboardModel() asks for, each as a literal so the bundle carries them (the usage
 * code receives `t` as a parameter, which the extractor cannot follow). Placeholders are asked
 * for as themselves and filled afterwards.
 */
function usageWords(): Record<string, string> {
  return {
    Today: vscode.l10n.t('Today'),
    'Last 7 days': vscode.l10n.t('Last 7 days'),
    'Last 30 days': vscode.l10n.t('Last 30 days'),
    '(no model)': vscode.l10n.t('(no model)'),
    '(no key)': vscode.l10n.t('(no key)'),
    'more than a year left': vscode.l10n.t('more than a year left'),
    'about {0} days left': vscode.l10n.t('about {0} days left', '{0}'),
    'about a day left': vscode.l10n.t('about a day left'),
    'about {0} hours left': vscode.l10n.t('about {0} hours left', '{0}'),
    'about an hour left': vscode.l10n.t('about an hour left'),
    'less than an hour left': vscode.l10n.t('less than an hour left'),
    '{0}/day': vscode.l10n.t('{0}/day', '{0}'),
    'out of rotation': vscode.l10n.t('out of rotation'),
    healthy: vscode.l10n.t('healthy'),
    'cooling, back {0}': vscode.l10n.t('cooling, back {0}', '{0}'),
    cooling: vscode.l10n.t('cooling'),
    disabled: vscode.l10n.t('disabled'),
    revoked: vscode.l10n.t('revoked'),
    'disabled after failures': vscode.l10n.t('disabled after failures'),
    'balance used up': vscode.l10n.t('balance used up'),
    unknown: vscode.l10n.t('unknown'),
    'HTTP {0}': vscode.l10n.t('HTTP {0}', '{0}'),
    '{0}/min': vscode.l10n.t('{0}/min', '{0}'),
    'price unknown': vscode.l10n.t('price unknown'),
  };
}

export function usageTranslate(): Translate {
  const words = usageWords();
  return (message, ...args) => plainText(words[message] ?? message, ...args);
}

/** What the page is sent: the numbers and the words. */
export interface DashboardMessage {
  type: 'update';
  model: DashboardModel;
  text: DashboardText;
}

/** The model of the dashboard for the session as it is now. */
export function sessionDashboardModel(session: Session, now = Date.now()): DashboardModel {
  const pool = session.pool.snapshot();
  const view = session.accountView;
  let balance = view.signedIn ? view.totalBalance : undefined;
  if (balance === undefined) {
    const known = pool.keys.filter((k) => k.balance !== undefined && Number.isFinite(k.balance));
    if (known.length > 0) balance = known.reduce((s, k) => s + k.balance!, 0);
  }
  return dashboardModel(session.history, {
    now,
    pool,
    ...(balance !== undefined ? { balance } : {}),
    utcOffsetMinutes: -new Date(now).getTimezoneOffset(),
    t: usageTranslate(),
  });
}

export class DashboardPanel implements vscode.Disposable {
  private panel?: vscode.WebviewPanel;
  private updates?: DashboardUpdates;
  private panelSubs: vscode.Disposable[] = [];
  private readonly subs: Disposable[] = [];
  private historySub?: Disposable;
  private watched?: Session['history'];

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly session: Session,
    private readonly actions: { exportUsage(): unknown },
  ) {
    this.watchHistory();
    this.subs.push(
      this.session.onDidChange(() => this.changed()),
      this.session.onDidCountRequest(() => this.changed()),
      this.session.pool.onDidChange(() => this.changed()),
      this.session.onDidChangeInsight(() => this.changed()),
    );
  }

  /** The session swaps its history when the account changes (login, logout): follow the one in use. */
  private watchHistory(): void {
    const history = this.session.history;
    if (this.watched === history) return;
    this.historySub?.dispose();
    this.watched = history;
    this.historySub = history.onDidChange(() => this.changed());
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
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, vscode.l10n.t('DaiDai Dashboard'), vscode.ViewColumn.Active, this.webviewOptions());
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
    this.watchHistory();
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
      title: vscode.l10n.t('DaiDai Dashboard'),
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
    const message: DashboardMessage = { type: 'update', model: sessionDashboardModel(this.session), text: dashboardText() };
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
    this.historySub?.dispose();
    for (const d of this.subs.splice(0)) d.dispose();
  }
}
