// One object per proxy run that keeps an eye on the gateway for the pool: each key's model list,
// background re-checks of keys taken out, and outage detection. The application service builds
// it when the proxy starts and disposes it when the proxy stops.
import { Emitter, type Disposable, type Event } from '../util/event';
import { nullLogger, type Logger } from '../util/log';
import { systemClock, type GatewayClock, type TimerHandle } from './clock';
import { ModelCatalog, type ModelCatalogOptions } from './modelCatalog';
import { KeyRechecker, type KeyRecheckerOptions } from './keyRechecker';
import { OutageDetector, type OutageDetectorOptions } from './outageDetector';
import type { GatewayHealth, GatewayModel, GatewayPoolPort, GatewayProbe, GatewayWatch } from './types';

export interface GatewayMonitorDeps {
  pool: GatewayPoolPort & { readonly size?: number };
  probe: GatewayProbe;
  clock?: GatewayClock;
  logger?: Logger;
  catalog?: Omit<ModelCatalogOptions, 'clock' | 'logger' | 'paused'>;
  recheck?: Omit<KeyRecheckerOptions, 'clock' | 'logger' | 'paused' | 'onRestored'>;
  outage?: Omit<OutageDetectorOptions, 'clock' | 'logger'>;
  /** Pool changes are followed at most this often (default 1 s): the pool changes on every request. */
  syncDelayMs?: number;
}

export class GatewayMonitor implements Disposable {
  readonly catalog: ModelCatalog;
  readonly rechecker: KeyRechecker;
  readonly outageDetector: OutageDetector;
  private readonly pool: GatewayMonitorDeps['pool'];
  private readonly clock: GatewayClock;
  private readonly syncDelayMs: number;
  private syncTimer: TimerHandle | undefined;
  private subscriptions: Disposable[] = [];
  private started = false;
  private disposed = false;
  private readonly changeEmitter = new Emitter<void>();
  /** Fires when the model union or the outage changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(deps: GatewayMonitorDeps) {
    this.pool = deps.pool;
    this.clock = deps.clock ?? systemClock;
    const logger = deps.logger ?? nullLogger;
    this.syncDelayMs = Math.max(0, deps.syncDelayMs ?? 1_000);
    this.outageDetector = new OutageDetector(deps.pool, deps.probe, { ...deps.outage, clock: this.clock, logger });
    this.catalog = new ModelCatalog(deps.pool, deps.probe, {
      ...deps.catalog,
      clock: this.clock,
      logger,
      paused: () => this.outageDetector.outage !== undefined,
    });
    this.rechecker = new KeyRechecker(deps.pool, deps.probe, {
      ...deps.recheck,
      clock: this.clock,
      logger,
      paused: () => this.outageDetector.outage !== undefined,
      // The check's own answer is the key's model list: no second request.
      onRestored: (id, models) => this.catalog.accept(id, models),
    });
    this.subscriptions.push(
      this.catalog.onDidChange(() => this.changeEmitter.fire()),
      this.outageDetector.onDidChange(() => {
        // Back up: the keys whose lists the outage kept unknown are asked at once.
        if (!this.outageDetector.outage) this.catalog.retryNow();
        this.changeEmitter.fire();
      }),
    );
  }

  /** What the forwarder reports each attempt to. */
  get watch(): GatewayWatch {
    return this.outageDetector;
  }

  /** For /health: set only while the gateway is down. */
  health(): GatewayHealth | undefined {
    return this.outageDetector.health();
  }

  /** For the proxy's /v1/models: undefined until some key's list is known (forward as before). */
  models(): GatewayModel[] | undefined {
    return this.catalog.known ? this.catalog.union() : undefined;
  }

  /**
   * With the proxy: fetches every key's model list, starts the re-checks (keys already out,
   * restored from the state store, are checked at once) and follows the pool's changes.
   */
  start(): Promise<void> {
    if (this.started || this.disposed) return Promise.resolve();
    this.started = true;
    this.subscriptions.push(this.pool.onDidChange(() => this.scheduleSync()));
    this.rechecker.start();
    return this.catalog.refresh();
  }

  /** After every key refresh (login, the refresh command, SIGHUP): fetches every key's list again. */
  refreshModels(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.rechecker.sync();
    return this.catalog.refresh();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.syncTimer !== undefined) this.clock.clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.rechecker.dispose();
    this.outageDetector.dispose();
    this.catalog.dispose();
    this.changeEmitter.dispose();
  }

  private scheduleSync(): void {
    if (this.syncTimer !== undefined || this.disposed) return;
    this.syncTimer = this.clock.setTimeout(() => {
      this.syncTimer = undefined;
      if (this.disposed) return;
      this.rechecker.sync();
      this.catalog.sync();
    }, this.syncDelayMs);
  }
}
