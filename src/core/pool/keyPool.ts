// The key pool: which key the next request gets, and what each key's history says about it.
// It sits on the proxy's hot path, so acquire/report are O(keys) with no allocation, and the
// snapshot that views and /health read is built lazily and cached until the next change.

import { Emitter, type Event } from '../util/event';
import { nullLogger, type Logger } from '../util/log';
import { maskKey, redactSecrets } from '../util/mask';
import { DEFAULT_COOLDOWN_MS, MAX_COOLDOWN_MS, MIN_COOLDOWN_MS } from './policy';
import type {
  FailureDecision,
  KeySnapshot,
  KeyState,
  KeyStats,
  PoolCounts,
  PoolKeyInput,
  PoolLease,
  PoolSnapshot,
} from './types';

export interface KeyPoolOptions {
  /** Consecutive retry-next-key failures that disable a key (default 3). */
  failureThreshold?: number;
  /** Epoch-ms clock; tests inject a fake one. */
  clock?: () => number;
  /** Cool-down for a cool-down decision that carries no cooldownMs (default 30 s). */
  defaultCooldownMs?: number;
  /** Longest cool-down the pool accepts (default 10 min). */
  maxCooldownMs?: number;
  /** Where key state changes are written (masked ids only). */
  logger?: Logger;
  /** Weight of the newest sample in avgLatencyMs (default 0.2). */
  latencyAlpha?: number;
}

/** Why a key is exhausted: a refused request, or the platform's balance. Decides how it comes back. */
type ExhaustedBy = 'request' | 'balance';

interface Entry {
  id: string;
  key: string;
  lease: PoolLease;
  name?: string;
  balance?: number;
  used?: number;
  state: KeyState;
  reason?: string;
  coolingUntil?: number;
  exhaustedBy?: ExhaustedBy;
  manuallyDisabled: boolean;
  consecutiveFailures: number;
  stats: KeyStats;
  /** This key's part of the snapshot, kept until the key changes: a rebuild copies only what moved. */
  snap?: KeySnapshot;
}

const NO_BALANCE_REASON = 'no balance left';

export class KeyPool {
  private entries: Entry[] = [];
  private byKey = new Map<string, Entry>();
  /** Index in `entries` where the round-robin scan starts. */
  private cursor = 0;
  private resets = 0;
  private lastKeyId: string | undefined;
  private cached: PoolSnapshot | undefined;
  /** Earliest coolingUntil among cooling keys (Infinity when none): lets reads skip the scan. */
  private nextCoolingEnd = Infinity;
  private coolTimer: NodeJS.Timeout | undefined;
  private disposed = false;

  private threshold: number;
  private readonly clock: () => number;
  private readonly defaultCooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly logger: Logger;
  private readonly alpha: number;
  private readonly changeEmitter = new Emitter<PoolSnapshot>();

  /**
   * Fires after every change with the new snapshot. The snapshot is only built when someone
   * listens (and then once per change, shared with snapshot()): with no listener a change costs
   * nothing. Listeners on a busy proxy should debounce their own rendering.
   */
  readonly onDidChange: Event<PoolSnapshot> = this.changeEmitter.event;

  constructor(opts: KeyPoolOptions = {}) {
    this.threshold = Math.max(1, Math.floor(opts.failureThreshold ?? 3));
    this.clock = opts.clock ?? Date.now;
    this.defaultCooldownMs = opts.defaultCooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.maxCooldownMs = Math.max(MIN_COOLDOWN_MS, opts.maxCooldownMs ?? MAX_COOLDOWN_MS);
    this.logger = opts.logger ?? nullLogger;
    this.alpha = opts.latencyAlpha ?? 0.2;
  }

  /**
   * Changes the consecutive-failure threshold live (the setting changed). Keys already at or
   * past a lower threshold are taken out on their next failure, not at once.
   */
  setFailureThreshold(n: number): void {
    this.threshold = Math.max(1, Math.floor(n));
  }

  /** Number of keys in the pool. */
  get size(): number {
    return this.entries.length;
  }

  /**
   * Replaces the key list. Keys already known (same key string) keep their state and stats; new
   * keys start healthy; missing keys are dropped. Name, balance and used follow the input. A
   * balance <= 0 marks a key exhausted; a later positive balance (or a top-up) brings it back.
   */
  setKeys(list: readonly PoolKeyInput[]): void {
    const before = this.entries[this.cursor % Math.max(1, this.entries.length)];
    const next: Entry[] = [];
    const nextByKey = new Map<string, Entry>();
    const usedIds = new Set<string>();
    const fresh: Array<{ input: PoolKeyInput; key: string }> = [];

    for (const input of list) {
      const key = typeof input?.key === 'string' ? input.key.trim() : '';
      if (!key || nextByKey.has(key)) continue;
      const old = this.byKey.get(key);
      if (old) {
        this.applyInput(old, input);
        usedIds.add(old.id);
        nextByKey.set(key, old);
        next.push(old);
      } else {
        // Placeholder keeps the input order; the id is assigned once all kept ids are known.
        fresh.push({ input, key });
        const e = this.newEntry(key);
        nextByKey.set(key, e);
        next.push(e);
      }
    }
    for (const { input, key } of fresh) {
      const e = nextByKey.get(key)!;
      e.id = uniqueId(maskKey(key), usedIds);
      usedIds.add(e.id);
      e.lease = Object.freeze({ id: e.id, key });
      this.applyInput(e, input);
    }

    this.entries = next;
    this.byKey = nextByKey;
    const keep = before ? next.indexOf(before) : -1;
    this.cursor = keep >= 0 ? keep : 0;
    this.recomputeCoolingEnd();
    this.changed();
  }

  /**
   * Hands out the next usable key, round-robin, skipping the ids in `exclude` (keys this request
   * already tried). When no key at all is usable, every key that was not disabled by hand is reset
   * to healthy first (the original product's rule). Undefined when nothing is left to try.
   */
  acquire(exclude?: ReadonlySet<string>): PoolLease | undefined {
    const n = this.entries.length;
    if (n === 0) return undefined;
    const now = this.clock();
    const expired = now >= this.nextCoolingEnd && this.expireCooldowns(now);

    let anyUsable = false;
    for (let i = 0; i < n; i++) {
      const idx = (this.cursor + i) % n;
      const e = this.entries[idx];
      if (e.state !== 'healthy' || e.manuallyDisabled) continue;
      anyUsable = true;
      if (exclude && exclude.has(e.id)) continue;
      return this.handOut(idx, now);
    }
    // Usable keys exist but this request tried them all: its problem, not the pool's.
    if (anyUsable || !this.resetAll()) {
      if (expired) this.changed();
      return undefined;
    }
    for (let i = 0; i < n; i++) {
      const idx = (this.cursor + i) % n;
      const e = this.entries[idx];
      if (e.state !== 'healthy' || e.manuallyDisabled || (exclude && exclude.has(e.id))) continue;
      return this.handOut(idx, now);
    }
    this.changed();
    return undefined;
  }

  /** The attempt succeeded: its failure streak ends and its latency is recorded. */
  reportSuccess(lease: PoolLease, latencyMs?: number): void {
    const e = this.entryOf(lease);
    if (!e) return;
    e.snap = undefined;
    e.stats.requests++;
    e.stats.successes++;
    e.consecutiveFailures = 0;
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      e.stats.lastLatencyMs = latencyMs;
      e.stats.avgLatencyMs =
        e.stats.avgLatencyMs === undefined ? latencyMs : e.stats.avgLatencyMs + this.alpha * (latencyMs - e.stats.avgLatencyMs);
    }
    this.changed();
  }

  /** The attempt ended in a way that says nothing about the key (client error, client gone). */
  reportNeutral(lease: PoolLease): void {
    const e = this.entryOf(lease);
    if (!e) return;
    e.snap = undefined;
    e.stats.requests++;
    this.changed();
  }

  /**
   * The attempt failed; `decision` (from classifyFailure) says what that means for the key.
   * Every action but pass-to-client counts in stats.failures; only retry-next-key counts toward
   * the consecutive-failure threshold.
   */
  reportFailure(lease: PoolLease, decision: FailureDecision, _latencyMs?: number): void {
    const e = this.entryOf(lease);
    if (!e) return;
    if (decision.action === 'pass-to-client') {
      this.reportNeutral(lease);
      return;
    }
    const reason = redactSecrets(decision.reason || decision.action);
    e.snap = undefined;
    e.stats.requests++;
    e.stats.failures++;
    e.stats.lastError = reason;
    const now = this.clock();

    switch (decision.action) {
      case 'retry-next-key':
        e.consecutiveFailures++;
        if (e.consecutiveFailures >= this.threshold && (e.state === 'healthy' || e.state === 'cooling')) {
          this.setState(e, 'disabled', `${e.consecutiveFailures} consecutive failures: ${reason}`);
        }
        break;
      case 'cool-down': {
        if (e.state !== 'healthy' && e.state !== 'cooling') break; // a worse state stays
        const ms = Math.min(this.maxCooldownMs, Math.max(MIN_COOLDOWN_MS, decision.cooldownMs ?? this.defaultCooldownMs));
        const until = Math.max(now + ms, e.state === 'cooling' ? e.coolingUntil ?? 0 : 0);
        this.setState(e, 'cooling', reason);
        e.coolingUntil = until;
        if (until < this.nextCoolingEnd) this.nextCoolingEnd = until;
        this.scheduleCoolTimer(now);
        break;
      }
      case 'disable-key':
        this.setState(e, 'disabled', reason);
        break;
      case 'exhausted':
        this.setState(e, 'exhausted', reason);
        e.exhaustedBy = 'request';
        break;
    }
    this.changed();
  }

  /** Takes a key out of rotation by hand (or puts it back). Returns false for an unknown id. */
  setManualDisabled(id: string, disabled: boolean): boolean {
    const e = this.entries.find((x) => x.id === id);
    if (!e) return false;
    if (e.manuallyDisabled === disabled) return true;
    e.manuallyDisabled = disabled;
    e.snap = undefined;
    this.logger.info(`Key ${e.id} ${disabled ? 'disabled' : 'enabled'} by the user.`);
    this.changed();
    return true;
  }

  /** The pool as views and /health see it: cached, rebuilt only after a change. No key in clear. */
  snapshot(): PoolSnapshot {
    const now = this.clock();
    if (now >= this.nextCoolingEnd && this.expireCooldowns(now)) {
      // A cooldown ended with nobody asking for a key: that is a change listeners should hear.
      const snap = (this.cached = this.build());
      this.fire();
      return snap;
    }
    return (this.cached ??= this.build());
  }

  dispose(): void {
    this.disposed = true;
    if (this.coolTimer) clearTimeout(this.coolTimer);
    this.coolTimer = undefined;
    this.changeEmitter.dispose();
  }

  // ---- internals ----

  private newEntry(key: string): Entry {
    return {
      id: '',
      key,
      lease: { id: '', key },
      state: 'healthy',
      manuallyDisabled: false,
      consecutiveFailures: 0,
      stats: { requests: 0, successes: 0, failures: 0 },
    };
  }

  private applyInput(e: Entry, input: PoolKeyInput): void {
    e.snap = undefined;
    e.name = typeof input.name === 'string' && input.name ? input.name : e.name;
    e.used = finiteOr(input.used, e.used);
    const prevBalance = e.balance;
    const balance = finiteOr(input.balance, undefined);
    if (balance === undefined) return; // unknown balance: say nothing about exhaustion
    e.balance = balance;
    if (balance <= 0) {
      if (e.state !== 'exhausted') {
        this.setState(e, 'exhausted', NO_BALANCE_REASON);
        e.exhaustedBy = 'balance';
      }
    } else if (
      e.state === 'exhausted' &&
      (e.exhaustedBy === 'balance' || (prevBalance !== undefined && balance > prevBalance))
    ) {
      // Back from an empty balance, or topped up after a refused request.
      this.setState(e, 'healthy', undefined);
      e.consecutiveFailures = 0;
    }
  }

  private setState(e: Entry, state: KeyState, reason: string | undefined): void {
    const was = e.state;
    e.snap = undefined;
    e.state = state;
    e.reason = reason;
    if (state !== 'cooling') e.coolingUntil = undefined;
    if (state !== 'exhausted') e.exhaustedBy = undefined;
    if (e.id && was !== state) {
      const msg = `Key ${e.id}: ${was} → ${state}${reason ? ` (${reason})` : ''}`;
      if (state === 'healthy' || state === 'cooling') this.logger.info(msg);
      else this.logger.warn(msg);
    }
  }

  private entryOf(lease: PoolLease): Entry | undefined {
    return lease ? this.byKey.get(lease.key) : undefined;
  }

  private handOut(idx: number, now: number): PoolLease {
    const e = this.entries[idx];
    this.cursor = (idx + 1) % this.entries.length;
    e.snap = undefined;
    e.stats.lastUsedAt = now;
    this.lastKeyId = e.id;
    this.changed();
    return e.lease;
  }

  /** Every key out: bring back all keys not disabled by hand. False when there was none to bring back. */
  private resetAll(): boolean {
    let any = false;
    for (const e of this.entries) {
      if (e.manuallyDisabled) continue;
      any = true;
      e.snap = undefined;
      e.state = 'healthy';
      e.reason = undefined;
      e.coolingUntil = undefined;
      e.exhaustedBy = undefined;
      e.consecutiveFailures = 0;
    }
    if (!any) return false;
    this.resets++;
    this.nextCoolingEnd = Infinity;
    this.logger.warn(`Every key was out of rotation; the pool reset them all (reset #${this.resets}).`);
    return true;
  }

  /** Cooling keys whose time has passed become healthy. True if any did. */
  private expireCooldowns(now: number): boolean {
    let changed = false;
    let nextEnd = Infinity;
    for (const e of this.entries) {
      if (e.state !== 'cooling') continue;
      const until = e.coolingUntil ?? 0;
      if (until <= now) {
        this.setState(e, 'healthy', undefined);
        changed = true;
      } else if (until < nextEnd) {
        nextEnd = until;
      }
    }
    this.nextCoolingEnd = nextEnd;
    if (changed) this.cached = undefined;
    return changed;
  }

  private recomputeCoolingEnd(): void {
    let nextEnd = Infinity;
    for (const e of this.entries) {
      if (e.state === 'cooling' && (e.coolingUntil ?? 0) < nextEnd) nextEnd = e.coolingUntil ?? 0;
    }
    this.nextCoolingEnd = nextEnd;
  }

  /**
   * One unref'd timer for the earliest cooldown end, so listeners hear that a key is back even
   * when no request comes. The clock decides, not the timer: an early wake just re-arms.
   */
  private scheduleCoolTimer(now: number): void {
    if (this.disposed || this.nextCoolingEnd === Infinity) return;
    if (this.coolTimer) clearTimeout(this.coolTimer);
    const delay = Math.max(0, Math.min(this.nextCoolingEnd - now, 2 ** 31 - 1));
    this.coolTimer = setTimeout(() => {
      this.coolTimer = undefined;
      const t = this.clock();
      if (this.expireCooldowns(t)) this.changed();
      this.scheduleCoolTimer(t);
    }, delay);
    this.coolTimer.unref?.();
  }

  private changed(): void {
    this.cached = undefined;
    this.fire();
  }

  private fire(): void {
    if (this.disposed || this.changeEmitter.listenerCount === 0) return;
    this.changeEmitter.fire(this.snapshot());
  }

  /** The id acquire() would return now, without moving the cursor (reset included). */
  private peekNext(): string | undefined {
    const n = this.entries.length;
    let fallback: string | undefined;
    for (let i = 0; i < n; i++) {
      const e = this.entries[(this.cursor + i) % n];
      if (e.manuallyDisabled) continue;
      if (e.state === 'healthy') return e.id;
      fallback ??= e.id; // what a reset would hand out
    }
    return fallback;
  }

  private build(): PoolSnapshot {
    const counts: PoolCounts = { total: 0, healthy: 0, cooling: 0, disabled: 0, exhausted: 0, usable: 0 };
    const totals = { requests: 0, successes: 0, failures: 0 };
    const keys: KeySnapshot[] = [];
    for (const e of this.entries) {
      // Counts are effective (a key out by hand counts as disabled, so usable === healthy and the
      // buckets add up to total); the key's own `state` stays its automatic state, so a view can
      // say "out of rotation by you" and still show that it is, say, exhausted underneath.
      const bucket: KeyState = e.manuallyDisabled ? 'disabled' : e.state;
      counts.total++;
      counts[bucket]++;
      if (bucket === 'healthy') counts.usable++;
      totals.requests += e.stats.requests;
      totals.successes += e.stats.successes;
      totals.failures += e.stats.failures;
      keys.push((e.snap ??= keySnapshot(e)));
    }
    return Object.freeze({
      keys: Object.freeze(keys),
      counts: Object.freeze(counts),
      nextKeyId: this.peekNext(),
      totals: Object.freeze(totals),
      resets: this.resets,
      lastKeyId: this.lastKeyId,
    });
  }
}

function keySnapshot(e: Entry): KeySnapshot {
  const k: KeySnapshot = {
    id: e.id,
    masked: maskKey(e.key),
    state: e.state,
    manuallyDisabled: e.manuallyDisabled,
    consecutiveFailures: e.consecutiveFailures,
    stats: Object.freeze({ ...e.stats }),
  };
  if (e.name !== undefined) k.name = redactSecrets(e.name);
  if (e.balance !== undefined) k.balance = e.balance;
  if (e.used !== undefined) k.used = e.used;
  if (e.state === 'cooling') k.coolingUntil = e.coolingUntil;
  if (e.reason !== undefined) k.reason = e.reason;
  return Object.freeze(k);
}

function finiteOr<T>(v: unknown, fallback: T): number | T {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : fallback;
}

function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) {
    const id = `${base}#${i}`;
    if (!taken.has(id)) return id;
  }
}
