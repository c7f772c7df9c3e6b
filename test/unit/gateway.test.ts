// The gateway monitor on a clock advanced by hand, with a pool double and a probe double:
// model lists, background re-checks, outage detection. The probe itself is tested against a
// loopback server.
import * as assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import type { GatewayClock, TimerHandle } from '../../src/core/gateway/clock';
import { KeyRechecker } from '../../src/core/gateway/keyRechecker';
import { ModelCatalog, modelListBody } from '../../src/core/gateway/modelCatalog';
import { GatewayMonitor } from '../../src/core/gateway/monitor';
import { OutageDetector } from '../../src/core/gateway/outageDetector';
import { createGatewayProbe, parseModelList } from '../../src/core/gateway/probe';
import { describeSignature, gatewaySignature } from '../../src/core/gateway/signature';
import type { FailureTicket, GatewayModel, GatewayPoolPort, GatewayProbe, ProbeResult } from '../../src/core/gateway/types';
import type { PoolLease } from '../../src/core/pool/types';
import { Emitter } from '../../src/core/util/event';
import type { Logger } from '../../src/core/util/log';

// ---------------------------------------------------------------------------------------------
// Doubles

/** Timers that run only when the test advances time; promise callbacks settle between timers. */
class ManualClock implements GatewayClock {
  private timers: { id: number; at: number; fn: () => void }[] = [];
  private seq = 0;
  constructor(public t = 1_700_000_000_000) {}
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      let next: { id: number; at: number; fn: () => void } | undefined;
      for (const x of this.timers) if (x.at <= end && (!next || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (!next) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}

const key = (n: number) => `sk-${String(n).repeat(4)}${'x'.repeat(36)}${n}`;
const idOf = (n: number) => `k${n}`;

class PoolDouble implements GatewayPoolPort {
  list: PoolLease[];
  readonly setModelsCalls: { id: string; models: readonly string[] | undefined }[] = [];
  readonly models = new Map<string, readonly string[] | undefined>();
  readonly candidates = new Set<string>();
  readonly recheckResults: { id: string; ok: boolean }[] = [];
  readonly forgiven: FailureTicket[][] = [];
  private readonly emitter = new Emitter<void>();
  readonly onDidChange = this.emitter.event;
  constructor(n: number) {
    this.list = Array.from({ length: n }, (_, i) => ({ id: idOf(i + 1), key: key(i + 1) }));
  }
  get size(): number {
    return this.list.length;
  }
  leases(): PoolLease[] {
    return this.list.slice();
  }
  setModels(id: string, models: readonly string[] | undefined): void {
    this.setModelsCalls.push({ id, models });
    this.models.set(id, models);
  }
  recheckCandidates(): PoolLease[] {
    return this.list.filter((l) => this.candidates.has(l.id));
  }
  recheckResult(id: string, ok: boolean): void {
    this.recheckResults.push({ id, ok });
    if (ok) this.candidates.delete(id);
  }
  forgive(tickets: readonly FailureTicket[]): void {
    this.forgiven.push([...tickets]);
  }
  changed(): void {
    this.emitter.fire();
  }
}

interface ProbeCall {
  key: string;
  timeoutMs: number;
  at: number;
}

/** A probe whose answer per key the test decides; counts calls and requests in flight. */
class ProbeDouble implements GatewayProbe {
  readonly calls: ProbeCall[] = [];
  inFlight = 0;
  maxInFlight = 0;
  answer: (key: string) => ProbeResult | Promise<ProbeResult> = () => ({ ok: true, models: [{ id: 'gpt-4o' }] });
  constructor(private readonly clock: ManualClock) {}
  async models(k: string, timeoutMs: number): Promise<ProbeResult> {
    this.calls.push({ key: k, timeoutMs, at: this.clock.now() });
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.answer(k);
    } finally {
      this.inFlight--;
    }
  }
  callsFor(k: string): ProbeCall[] {
    return this.calls.filter((c) => c.key === k);
  }
}

/** The outage without the narrowing an earlier assert left on `d.outage`. */
function outageOf(d: OutageDetector): { reason: string; since: number } {
  const o = d.outage;
  assert.ok(o, 'an outage');
  return o;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const never = () => new Promise<ProbeResult>(() => {});
const list = (...ids: string[]): ProbeResult => ({ ok: true, models: ids.map((id) => ({ id, object: 'model' })) });
const fail503: ProbeResult = { ok: false, status: 503, reason: 'HTTP 503' };

function recordingLogger(): Logger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const at = (level: string) => (m: string | Error) => lines.push({ level, text: String(m instanceof Error ? m.message : m) });
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

// ---------------------------------------------------------------------------------------------

describe('gateway monitor', () => {
  let clock: ManualClock;
  let probe: ProbeDouble;

  beforeEach(() => {
    clock = new ManualClock();
    probe = new ProbeDouble(clock);
  });

  describe('ModelCatalog', () => {
    it('fetches at most 4 lists at a time, and every key gets its list', async () => {
      const pool = new PoolDouble(10);
      const waiting: { k: string; d: ReturnType<typeof deferred<ProbeResult>> }[] = [];
      probe.answer = (k) => {
        const d = deferred<ProbeResult>();
        waiting.push({ k, d });
        return d.promise;
      };
      const catalog = new ModelCatalog(pool, probe, { clock });
      const done = catalog.refresh();
      await settle();
      assert.equal(probe.inFlight, 4);
      waiting.shift()!.d.resolve(list('a'));
      await settle();
      assert.equal(probe.inFlight, 4, 'a finished fetch makes room for the next one');
      assert.equal(probe.calls.length, 5);
      while (waiting.length || probe.calls.length < 10) {
        const w = waiting.shift();
        if (w) w.d.resolve(list('a'));
        await settle();
      }
      await done;
      assert.equal(probe.maxInFlight, 4);
      assert.deepEqual(pool.setModelsCalls.map((c) => c.id).sort(), pool.list.map((l) => l.id).sort());
      catalog.dispose();
    });

    it('gives up on a list after 5 s: that key stays unknown, the others are fetched', async () => {
      const pool = new PoolDouble(3);
      probe.answer = (k) => (k === key(2) ? never() : list('m'));
      const catalog = new ModelCatalog(pool, probe, { clock });
      let finished = false;
      const done = catalog.refresh().then(() => (finished = true));
      await clock.advance(4_999);
      assert.equal(finished, false, 'still waiting for the hung list');
      await clock.advance(1);
      await done;
      assert.ok(probe.calls.every((c) => c.timeoutMs === 5_000));
      assert.deepEqual(pool.models.get('k1'), ['m']);
      assert.equal(pool.models.has('k2'), false, 'no setModels for the key that did not answer');
      assert.equal(catalog.modelsOf('k2'), undefined);
      assert.deepEqual(pool.models.get('k3'), ['m']);
      catalog.dispose();
    });

    it('leaves a key unknown when its fetch fails, and keeps an earlier list through a later failure', async () => {
      const pool = new PoolDouble(2);
      let k2: ProbeResult = fail503;
      probe.answer = (k) => (k === key(2) ? k2 : list('gpt-4o'));
      const catalog = new ModelCatalog(pool, probe, { clock });
      await catalog.refresh();
      assert.equal(pool.models.has('k2'), false);
      k2 = list('claude-x');
      await catalog.refresh();
      assert.deepEqual(pool.models.get('k2'), ['claude-x']);
      k2 = { ok: false, errorCode: 'ECONNRESET', reason: 'connection reset' };
      const calls = pool.setModelsCalls.length;
      await catalog.refresh();
      assert.deepEqual(catalog.modelsOf('k2')?.map((m) => m.id), ['claude-x']);
      assert.equal(pool.setModelsCalls.filter((c) => c.id === 'k2').length, 1, 'a failed fetch does not tell the pool anything');
      assert.ok(pool.setModelsCalls.length > calls);
      catalog.dispose();
    });

    it('union: each id once, sorted by id, described as the first key in pool order lists it', async () => {
      const pool = new PoolDouble(3);
      const lists: Record<string, GatewayModel[]> = {
        [key(1)]: [{ id: 'gpt-4o', owned_by: 'k1' }, { id: 'claude-sonnet', owned_by: 'k1' }],
        [key(2)]: [{ id: '[官Max]claude-sonnet-4-5', owned_by: 'k2' }, { id: 'gpt-4o', owned_by: 'k2' }],
        [key(3)]: [{ id: 'embedding-3', owned_by: 'k3' }, { id: 'claude-sonnet', owned_by: 'k3' }],
      };
      probe.answer = (k) => ({ ok: true, models: lists[k] });
      const catalog = new ModelCatalog(pool, probe, { clock });
      await catalog.refresh();
      const union = catalog.union();
      assert.deepEqual(union.map((m) => m.id), ['[官Max]claude-sonnet-4-5', 'claude-sonnet', 'embedding-3', 'gpt-4o']);
      assert.equal(union.find((m) => m.id === 'gpt-4o')?.owned_by, 'k1');
      assert.equal(union.find((m) => m.id === 'claude-sonnet')?.owned_by, 'k1');
      assert.deepEqual(pool.models.get('k2'), ['[官Max]claude-sonnet-4-5', 'gpt-4o'], 'ids exactly as the gateway lists them');
      assert.deepEqual(modelListBody(union), { object: 'list', data: union });
      catalog.dispose();
    });

    it('a key that left the pool drops out of the union, with onDidChange', async () => {
      const pool = new PoolDouble(2);
      probe.answer = (k) => (k === key(1) ? list('a') : list('b'));
      const catalog = new ModelCatalog(pool, probe, { clock });
      let changes = 0;
      catalog.onDidChange(() => changes++);
      await catalog.refresh();
      assert.deepEqual(catalog.union().map((m) => m.id), ['a', 'b']);
      assert.equal(changes, 1, 'one change per refresh, not one per key');
      pool.list = pool.list.filter((l) => l.id !== 'k2');
      catalog.sync();
      assert.deepEqual(catalog.union().map((m) => m.id), ['a']);
      assert.equal(changes, 2);
      assert.equal(catalog.modelsOf('k2'), undefined);
      catalog.dispose();
    });

    it('sync() fetches only keys that joined since; a refresh during a refresh runs once more, not twice', async () => {
      const pool = new PoolDouble(1);
      const catalog = new ModelCatalog(pool, probe, { clock });
      await catalog.refresh();
      assert.equal(probe.calls.length, 1);
      pool.list.push({ id: 'k9', key: key(9) });
      catalog.sync();
      await settle();
      assert.deepEqual(probe.calls.map((c) => c.key), [key(1), key(9)]);
      catalog.sync();
      await settle();
      assert.equal(probe.calls.length, 2, 'nothing new: no fetch');
      const gate = deferred<ProbeResult>();
      probe.answer = () => gate.promise;
      const a = catalog.refresh();
      const b = catalog.refresh();
      const c = catalog.refresh();
      await settle();
      gate.resolve(list('x'));
      await Promise.all([a, b, c]);
      assert.equal(probe.calls.length, 2 + 2 + 2, 'the first run and one follow-up, each over both keys');
      catalog.dispose();
    });

    it('sync() during a refresh does not fetch the keys still queued in it', async () => {
      const pool = new PoolDouble(6);
      const gates: ReturnType<typeof deferred<ProbeResult>>[] = [];
      probe.answer = () => {
        const d = deferred<ProbeResult>();
        gates.push(d);
        return d.promise;
      };
      const catalog = new ModelCatalog(pool, probe, { clock });
      const done = catalog.refresh();
      await settle();
      catalog.sync();
      while (gates.length) {
        gates.shift()!.resolve(list('a'));
        await settle();
      }
      await done;
      assert.equal(probe.calls.length, 6);
      catalog.dispose();
    });

    it('asks a key whose list is unknown again after 30 s, 60 s … until it answers, then stops', async () => {
      const pool = new PoolDouble(2);
      let k2: ProbeResult = fail503;
      probe.answer = (k) => (k === key(2) ? k2 : list('a'));
      const catalog = new ModelCatalog(pool, probe, { clock });
      const t0 = clock.now();
      await catalog.refresh();
      await clock.advance(30_000 + 60_000 + 120_000);
      assert.deepEqual(probe.callsFor(key(2)).map((c) => (c.at - t0) / 1000), [0, 30, 90, 210]);
      assert.equal(probe.callsFor(key(1)).length, 1, 'a key with a list is not asked again');
      k2 = list('b');
      await clock.advance(240_000);
      assert.deepEqual(pool.models.get('k2'), ['b']);
      await clock.advance(3_600_000);
      assert.equal(probe.callsFor(key(2)).length, 5);
      assert.equal(clock.pending, 0, 'nothing left to retry: no timer');
      catalog.dispose();
    });

    it('holds its retries while paused', async () => {
      const pool = new PoolDouble(1);
      probe.answer = () => fail503;
      let paused = true;
      const catalog = new ModelCatalog(pool, probe, { clock, paused: () => paused });
      await catalog.refresh();
      await clock.advance(3_600_000);
      assert.equal(probe.calls.length, 1);
      paused = false;
      await clock.advance(30_000);
      assert.equal(probe.calls.length, 2);
      catalog.dispose();
      assert.equal(clock.pending, 0);
    });

    it('a list that arrives for a key that left meanwhile is dropped', async () => {
      const pool = new PoolDouble(2);
      const gate = deferred<ProbeResult>();
      probe.answer = (k) => (k === key(2) ? gate.promise : list('a'));
      const catalog = new ModelCatalog(pool, probe, { clock });
      const done = catalog.refresh();
      await settle();
      pool.list = pool.list.slice(0, 1);
      gate.resolve(list('b'));
      await done;
      assert.equal(pool.models.has('k2'), false);
      assert.deepEqual(catalog.union().map((m) => m.id), ['a']);
      catalog.dispose();
    });
  });

  describe('KeyRechecker', () => {
    it('checks a key out by failures after 30 s, then 60, 120 … up to 10 min apart', async () => {
      const pool = new PoolDouble(3);
      probe.answer = () => fail503;
      const r = new KeyRechecker(pool, probe, { clock });
      r.start();
      const t0 = clock.now();
      pool.candidates.add('k2');
      r.sync();
      await clock.advance(3 * 3_600_000);
      const at = probe.callsFor(key(2)).map((c) => (c.at - t0) / 1000);
      const gaps = at.map((t, i) => (i === 0 ? t : t - at[i - 1]));
      assert.deepEqual(gaps.slice(0, 8), [30, 60, 120, 240, 480, 600, 600, 600]);
      assert.ok(gaps.every((g) => g <= 600), 'never more than 10 min apart');
      assert.equal(probe.calls.filter((c) => c.key !== key(2)).length, 0, 'only candidates are checked');
      assert.deepEqual(pool.recheckResults, [], 'a 503 is no verdict on the key');
      r.dispose();
      assert.equal(clock.pending, 0, 'stop clears every timer');
    });

    it('puts a key back when its check answers 200, and hands on the list it got', async () => {
      const pool = new PoolDouble(2);
      let answer: ProbeResult = { ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused' };
      probe.answer = () => answer;
      const restored: { id: string; models: readonly GatewayModel[] }[] = [];
      const r = new KeyRechecker(pool, probe, { clock, onRestored: (id, models) => restored.push({ id, models }) });
      r.start();
      pool.candidates.add('k1');
      r.sync();
      await clock.advance(30_000);
      assert.equal(probe.calls.length, 1);
      assert.deepEqual(pool.recheckResults, []);
      answer = list('gpt-4o', 'o3');
      await clock.advance(60_000);
      assert.deepEqual(pool.recheckResults, [{ id: 'k1', ok: true }]);
      assert.deepEqual(restored.map((x) => [x.id, x.models.map((m) => m.id)]), [['k1', ['gpt-4o', 'o3']]]);
      await clock.advance(3_600_000);
      assert.equal(probe.calls.length, 2, 'no more checks once it is back');
      r.dispose();
    });

    it('a 401 or 403 keeps the key out (recheckResult false) and it is checked again later', async () => {
      const pool = new PoolDouble(1);
      probe.answer = () => ({ ok: false, status: 401, reason: 'HTTP 401: 无效的令牌' });
      const r = new KeyRechecker(pool, probe, { clock });
      pool.candidates.add('k1');
      r.start(); // restored from the state store: checked at once
      await clock.advance(0);
      assert.deepEqual(pool.recheckResults, [{ id: 'k1', ok: false }]);
      await clock.advance(30_000);
      assert.deepEqual(pool.recheckResults, [{ id: 'k1', ok: false }, { id: 'k1', ok: false }]);
      assert.deepEqual(probe.calls.map((c) => c.at - probe.calls[0].at), [0, 30_000]);
      r.dispose();
    });

    it('a key that came back by itself is forgotten; it starts at 30 s again when it goes out again', async () => {
      const pool = new PoolDouble(2);
      probe.answer = () => fail503;
      const r = new KeyRechecker(pool, probe, { clock });
      r.start();
      pool.candidates.add('k1');
      r.sync();
      await clock.advance(30_000 + 60_000);
      assert.equal(probe.calls.length, 2);
      pool.candidates.delete('k1');
      r.sync();
      await clock.advance(3_600_000);
      assert.equal(probe.calls.length, 2, 'not a candidate: not checked');
      pool.candidates.add('k1');
      r.sync();
      const t = clock.now();
      await clock.advance(30_000);
      assert.equal(probe.calls.length, 3);
      assert.equal(probe.calls[2].at - t, 30_000);
      r.dispose();
    });

    it('never has two checks of one key in flight, even when one outlives its deadline', async () => {
      const pool = new PoolDouble(1);
      probe.answer = never;
      const r = new KeyRechecker(pool, probe, { clock });
      r.start();
      pool.candidates.add('k1');
      r.sync();
      await clock.advance(6 * 3_600_000);
      assert.equal(probe.calls.length, 1);
      assert.equal(probe.maxInFlight, 1);
      r.dispose();
    });

    it('while paused (an outage) due checks wait, without growing the backoff', async () => {
      const pool = new PoolDouble(1);
      probe.answer = () => fail503;
      let paused = true;
      const r = new KeyRechecker(pool, probe, { clock, paused: () => paused });
      r.start();
      pool.candidates.add('k1');
      r.sync();
      await clock.advance(10 * 60_000);
      assert.equal(probe.calls.length, 0);
      paused = false;
      await clock.advance(30_000);
      assert.equal(probe.calls.length, 1);
      r.dispose();
    });

    it('checks nothing after stop(), and a late answer changes nothing', async () => {
      const pool = new PoolDouble(1);
      const gate = deferred<ProbeResult>();
      probe.answer = () => gate.promise;
      const r = new KeyRechecker(pool, probe, { clock });
      pool.candidates.add('k1');
      r.start();
      await clock.advance(0);
      r.stop();
      gate.resolve(list('a'));
      await settle();
      assert.deepEqual(pool.recheckResults, []);
      assert.equal(clock.pending, 0);
    });
  });

  describe('OutageDetector', () => {
    const ticket = (keyId: string, at: number): FailureTicket => ({ keyId, at });

    it('declares an outage for the same failure on 2 keys, forgives exactly those failures, fires once', async () => {
      const pool = new PoolDouble(3);
      const logger = recordingLogger();
      const d = new OutageDetector(pool, probe, { clock, logger });
      let changes = 0;
      d.onDidChange(() => changes++);
      const t1 = ticket('k1', clock.now());
      d.recordFailure('k1', 'ECONNREFUSED', t1);
      assert.equal(d.outage, undefined, 'one key is not an outage');
      await clock.advance(2_000);
      const t2 = ticket('k2', clock.now());
      d.recordFailure('k2', 'ECONNREFUSED', t2);
      assert.ok(d.outage);
      assert.equal(outageOf(d).since, clock.now());
      assert.match(outageOf(d).reason, /connection refused/);
      assert.deepEqual(pool.forgiven, [[t1, t2]]);
      assert.deepEqual(d.health(), { status: 'gateway-unreachable', reason: outageOf(d).reason, since: outageOf(d).since });
      assert.equal(changes, 1);
      assert.equal(logger.lines.filter((l) => l.level === 'warn').length, 1);
      d.dispose();
    });

    it('does not declare it for one key failing again and again on a pool of three', () => {
      const pool = new PoolDouble(3);
      const d = new OutageDetector(pool, probe, { clock });
      for (let i = 0; i < 10; i++) d.recordFailure('k1', 'ECONNRESET', ticket('k1', i));
      assert.equal(d.outage, undefined);
      assert.deepEqual(pool.forgiven, []);
      d.dispose();
    });

    it('does not declare it for different failures on different keys', () => {
      const pool = new PoolDouble(3);
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'ECONNRESET', undefined);
      d.recordFailure('k2', 'HTTP 502:aaaaaaaaaaaa', undefined);
      d.recordFailure('k3', 'HTTP 502:bbbbbbbbbbbb', undefined);
      assert.equal(d.outage, undefined);
      d.recordFailure('k1', 'HTTP 502:bbbbbbbbbbbb', undefined);
      assert.ok(d.outage, 'the same page on two keys is');
      assert.match(outageOf(d).reason, /HTTP 502/);
      d.dispose();
    });

    it('a refused connection and a reset one are the same way of failing; a timeout is another', () => {
      const pool = new PoolDouble(3);
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'UND_ERR_HEADERS_TIMEOUT', undefined);
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      assert.equal(d.outage, undefined);
      d.recordFailure('k3', 'UND_ERR_SOCKET', undefined);
      assert.match(outageOf(d).reason, /connection refused \(ECONNREFUSED\) on 2 keys/);
      d.dispose();
    });

    it('does not declare it when a success came in between, or when the failures are more than 10 s apart', async () => {
      const pool = new PoolDouble(3);
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'UND_ERR_HEADERS_TIMEOUT', undefined);
      d.recordSuccess();
      d.recordFailure('k2', 'UND_ERR_HEADERS_TIMEOUT', undefined);
      assert.equal(d.outage, undefined);
      await clock.advance(10_001);
      d.recordFailure('k3', 'UND_ERR_HEADERS_TIMEOUT', undefined);
      assert.equal(d.outage, undefined, 'k2 failed too long ago');
      await clock.advance(9_000);
      d.recordFailure('k1', 'UND_ERR_HEADERS_TIMEOUT', undefined);
      assert.ok(d.outage);
      d.dispose();
    });

    it('with a single key in the pool: 3 failures in the window, not 2', () => {
      const pool = new PoolDouble(1);
      const d = new OutageDetector(pool, probe, { clock });
      const ts = [ticket('k1', 1), ticket('k1', 2), ticket('k1', 3)];
      d.recordFailure('k1', 'ENOTFOUND', ts[0]);
      d.recordFailure('k1', 'ENOTFOUND', ts[1]);
      assert.equal(d.outage, undefined);
      d.recordFailure('k1', 'ENOTFOUND', ts[2]);
      assert.ok(d.outage);
      assert.match(outageOf(d).reason, /the only key/);
      assert.deepEqual(pool.forgiven, [ts]);
      d.dispose();
    });

    it('forgives failures recorded during the outage too, and skips failures that had no ticket', () => {
      const pool = new PoolDouble(3);
      const d = new OutageDetector(pool, probe, { clock });
      const t1 = ticket('k1', 1);
      d.recordFailure('k1', 'ECONNREFUSED', t1);
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      assert.deepEqual(pool.forgiven, [[t1]]);
      const t3 = ticket('k3', 3);
      d.recordFailure('k3', 'ECONNRESET', t3);
      assert.deepEqual(pool.forgiven, [[t1], [t3]]);
      d.dispose();
    });

    it('probes with one key on a backoff, 1 s doubling to 30 s, while the gateway stays down', async () => {
      const pool = new PoolDouble(2);
      probe.answer = () => ({ ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused' });
      const logger = recordingLogger();
      const d = new OutageDetector(pool, probe, { clock, logger });
      d.recordFailure('k1', 'ECONNREFUSED', undefined);
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      const t0 = clock.now();
      await clock.advance(5 * 60_000);
      const at = probe.calls.map((c) => (c.at - t0) / 1000);
      const gaps = at.map((t, i) => (i === 0 ? t : t - at[i - 1]));
      assert.deepEqual(gaps.slice(0, 8), [1, 2, 4, 8, 16, 30, 30, 30]);
      assert.equal(probe.maxInFlight, 1);
      assert.ok(d.outage);
      assert.equal(logger.lines.filter((l) => l.level === 'warn' || l.level === 'info').length, 1, 'one line for the whole outage so far');
      d.dispose();
      assert.equal(clock.pending, 0);
    });

    it('a probe that gets an answer ends the outage at once; a 5xx from the front does not', async () => {
      const pool = new PoolDouble(2);
      let answer: ProbeResult = { ok: false, status: 502, reason: 'HTTP 502' };
      probe.answer = () => answer;
      const logger = recordingLogger();
      const d = new OutageDetector(pool, probe, { clock, logger });
      let changes = 0;
      d.onDidChange(() => changes++);
      d.recordFailure('k1', 'HTTP 502:abc', undefined);
      d.recordFailure('k2', 'HTTP 502:abc', undefined);
      await clock.advance(1_000);
      assert.ok(d.outage, 'a 502 probe keeps it down');
      answer = list('gpt-4o');
      await clock.advance(2_000);
      assert.equal(d.outage, undefined);
      assert.equal(d.health(), undefined);
      assert.equal(changes, 2);
      assert.equal(logger.lines.filter((l) => l.level === 'info').length, 1);
      const calls = probe.calls.length;
      await clock.advance(10 * 60_000);
      assert.equal(probe.calls.length, calls, 'no probe once it is over');
      d.dispose();
    });

    it('a 401 to the probe also ends it: the gateway answered about the key', async () => {
      const pool = new PoolDouble(2);
      probe.answer = () => ({ ok: false, status: 401, reason: 'HTTP 401' });
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'ECONNRESET', undefined);
      d.recordFailure('k2', 'ECONNRESET', undefined);
      await clock.advance(1_000);
      assert.equal(d.outage, undefined);
      d.dispose();
    });

    it('recordSuccess() ends the outage and stops the probe; the next outage probes from 1 s again', async () => {
      const pool = new PoolDouble(2);
      probe.answer = () => ({ ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused' });
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'ECONNREFUSED', undefined);
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      await clock.advance(1_000 + 2_000 + 4_000);
      assert.equal(probe.calls.length, 3);
      d.recordSuccess();
      assert.equal(d.outage, undefined);
      assert.equal(clock.pending, 0, 'the probe timer is gone');
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      d.recordFailure('k1', 'ECONNREFUSED', undefined);
      const t = clock.now();
      await clock.advance(1_000);
      assert.equal(probe.calls.length, 4);
      assert.equal(probe.calls[3].at - t, 1_000);
      d.dispose();
    });

    it('rotates the probe over the keys, so one revoked key cannot keep the outage going', async () => {
      const pool = new PoolDouble(3);
      probe.answer = () => ({ ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused' });
      const d = new OutageDetector(pool, probe, { clock });
      d.recordFailure('k1', 'ECONNREFUSED', undefined);
      d.recordFailure('k2', 'ECONNREFUSED', undefined);
      await clock.advance(1_000 + 2_000 + 4_000);
      assert.deepEqual(probe.calls.map((c) => c.key), [key(1), key(2), key(3)]);
      d.dispose();
    });
  });

  describe('GatewayMonitor', () => {
    it('start() fetches the lists; a key that joins is fetched after the pool changes; dispose leaves no timer', async () => {
      const pool = new PoolDouble(2);
      probe.answer = (k) => (k === key(1) ? list('gpt-4o') : list('claude-sonnet'));
      const m = new GatewayMonitor({ pool, probe, clock });
      assert.equal(m.models(), undefined, 'no list known yet: the proxy forwards /v1/models');
      let changes = 0;
      m.onDidChange(() => changes++);
      await m.start();
      assert.deepEqual(m.models()?.map((x) => x.id), ['claude-sonnet', 'gpt-4o']);
      assert.ok(changes >= 1);
      pool.list.push({ id: 'k3', key: key(3) });
      probe.answer = () => list('o3');
      pool.changed();
      pool.changed();
      await clock.advance(1_000);
      assert.equal(probe.callsFor(key(3)).length, 1);
      assert.deepEqual(m.models()?.map((x) => x.id), ['claude-sonnet', 'gpt-4o', 'o3']);
      m.dispose();
      assert.equal(clock.pending, 0);
    });

    it('a key put back by its re-check gets the list from that check, without another request', async () => {
      const pool = new PoolDouble(2);
      probe.answer = (k) => (k === key(2) ? fail503 : list('gpt-4o'));
      const m = new GatewayMonitor({ pool, probe, clock, catalog: { retryFirstMs: 3_600_000 } });
      await m.start();
      assert.equal(pool.models.has('k2'), false);
      pool.candidates.add('k2');
      pool.changed();
      probe.answer = () => list('claude-opus');
      await clock.advance(1_000 + 30_000);
      assert.deepEqual(pool.recheckResults, [{ id: 'k2', ok: true }]);
      assert.deepEqual(pool.models.get('k2'), ['claude-opus']);
      assert.equal(probe.callsFor(key(2)).length, 2, 'the failed fetch and the re-check');
      m.dispose();
    });

    it('holds re-checks while the gateway is down, and reports the outage for /health', async () => {
      const pool = new PoolDouble(2);
      probe.answer = () => ({ ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused' });
      const m = new GatewayMonitor({ pool, probe, clock, outage: { probeFirstMs: 60 * 60_000 } });
      await m.start();
      assert.equal(probe.calls.length, 2, 'both lists asked, neither answered');
      m.watch.recordFailure('k1', 'ECONNREFUSED', undefined);
      m.watch.recordFailure('k2', 'ECONNREFUSED', undefined);
      assert.equal(m.health()?.status, 'gateway-unreachable');
      pool.candidates.add('k1');
      pool.changed();
      await clock.advance(10 * 60_000);
      assert.equal(probe.calls.length, 2, 'no re-check and no list retry while down (and the probe waits its hour)');
      probe.answer = () => list('gpt-4o');
      m.watch.recordSuccess();
      assert.equal(m.health(), undefined);
      await settle();
      assert.equal(probe.calls.length, 4, 'the unknown lists are asked at once when it is back');
      assert.deepEqual(pool.models.get('k2'), ['gpt-4o']);
      await clock.advance(30_000);
      assert.equal(probe.callsFor(key(1)).length, 3, 'and the key out is re-checked');
      assert.deepEqual(pool.recheckResults, [{ id: 'k1', ok: true }]);
      m.dispose();
    });
  });

  describe('signatures', () => {
    it('network codes of a missing gateway are signatures; a key-shaped one is not', () => {
      assert.equal(gatewaySignature({ errorCode: 'ECONNREFUSED' }), 'ECONNREFUSED');
      assert.equal(gatewaySignature({ errorCode: 'UND_ERR_HEADERS_TIMEOUT' }), 'UND_ERR_HEADERS_TIMEOUT');
      assert.equal(gatewaySignature({ errorCode: 'UND_ERR_ABORTED' }), undefined);
      assert.equal(gatewaySignature({ status: 401, body: 'no' }), undefined);
      assert.equal(gatewaySignature({ status: 500, body: '<html>' }), undefined);
    });

    it('the same front page gives the same signature; another page or status another; gateway JSON none', () => {
      const page = '<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>';
      const a = gatewaySignature({ status: 502, body: page });
      assert.match(a ?? '', /^HTTP 502:[0-9a-f]{12}$/);
      assert.equal(gatewaySignature({ status: 502, body: Buffer.from(page) }), a);
      assert.notEqual(gatewaySignature({ status: 503, body: page }), a);
      assert.notEqual(gatewaySignature({ status: 502, body: page.replace('nginx', 'openresty') }), a);
      assert.equal(gatewaySignature({ status: 502, body: page + 'x'.repeat(2000) }), gatewaySignature({ status: 502, body: page + 'x'.repeat(3000) }), 'only the first 512 bytes count');
      assert.equal(gatewaySignature({ status: 503, body: '{"error":{"message":"当前分组 claude-max 下对于模型 gpt-4o-mini 无可用渠道","code":"model_not_found"}}' }), undefined);
      assert.match(describeSignature(a!), /HTTP 502 page/);
      assert.match(describeSignature('ECONNREFUSED'), /connection refused \(ECONNREFUSED\)/);
    });
  });

  describe('createGatewayProbe (loopback)', () => {
    let server: Server;
    let agent: Agent;
    let handler: (req: IncomingMessage, res: ServerResponse) => void;
    let base: string;
    const K = 'sk-probe0000secret1111secret2222secret3333';

    beforeEach(async () => {
      handler = (_req, res) => res.end('{}');
      server = createServer((req, res) => handler(req, res));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
      agent = new Agent();
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await agent.close();
    });

    it('GETs {base}/models with the key as a bearer token and parses the OpenAI list', async () => {
      let seen: { url?: string; auth?: string; method?: string } = {};
      handler = (req, res) => {
        seen = { url: req.url, auth: req.headers.authorization, method: req.method };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model', owned_by: 'x' }, { id: 'gpt-4o' }, { nope: 1 }, { id: '[官Max]claude' }] }));
      };
      const r = await createGatewayProbe(agent, base + '/').models(K, 2_000);
      assert.deepEqual(seen, { url: '/v1/models', auth: `Bearer ${K}`, method: 'GET' });
      assert.ok(r.ok);
      assert.deepEqual(r.models, [{ id: 'gpt-4o', object: 'model', owned_by: 'x' }, { id: '[官Max]claude' }]);
    });

    it('a refusal: the status and the gateway message, with the key masked', async () => {
      handler = (_req, res) => {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: { message: `无效的令牌 ${K}`, type: 'new_api_error' } }));
      };
      const r = await createGatewayProbe(agent, base).models(K, 2_000);
      assert.equal(r.ok, false);
      assert.ok(!r.ok);
      assert.equal(r.status, 401);
      assert.match(r.reason, /^HTTP 401: 无效的令牌 sk-prob…3333$/);
      assert.ok(!JSON.stringify(r).includes(K));
    });

    it('an HTML error page: just the status; a 200 that is not a list: not ok', async () => {
      handler = (_req, res) => {
        res.statusCode = 502;
        res.end('<html><body>502 Bad Gateway</body></html>');
      };
      const r = await createGatewayProbe(agent, base).models(K, 2_000);
      assert.deepEqual(r, { ok: false, status: 502, reason: 'HTTP 502' });
      handler = (_req, res) => res.end('<html>hello</html>');
      const r2 = await createGatewayProbe(agent, base).models(K, 2_000);
      assert.equal(r2.ok, false);
      assert.ok(!r2.ok && /not a model list/.test(r2.reason));
    });

    it('caps the body: a list past the limit is refused, not read whole', async () => {
      handler = (_req, res) => {
        res.write('{"data":[');
        res.end('"' + 'x'.repeat(64 * 1024) + '"]}');
      };
      const r = await createGatewayProbe(agent, base, { maxBytes: 1024 }).models(K, 2_000);
      assert.ok(!r.ok);
      assert.match(r.reason, /larger than 1 KB/);
    });

    it('a hang before headers ends at the timeout; a refused connection says ECONNREFUSED', async () => {
      handler = () => {};
      const r = await createGatewayProbe(agent, base).models(K, 200);
      assert.ok(!r.ok);
      assert.match(r.errorCode ?? '', /TIMEOUT/);
      assert.match(r.reason, /timeout/);
      server.closeAllConnections();
      await new Promise<void>((res) => server.close(() => res()));
      const r2 = await createGatewayProbe(agent, base).models(K, 2_000);
      assert.ok(!r2.ok);
      assert.equal(r2.errorCode, 'ECONNREFUSED');
      assert.equal(r2.reason, 'connection refused (ECONNREFUSED)');
      // afterEach closes again: give it a server to close.
      server = createServer();
      await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    });

    it('a bad base address fails each call with a clear reason, without a request', async () => {
      const r = await createGatewayProbe(agent, 'not a url').models(K, 100);
      assert.deepEqual(r, { ok: false, reason: 'the gateway address is not a valid http(s) URL' });
    });

    it('parseModelList takes a bare array and refuses other shapes', () => {
      assert.deepEqual(parseModelList('[{"id":"a"}]'), [{ id: 'a' }]);
      assert.equal(parseModelList('{"object":"list"}'), undefined);
      assert.equal(parseModelList('nope'), undefined);
    });
  });
});
