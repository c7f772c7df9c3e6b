// The views of a session snapshot, for whatever draws them (the VS Code skin, the dashboard, the
// integration suite): status bar, Keys tree, Models tree and dashboard, each a pure function of
// the snapshot (and the clock).
import { dashboardModel, modelRows, statusModel, treeRows, type DashboardModel, type ModelRow, type StatusModel, type TreeRow } from '../present';
import type { Event } from '../util/event';
import type { SessionChange, SessionSnapshot } from './snapshot';

/** What a view needs of the session: the snapshot and its one change event. */
export interface SnapshotSource {
  readonly snapshot: SessionSnapshot;
  readonly onDidChangeSnapshot: Event<SessionChange>;
}

export function statusOf(s: SessionSnapshot): StatusModel {
  return statusModel(s.proxy, s.pool, {
    signedIn: s.signedIn,
    email: s.account.email,
    demo: s.demo,
    requests: s.requests,
    peer: s.peer && { url: s.peer.url, keys: s.peer.health.keys },
    gateway: s.gateway,
  });
}

export function keyTreeRows(s: SessionSnapshot, now = Date.now()): TreeRow[] {
  return treeRows(s.account, s.pool, { now, demo: s.demo, lowBalance: s.settings.lowBalance });
}

/** The rows of every model the keys serve (the Models view shows them while signed in). */
export function modelTreeRows(s: SessionSnapshot, now = Date.now()): ModelRow[] {
  return modelRows({ models: s.models, pool: s.pool, prices: s.market.prices, availability: s.market.availability, now });
}

/** The dashboard's numbers: the usage history with the balance the account (else the keys) knows. */
export function dashboardOf(s: SessionSnapshot, now = Date.now()): DashboardModel {
  let balance = s.account.signedIn ? s.account.totalBalance : undefined;
  if (balance === undefined) {
    const known = s.pool.keys.filter((k) => k.balance !== undefined && Number.isFinite(k.balance));
    if (known.length > 0) balance = known.reduce((sum, k) => sum + k.balance!, 0);
  }
  return dashboardModel(s.history, {
    now,
    pool: s.pool,
    ...(balance !== undefined ? { balance } : {}),
    utcOffsetMinutes: -new Date(now).getTimezoneOffset(),
  });
}
