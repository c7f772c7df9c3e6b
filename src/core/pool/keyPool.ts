// The key pool: which key the next request gets, and what each key's history says about it.
// It sits on the proxy's hot path, so acquire/report are O(keys) with no allocation on the common
// path (results for the usual tiers are cached per key), and the snapshot that views and /health
// read is built lazily, only when someone reads it, and kept while the pool's revision holds.
//
// The parts: a key's health and its one transition function (health.ts), the choice of a key
// (choice.ts, pure), one key's record (entry.ts), the snapshot (snapshot.ts), the state file's
// data (persist.ts), the timer for the ends of cool-downs and exclusions (endTimer.ts). This
// class owns the list, applies events and tells listeners.

import { Emitter, type Event } from '../util/event';
import { logText, logValue, nullLogger, type Logger } from '../util/log';
import { maskKey, redactSecrets } from '../util/mask';
import { chooseKey, summarize, tierOf } from './choice';
import { EndTimer } from './endTimer';
import { applyModels, finiteOr, newEntry, servedModels, uniqueId, type Acquired, type Entry } from './entry';
import { restoreState, stateOf } from './persist';
import { buildSnapshot } from './snapshot';
import { endsStreak, keyStateOf, nextHealth, RECHECK_PASSED, RESET, SUCCESS, TIME, wantsRecheck, type HealthEvent } from './health';
import { DEFAULT_COOLDOWN_MS, MAX_COOLDOWN_MS, MIN_COOLDOWN_MS } from './policy';
import type {
  AcquireRequest,
  AcquireResult,
  AcquireTier,
  FailureDecision,
  FailureTicket,
  KeyState,
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

interface TicketData {
  entry: Entry;
  epoch: number;
  /** Set when this failure crossed the threshold: the health it took the key out of. */
  before?: Entry['health'];
  forgiven: boolean;
}

const NOTHING: AcquireResult = Object.freeze({ kind: 'none' });
/** A reset storm is one line a minute, with a count, not one line per request. */
const RESET_LOG_INTERVAL_MS = 60_000;

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
  /** Bumped on every change; the cached snapshot is current while `cachedRev` equals it. */
  private rev = 0;
  private cached: PoolSnapshot | undefined;
  private cachedRev = -1;
  private readonly ends: EndTimer;
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
    this.ends = new EndTimer(this.clock, (now) => {
      if (this.expireTimed(now)) this.changed();
      return this.ends.next;
    });
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
    this.ends.reset(this.nextEnd(), this.clock());
    this.changed();
  }

  /**
   * The key for one attempt of a request: chooseKey (choice.ts) over the keys from the
   * round-robin cursor, which says the rules (tiers usable → failing → cooling within
   * `req.maxWaitMs`, keys that list the model before keys whose list is unknown, and
   * `req.prefer`). When no key serves the model (and none has an unknown list, and every pair is
   * not excluded), the result says `noModel` with the ids the pool's keys do serve.
   *
   * A key chosen as `req.prefer` leaves the cursor where it was, so the rotation of the other
   * requests goes on undisturbed.
   *
   * The reset: when no key at all is usable, the keys taken out by consecutive failures are put
   * back first (counted, logged at most once a minute); cool-downs, revoked, exhausted and
   * hand-disabled keys stay as they are.
   */
  acquire(req: AcquireRequest): AcquireResult {
    const n = this.entries.length;
    if (n === 0) return NOTHING;
    const now = this.clock();
    const expired = now >= this.ends.next && this.expireTimed(now);

    let idx = chooseKey(this.entries, this.cursor, req, now);
    let reset = false;
    if (idx < 0 || this.entries[idx].health.kind !== 'healthy') {
      // Not a usable key: is any key usable at all? If none is, put back the failing ones first.
      const s = summarize(this.entries, undefined, now);
      if (!s.anyUsable && s.anyFailing) {
        reset = this.resetFailing(now);
        idx = chooseKey(this.entries, this.cursor, req, now);
      }
    }
    if (idx >= 0) return this.handOut(idx, req.prefer, now);
    if (expired || reset) this.changed();
    return this.nothing(req, now);
  }

  /** The attempt succeeded: its failure streak ends (a key out by failures is back), its latency is recorded. */
  reportSuccess(lease: PoolLease, latencyMs?: number): void {
    const e = this.entryOf(lease);
    if (!e) return;
    e.stats.requests++;
    e.stats.successes++;
    if (latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      e.stats.lastLatencyMs = latencyMs;
      e.stats.avgLatencyMs =
        e.stats.avgLatencyMs === undefined ? latencyMs : e.stats.avgLatencyMs + this.alpha * (latencyMs - e.stats.avgLatencyMs);
    }
    // On the hot path a success changes nothing but the counters: the table (health.ts) moves only
    // a key that is out, and the streak ends only when there is one; skip the clock read otherwise.
    if (e.health.kind === 'out' || e.consecutiveFailures !== 0) this.move(e, SUCCESS);
    this.touch(e);
    this.changed();
  }

  /** The attempt ended in a way that says nothing about the key (client error, client gone). */
  reportNeutral(lease: PoolLease): void {
    const e = this.entryOf(lease);
    if (!e) return;
    e.stats.requests++;
    this.touch(e);
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
    e.stats.requests++;
    this.touch(e);
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
        const before = e.health;
        e.consecutiveFailures++;
        ticket = Object.freeze({ keyId: e.id, at: now });
        const data: TicketData = { entry: e, epoch: e.streakEpoch, forgiven: false };
        if (this.move(e, { type: 'failure', streak: e.consecutiveFailures, threshold: this.threshold, reason })) data.before = before;
        this.tickets.set(ticket, data);
        break;
      }
      case 'cool-down': {
        const ms = Math.min(this.maxCooldownMs, Math.max(MIN_COOLDOWN_MS, decision.cooldownMs ?? this.defaultCooldownMs));
        this.move(e, { type: 'cool-down', until: now + ms, reason });
        break;
      }
      case 'disable-key':
        this.move(e, { type: 'revoked', reason });
        break;
      case 'exhausted':
        this.move(e, { type: 'refused-for-money', reason });
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
      this.touch(e);
      if (e.stats.failures > 0) e.stats.failures--;
      if (data.epoch === e.streakEpoch && e.consecutiveFailures > 0) e.consecutiveFailures--;
      if (data.before) crossed.push(data);
    }
    for (const { entry: e, before } of crossed) {
      this.move(e, { type: 'forgiven', streak: e.consecutiveFailures, threshold: this.threshold, before: before! });
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
    if (applyModels(e, models)) {
      this.touch(e);
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
    for (const e of this.entries) if (!e.manuallyDisabled && wantsRecheck(e.health)) out.push(e.lease);
    return out;
  }

  /**
   * What a re-check (GET /v1/models with the key) said. ok → a key that is out is healthy again,
   * its streak over. Not ok → it stays as it is (the re-checker backs off and asks again).
   */
  recheckResult(id: string, ok: boolean): void {
    const e = this.byId.get(id);
    if (e && ok && this.move(e, RECHECK_PASSED)) this.changed();
  }

  /** Takes a key out of rotation by hand (or puts it back). Returns false for an unknown id. */
  setManualDisabled(id: string, disabled: boolean): boolean {
    const e = this.byId.get(id);
    if (!e) return false;
    if (e.manuallyDisabled === disabled) return true;
    e.manuallyDisabled = disabled;
    this.touch(e);
    this.logger.info(`Key ${e.id} ${disabled ? 'disabled' : 'enabled'} by the user.`);
    this.changed();
    return true;
  }

  /** The pool as views and /health see it: cached, rebuilt only after a change. No key in clear. */
  snapshot(): PoolSnapshot {
    const now = this.clock();
    // A cool-down or an exclusion ended with nobody asking for a key: listeners should hear it.
    if (now >= this.ends.next && this.expireTimed(now)) this.fire();
    if (this.cached === undefined || this.cachedRev !== this.rev) {
      this.cached = this.build(now);
      this.cachedRev = this.rev;
    }
    return this.cached;
  }

  /** What the state store keeps (issue 11): keys by keyHash only, never in clear. */
  exportState(): PoolStateData {
    return stateOf(this.entries, this.clock());
  }

  /**
   * Applies what a previous run learned to the keys the pool has now (call after setKeys).
   * `data` is what the state file's decoder (sanitizePoolState, src/core/state) gave: trusted
   * as to its shape. Keys not in the pool are ignored; keys not in `data` stay as they are. A
   * revoked or failing key stays out until recheckResult(id, true) (it is a re-check
   * candidate); cool-downs and exclusions already over at `now` are not restored; a key
   * exhausted by its balance comes back when the account's balance for it is now above zero.
   */
  importState(data: PoolStateData, now: number): void {
    const restored = restoreState(this.entries, data, now, {
      move: (e, ev) => this.move(e, ev, now),
      exclude: (e, model, reason, until) => this.exclude(e, model, reason, until, now, true),
      touch: (e) => this.touch(e),
    });
    if (!restored) return;
    // Counters alone are not worth a line; a key kept out (or a pair skipped) is.
    if (restored.out + restored.exhausted + restored.cooling + restored.manual + restored.pairs > 0) this.logger.info(
      `Restored what the pool had learned: ${restored.out} key(s) out until a re-check, ${restored.exhausted} exhausted, ` +
        `${restored.cooling} cooling, ${restored.manual} disabled by hand, ${restored.pairs} (key, model) exclusion(s).`,
    );
    this.ends.reset(this.nextEnd(), this.clock());
    this.changed();
  }

  dispose(): void {
    this.disposed = true;
    this.ends.dispose();
    this.changeEmitter.dispose();
  }

  // ---- internals ----

  /**
   * The one place a key's health changes: nextHealth's answer applied, the streak ended when the
   * event ends it, `since` and the log line with it. True when the health changed.
   */
  private move(e: Entry, ev: HealthEvent, now = this.clock()): boolean {
    const was = e.health;
    const next = nextHealth(was, ev, now);
    if (endsStreak(ev, was, next) && e.consecutiveFailures !== 0) {
      e.consecutiveFailures = 0;
      e.streakEpoch++;
      this.touch(e);
    }
    if (next === was) return false;
    e.health = next;
    this.touch(e);
    if (next.kind === 'cooling') this.ends.at(next.until, now);
    // A reset says so in one line for all the keys it brought back; a restore in one line at the end.
    if (was.kind !== next.kind && ev.type !== 'reset' && ev.type !== 'restored') this.logMove(e.id, keyStateOf(was), keyStateOf(next), next);
    return true;
  }

  private logMove(id: string, was: KeyState, state: KeyState, next: Entry['health']): void {
    const reason = next.kind !== 'healthy' ? next.reason : undefined;
    const msg = `Key ${id}: ${was} → ${state}${reason ? ` (${reason})` : ''}`;
    // A cool-down's end was announced with it ("cooling 2 s"): under a burst of 429s a line for
    // each end would double the pool's lines for nothing new.
    if (was === 'cooling' && state === 'healthy') this.logger.debug(msg);
    else if (state === 'healthy' || state === 'cooling') this.logger.info(msg);
    else this.logger.warn(msg);
  }

  /** The key changed: its snapshot part and the pool's snapshot are rebuilt when next read. */
  private touch(e: Entry): void {
    e.rev++;
    this.rev++;
  }

  /** The answer when nothing is left to try (a rare path: it may allocate). */
  private nothing(req: AcquireRequest, now: number): AcquireResult {
    const s = summarize(this.entries, req.model, now);
    const noModel = req.model !== undefined && s.servable === 0;
    const nextUsableAt = !s.anyUsable && s.minCooling !== Infinity && s.minCooling > now ? s.minCooling : undefined;
    if (!noModel && nextUsableAt === undefined) return NOTHING;
    const r: { kind: 'none'; noModel?: { model: string; served: string[] }; nextUsableAt?: number } = { kind: 'none' };
    if (noModel) r.noModel = { model: req.model!, served: servedModels(this.entries, req.model!) };
    if (nextUsableAt !== undefined) r.nextUsableAt = nextUsableAt;
    return r;
  }

  private handOut(idx: number, prefer: string | undefined, now: number): Acquired {
    const e = this.entries[idx];
    if (prefer === undefined || e.id !== prefer) this.cursor = (idx + 1) % this.entries.length;
    e.stats.lastUsedAt = now;
    this.lastKeyId = e.id;
    this.touch(e);
    this.changed();
    const known = e.models !== undefined;
    const h = e.health;
    const tier: AcquireTier = tierOf(h);
    if (h.kind === 'cooling') {
      return { kind: 'key', lease: e.lease, tier, waitMs: Math.max(0, h.until - now), modelKnown: known };
    }
    const slot = (tier === 'failing' ? 2 : 0) + (known ? 1 : 0);
    const results = (e.results ??= [undefined, undefined, undefined, undefined]);
    return (results[slot] ??= Object.freeze({ kind: 'key', lease: e.lease, tier, waitMs: 0, modelKnown: known }) as Acquired);
  }

  /** No key is usable: bring back the keys taken out by consecutive failures, and only those. */
  private resetFailing(now: number): boolean {
    let count = 0;
    for (const e of this.entries) if (!e.manuallyDisabled && this.move(e, RESET, now)) count++;
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
    this.touch(e);
    if (end !== undefined) this.ends.at(end, now);
    if (!quiet && !old) this.logger.info(`Key ${e.id}: model ${logValue(model, 100)} excluded (${logText(reason, 300)}).`);
  }

  private applyInput(e: Entry, input: PoolKeyInput): void {
    this.touch(e);
    e.name = typeof input.name === 'string' && input.name ? input.name : e.name;
    e.used = finiteOr(input.used, e.used);
    const previous = e.balance;
    const balance = finiteOr(input.balance, undefined);
    if (balance === undefined) return; // unknown balance: say nothing about exhaustion
    e.balance = balance;
    this.move(e, { type: 'balance', balance, previous });
  }

  private entryOf(lease: PoolLease): Entry | undefined {
    return lease ? this.byKey.get(lease.key) : undefined;
  }

  /** Cool-downs and temporary exclusions whose time has passed end. True if any did. */
  private expireTimed(now: number): boolean {
    let changed = false;
    for (const e of this.entries) {
      if (e.health.kind === 'cooling' && this.move(e, TIME, now)) changed = true;
      if (e.exclusions !== undefined) {
        for (const [model, x] of e.exclusions) {
          if (x.until !== undefined && x.until <= now) {
            e.exclusions.delete(model);
            this.touch(e);
            changed = true;
          }
        }
        if (e.exclusions.size === 0) e.exclusions = undefined;
      }
    }
    this.ends.next = this.nextEnd();
    return changed;
  }

  /** The earliest end of a cool-down or a temporary exclusion over all keys (Infinity when none). */
  private nextEnd(): number {
    let next = Infinity;
    for (const e of this.entries) {
      if (e.health.kind === 'cooling' && e.health.until < next) next = e.health.until;
      if (e.exclusions) for (const x of e.exclusions.values()) if (x.until !== undefined && x.until < next) next = x.until;
    }
    return next;
  }

  private changed(): void {
    this.rev++;
    this.fire();
  }

  private fire(): void {
    if (this.disposed || this.changeEmitter.listenerCount === 0) return;
    this.changeEmitter.fire();
  }

  private build(now: number): PoolSnapshot {
    return buildSnapshot(this.entries, { cursor: this.cursor, resets: this.resets, lastKeyId: this.lastKeyId }, now);
  }
}

function minutesToMs(m: number): number {
  return Number.isFinite(m) && m > 0 ? m * 60_000 : 10 * 60_000;
}
