// The ways out to the network: one undici dispatcher per kind of traffic, each going through the
// user's HTTP proxy when one is set (VS Code's `http.proxy` / `http.noProxy` /
// `http.proxyStrictSSL`, or the CLI's HTTPS_PROXY / HTTP_PROXY / NO_PROXY), loopback always
// direct. VS Code patches only the global fetch, never a bundled undici, so this is done here.
//
// Why several: the proxy's own requests, the background checks (model lists, re-checks, outage
// probes) and the account calls each get their own connection pool, so that hundreds of client
// requests hanging at the gateway cannot hold the connections a check or a normal request needs.
import * as tls from 'node:tls';
import { Agent, Dispatcher, ProxyAgent } from 'undici';
import { t } from '../l10n';

export interface NetworkSettings {
  /** `http://[user:pass@]host:port` of an HTTP proxy; empty: direct. */
  proxy: string;
  /** Hosts reached directly (`example.com`, `.corp`, `*.corp`, `10.0.0.1`, `host:8080`, `*`). */
  noProxy: readonly string[];
  /** Verify TLS certificates on connections through the proxy (http.proxyStrictSSL, default true). */
  strictSSL: boolean;
}

export const directNetwork: NetworkSettings = { proxy: '', noProxy: [], strictSSL: true };

/**
 * The CLI's network: HTTPS_PROXY (or HTTP_PROXY, lower-case first, as curl reads them) and
 * NO_PROXY. The gateway and the platform are https, so HTTPS_PROXY is the one that matters.
 */
export function networkFromEnv(env: NodeJS.ProcessEnv = process.env): NetworkSettings {
  const pick = (...names: string[]) => names.map((n) => env[n]?.trim()).find((v) => v) ?? '';
  return {
    proxy: pick('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'),
    noProxy: splitNoProxy(pick('no_proxy', 'NO_PROXY')),
    strictSSL: true,
  };
}

/**
 * The extension's network, from VS Code's `http.*` settings (read through `get`): `http.proxy`,
 * else the environment as the CLI reads it (VS Code does the same on Linux); `http.noProxy` added
 * to NO_PROXY; `http.proxyStrictSSL`; `http.proxySupport: off` means direct.
 */
export function networkFromVscode(get: (id: string) => unknown, env: NodeJS.ProcessEnv = process.env): NetworkSettings {
  if (get('proxySupport') === 'off') return directNetwork;
  const fromEnv = networkFromEnv(env);
  const proxy = typeof get('proxy') === 'string' ? (get('proxy') as string).trim() : '';
  const noProxy = [...splitNoProxy(Array.isArray(get('noProxy')) ? (get('noProxy') as string[]) : []), ...fromEnv.noProxy];
  return { proxy: proxy || fromEnv.proxy, noProxy: [...new Set(noProxy)], strictSSL: get('proxyStrictSSL') !== false };
}

/** `a, b c` → ['a', 'b', 'c'] (VS Code's http.noProxy is already a list). */
export function splitNoProxy(value: string | readonly string[] | undefined): string[] {
  const parts = typeof value === 'string' ? value.split(/[,\s]+/) : (value ?? []).flatMap((v) => (typeof v === 'string' ? v.split(/[,\s]+/) : []));
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** The proxy URL as it may be shown: no user or password. */
export function shownProxy(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/** Whether two network settings need different connections. */
export function sameNetwork(a: NetworkSettings, b: NetworkSettings): boolean {
  return a.proxy === b.proxy && a.strictSSL === b.strictSSL && a.noProxy.join(',') === b.noProxy.join(',');
}

/**
 * The certificate authorities to trust: Node's own plus the system's, where Node can read the
 * system store (`tls.getCACertificates('system')`, Node ≥ 22.15 / 23.5). Node 20 cannot: there
 * NODE_EXTRA_CA_CERTS (read by Node itself) is the way to add a company CA. Undefined: Node's default.
 */
export function systemCaCertificates(): string[] | undefined {
  const get = (tls as unknown as { getCACertificates?: (type?: string) => string[] }).getCACertificates;
  if (typeof get !== 'function') return undefined;
  try {
    const system = get('system');
    if (system.length === 0) return undefined;
    return [...new Set([...get('default'), ...system])];
  } catch {
    return undefined;
  }
}

/** Whether a host is this machine: never sent through a proxy. */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** curl's NO_PROXY rules: a name matches itself and its subdomains; `*` matches all; `:port` narrows. */
export function bypassesProxy(hostname: string, port: number, noProxy: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy) {
    let entry = raw.toLowerCase();
    if (entry === '*') return true;
    let entryPort = 0;
    const m = /^(.+):(\d+)$/.exec(entry);
    if (m && !entry.startsWith('[') && m[1].includes(':') === false) {
      entry = m[1];
      entryPort = Number(m[2]);
    } else if (entry.startsWith('[')) {
      const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
      if (b) {
        entry = b[1];
        entryPort = b[2] ? Number(b[2]) : 0;
      }
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443 };

/**
 * A dispatcher that sends each origin directly or through the HTTP proxy, by the settings of the
 * moment. `update()` swaps the connections when the settings change: requests under way finish
 * on the old ones, which are closed after them; the object handed out stays the same.
 */
export class NetDispatcher extends Dispatcher {
  private network: NetworkSettings;
  private direct: Agent;
  private viaProxy: ProxyAgent | undefined;
  /** origin → the dispatcher for it (a Map lookup instead of URL parsing per request). */
  private routes = new Map<string, Dispatcher>();
  private closed = false;

  constructor(
    private readonly agentOptions: Agent.Options,
    network: NetworkSettings = directNetwork,
    /** Trusted CAs (systemCaCertificates()); undefined: Node's default. */
    private readonly ca: string[] | undefined = undefined,
  ) {
    super();
    this.network = network;
    this.direct = this.newDirect();
    this.viaProxy = this.newProxy(network);
  }

  get settings(): NetworkSettings {
    return this.network;
  }

  /** Whether requests to `origin` go through the proxy (tests and the log). */
  proxied(origin: string): boolean {
    return this.route(origin) !== this.direct;
  }

  update(network: NetworkSettings): void {
    if (this.closed || sameNetwork(network, this.network)) return;
    const old = [this.direct, this.viaProxy];
    this.network = network;
    this.direct = this.newDirect();
    this.viaProxy = this.newProxy(network);
    this.routes.clear();
    for (const d of old) if (d) void d.close().catch(() => undefined);
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const origin = typeof options.origin === 'string' ? options.origin : String(options.origin);
    return this.route(origin).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    this.closed = true;
    const done = Promise.all([this.direct.close(), this.viaProxy?.close()]).then(() => undefined);
    if (callback) {
      void done.then(callback, callback);
      return;
    }
    return done;
  }

  override destroy(): Promise<void>;
  override destroy(err: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null, callback: () => void): void;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    this.closed = true;
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all([this.direct.destroy(err), this.viaProxy?.destroy(err)]).then(() => undefined);
    if (callback) {
      void done.then(callback, callback);
      return;
    }
    return done;
  }

  private route(origin: string): Dispatcher {
    let d = this.routes.get(origin);
    if (d) return d;
    d = this.direct;
    if (this.viaProxy) {
      try {
        const u = new URL(origin);
        const port = Number(u.port) || DEFAULT_PORTS[u.protocol] || 0;
        if (!isLoopbackName(u.hostname) && !bypassesProxy(u.hostname, port, this.network.noProxy)) d = this.viaProxy;
      } catch {
        // Not a URL: undici's own error follows, from the direct agent.
      }
    }
    if (this.routes.size > 64) this.routes.clear();
    this.routes.set(origin, d);
    return d;
  }

  private newDirect(): Agent {
    const connect = { ...(this.agentOptions.connect as object | undefined), ...(this.ca ? { ca: this.ca } : {}) };
    return new Agent({ ...this.agentOptions, connect });
  }

  private newProxy(network: NetworkSettings): ProxyAgent | undefined {
    if (!network.proxy) return undefined;
    let uri: URL;
    try {
      uri = new URL(network.proxy.includes('://') ? network.proxy : `http://${network.proxy}`);
    } catch {
      return undefined; // reported by whoever read the setting (networkProblem)
    }
    const tlsOptions = { ...(this.ca ? { ca: this.ca } : {}), ...(network.strictSSL ? {} : { rejectUnauthorized: false }) };
    const { connect, ...rest } = this.agentOptions;
    return new ProxyAgent({
      ...rest,
      uri: uri.href,
      requestTls: { ...(connect as object | undefined), ...tlsOptions },
      proxyTls: { ...(connect as object | undefined), ...tlsOptions },
    });
  }
}

/** Why a proxy setting cannot be used, phrased for the log; undefined when it can (or is empty). */
export function networkProblem(network: NetworkSettings): string | undefined {
  if (!network.proxy) return undefined;
  try {
    const u = new URL(network.proxy.includes('://') ? network.proxy : `http://${network.proxy}`);
    if (!['http:', 'https:', 'socks5:', 'socks:'].includes(u.protocol)) return t('{0} is not an http(s) or socks5 proxy', shownProxy(u.href));
    return undefined;
  } catch {
    return t('the proxy address is not a URL');
  }
}
