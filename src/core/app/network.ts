// The session's ways out, each with its own connections: the proxy's requests (no cap on
// connections, so requests hanging at the gateway never queue a normal one behind them), the
// background checks and the account calls. All follow the network settings (an HTTP proxy),
// loopback direct.
import { t } from '../l10n';
import { NetDispatcher, networkProblem, sameNetwork, shownProxy, systemCaCertificates, type NetworkSettings } from '../net/dispatchers';
import type { Logger } from '../util/log';

/** Connections kept for the background checks (model lists, re-checks, outage probes): 4 run at a time. */
const CHECK_CONNECTIONS = 8;
/** The platform client's connect timeout, as its own default. */
const PLATFORM_CONNECT_TIMEOUT_MS = 15_000;

export class SessionNetwork {
  readonly proxy: NetDispatcher;
  readonly checks: NetDispatcher;
  readonly platform: NetDispatcher;

  constructor(
    network: NetworkSettings,
    private readonly logger: Logger,
  ) {
    const ca = systemCaCertificates();
    this.proxy = new NetDispatcher({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 }, network, ca);
    this.checks = new NetDispatcher({ keepAliveTimeout: 30_000, connections: CHECK_CONNECTIONS }, network, ca);
    this.platform = new NetDispatcher({ keepAliveTimeout: 30_000, connect: { timeout: PLATFORM_CONNECT_TIMEOUT_MS } }, network, ca);
    this.describe(network);
  }

  /** New network settings: new connections from now on; requests under way finish on the old ones. */
  apply(network: NetworkSettings): void {
    if (sameNetwork(network, this.proxy.settings)) return;
    for (const d of this.all()) d.update(network);
    this.describe(network);
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((d) => d.close().catch(() => undefined)));
  }

  private all(): NetDispatcher[] {
    return [this.proxy, this.checks, this.platform];
  }

  private describe(network: NetworkSettings): void {
    const problem = networkProblem(network);
    if (problem) this.logger.warn(t('The HTTP proxy setting cannot be used ({0}); connecting directly.', problem));
    else if (network.proxy) this.logger.info(t('Connecting to the DaiDai platform and gateway through the HTTP proxy {0}.', shownProxy(network.proxy)));
  }
}
