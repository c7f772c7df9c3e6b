// What the views (tree views, status bar, dashboard, a chat model provider) read of the session:
// one readonly snapshot and one change event, instead of reaching into the pool and the proxy.
import type { DemoDaiDai } from '../demo/types';
import type { GatewayHealth, GatewayModel } from '../gateway';
import type { PoolKeyInput, PoolSnapshot } from '../pool/types';
import type { AccountView, RequestCounts } from '../present';
import type { ProxyStatus } from '../proxy/types';
import type { UsageHistory } from '../usage';
import type { MarketView } from './marketInfo';
import type { PeerProxy } from './peerWatcher';
import type { DaiDaiSettings } from './settings';

/** Where the keys come from: nothing, a DaiDai account, the demo platform, or plain keys (CLI). */
export type AccountSource =
  | { readonly kind: 'signed-out' }
  | { readonly kind: 'account'; readonly email: string }
  | { readonly kind: 'demo'; readonly platform: DemoDaiDai }
  | { readonly kind: 'keys'; readonly origin: string; readonly keys: readonly PoolKeyInput[] };

export type SessionMode = AccountSource['kind'];

/** Why the session signs out: the user's logout here, or a logout in another window. */
export type SignOutReason = 'logout' | 'elsewhere';

/**
 * What moved: 'state' (something a person did or sees at once: login, the proxy started, a peer
 * came) or 'activity' (requests, the pool's counters, model lists, prices, usage). Views re-render
 * at once for the first and throttled for the second.
 */
export type SessionChange = 'state' | 'activity';

export interface SessionSnapshot {
  readonly mode: SessionMode;
  /** Logged in, or serving plain keys: the pool has the keys to use. */
  readonly signedIn: boolean;
  readonly demo: boolean;
  readonly account: AccountView;
  readonly pool: PoolSnapshot;
  readonly proxy: ProxyStatus;
  /** What clients use: the running proxy's URL, else the one the settings will give. */
  readonly proxyUrl: string;
  /** Another window's proxy this window uses. */
  readonly peer?: PeerProxy;
  readonly requests: RequestCounts;
  /** Set while the gateway is considered down. */
  readonly gateway?: GatewayHealth;
  /** Every model some key serves, as the gateway lists it; undefined until a list is known. See `onDidChangeModels`. */
  readonly models: readonly GatewayModel[] | undefined;
  readonly market: MarketView;
  /** The usage history of the account in use. */
  readonly history: UsageHistory;
  readonly settings: DaiDaiSettings;
}
