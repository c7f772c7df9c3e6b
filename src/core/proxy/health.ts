// GET /health: the same facts as the status bar, as JSON. Never a key: ids are masked.
import type { PoolSnapshot } from '../pool/types';
import type { HealthRouting } from '../routing/router';
import type { ProxyStatus } from './types';

export type HealthStatus = 'ok' | 'degraded' | 'down' | 'no-keys' | 'gateway-unreachable';

/** What /health says about the proxy itself: how another window knows the port is served by one of ours. */
export const HEALTH_NAME = 'daidai-aggregator';

export interface HealthInfo {
  version?: string;
  /** emailHash of the account served (never the e-mail itself). */
  account?: string;
  /** Set while the gateway is considered down. */
  gateway?: { reason: string; since: number };
  /** Model resolution and session affinity (RequestRouter.health()). */
  routing?: HealthRouting;
}


/** One key as /health shows it: masked id, state, how many models it serves, pairs refused. */
export interface HealthKey {
  id: string;
  state: string;
  /** Models the key's list names; null while the list is unknown ("serves anything"). */
  models: number | null;
  /** (key, model) pairs refused right now. */
  excludedModels: number;
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
  excludedPairs: number;
  /** When the next key becomes usable (ISO), when none is usable now. */
  nextUsableAt?: string;
  /** Why and since when the gateway is considered down (with status 'gateway-unreachable'). */
  gateway?: { reason: string; since: string };
  routing?: HealthRouting;
  perKey: HealthKey[];
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
    status: info.gateway ? 'gateway-unreachable' : healthStatus(snapshot),
    uptimeSeconds: status.startedAt ? Math.round((now - status.startedAt) / 1000) : 0,
    url: status.url,
    keys: snapshot.counts,
    nextKey: snapshot.nextKeyId,
    lastKey: snapshot.lastKeyId,
    requests: snapshot.totals,
    poolResets: snapshot.resets,
    excludedPairs: snapshot.excludedPairs,
    nextUsableAt: snapshot.nextUsableAt !== undefined ? new Date(snapshot.nextUsableAt).toISOString() : undefined,
    gateway: info.gateway && { reason: info.gateway.reason, since: new Date(info.gateway.since).toISOString() },
    routing: info.routing,
    perKey: snapshot.keys.map((k) => ({
      id: k.id,
      state: k.manuallyDisabled ? 'disabled-by-you' : k.state,
      models: k.models ? k.models.length : null,
      excludedModels: k.exclusions.length,
    })),
  };
}
