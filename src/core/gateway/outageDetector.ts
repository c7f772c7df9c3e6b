// Tells a gateway outage from failing keys. When every attempt in a short window fails the same
// way on several keys, with no success in between, the gateway (or the way to it) is down: the
// failures that made us decide are forgiven, so no key pays for it, and one cheap probe runs on
// a backoff until the gateway answers again.
import type { PoolLease } from '../pool/types';
import { Emitter, type Event } from '../util/event';
import { t } from '../l10n';
import { nullLogger, type Logger } from '../util/log';
import { systemClock, withTimeout, type GatewayClock, type TimerHandle } from './clock';
import { describeSignature, failureFamily } from './signature';
import type { FailureTicket, GatewayHealth, GatewayPoolPort, GatewayProbe, GatewayWatch, ProbeResult } from './types';

export const OUTAGE_WINDOW_MS = 10_000;
/** With one key, "several keys" cannot happen: this many failures of it in the window instead. */
export const OUTAGE_SINGLE_KEY_FAILURES = 3;
export const PROBE_FIRST_MS = 1_000;
export const PROBE_MAX_MS = 30_000;
export const PROBE_TIMEOUT_MS = 5_000;

export interface OutageDetectorOptions {
  clock?: GatewayClock;
  logger?: Logger;
  windowMs?: number;
  /** Distinct keys that must fail the same way (default 2). */
  minKeys?: number;
  /** Failures needed when the pool has a single key (default 3). */
  singleKeyFailures?: number;
  /** First probe this long after the outage starts, doubling (default 1 s → 30 s). */
  probeFirstMs?: number;
  probeMaxMs?: number;
  probeTimeoutMs?: number;
}

type OutagePool = Pick<GatewayPoolPort, 'leases' | 'forgive'> & { readonly size?: number };

interface Recent {
  keyId: string;
  signature: string;
  at: number;
  ticket: FailureTicket | undefined;
}

export class OutageDetector implements GatewayWatch {
  private current: { reason: string; since: number } | undefined;
  /** Failures since the last success, all of one family, oldest first. */
  private recent: Recent[] = [];
  private family: string | undefined;
  private probeTimer: TimerHandle | undefined;
  private probeDelayMs: number;
  private probing = false;
  /** Rotates the probe's key, so one bad key cannot keep an outage going. */
  private probeCursor = 0;
  /** Bumped when an outage ends: a probe answer from an older outage is ignored. */
  private epoch = 0;
  private disposed = false;

  private readonly clock: GatewayClock;
  private readonly logger: Logger;
  private readonly windowMs: number;
  private readonly minKeys: number;
  private readonly singleKeyFailures: number;
  private readonly probeFirstMs: number;
  private readonly probeMaxMs: number;
  private readonly probeTimeoutMs: number;
  private readonly changeEmitter = new Emitter<void>();
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(
    private readonly pool: OutagePool,
    private readonly probe: GatewayProbe,
    opts: OutageDetectorOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
    this.logger = opts.logger ?? nullLogger;
    this.windowMs = Math.max(1, opts.windowMs ?? OUTAGE_WINDOW_MS);
    this.minKeys = Math.max(2, Math.floor(opts.minKeys ?? 2));
    this.singleKeyFailures = Math.max(1, Math.floor(opts.singleKeyFailures ?? OUTAGE_SINGLE_KEY_FAILURES));
    this.probeFirstMs = Math.max(1, opts.probeFirstMs ?? PROBE_FIRST_MS);
    this.probeMaxMs = Math.max(this.probeFirstMs, opts.probeMaxMs ?? PROBE_MAX_MS);
    this.probeTimeoutMs = Math.max(1, opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS);
    this.probeDelayMs = this.probeFirstMs;
  }

  get outage(): { reason: string; since: number } | undefined {
    return this.current;
  }

  /** For /health: set only while the gateway is down. */
  health(): GatewayHealth | undefined {
    const o = this.current;
    return o ? { status: 'gateway-unreachable', reason: o.reason, since: o.since } : undefined;
  }

  recordFailure(keyId: string, signature: string, ticket: FailureTicket | undefined): void {
    if (this.disposed) return;
    const now = this.clock.now();
    if (this.current) {
      // Already down: nothing that fails now is a key's fault either.
      if (ticket) this.pool.forgive([ticket]);
      return;
    }
    const family = failureFamily(signature);
    if (family !== this.family) {
      // A different way of failing breaks "every attempt fails the same way": start over.
      this.family = family;
      this.recent = [];
    }
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.recent.length && this.recent[drop].at < from) drop++;
    if (drop) this.recent.splice(0, drop);
    this.recent.push({ keyId, signature, at: now, ticket });
    if (this.enough()) this.declare(now);
  }

  recordSuccess(): void {
    if (this.disposed) return;
    this.recent = [];
    this.family = undefined;
    if (this.current) this.end(t('an answer came through'));
  }

  dispose(): void {
    this.disposed = true;
    this.stopProbe();
    this.recent = [];
    this.changeEmitter.dispose();
  }

  private enough(): boolean {
    const keys = new Set(this.recent.map((r) => r.keyId));
    const size = this.pool.size ?? this.pool.leases().length;
    if (size <= 1) return this.recent.length >= this.singleKeyFailures;
    return keys.size >= this.minKeys;
  }

  private declare(now: number): void {
    const keys = new Set(this.recent.map((r) => r.keyId)).size;
    // The first failure names it: later ones of the family (resets after refusals) add nothing.
    const reason = `${describeSignature(this.recent[0].signature)} on ${keys === 1 ? 'the only key' : `${keys} keys`}`;
    const tickets = this.recent.flatMap((r) => (r.ticket ? [r.ticket] : []));
    this.recent = [];
    this.family = undefined;
    this.current = { reason, since: now };
    if (tickets.length) this.pool.forgive(tickets);
    this.logger.warn(t('The DaiDai gateway looks unreachable ({0}); the keys are not blamed, and a probe checks it on a backoff until it answers.', reason));
    this.probeDelayMs = this.probeFirstMs;
    this.scheduleProbe();
    this.changeEmitter.fire();
  }

  private end(how: string): void {
    const o = this.current;
    if (!o) return;
    this.current = undefined;
    this.epoch++;
    this.stopProbe();
    const secs = Math.round((this.clock.now() - o.since) / 1000);
    this.logger.info(t('The DaiDai gateway answers again ({0}) after {1} s.', how, secs));
    this.changeEmitter.fire();
  }

  private scheduleProbe(): void {
    if (this.probeTimer !== undefined || this.disposed) return;
    const delay = this.probeDelayMs;
    this.probeDelayMs = Math.min(this.probeMaxMs, this.probeDelayMs * 2);
    this.probeTimer = this.clock.setTimeout(() => {
      this.probeTimer = undefined;
      void this.runProbe();
    }, delay);
  }

  private stopProbe(): void {
    if (this.probeTimer !== undefined) this.clock.clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private async runProbe(): Promise<void> {
    if (!this.current || this.probing || this.disposed) return;
    const lease = this.nextProbeLease();
    if (!lease) {
      this.scheduleProbe();
      return;
    }
    const epoch = this.epoch;
    this.probing = true;
    const result = await withTimeout<ProbeResult>(
      this.probe.models(lease.key, this.probeTimeoutMs).catch((): ProbeResult => ({ ok: false, reason: 'probe failed' })),
      this.probeTimeoutMs,
      this.clock,
      () => ({ ok: false, reason: 'timeout' }),
    );
    this.probing = false;
    if (this.disposed || epoch !== this.epoch || !this.current) return;
    if (gatewayAnswered(result)) this.end(t('the probe got an answer'));
    else this.scheduleProbe();
  }

  private nextProbeLease(): PoolLease | undefined {
    const leases = this.pool.leases();
    if (leases.length === 0) return undefined;
    const lease = leases[this.probeCursor % leases.length];
    this.probeCursor = (this.probeCursor + 1) % leases.length;
    return lease;
  }
}

/**
 * The gateway itself answered: a 2xx, or a 4xx (it judged the key or the request, so it is up).
 * A 5xx from its front or a network error means it is still down.
 */
export function gatewayAnswered(result: ProbeResult): boolean {
  if (result.ok) return true;
  return result.status !== undefined && result.status >= 400 && result.status < 500 && result.status !== 408;
}
