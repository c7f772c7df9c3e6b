// The key pool: which key the next request gets, and what each key's history says about it.
// It sits on the proxy's hot path, so acquire/report are O(keys) with no allocation on the common
// path (results for the usual tiers are cached per key), and the snapshot that views and /health
// read is built lazily, only when someone reads it, and cached until the next change.

import { Emitter, type Event } from '../util/event';
import { logText, logValue, nullLogger, type Logger } from '../util/log';
import { maskKey, redactSecrets } from '../util/mask';
import { keyHash } from '../util/hash';
import { DEFAULT_COOLDOWN_MS, MAX_COOLDOWN_MS, MIN_COOLDOWN_MS } from './policy';
import type {
  AcquireRequest,
  AcquireResult,
  AcquireTier,
  FailureDecision,
  FailureTicket,
  KeySnapshot,
  KeyState,
  KeyStats,
  ModelExclusion,
  PoolCounts,
  PoolKeyInput,
  PoolLease,
  PoolPort,
  PoolSnapshot,
  PoolStateData,
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
  /** How long a 'temporary' (key, model) exclusion lasts (default 10 min); see setExclusionMinutes. */
  exclusionMinutes?: number;
  /** Where key state changes are written (masked ids only). */
  logger?: Logger;
  /** Weight of the newest sample in avgLatencyMs (default 0.2). */
  latencyAlpha?: number;
}

/** Why a key is exhausted: a refused request, or the platform's balance. Decides how it comes back. */
type ExhaustedBy = 'request' | 'balance';

interface Exclusion {
  reason: string;
  /** Epoch ms; undefined = until the key's next model list. */
  until?: number;
}

type Acquired = Extract<AcquireResult, { kind: 'key' }>;

interface Entry {
  id: string;
  key: string;
  lease: PoolLease;
  /** keyHash(key), computed when first needed (export/import only). */
  hash?: string;
  name?: string;
  balance?: number;
  used?: number;
  state: KeyState;
  reason?: string;
  /** Epoch ms of the last state change. */
  since?: number;
  coolingUntil?: number;
  exhaustedBy?: ExhaustedBy;
  disabledBy?: 'failures' | 'revoked';
  /** Restored from the state file as revoked or failing: out of every tier until a re-check passes. */
  awaitingRecheck: boolean;
  manuallyDisabled: boolean;
  consecutiveFailures: number;
  /** Bumped whenever the failure streak starts over, so forgive() leaves a newer streak alone. */
  streakEpoch: number;
  stats: KeyStats;
  /** Exact model ids the key serves; undefined = unknown ("serves anything"). */
  models?: Set<string>;
  /** The same ids in the gateway's order, for the snapshot. */
  modelList?: readonly string[];
  exclusions?: Map<string, Exclusion>;
  /** Frozen results for the waitless tiers, [tier usable|failing][model list unknown|known], built once. */
  results?: (Acquired | undefined)[];
  /** This key's part of the snapshot, kept until the key changes: a rebuild copies only what moved. */
  snap?: KeySnapshot;
}

interface TicketData {
  entry: Entry;
  epoch: number;
  /** Set when this failure crossed the threshold: what the key was before. */
  disabled?: { state: KeyState; reason?: string; coolingUntil?: number };
  forgiven: boolean;
}

const NO_BALANCE_REASON = 'no balance left';
const NOTHING: AcquireResult = Object.freeze({ kind: 'none' });
/** A reset storm is one line a minute, with a count, not one line per request. */
const RESET_LOG_INTERVAL_MS = 60_000;
const CLOSEST_MODELS = 5;

export class KeyPool implements PoolPort {
  private entries: Entry[] = [];
  private byKey = new Map<string, Entry>();
  private byId = new Map<string, Entry>();
  /** Index in `entries` where the round-robin scan starts. */
  private cursor = 0;
  private resets = 0;
  private resetsSinceLog = 0;
  private lastResetLogAt = -Infinity;
  private lastKeyId: string | undefined;
  private cached: PoolSnapshot | undefined;
  /** Earliest end of a cool-down or a temporary exclusion (Infinity when none): lets reads skip the scan. */
  private nextTimedEnd = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Held weakly: a ticket nobody forgives costs nothing once the caller drops it. */
  private readonly tickets = new WeakMap<FailureTicket, TicketData>();

  private threshold: number;
  private exclusionMs: number;
  private readonly clock: () => number;
  private readonly defaultCooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly logger: Logger;
  private readonly alpha: number;
  private readonly changeEmitter: Emitter<void>;

  /**
   * Fires after every change, with no payload: readers call snapshot() when they render, so a
   * busy proxy builds no snapshot for nobody. Listeners should throttle their own rendering.
   */
  readonly onDidChange: Event<void>;

  constructor(opts: KeyPoolOptions = {}) {
    this.threshold = Math.max(1, Math.floor(opts.failureThreshold ?? 3));
    this.exclusionMs = minutesToMs(opts.exclusionMinutes ?? 10);
    this.clock = opts.clock ?? Date.now;
    this.defaultCooldownMs = opts.defaultCooldownMs ?? DEFAULT_COOLDOWN_MS;
    this.maxCooldownMs = Math.max(MIN_COOLDOWN_MS, opts.maxCooldownMs ?? MAX_COOLDOWN_MS);
    this.logger = opts.logger ?? nullLogger;
    this.alpha = opts.latencyAlpha ?? 0.2;
    this.changeEmitter = new Emitter<void>((err) =>
      this.logger.error(`A key pool listener failed: ${redactSecrets(err instanceof Error ? err.message : String(err))}`),
    );
    this.onDidChange = this.changeEmitter.event;
  }

  /**
   * Changes the consecutive-failure threshold live (the setting changed). Keys already at or
   * past a lower threshold are taken out on their next failure, not at once.
   */
  setFailureThreshold(n: number): void {
    this.threshold = Math.max(1, Math.floor(n));
  }

  /** How long a 'temporary' (key, model) exclusion lasts from now on; pairs already excluded keep their end. */
  setExclusionMinutes(m: number): void {
    this.exclusionMs = minutesToMs(m);
  }

  /**
   * Replaces the key list. Keys already known (same key string) keep their state, stats, model
   * list and exclusions; new keys start healthy with an unknown model list; missing keys are
   * dropped. Name, balance and used follow the input. A balance <= 0 marks a key exhausted; a
   * later positive balance (or a top-up) brings it back.
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
        const e = newEntry(key);
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
    this.byId = new Map(next.map((e) => [e.id, e]));
    const keep = before ? next.indexOf(before) : -1;
    this.cursor = keep >= 0 ? keep : 0;
    this.recomputeTimedEnd();
    this.changed();
  }

  /**
   * The key for one attempt of a request. Never a key disabled by hand, revoked, exhausted,
   * restored from the state file and not yet re-checked, nor one whose (key, model) pair is
   * excluded; never one in `req.tried`. Among the rest, in this order:
   *
   * 1. tier 'usable': keys usable now, round-robin;
   * 2. tier 'failing': keys taken out by consecutive failures (a last resort; a success puts the
   *    key back at once);
   * 3. tier 'cooling': keys cooling down after a 429 whose cool-down ends within `req.maxWaitMs`,
   *    the soonest first, returned with `waitMs` (the caller waits, then sends).
   *
   * With a `model`, keys whose list names it exactly come first (all three tiers), then keys whose
   * list is unknown. When no key serves the model (and none has an unknown list, and every pair is
   * not excluded), the result says `noModel` with the closest few ids.
   *
   * The reset: when no key at all is usable, the keys taken out by consecutive failures are put
   * back first (counted, logged at most once a minute); cool-downs, revoked, exhausted and
   * hand-disabled keys stay as they are.
   */
  acquire(req: AcquireRequest): AcquireResult {
    const n = this.entries.length;
    if (n === 0) return NOTHING;
    const now = this.clock();
    const expired = now >= this.nextTimedEnd && this.expireTimed(now);

    this.scan(req, now);
    let reset = false;
    if (!this.scanAnyUsable && this.scanAnyFailing) {
      reset = this.resetFailing(now);
      this.scan(req, now);
    }
    if (this.scanIdx >= 0) return this.handOut(this.scanIdx, this.scanTier, now);
    if (expired || reset) this.changed();
    return this.nothing(req, now);
  }

  /** The attempt succeeded: its failure streak ends (a key out by failures is back), its latency is recorded. */
  reportSuccess(lease: PoolLease, latencyMs?: number): void {
    const e = this.entryOf(lease);
    if (!e) return;
    e.snap = undefined;
    e.stats.requests++;
    e.stats.successes++;
    if (e.consecutiveFailures !== 0) {
      e.consecutiveFailures = 0;
      e.streakEpoch++;
    }
    if (e.state === 'disabled' && e.disabledBy === 'failures') {
      e.awaitingRecheck = false;
      this.setState(e, 'healthy', undefined);
    }
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
   * pass-to-client costs the key nothing; exclude-model excludes the (key, `model`) pair only
   * (no failure counted, no state change); every other action counts in stats.failures, and
   * retry-next-key also toward the consecutive-failure threshold: for those a ticket comes back,
   * which forgive() can undo.
   */
  reportFailure(lease: PoolLease, decision: FailureDecision, model?: string): FailureTicket | undefined {
    const e = this.entryOf(lease);
    if (!e) return undefined;
    if (decision.action === 'pass-to-client' || (decision.action === 'exclude-model' && !model)) {
      this.reportNeutral(lease);
      return undefined;
    }
    const reason = redactSecrets(decision.reason || decision.action);
    const now = this.clock();
    e.snap = undefined;
    e.stats.requests++;
    if (decision.action === 'exclude-model') {
      this.exclude(e, model!, reason, decision.exclusion === 'temporary' ? now + this.exclusionMs : undefined, now);
      this.changed();
      return undefined;
    }
    e.stats.failures++;
    e.stats.lastError = reason;

    let ticket: FailureTicket | undefined;
    switch (decision.action) {
      case 'retry-next-key': {
        e.consecutiveFailures++;
        ticket = Object.freeze({ keyId: e.id, at: now });
        const data: TicketData = { entry: e, epoch: e.streakEpoch, forgiven: false };
        if (e.consecutiveFailures >= this.threshold && (e.state === 'healthy' || e.state === 'cooling')) {
          data.disabled = { state: e.state, reason: e.reason, coolingUntil: e.coolingUntil };
          this.setState(e, 'disabled', `${e.consecutiveFailures} consecutive failures: ${reason}`);
          e.disabledBy = 'failures';
        }
        this.tickets.set(ticket, data);
        break;
      }
      case 'cool-down': {
        if (e.state !== 'healthy' && e.state !== 'cooling') break; // a worse state stays
        const ms = Math.min(this.maxCooldownMs, Math.max(MIN_COOLDOWN_MS, decision.cooldownMs ?? this.defaultCooldownMs));
        const until = Math.max(now + ms, e.state === 'cooling' ? e.coolingUntil ?? 0 : 0);
        this.setState(e, 'cooling', reason);
        e.coolingUntil = until;
        this.timedEndAt(until, now);
        break;
      }
      case 'disable-key':
        this.setState(e, 'disabled', reason);
        e.disabledBy = 'revoked';
        break;
      case 'exhausted':
        this.setState(e, 'exhausted', reason);
        e.exhaustedBy = 'request';
        break;
    }
    this.changed();
    return ticket;
  }

  /**
   * Undoes counted failures that were not the keys' fault (a gateway outage): each ticket once,
   * its failure counters, and the disable it caused when the key is still out for it. A streak
   * that started over since (a success, a reset) is left alone.
   */
  forgive(tickets: readonly FailureTicket[]): void {
    let forgiven = 0;
    const crossed: TicketData[] = [];
    for (const t of tickets) {
      const data = this.tickets.get(t);
      if (!data || data.forgiven) continue;
      data.forgiven = true;
      const e = data.entry;
      if (this.byKey.get(e.key) !== e) continue; // the key left the pool
      forgiven++;
      e.snap = undefined;
      if (e.stats.failures > 0) e.stats.failures--;
      if (data.epoch === e.streakEpoch && e.consecutiveFailures > 0) e.consecutiveFailures--;
      if (data.disabled) crossed.push(data);
    }
    const now = this.clock();
    for (const { entry: e, disabled } of crossed) {
      if (e.state !== 'disabled' || e.disabledBy !== 'failures' || e.consecutiveFailures >= this.threshold) continue;
      if (disabled!.state === 'cooling' && (disabled!.coolingUntil ?? 0) > now) {
        this.setState(e, 'cooling', disabled!.reason);
        e.coolingUntil = disabled!.coolingUntil;
        this.timedEndAt(e.coolingUntil!, now);
      } else {
        this.setState(e, 'healthy', undefined);
      }
    }
    if (forgiven > 0) {
      this.logger.info(`Forgave ${forgiven} failure(s) that were the gateway's, not the keys'.`);
      this.changed();
    }
  }

  /**
   * The model ids a key serves, as the gateway lists them (undefined = unknown: "serves
   * anything" until known). Any call ends the key's 'until-refresh' exclusions: a fresh list is
   * the gateway's newer word. False for an unknown id.
   */
  setModels(id: string, models: readonly string[] | undefined): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    let changed = false;
    if (e.exclusions) {
      for (const [model, x] of e.exclusions) {
        if (x.until === undefined) {
          e.exclusions.delete(model);
          changed = true;
        }
      }
      if (e.exclusions.size === 0) e.exclusions = undefined;
    }
    if (models === undefined) {
      if (e.models !== undefined) changed = true;
      e.models = undefined;
      e.modelList = undefined;
    } else {
      const set = new Set<string>();
      for (const m of models) if (typeof m === 'string' && m) set.add(m);
      if (!sameList(e.modelList, set)) {
        e.models = set;
        e.modelList = Object.freeze([...set]);
        changed = true;
      }
    }
    if (changed) {
      e.snap = undefined;
      this.changed();
    }
    return true;
  }

  /** The key in clear behind a pool id (for the confirmed "Copy Key"); the pool owns the id scheme. */
  revealKey(id: string): string | undefined {
    return this.byId.get(id)?.key;
  }

  /** Every key, whatever its state (the model-list fetch asks each one). */
  leases(): PoolLease[] {
    return this.entries.map((e) => e.lease);
  }

  /** Keys worth a free re-check: out by consecutive failures, or restored out and waiting for one. */
  recheckCandidates(): PoolLease[] {
    const out: PoolLease[] = [];
    for (const e of this.entries) {
      if (e.manuallyDisabled || e.state !== 'disabled') continue;
      if (e.disabledBy === 'failures' || e.awaitingRecheck) out.push(e.lease);
    }
    return out;
  }

  /**
   * What a re-check (GET /v1/models with the key) said. ok → a disabled key is healthy again,
   * its streak over. Not ok → it stays as it is (the re-checker backs off and asks again).
   */
  recheckResult(id: string, ok: boolean): void {
    const e = this.byId.get(id);
    if (!e || !ok || e.state !== 'disabled') return;
    e.awaitingRecheck = false;
    if (e.consecutiveFailures !== 0) {
      e.consecutiveFailures = 0;
      e.streakEpoch++;
    }
    this.setState(e, 'healthy', undefined);
    this.changed();
  }

  /** Takes a key out of rotation by hand (or puts it back). Returns false for an unknown id. */
  setManualDisabled(id: string, disabled: boolean): boolean {
    const e = this.byId.get(id);
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
    if (now >= this.nextTimedEnd && this.expireTimed(now)) {
      // A cool-down or an exclusion ended with nobody asking for a key: listeners should hear it.
      this.cached = undefined;
      this.fire();
    }
    return (this.cached ??= this.build());
  }

  /** What the state store keeps (issue 11): keys by keyHash only, never in clear. */
  exportState(): PoolStateData {
    const now = this.clock();
    const keys: PoolStateData['keys'] = {};
    for (const e of this.entries) {
      const rec: PoolStateData['keys'][string] = {};
      if (e.manuallyDisabled) rec.manuallyDisabled = true;
      if (e.state === 'disabled' || e.state === 'exhausted' || (e.state === 'cooling' && (e.coolingUntil ?? 0) > now)) {
        rec.state = e.state;
        if (e.reason !== undefined) rec.reason = e.reason;
        if (e.since !== undefined) rec.since = e.since;
        if (e.state === 'disabled') rec.disabledBy = e.disabledBy ?? 'revoked';
        if (e.state === 'exhausted') rec.exhaustedBy = e.exhaustedBy ?? 'request';
        if (e.state === 'cooling') rec.coolingUntil = e.coolingUntil;
      }
      const exclusions = liveExclusions(e, now);
      if (exclusions.length) rec.exclusions = exclusions;
      const s = e.stats;
      rec.stats = { requests: s.requests, successes: s.successes, failures: s.failures };
      if (s.lastError !== undefined) rec.stats.lastError = s.lastError;
      if (s.lastUsedAt !== undefined) rec.stats.lastUsedAt = s.lastUsedAt;
      keys[hashOf(e)] = rec;
    }
    return { keys };
  }

  /**
   * Applies what a previous run learned to the keys the pool has now (call after setKeys). Keys
   * not in the pool are ignored; keys not in `data` stay as they are. A revoked or failing key
   * stays out until recheckResult(id, true) (it is a re-check candidate); cool-downs and
   * exclusions already over at `now` are not restored; a key exhausted by its balance comes
   * back when the account's balance for it is now above zero.
   */
  importState(data: PoolStateData, now: number): void {
    const keys = data && typeof data === 'object' && data.keys && typeof data.keys === 'object' ? data.keys : undefined;
    if (!keys) return;
    let any = false;
    const restored = { out: 0, exhausted: 0, cooling: 0, manual: 0, pairs: 0 };
    for (const e of this.entries) {
      const rec = Object.prototype.hasOwnProperty.call(keys, hashOf(e)) ? keys[hashOf(e)] : undefined;
      if (!rec || typeof rec !== 'object') continue;
      any = true;
      e.snap = undefined;
      if (typeof rec.manuallyDisabled === 'boolean') e.manuallyDisabled = rec.manuallyDisabled;
      if (e.manuallyDisabled) restored.manual++;
      const reason = typeof rec.reason === 'string' ? redactSecrets(rec.reason).slice(0, 200) : undefined;
      const since = finiteOr(rec.since, undefined);
      if (rec.state === 'disabled') {
        this.setState(e, 'disabled', reason ?? 'out before the restart; waiting for a re-check', true);
        restored.out++;
        e.disabledBy = rec.disabledBy === 'failures' ? 'failures' : 'revoked';
        e.awaitingRecheck = true;
        e.since = since ?? e.since;
      } else if (rec.state === 'exhausted' && e.state !== 'disabled') {
        // A store that keeps only the contract's fields drops exhaustedBy; the reason still tells.
        const byBalance = rec.exhaustedBy === 'balance' || (rec.exhaustedBy === undefined && rec.reason === NO_BALANCE_REASON);
        if (!(byBalance && e.balance !== undefined && e.balance > 0) && e.state !== 'exhausted') {
          this.setState(e, 'exhausted', reason ?? NO_BALANCE_REASON, true);
          restored.exhausted++;
          e.exhaustedBy = byBalance ? 'balance' : 'request';
          e.since = since ?? e.since;
        }
      } else if (rec.state === 'cooling' && e.state === 'healthy') {
        const until = finiteOr(rec.coolingUntil, 0);
        if (until > now) {
          this.setState(e, 'cooling', reason, true);
          restored.cooling++;
          e.coolingUntil = until;
          e.since = since ?? e.since;
        }
      }
      if (Array.isArray(rec.exclusions)) {
        for (const x of rec.exclusions) {
          if (!x || typeof x.model !== 'string' || !x.model) continue;
          const until = x.until === undefined || x.until === null ? undefined : finiteOr(x.until, 0);
          if (until !== undefined && until <= now) continue;
          this.exclude(e, x.model, typeof x.reason === 'string' ? redactSecrets(x.reason).slice(0, 200) : 'model refused', until, now, true);
          restored.pairs++;
        }
      }
      const s = rec.stats;
      if (s && typeof s === 'object') {
        e.stats.requests = Math.max(0, finiteOr(s.requests, 0));
        e.stats.successes = Math.max(0, finiteOr(s.successes, 0));
        e.stats.failures = Math.max(0, finiteOr(s.failures, 0));
        if (typeof s.lastError === 'string') e.stats.lastError = redactSecrets(s.lastError).slice(0, 200);
        const last = finiteOr(s.lastUsedAt, undefined);
        if (last !== undefined) e.stats.lastUsedAt = last;
      }
    }
    if (!any) return;
    // Counters alone are not worth a line; a key kept out (or a pair skipped) is.
    if (restored.out + restored.exhausted + restored.cooling + restored.manual + restored.pairs > 0) this.logger.info(
      `Restored what the pool had learned: ${restored.out} key(s) out until a re-check, ${restored.exhausted} exhausted, ` +
        `${restored.cooling} cooling, ${restored.manual} disabled by hand, ${restored.pairs} (key, model) exclusion(s).`,
    );
    this.recomputeTimedEnd();
    this.scheduleTimer(this.clock());
    this.changed();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.changeEmitter.dispose();
  }

  // ---- internals ----

  // Side results of the last scan(); fields rather than a returned object, so a scan allocates nothing.
  private scanAnyUsable = false;
  private scanAnyFailing = false;
  private scanServable = 0;
  private scanMinCooling = Infinity;
  private scanIdx = -1;
  private scanTier: AcquireTier = 'usable';

  /** One pass over the keys from the cursor: the best candidate by (model rank, tier), into scanIdx/scanTier. */
  private scan(req: AcquireRequest, now: number): void {
    const n = this.entries.length;
    const { model, tried } = req;
    const maxWait = req.maxWaitMs > 0 ? req.maxWaitMs : 0;
    // Slot per (rank, tier): rank 0 = the key's list names the model (or no model asked), 1 = list unknown.
    let u0 = -1, f0 = -1, c0 = -1, u1 = -1, f1 = -1, c1 = -1;
    let cu0 = Infinity, cu1 = Infinity;
    let anyUsable = false;
    let anyFailing = false;
    let servable = 0;
    let minCooling = Infinity;
    for (let i = 0; i < n; i++) {
      const idx = (this.cursor + i) % n;
      const e = this.entries[idx];
      const manual = e.manuallyDisabled;
      const state = e.state;
      const failing = state === 'disabled' && e.disabledBy === 'failures' && !e.awaitingRecheck;
      if (!manual) {
        if (state === 'healthy') anyUsable = true;
        else if (failing) anyFailing = true;
        else if (state === 'cooling' && (e.coolingUntil ?? 0) < minCooling) minCooling = e.coolingUntil ?? 0;
      }
      let unknown = false;
      if (model !== undefined) {
        if (e.models !== undefined) {
          if (!e.models.has(model)) continue;
        } else unknown = true;
        if (e.exclusions !== undefined && isExcluded(e.exclusions, model, now)) continue;
        servable++;
      }
      if (manual || (tried !== undefined && tried.has(e.id))) continue;
      if (state === 'healthy') {
        if (unknown) {
          if (u1 < 0) u1 = idx;
        } else if (u0 < 0) u0 = idx;
      } else if (failing) {
        if (unknown) {
          if (f1 < 0) f1 = idx;
        } else if (f0 < 0) f0 = idx;
      } else if (state === 'cooling') {
        const until = e.coolingUntil ?? 0;
        if (until - now > maxWait) continue;
        if (unknown) {
          if (until < cu1) {
            cu1 = until;
            c1 = idx;
          }
        } else if (until < cu0) {
          cu0 = until;
          c0 = idx;
        }
      }
    }
    this.scanAnyUsable = anyUsable;
    this.scanAnyFailing = anyFailing;
    this.scanServable = servable;
    this.scanMinCooling = minCooling;
    if (u0 >= 0) this.pickSlot(u0, 'usable');
    else if (f0 >= 0) this.pickSlot(f0, 'failing');
    else if (c0 >= 0) this.pickSlot(c0, 'cooling');
    else if (u1 >= 0) this.pickSlot(u1, 'usable');
    else if (f1 >= 0) this.pickSlot(f1, 'failing');
    else this.pickSlot(c1, 'cooling');
  }

  private pickSlot(idx: number, tier: AcquireTier): void {
    this.scanIdx = idx;
    this.scanTier = tier;
  }

  /** The answer when nothing is left to try (a rare path: it may allocate). */
  private nothing(req: AcquireRequest, now: number): AcquireResult {
    const noModel = req.model !== undefined && this.scanServable === 0;
    const nextUsableAt = !this.scanAnyUsable && this.scanMinCooling !== Infinity && this.scanMinCooling > now ? this.scanMinCooling : undefined;
    if (!noModel && nextUsableAt === undefined) return NOTHING;
    const r: { kind: 'none'; noModel?: { model: string; closest: string[] }; nextUsableAt?: number } = { kind: 'none' };
    if (noModel) r.noModel = { model: req.model!, closest: this.closestModels(req.model!) };
    if (nextUsableAt !== undefined) r.nextUsableAt = nextUsableAt;
    return r;
  }

  private handOut(idx: number, tier: AcquireTier, now: number): Acquired {
    const e = this.entries[idx];
    this.cursor = (idx + 1) % this.entries.length;
    e.snap = undefined;
    e.stats.lastUsedAt = now;
    this.lastKeyId = e.id;
    this.changed();
    const known = e.models !== undefined;
    if (tier === 'cooling') {
      return { kind: 'key', lease: e.lease, tier, waitMs: Math.max(0, (e.coolingUntil ?? now) - now), modelKnown: known };
    }
    const slot = (tier === 'failing' ? 2 : 0) + (known ? 1 : 0);
    const results = (e.results ??= [undefined, undefined, undefined, undefined]);
    return (results[slot] ??= Object.freeze({ kind: 'key', lease: e.lease, tier, waitMs: 0, modelKnown: known }) as Acquired);
  }

  /** No key is usable: bring back the keys taken out by consecutive failures, and only those. */
  private resetFailing(now: number): boolean {
    let count = 0;
    for (const e of this.entries) {
      if (e.manuallyDisabled || e.state !== 'disabled' || e.disabledBy !== 'failures' || e.awaitingRecheck) continue;
      e.consecutiveFailures = 0;
      e.streakEpoch++;
      this.setState(e, 'healthy', undefined, true);
      count++;
    }
    if (count === 0) return false;
    this.resets++;
    this.resetsSinceLog++;
    if (now - this.lastResetLogAt >= RESET_LOG_INTERVAL_MS) {
      const storm = this.resetsSinceLog > 1 ? ` (${this.resetsSinceLog} resets since the last such line)` : '';
      this.logger.warn(
        `No key was usable; put back ${count} key(s) taken out by consecutive failures (reset #${this.resets})${storm}.`,
      );
      this.lastResetLogAt = now;
      this.resetsSinceLog = 0;
    }
    return true;
  }

  private exclude(e: Entry, model: string, reason: string, until: number | undefined, now: number, quiet = false): void {
    const map = (e.exclusions ??= new Map());
    const old = map.get(model);
    // A permission refusal outlasts a missing channel; two temporary ones keep the later end.
    const end = until === undefined || (old !== undefined && old.until === undefined) ? undefined : Math.max(until, old?.until ?? 0);
    map.set(model, { reason, until: end });
    e.snap = undefined;
    if (end !== undefined) this.timedEndAt(end, now);
    if (!quiet && !old) this.logger.info(`Key ${e.id}: model ${logValue(model, 100)} excluded (${logText(reason, 300)}).`);
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
      if (e.consecutiveFailures !== 0) {
        e.consecutiveFailures = 0;
        e.streakEpoch++;
      }
    }
  }

  private setState(e: Entry, state: KeyState, reason: string | undefined, quiet = false): void {
    const was = e.state;
    e.snap = undefined;
    e.state = state;
    e.reason = reason;
    if (was !== state) e.since = this.clock();
    if (state !== 'cooling') e.coolingUntil = undefined;
    if (state !== 'exhausted') e.exhaustedBy = undefined;
    if (state !== 'disabled') {
      e.disabledBy = undefined;
      e.awaitingRecheck = false;
    }
    if (e.id && was !== state && !quiet) {
      const msg = `Key ${e.id}: ${was} → ${state}${reason ? ` (${reason})` : ''}`;
      // A cool-down's end was announced with it ("cooling 2 s"): under a burst of 429s a line for
      // each end would double the pool's lines for nothing new.
      if (was === 'cooling' && state === 'healthy') this.logger.debug(msg);
      else if (state === 'healthy' || state === 'cooling') this.logger.info(msg);
      else this.logger.warn(msg);
    }
  }

  private entryOf(lease: PoolLease): Entry | undefined {
    return lease ? this.byKey.get(lease.key) : undefined;
  }

  /** Cool-downs and temporary exclusions whose time has passed end. True if any did. */
  private expireTimed(now: number): boolean {
    let changed = false;
    let nextEnd = Infinity;
    for (const e of this.entries) {
      if (e.state === 'cooling') {
        const until = e.coolingUntil ?? 0;
        if (until <= now) {
          this.setState(e, 'healthy', undefined);
          changed = true;
        } else if (until < nextEnd) nextEnd = until;
      }
      if (e.exclusions !== undefined) {
        for (const [model, x] of e.exclusions) {
          if (x.until === undefined) continue;
          if (x.until <= now) {
            e.exclusions.delete(model);
            e.snap = undefined;
            changed = true;
          } else if (x.until < nextEnd) nextEnd = x.until;
        }
        if (e.exclusions.size === 0) e.exclusions = undefined;
      }
    }
    this.nextTimedEnd = nextEnd;
    if (changed) this.cached = undefined;
    return changed;
  }

  private recomputeTimedEnd(): void {
    let nextEnd = Infinity;
    for (const e of this.entries) {
      if (e.state === 'cooling' && (e.coolingUntil ?? 0) < nextEnd) nextEnd = e.coolingUntil ?? 0;
      if (e.exclusions) for (const x of e.exclusions.values()) if (x.until !== undefined && x.until < nextEnd) nextEnd = x.until;
    }
    this.nextTimedEnd = nextEnd;
  }

  private timedEndAt(until: number, now: number): void {
    if (until < this.nextTimedEnd) {
      this.nextTimedEnd = until;
      this.scheduleTimer(now);
    } else if (!this.timer) this.scheduleTimer(now);
  }

  /**
   * One unref'd timer for the earliest end of a cool-down or an exclusion, so listeners hear of
   * it even when no request comes. The clock decides, not the timer: an early wake just re-arms.
   */
  private scheduleTimer(now: number): void {
    if (this.disposed || this.nextTimedEnd === Infinity) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.nextTimedEnd - now, 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const t = this.clock();
      if (this.expireTimed(t)) this.changed();
      this.scheduleTimer(t);
    }, delay);
    this.timer.unref?.();
  }

  private changed(): void {
    this.cached = undefined;
    this.fire();
  }

  private fire(): void {
    if (this.disposed || this.changeEmitter.listenerCount === 0) return;
    this.changeEmitter.fire();
  }

  /** The id acquire() would return now for a request without a model, without moving the cursor (reset included). */
  private peekNext(): string | undefined {
    const n = this.entries.length;
    let fallback: string | undefined;
    for (let i = 0; i < n; i++) {
      const e = this.entries[(this.cursor + i) % n];
      if (e.manuallyDisabled) continue;
      if (e.state === 'healthy') return e.id;
      if (e.state === 'disabled' && e.disabledBy === 'failures' && !e.awaitingRecheck) fallback ??= e.id; // what a reset would hand out
    }
    return fallback;
  }

  /** The served ids most like `model`: containing it (or contained), then by edit distance; `[channel]` prefixes ignored. */
  private closestModels(model: string): string[] {
    const all = new Set<string>();
    for (const e of this.entries) if (e.modelList) for (const m of e.modelList) all.add(m);
    all.delete(model); // listed but refused on every key: naming it as an alternative would mislead
    const want = normModel(model);
    const scored = [...all].map((id) => {
      const have = normModel(id);
      const contains = have.includes(want) || want.includes(have) ? 0 : 1;
      return { id, contains, d: editDistance(want, have) };
    });
    scored.sort((a, b) => a.contains - b.contains || a.d - b.d || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return scored.slice(0, CLOSEST_MODELS).map((s) => s.id);
  }

  private build(): PoolSnapshot {
    const now = this.clock();
    const counts: PoolCounts = { total: 0, healthy: 0, cooling: 0, disabled: 0, exhausted: 0, usable: 0 };
    const totals = { requests: 0, successes: 0, failures: 0 };
    const keys: KeySnapshot[] = [];
    let excludedPairs = 0;
    let minCooling = Infinity;
    for (const e of this.entries) {
      // Counts are effective (a key out by hand counts as disabled, so usable === healthy and the
      // buckets add up to total); the key's own `state` stays its automatic state, so a view can
      // say "out of rotation by you" and still show that it is, say, exhausted underneath.
      const bucket: KeyState = e.manuallyDisabled ? 'disabled' : e.state;
      counts.total++;
      counts[bucket]++;
      if (bucket === 'healthy') counts.usable++;
      if (bucket === 'cooling' && (e.coolingUntil ?? 0) < minCooling) minCooling = e.coolingUntil ?? 0;
      totals.requests += e.stats.requests;
      totals.successes += e.stats.successes;
      totals.failures += e.stats.failures;
      const k = (e.snap ??= keySnapshot(e, now));
      excludedPairs += k.exclusions.length;
      keys.push(k);
    }
    const snap: PoolSnapshot = {
      keys: Object.freeze(keys),
      counts: Object.freeze(counts),
      nextKeyId: this.peekNext(),
      totals: Object.freeze(totals),
      resets: this.resets,
      lastKeyId: this.lastKeyId,
      excludedPairs,
    };
    if (counts.usable === 0 && minCooling !== Infinity) snap.nextUsableAt = minCooling;
    return Object.freeze(snap);
  }
}

function newEntry(key: string): Entry {
  return {
    id: '',
    key,
    lease: { id: '', key },
    state: 'healthy',
    awaitingRecheck: false,
    manuallyDisabled: false,
    consecutiveFailures: 0,
    streakEpoch: 0,
    stats: { requests: 0, successes: 0, failures: 0 },
  };
}

function hashOf(e: Entry): string {
  return (e.hash ??= keyHash(e.key));
}

function isExcluded(map: Map<string, Exclusion>, model: string, now: number): boolean {
  const x = map.get(model);
  return x !== undefined && (x.until === undefined || x.until > now);
}

function liveExclusions(e: Entry, now: number): ModelExclusion[] {
  const out: ModelExclusion[] = [];
  if (!e.exclusions) return out;
  for (const [model, x] of e.exclusions) {
    if (x.until !== undefined && x.until <= now) continue;
    const m: ModelExclusion = { model, reason: x.reason };
    if (x.until !== undefined) m.until = x.until;
    out.push(m);
  }
  return out;
}

function keySnapshot(e: Entry, now: number): KeySnapshot {
  const k: KeySnapshot = {
    id: e.id,
    masked: maskKey(e.key),
    state: e.state,
    manuallyDisabled: e.manuallyDisabled,
    consecutiveFailures: e.consecutiveFailures,
    stats: Object.freeze({ ...e.stats }),
    exclusions: Object.freeze(liveExclusions(e, now).map((x) => Object.freeze(x))),
  };
  if (e.name !== undefined) k.name = redactSecrets(e.name);
  if (e.balance !== undefined) k.balance = e.balance;
  if (e.used !== undefined) k.used = e.used;
  if (e.state === 'cooling') k.coolingUntil = e.coolingUntil;
  if (e.state === 'disabled') k.disabledBy = e.disabledBy ?? 'revoked';
  if (e.awaitingRecheck) k.awaitingRecheck = true;
  if (e.since !== undefined) k.since = e.since;
  if (e.reason !== undefined) k.reason = e.reason;
  if (e.modelList !== undefined) k.models = e.modelList;
  return Object.freeze(k);
}

function sameList(list: readonly string[] | undefined, set: ReadonlySet<string>): boolean {
  if (list === undefined || list.length !== set.size) return false;
  let i = 0;
  for (const m of set) if (list[i++] !== m) return false;
  return true;
}

function normModel(id: string): string {
  return id.replace(/^\s*\[[^\]]*\]\s*/, '').toLowerCase();
}

/** Levenshtein distance with two rows; model ids are short. */
function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

function minutesToMs(m: number): number {
  return Number.isFinite(m) && m > 0 ? m * 60_000 : 10 * 60_000;
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
