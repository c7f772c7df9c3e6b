// The product's settings (`daidai.*` in VS Code, flags in the CLI) as one typed, validated snapshot.
// Reading goes through an injected getter so this file runs anywhere; the VS Code reader is in
// src/vscode/services.ts, the CLI's in src/cli.ts.
import { defaultProxyOptions, type ProxyOptions } from '../proxy/types';
import type { RoutingOptions } from '../routing/router';

export interface DaiDaiSettings {
  proxyPort: number;
  proxyHost: string;
  proxyAutoStart: boolean;
  proxyAccessToken: string;
  proxyAllowedOrigins: string[];
  platformBaseUrl: string;
  upstreamBaseUrl: string;
  maxRetries: number;
  failureThreshold: number;
  /** Longest wait for a key cooling down after a 429 when no other key can answer; 0 = never wait. */
  cooldownWaitSeconds: number;
  /** How long a (key, model) pair refused for lack of a channel (无可用渠道) stays excluded. */
  modelExclusionMinutes: number;
  /** 0 turns the timer off. */
  refreshMinutes: number;
  /** ¥; 0 turns the warning off. */
  lowBalance: number;
  /** Requested model id → id to send (`daidai.models.aliases`; the CLI's `--model-alias`). */
  modelAliases: Record<string, string>;
  /** A model the keys do not list is sent as the newest of its family they do (opus, sonnet, gpt-5…). */
  familyFallback: boolean;
  /** A conversation's turns go to one key while it works (prompt caches live upstream per key). */
  sessionAffinity: boolean;
  /** A conversation idle this long starts over on the next key. */
  sessionIdleMinutes: number;
  /** Longest wait for the gateway's answer headers on one attempt, then the next key. */
  headersTimeoutSeconds: number;
  /** Longest silence of the gateway between two chunks of an answer, then the answer ends with an error. */
  bodyTimeoutSeconds: number;
}

/**
 * Every default of the product, in one place: the extension's manifest is checked against it
 * (test/unit/vscode.manifest.test.ts), the CLI's flags default to it, and the proxy's own defaults
 * are the same values.
 */
export const defaultSettings: DaiDaiSettings = {
  proxyPort: defaultProxyOptions.port,
  proxyHost: defaultProxyOptions.host,
  proxyAutoStart: false,
  proxyAccessToken: '',
  proxyAllowedOrigins: [],
  platformBaseUrl: 'https://user.daidaibird.top',
  upstreamBaseUrl: defaultProxyOptions.upstreamBaseUrl,
  maxRetries: defaultProxyOptions.maxRetries,
  failureThreshold: 3,
  cooldownWaitSeconds: defaultProxyOptions.cooldownWaitMs / 1000,
  modelExclusionMinutes: 10,
  refreshMinutes: 5,
  lowBalance: 1,
  modelAliases: {},
  familyFallback: true,
  sessionAffinity: true,
  sessionIdleMinutes: 60,
  headersTimeoutSeconds: defaultProxyOptions.headersTimeoutMs / 1000,
  bodyTimeoutSeconds: defaultProxyOptions.bodyTimeoutMs / 1000,
};

/** Bounds of the timeouts (seconds): under 5 s a busy gateway fails every key; past these a client waits for nothing. */
export const TIMEOUT_BOUNDS = { headers: [5, 1800], body: [5, 3600] } as const;

/** Setting ids (under `daidai.`) for each field: messages name the setting the user changed. */
export const settingIds: Record<keyof DaiDaiSettings, string> = {
  proxyPort: 'proxy.port',
  proxyHost: 'proxy.host',
  proxyAutoStart: 'proxy.autoStart',
  proxyAccessToken: 'proxy.accessToken',
  proxyAllowedOrigins: 'proxy.allowedOrigins',
  platformBaseUrl: 'platform.baseUrl',
  upstreamBaseUrl: 'upstream.baseUrl',
  maxRetries: 'failover.maxRetries',
  failureThreshold: 'failover.failureThreshold',
  cooldownWaitSeconds: 'failover.cooldownWaitSeconds',
  modelExclusionMinutes: 'failover.modelExclusionMinutes',
  refreshMinutes: 'balances.refreshMinutes',
  lowBalance: 'balances.lowThreshold',
  modelAliases: 'models.aliases',
  familyFallback: 'models.familyFallback',
  sessionAffinity: 'routing.sessionAffinity',
  sessionIdleMinutes: 'routing.sessionIdleMinutes',
  headersTimeoutSeconds: 'upstream.headersTimeoutSeconds',
  bodyTimeoutSeconds: 'upstream.bodyTimeoutSeconds',
};

export type SettingGetter = (id: string) => unknown;

/** Reads every setting, replacing missing or malformed values by the defaults. */
export function readSettings(get: SettingGetter): DaiDaiSettings {
  const d = defaultSettings;
  const id = settingIds;
  return {
    proxyPort: int(get(id.proxyPort), d.proxyPort, 0, 65535),
    proxyHost: str(get(id.proxyHost)) || d.proxyHost,
    proxyAutoStart: typeof get(id.proxyAutoStart) === 'boolean' ? (get(id.proxyAutoStart) as boolean) : d.proxyAutoStart,
    proxyAccessToken: str(get(id.proxyAccessToken)),
    proxyAllowedOrigins: strings(get(id.proxyAllowedOrigins)),
    platformBaseUrl: url(get(id.platformBaseUrl)) ?? d.platformBaseUrl,
    upstreamBaseUrl: url(get(id.upstreamBaseUrl)) ?? d.upstreamBaseUrl,
    maxRetries: int(get(id.maxRetries), d.maxRetries, 0, 20),
    failureThreshold: int(get(id.failureThreshold), d.failureThreshold, 1, 100),
    cooldownWaitSeconds: num(get(id.cooldownWaitSeconds), d.cooldownWaitSeconds, 0, 60),
    modelExclusionMinutes: num(get(id.modelExclusionMinutes), d.modelExclusionMinutes, 1, 24 * 60),
    refreshMinutes: num(get(id.refreshMinutes), d.refreshMinutes, 0, 24 * 60),
    lowBalance: num(get(id.lowBalance), d.lowBalance, 0, 1e9),
    modelAliases: aliases(get(id.modelAliases)),
    familyFallback: bool(get(id.familyFallback), d.familyFallback),
    sessionAffinity: bool(get(id.sessionAffinity), d.sessionAffinity),
    sessionIdleMinutes: num(get(id.sessionIdleMinutes), d.sessionIdleMinutes, 1, 24 * 60),
    headersTimeoutSeconds: num(get(id.headersTimeoutSeconds), d.headersTimeoutSeconds, ...TIMEOUT_BOUNDS.headers),
    bodyTimeoutSeconds: num(get(id.bodyTimeoutSeconds), d.bodyTimeoutSeconds, ...TIMEOUT_BOUNDS.body),
  };
}

/** The routing part of the settings (model resolution, session affinity), as the proxy's router takes it. */
export function routingOptionsOf(s: DaiDaiSettings): RoutingOptions {
  return { aliases: s.modelAliases, familyFallback: s.familyFallback, sessionAffinity: s.sessionAffinity, sessionIdleMinutes: s.sessionIdleMinutes };
}

function bool(v: unknown, def: boolean): boolean {
  return typeof v === 'boolean' ? v : def;
}

/** `{ "from": "to" }` with string values only; ids bounded (they end up in request bodies and log lines). */
function aliases(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return out;
  for (const [from, to] of Object.entries(v as Record<string, unknown>)) {
    if (typeof to !== 'string') continue;
    const f = from.trim();
    const t = to.trim();
    if (f && t && f.length <= 256 && t.length <= 256) out[f] = t;
  }
  return out;
}

export function proxyOptionsOf(s: DaiDaiSettings, upstreamBaseUrl = s.upstreamBaseUrl): Partial<ProxyOptions> {
  return {
    host: s.proxyHost,
    port: s.proxyPort,
    upstreamBaseUrl,
    maxRetries: s.maxRetries,
    cooldownWaitMs: Math.round(s.cooldownWaitSeconds * 1000),
    accessToken: s.proxyAccessToken,
    allowedOrigins: s.proxyAllowedOrigins,
    headersTimeoutMs: Math.round(s.headersTimeoutSeconds * 1000),
    bodyTimeoutMs: Math.round(s.bodyTimeoutSeconds * 1000),
  };
}

/** Fields whose value differs between two snapshots. */
export function changedSettings(a: DaiDaiSettings, b: DaiDaiSettings): Array<keyof DaiDaiSettings> {
  return (Object.keys(a) as Array<keyof DaiDaiSettings>).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function str(v: unknown): string {
  return typeof v === 'string' ? v.trim() : '';
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '').map((x) => x.trim()) : [];
}

function num(v: unknown, def: number, min: number, max: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? Math.min(max, Math.max(min, n)) : def;
}

function int(v: unknown, def: number, min: number, max: number): number {
  return Math.round(num(v, def, min, max));
}

/** An http(s) URL without trailing slashes, or undefined. */
function url(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  try {
    const u = new URL(s);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  } catch {
    return undefined;
  }
  return s.replace(/\/+$/, '');
}

/** The changed settings that restart a running proxy, as setting ids (the demo's gateway is its own). */
export function restartReasons(changed: ReadonlyArray<keyof DaiDaiSettings>, demo: boolean): string[] {
  const proxyKeys: ReadonlyArray<keyof DaiDaiSettings> = ['proxyHost', 'proxyPort', 'upstreamBaseUrl'];
  return changed.filter((k) => proxyKeys.includes(k) && !(k === 'upstreamBaseUrl' && demo)).map((k) => `daidai.${settingIds[k]}`);
}
