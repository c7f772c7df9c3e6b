// Another window's proxy (or a `daidai-proxy serve`) on the port this window wanted: while it
// runs, this window uses it and reads its /health every few seconds; when it goes away and this
// window wants a proxy, this window takes the port over.
import { t } from '../l10n';
import { loopbackHost, urlHost } from '../util/hosts';
import { probePeer, type PeerHealth } from '../proxy/peer';
import { ProxyStartError } from '../proxy/server';
import type { ProxyOptions, ProxyStatus } from '../proxy/types';
import { errorMessage } from '../util/mask';
import type { Logger } from '../util/log';

/** Our own proxy, run by another window (or a `daidai-proxy serve`), found on the port we wanted. */
export interface PeerProxy {
  /** `http://127.0.0.1:PORT/v1`, what clients use. */
  url: string;
  port: number;
  /** Its latest /health (no key in it). */
  health: PeerHealth;
  /** Epoch ms since this window uses it. */
  since: number;
}

/** startProxy() with `peers: 'refuse'` found one of our proxies on the port. */
export class PeerProxyRunning extends Error {
  constructor(readonly peer: PeerProxy) {
    super(t('A DaiDai proxy already serves port {0} ({1}).', peer.port, peer.url));
    this.name = 'PeerProxyRunning';
  }
}

/** Polls in a row that do not find our proxy (a timeout, another program) before a window stops using it. */
const PEER_MISSES_TO_LEAVE = 3;

/** How often a window that uses another window's proxy reads its /health and tries to take the port over. */
export const PEER_POLL_MS = 3_000;

/** What the watcher uses of the proxy server. */
export interface PeerWatcherProxy {
  readonly options: Pick<ProxyOptions, 'host' | 'port' | 'accessToken'>;
  start(): Promise<ProxyStatus>;
}

export interface PeerWatcherDeps {
  proxy: PeerWatcherProxy;
  logger: Logger;
  /** 'share' (the extension) uses the other proxy; 'refuse' (the CLI) throws PeerProxyRunning. */
  peers: 'share' | 'refuse';
  pollMs?: number;
  /** The peer came, changed or went. */
  changed(): void;
}

export class PeerWatcher {
  private current?: PeerProxy;
  private timer?: NodeJS.Timeout;
  /** Polls in a row whose answer was not our /health. */
  private misses = 0;
  /** The user (or autoStart) wants a proxy: when the other window's goes away, this one takes the port over. */
  wantsProxy = false;
  private disposed = false;

  constructor(private readonly deps: PeerWatcherDeps) {}

  get peer(): PeerProxy | undefined {
    return this.current;
  }

  /** Asks the port's holder whether it is one of ours; if so, uses it. */
  async find(): Promise<boolean> {
    const { host, port } = this.address();
    if (port === 0) return false;
    const probe = await probePeer(host, port, { timeoutMs: 1000, token: this.deps.proxy.options.accessToken });
    if (probe.kind !== 'daidai') return false;
    const peer: PeerProxy = { url: `http://${urlHost(host)}:${port}/v1`, port, health: probe.health, since: this.current?.since ?? Date.now() };
    if (this.deps.peers === 'refuse') throw new PeerProxyRunning(peer);
    const first = !this.current;
    this.current = peer;
    if (first) this.deps.logger.info(t('Port {0} is served by another DaiDai proxy (another window or daidai-proxy): using it; this window takes over when it stops.', port));
    this.schedule();
    this.deps.changed();
    return true;
  }

  /** Stops using (and watching) the other window's proxy. */
  leave(): void {
    this.misses = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.current) return;
    this.current = undefined;
    if (!this.disposed) this.deps.changed();
  }

  dispose(): void {
    this.leave();
    this.disposed = true;
  }

  /** The address to ask for the proxy on our port: a wildcard host is reached on loopback. */
  private address(): { host: string; port: number } {
    const o = this.deps.proxy.options;
    return { host: loopbackHost(o.host), port: o.port };
  }

  private schedule(): void {
    if (this.timer || this.disposed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.deps.pollMs ?? PEER_POLL_MS);
    this.timer.unref?.();
  }

  /** Reads the other proxy's /health; when it is gone, takes the port over if a proxy is wanted here. */
  private async poll(): Promise<void> {
    if (!this.current || this.disposed) return;
    const { host, port } = this.address();
    const probe = await probePeer(host, port, { timeoutMs: 2000, token: this.deps.proxy.options.accessToken });
    if (!this.current || this.disposed) return;
    if (probe.kind === 'daidai') {
      this.misses = 0;
      this.current = { ...this.current, health: probe.health };
      this.deps.changed();
      this.schedule();
      return;
    }
    // A busy machine can make the other proxy's /health slow: one miss is not a verdict.
    if (probe.kind === 'other' && ++this.misses < PEER_MISSES_TO_LEAVE) {
      this.schedule();
      return;
    }
    if (probe.kind === 'none' && this.wantsProxy) {
      try {
        await this.deps.proxy.start();
        this.deps.logger.info(t('The other DaiDai proxy on port {0} stopped: this window took it over.', port));
        this.leave();
        return;
      } catch (err) {
        // Another window may have been quicker: if it is ours, keep using it.
        if (err instanceof ProxyStartError && err.code === 'EADDRINUSE' && (await this.find())) return;
        this.deps.logger.warn(t('Taking over port {0} failed: {1}', port, errorMessage(err)));
      }
    }
    if (probe.kind === 'other') this.deps.logger.warn(t('Port {0} is now held by another program, not a DaiDai proxy.', port));
    this.leave();
  }
}
