// GET /health: the same facts as the status bar, as JSON. Never a key: ids are masked.
import type { PoolSnapshot } from '../pool/types';
import type { ProxyStatus } from './types';

export type HealthStatus = 'ok' | 'degraded' | 'down' | 'no-keys';

/** What /health says about the proxy itself: how another window knows the port is served by one of ours. */
export const HEALTH_NAME = 'daidai-aggregator';

export interface HealthInfo {
  version?: string;
  /** emailHash of the account served (never the e-mail itself). */
  account?: string;
}

export interface HealthReport {
  /** Always HEALTH_NAME. */
  name: typeof HEALTH_NAME;
  version?: string;
  account?: string;
  status: HealthStatus;
  uptimeSeconds: number;
  url?: string;
  keys: PoolSnapshot['counts'];
  nextKey?: string;
  lastKey?: string;
  requests: PoolSnapshot['totals'];
  poolResets: number;
}

export function healthStatus(snapshot: PoolSnapshot): HealthStatus {
  const c = snapshot.counts;
  if (c.total === 0) return 'no-keys';
  if (c.usable === 0) return 'down';
  return c.usable < c.total ? 'degraded' : 'ok';
}

export function healthReport(snapshot: PoolSnapshot, status: ProxyStatus, now = Date.now(), info: HealthInfo = {}): HealthReport {
  return {
    name: HEALTH_NAME,
    version: info.version,
    account: info.account,
    status: healthStatus(snapshot),
    uptimeSeconds: status.startedAt ? Math.round((now - status.startedAt) / 1000) : 0,
    url: status.url,
    keys: snapshot.counts,
    nextKey: snapshot.nextKeyId,
    lastKey: snapshot.lastKeyId,
    requests: snapshot.totals,
    poolResets: snapshot.resets,
  };
}
