// A small pool of the contract's shape (acquire by model with tiers, tickets, forgive) whose
// state a test sets directly (a key cooling for exactly 150 ms, a key taken out), for the forwarder's own behaviour; the real KeyPool is tested through it elsewhere.
// It keeps only what the forwarder can observe: round-robin, models per key, (key, model)
// exclusions, cooling with an end, taken-out keys as the last resort, revoked keys never.
import type { PoolLease, PoolSnapshot } from '../../../../src/core/pool/types';
import type { AcquireRequest, AcquireResult, FailureDecision, FailureTicket, PoolPort } from '../../../../src/core/proxy/contracts';
import { maskKey } from '../../../../src/core/util/mask';

export interface DoubleKey {
  key: string;
  /** undefined: the list is unknown ("serves anything"). */
  models?: string[];
}

interface Entry {
  lease: PoolLease;
  models?: Set<string>;
  excluded: Map<string, string>;
  coolingUntil: number;
  failing: boolean;
  out?: 'revoked' | 'exhausted';
  consecutiveFailures: number;
  failures: number;
  successes: number;
  neutral: number;
}

export class ContractPoolDouble implements PoolPort {
  readonly entries: Entry[];
  private cursor = 0;
  readonly forgiven: FailureTicket[] = [];
  readonly acquires: AcquireRequest[] = [];

  constructor(
    keys: readonly DoubleKey[],
    private readonly clock: () => number = Date.now,
    private readonly threshold = 3,
  ) {
    this.entries = keys.map((k) => ({
      lease: { id: maskKey(k.key), key: k.key },
      models: k.models ? new Set(k.models) : undefined,
      excluded: new Map(),
      coolingUntil: 0,
      failing: false,
      consecutiveFailures: 0,
      failures: 0,
      successes: 0,
      neutral: 0,
    }));
  }

  entry(key: string): Entry {
    const e = this.entries.find((x) => x.lease.key === key);
    if (!e) throw new Error('unknown key');
    return e;
  }

  /** Every key, for the gateway monitor (outage probe). */
  leases(): PoolLease[] {
    return this.entries.map((e) => e.lease);
  }

  acquire(req: AcquireRequest): AcquireResult {
    this.acquires.push({ ...req, tried: new Set(req.tried) });
    const now = this.clock();
    const n = this.entries.length;
    const model = req.model;
    const serves = (e: Entry) => model === undefined || ((!e.models || e.models.has(model)) && !e.excluded.has(model));
    // A key excluded for the model is known not to serve it, as one whose list lacks it.
    if (model !== undefined && n > 0 && this.entries.every((e) => (e.models && !e.models.has(model)) || e.excluded.has(model))) {
      const served = [...new Set(this.entries.flatMap((e) => [...(e.models ?? [])]))].filter((id) => id !== model);
      return { kind: 'none', noModel: { model, served } };
    }
    const order = Array.from({ length: n }, (_, i) => (this.cursor + i) % n);
    const open = order.filter((i) => !this.entries[i].out && !req.tried.has(this.entries[i].lease.id) && serves(this.entries[i]));
    const pick = (i: number, tier: 'usable' | 'failing' | 'cooling', waitMs: number): AcquireResult => {
      this.cursor = (i + 1) % n;
      const e = this.entries[i];
      return { kind: 'key', lease: e.lease, tier, waitMs, modelKnown: e.models !== undefined };
    };
    for (const i of open) if (!this.entries[i].failing && this.entries[i].coolingUntil <= now) return pick(i, 'usable', 0);
    for (const i of open) if (this.entries[i].failing && this.entries[i].coolingUntil <= now) return pick(i, 'failing', 0);
    let best: number | undefined;
    for (const i of open) {
      const wait = this.entries[i].coolingUntil - now;
      if (wait > 0 && wait <= req.maxWaitMs && (best === undefined || wait < this.entries[best].coolingUntil - now)) best = i;
    }
    if (best !== undefined) return pick(best, 'cooling', this.entries[best].coolingUntil - now);
    const cooling = this.entries.filter((e) => !e.out && e.coolingUntil > now).map((e) => e.coolingUntil);
    return cooling.length ? { kind: 'none', nextUsableAt: Math.min(...cooling) } : { kind: 'none' };
  }

  reportSuccess(lease: PoolLease): void {
    const e = this.entry(lease.key);
    e.successes++;
    e.consecutiveFailures = 0;
    e.failing = false;
  }

  reportNeutral(lease: PoolLease): void {
    this.entry(lease.key).neutral++;
  }

  reportFailure(lease: PoolLease, decision: FailureDecision, model?: string): FailureTicket | undefined {
    const e = this.entry(lease.key);
    switch (decision.action) {
      case 'exclude-model':
        if (model !== undefined) e.excluded.set(model, decision.reason);
        return undefined;
      case 'cool-down':
        e.coolingUntil = this.clock() + (decision.cooldownMs ?? 1000);
        return undefined;
      case 'disable-key':
        e.out = 'revoked';
        return undefined;
      case 'exhausted':
        e.out = 'exhausted';
        return undefined;
      case 'retry-next-key':
        e.failures++;
        e.consecutiveFailures++;
        if (e.consecutiveFailures >= this.threshold) e.failing = true;
        return { keyId: lease.id, at: this.clock() };
      default:
        return undefined;
    }
  }

  forgive(tickets: readonly FailureTicket[]): void {
    for (const t of tickets) {
      this.forgiven.push(t);
      const e = this.entries.find((x) => x.lease.id === t.keyId);
      if (e && e.consecutiveFailures > 0) e.consecutiveFailures--;
      if (e && e.failures > 0) e.failures--;
    }
  }

  snapshot(): PoolSnapshot {
    const keys = this.entries.map((e) => ({
      id: e.lease.id,
      masked: e.lease.id,
      state: e.out === 'exhausted' ? ('exhausted' as const) : e.out || e.failing ? ('disabled' as const) : e.coolingUntil > this.clock() ? ('cooling' as const) : ('healthy' as const),
      manuallyDisabled: false,
      consecutiveFailures: e.consecutiveFailures,
      exclusions: [...e.excluded].map(([model, reason]) => ({ model, reason })),
      stats: { requests: e.successes + e.failures + e.neutral, successes: e.successes, failures: e.failures },
    }));
    const usable = keys.filter((k) => k.state === 'healthy').length;
    return {
      keys,
      counts: {
        total: keys.length,
        healthy: usable,
        cooling: keys.filter((k) => k.state === 'cooling').length,
        disabled: keys.filter((k) => k.state === 'disabled').length,
        exhausted: keys.filter((k) => k.state === 'exhausted').length,
        usable,
      },
      totals: { requests: 0, successes: 0, failures: 0 },
      resets: 0,
      excludedPairs: this.entries.reduce((n, e) => n + e.excluded.size, 0),
    };
  }
}
