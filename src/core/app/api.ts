// What activate() returns: a read-only window on the extension's state, for the integration
// suite (and any extension that wants to know whether the proxy runs). Holds no secret.
import type { PoolCounts } from '../pool/types';
import type { RequestCounts, StatusKind, TreeRow } from '../present';
import type { ProxyStatus } from '../proxy/types';
import type { RecentRequest } from '../usage/types';

export interface DaiDaiStatus {
  loggedIn: boolean;
  demo: boolean;
  email?: string;
  proxy: ProxyStatus;
  /** What "Copy Proxy URL" copies. */
  proxyUrl: string;
  keys: PoolCounts;
  /** Client requests the proxy finished, served (status < 400) and failed. */
  requests: RequestCounts;
  /** What the status-bar item shows right now. */
  statusBar: { text: string; tooltip: string; kind: StatusKind };
  contextKeys: { 'daidai.loggedIn': boolean; 'daidai.proxyRunning': boolean };
  /** Whether the dashboard panel is open (also when VS Code brought it back after a reload). */
  dashboardOpen: boolean;
}

export interface DaiDaiApi {
  /** Resolves when the startup login with stored credentials (and autoStart) is done, whatever its outcome. */
  readonly ready: Promise<void>;
  /** The rows the "Keys" tree shows (account row first, then one per key). */
  getTreeRows(): TreeRow[];
  /** The state behind the status bar and context keys, with views re-rendered first. */
  getStatus(): DaiDaiStatus;
  /** The usage history's recent requests, oldest first (masked keys only). */
  getRecentRequests(): RecentRequest[];
}
