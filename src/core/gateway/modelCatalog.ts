// Which models each key serves, from each key's own GET /v1/models (free on the gateway), and
// the union of them all for the proxy's /v1/models. A key whose list could not be fetched stays
// unknown in the pool ("serves anything") and is asked again on a backoff until it answers.
import { Emitter, type Event } from '../util/event';
import { t } from '../l10n';
import { nullLogger, type Logger } from '../util/log';
import { eachLimited, systemClock, withTimeout, type GatewayClock, type TimerHandle } from './clock';
import type { GatewayModel, GatewayPoolPort, GatewayProbe, ProbeResult } from './types';

export interface ModelCatalogOptions {
  /** Lists fetched at once (default 4): a big account must not open dozens of connections. */
  concurrency?: number;
  /** Per key (default 5 s): an unanswered list leaves the key unknown, it does not hold the rest up. */
  timeoutMs?: number;
  /** First retry of the keys whose list is still unknown (default 30 s), doubling up to retryMaxMs (10 min). */
  retryFirstMs?: number;
  retryMaxMs?: number;
  /** While true, due retries are put off (a gateway outage). */
  paused?: () => boolean;
  clock?: GatewayClock;
  logger?: Logger;
}

export const CATALOG_CONCURRENCY = 4;
export const CATALOG_TIMEOUT_MS = 5_000;
export const CATALOG_RETRY_FIRST_MS = 30_000;
export const CATALOG_RETRY_MAX_MS = 10 * 60_000;

type CatalogPool = Pick<GatewayPoolPort, 'leases' | 'setModels'>;

export class ModelCatalog {
  /** Key id → its list as the gateway described it (only keys whose list was fetched). */
  private readonly lists = new Map<string, readonly GatewayModel[]>();
  /** Key ids a fetch was started for, so sync() fetches only keys that joined since. */
  private readonly attempted = new Set<string>();
  /** Per key, the newest fetch: an older one that ends later must not overwrite it. */
  private readonly generation = new Map<string, number>();
  private gen = 0;
  private cachedUnion: GatewayModel[] | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private disposed = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelayMs: number;

  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly clock: GatewayClock;
  private readonly logger: Logger;
  private readonly retryFirstMs: number;
  private readonly retryMaxMs: number;
  private readonly paused: () => boolean;
  private readonly changeEmitter = new Emitter<void>();
  /** Fires when a key's list or the set of keys with a list changed. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(
    private readonly pool: CatalogPool,
    private readonly probe: GatewayProbe,
    opts: ModelCatalogOptions = {},
  ) {
    this.concurrency = Math.max(1, Math.floor(opts.concurrency ?? CATALOG_CONCURRENCY));
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? CATALOG_TIMEOUT_MS);
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? nullLogger;
    this.retryFirstMs = Math.max(1, opts.retryFirstMs ?? CATALOG_RETRY_FIRST_MS);
    this.retryMaxMs = Math.max(this.retryFirstMs, opts.retryMaxMs ?? CATALOG_RETRY_MAX_MS);
    this.retryDelayMs = this.retryFirstMs;
    this.paused = opts.paused ?? (() => false);
  }

  /**
   * Fetches every key's list (on login, on every refresh). A call while one runs is folded into
   * one more run after it, so a refresh that changed the keys is never missed and never doubled.
   */
  refresh(): Promise<void> {
    if (this.disposed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async () => {
      do {
        this.again = false;
        this.prune();
        await this.fetch(this.pool.leases());
      } while (this.again && !this.disposed);
    };
    this.running = run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Fetches one key's list (a key back in rotation). */
  async refreshKey(id: string): Promise<void> {
    if (this.disposed) return;
    const lease = this.pool.leases().find((l) => l.id === id);
    if (lease) await this.fetch([lease]);
  }

  /**
   * Drops keys that left the pool and fetches keys that joined without a refresh. Cheap when
   * nothing moved: call it on pool changes.
   */
  sync(): void {
    if (this.disposed) return;
    const leases = this.pool.leases();
    this.prune(leases);
    const fresh = leases.filter((l) => !this.attempted.has(l.id));
    if (fresh.length) void this.fetch(fresh);
  }

  /** Asks the keys still unknown at once (the gateway is back), and starts their backoff over. */
  retryNow(): void {
    if (this.disposed) return;
    this.clearRetry();
    this.retryDelayMs = this.retryFirstMs;
    const unknown = this.unknownLeases();
    if (unknown.length) void this.fetch(unknown, true);
  }

  /** A list obtained elsewhere (a re-check's 200 carries one). */
  accept(id: string, models: readonly GatewayModel[]): void {
    if (this.disposed) return;
    this.attempted.add(id);
    this.generation.set(id, ++this.gen);
    if (this.store(id, models)) this.changeEmitter.fire();
  }

  /** A key's list as fetched, or undefined while unknown. */
  modelsOf(id: string): readonly GatewayModel[] | undefined {
    return this.lists.get(id);
  }

  /** Whether any key's list is known (the proxy forwards /v1/models as it is until then). */
  get known(): boolean {
    return this.lists.size > 0;
  }

  /**
   * Every model some key serves, each id once, sorted by id (code-unit order, so it does not move
   * with the locale or with the order in which keys answered). Each entry is the gateway's own
   * description from the first key, in pool order, that lists it.
   */
  union(): GatewayModel[] {
    if (this.cachedUnion) return this.cachedUnion;
    const byId = new Map<string, GatewayModel>();
    const order = this.pool.leases().map((l) => l.id);
    for (const id of order) {
      for (const m of this.lists.get(id) ?? []) if (!byId.has(m.id)) byId.set(m.id, m);
    }
    this.cachedUnion = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.cachedUnion;
  }

  dispose(): void {
    this.disposed = true;
    this.clearRetry();
    this.changeEmitter.dispose();
  }

  private async fetch(leases: readonly { id: string; key: string }[], retry = false): Promise<void> {
    let changed = false;
    let failed = 0;
    // Claimed up front, not as each starts: a sync() meanwhile must not fetch a queued key twice.
    for (const l of leases) this.attempted.add(l.id);
    await eachLimited(leases, this.concurrency, async (lease) => {
      if (this.disposed) return;
      const mine = ++this.gen;
      this.generation.set(lease.id, mine);
      const result = await withTimeout<ProbeResult>(
        this.probe.models(lease.key, this.timeoutMs).catch((): ProbeResult => ({ ok: false, reason: 'probe failed' })),
        this.timeoutMs,
        this.clock,
        () => ({ ok: false, reason: 'timeout' }),
      );
      if (this.disposed || this.generation.get(lease.id) !== mine) return;
      // Only a key still in the pool gets a list: it may have left while we waited.
      if (!this.pool.leases().some((l) => l.id === lease.id)) return;
      if (result.ok) {
        if (this.store(lease.id, result.models)) changed = true;
      } else {
        // Keep what an earlier fetch learned: one failed fetch is no news about the key's group.
        failed++;
        this.logger.debug(`model list of ${lease.id} not fetched: ${result.reason}`);
      }
    });
    if (this.disposed) return;
    if (failed) {
      const line = t('model lists: {0} of {1} keys fetched; the others serve any model until their list can be fetched', leases.length - failed, leases.length);
      // A retry that fails again is no news: one line per refresh is enough.
      if (retry) this.logger.debug(line);
      else this.logger.info(line);
    }
    this.afterFetch(retry);
    if (changed) this.changeEmitter.fire();
  }

  /** Keys in the pool whose list is still unknown. */
  private unknownLeases(): { id: string; key: string }[] {
    return this.pool.leases().filter((l) => !this.lists.has(l.id));
  }

  private afterFetch(retry: boolean): void {
    if (this.unknownLeases().length === 0) {
      this.clearRetry();
      this.retryDelayMs = this.retryFirstMs;
      return;
    }
    if (retry) this.clearRetry();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.retryTimer !== undefined || this.disposed) return;
    const delay = this.retryDelayMs;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (this.disposed) return;
      if (this.paused()) return this.scheduleRetry();
      this.retryDelayMs = Math.min(this.retryMaxMs, this.retryDelayMs * 2);
      const unknown = this.unknownLeases();
      if (unknown.length) void this.fetch(unknown, true);
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Keeps the list and tells the pool; true when it differs from what was kept. */
  private store(id: string, models: readonly GatewayModel[]): boolean {
    const before = this.lists.get(id);
    const ids = models.map((m) => m.id);
    this.pool.setModels(id, ids);
    this.lists.set(id, models);
    if (before && sameIds(before, models)) {
      // Same ids: the descriptions may still differ, so the union is rebuilt, but nobody is told.
      this.cachedUnion = undefined;
      return false;
    }
    this.cachedUnion = undefined;
    return true;
  }

  private prune(leases = this.pool.leases()): void {
    const ids = new Set(leases.map((l) => l.id));
    let changed = false;
    for (const id of [...this.attempted]) {
      if (ids.has(id)) continue;
      this.attempted.delete(id);
      this.generation.delete(id);
      if (this.lists.delete(id)) changed = true;
    }
    if (changed) {
      this.cachedUnion = undefined;
      this.changeEmitter.fire();
    }
  }
}

function sameIds(a: readonly GatewayModel[], b: readonly GatewayModel[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].id !== b[i].id) return false;
  return true;
}

/** The OpenAI list shape of GET /v1/models, for the proxy to answer from the union. */
export function modelListBody(models: readonly GatewayModel[]): { object: 'list'; data: GatewayModel[] } {
  return { object: 'list', data: [...models] };
}
