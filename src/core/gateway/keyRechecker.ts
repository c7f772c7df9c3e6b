// Background re-checks of keys taken out of rotation: a key out after consecutive failures (or
// restored revoked or failing from the state store) gets a free GET /v1/models on a backoff and
// is put back when it answers 200. Nothing here is on a request's path.
import type { PoolLease } from '../pool/types';
import { t as tr } from '../l10n';
import { nullLogger, type Logger } from '../util/log';
import { systemClock, withTimeout, type GatewayClock, type TimerHandle } from './clock';
import type { GatewayModel, GatewayPoolPort, GatewayProbe, ProbeResult } from './types';

export const RECHECK_FIRST_MS = 30_000;
export const RECHECK_MAX_MS = 10 * 60_000;
export const RECHECK_TIMEOUT_MS = 10_000;

export interface KeyRecheckerOptions {
  clock?: GatewayClock;
  logger?: Logger;
  /** Wait before a key's first check after it went out (default 30 s); doubles after each check that fails. */
  firstDelayMs?: number;
  /** Longest wait between two checks of one key (default 10 min). */
  maxDelayMs?: number;
  /** Wait before checking keys already out when start() runs (restored from the state store; default 0). */
  startDelayMs?: number;
  /** Per check (default 10 s). */
  timeoutMs?: number;
  /** While true, due checks are put off (a gateway outage: every check would fail for nothing). */
  paused?: () => boolean;
  /** A key came back; `models` is the list its check returned. */
  onRestored?: (id: string, models: readonly GatewayModel[]) => void;
}

interface Tracked {
  lease: PoolLease;
  /** Wait after the next check, if it fails (doubles each time, up to maxDelayMs). */
  delayMs: number;
  timer?: TimerHandle;
  inFlight: boolean;
  /** When the next check is due (for tests and the views). */
  dueAt: number;
}

type RecheckPool = Pick<GatewayPoolPort, 'recheckCandidates' | 'recheckResult'>;

/** Statuses that are the gateway's verdict on the key itself: it stays out. */
const REFUSED = new Set([401, 402, 403]);

export class KeyRechecker {
  private readonly tracked = new Map<string, Tracked>();
  private running = false;
  private readonly clock: GatewayClock;
  private readonly logger: Logger;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly startDelayMs: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly pool: RecheckPool,
    private readonly probe: GatewayProbe,
    private readonly opts: KeyRecheckerOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? nullLogger;
    this.firstDelayMs = Math.max(1, opts.firstDelayMs ?? RECHECK_FIRST_MS);
    this.maxDelayMs = Math.max(this.firstDelayMs, opts.maxDelayMs ?? RECHECK_MAX_MS);
    this.startDelayMs = Math.max(0, opts.startDelayMs ?? 0);
    this.timeoutMs = Math.max(1, opts.timeoutMs ?? RECHECK_TIMEOUT_MS);
  }

  /** With the proxy: keys already out now (restored ones) are checked soon, not in 30 s. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.sync(this.startDelayMs);
  }

  stop(): void {
    this.running = false;
    for (const t of this.tracked.values()) if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
    this.tracked.clear();
  }

  /**
   * Follows pool.recheckCandidates(): new ones get their first check after `firstDelayMs`, keys
   * no longer out are forgotten (their backoff starts over next time). Call on pool changes.
   */
  sync(firstDelayMs = this.firstDelayMs): void {
    if (!this.running) return;
    const candidates = this.pool.recheckCandidates();
    const ids = new Set<string>();
    for (const lease of candidates) {
      ids.add(lease.id);
      const t = this.tracked.get(lease.id);
      if (t) {
        t.lease = lease;
        continue;
      }
      // 30 s, 60 s, 120 s… after the key went out; a key found out at start is checked first, then 30 s, 60 s…
      const after = firstDelayMs < this.firstDelayMs ? this.firstDelayMs : Math.min(this.maxDelayMs, this.firstDelayMs * 2);
      const fresh: Tracked = { lease, delayMs: after, inFlight: false, dueAt: 0 };
      this.tracked.set(lease.id, fresh);
      this.schedule(fresh, firstDelayMs);
    }
    for (const [id, t] of this.tracked) {
      if (ids.has(id)) continue;
      if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
      this.tracked.delete(id);
    }
  }

  /** When each tracked key's next check is due (epoch ms; in flight: the time it started). */
  nextChecks(): ReadonlyMap<string, number> {
    return new Map([...this.tracked].map(([id, t]) => [id, t.dueAt]));
  }

  dispose(): void {
    this.stop();
  }

  private schedule(t: Tracked, ms: number): void {
    if (t.timer !== undefined) this.clock.clearTimeout(t.timer);
    t.dueAt = this.clock.now() + ms;
    t.timer = this.clock.setTimeout(() => {
      t.timer = undefined;
      void this.check(t);
    }, ms);
  }

  private async check(t: Tracked): Promise<void> {
    if (!this.running || this.tracked.get(t.lease.id) !== t) return;
    if (t.inFlight) {
      // The last check has not ended yet (past our deadline): do not stack a second one.
      this.schedule(t, t.delayMs);
      return;
    }
    if (this.opts.paused?.()) {
      // Not the key's fault: look again soon, without growing its backoff.
      this.schedule(t, this.firstDelayMs);
      return;
    }
    const { id, key } = t.lease;
    // In flight until the request itself ends, not just our deadline: one request per key at a time.
    t.inFlight = true;
    const request = this.probe
      .models(key, this.timeoutMs)
      .catch((): ProbeResult => ({ ok: false, reason: 'probe failed' }))
      .finally(() => {
        t.inFlight = false;
      });
    const result = await withTimeout<ProbeResult>(request, this.timeoutMs, this.clock, () => ({ ok: false, reason: 'timeout' }));
    if (!this.running || this.tracked.get(id) !== t) return;
    // It may have come back meanwhile (a last-resort attempt succeeded): nothing to put back.
    if (!this.pool.recheckCandidates().some((l) => l.id === id)) {
      this.tracked.delete(id);
      return;
    }
    if (result.ok) {
      this.tracked.delete(id);
      this.pool.recheckResult(id, true);
      this.logger.info(tr('key {0} is back in rotation: its re-check (GET /v1/models) answered 200', id));
      this.opts.onRestored?.(id, result.models);
      return;
    }
    if (result.status !== undefined && REFUSED.has(result.status)) {
      this.pool.recheckResult(id, false);
      this.logger.debug(`re-check of ${id}: refused (${result.reason}); it stays out`);
    } else {
      this.logger.debug(`re-check of ${id} failed: ${result.reason}`);
    }
    if (this.tracked.get(id) !== t) return;
    this.schedule(t, t.delayMs);
    t.delayMs = Math.min(this.maxDelayMs, t.delayMs * 2);
  }
}
