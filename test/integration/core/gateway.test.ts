// The gateway monitor against the project's fake DaiDai on loopback: the real probe, real
// sockets, real (short) backoffs. Assertions wait for outcomes, never for durations.
import * as assert from 'node:assert/strict';
import { Agent, type Dispatcher } from 'undici';
import {
  createFakeDaiDai,
  DEMO_MODELS,
  DEMO_PACKAGE_KEYS,
  DEMO_PACKAGE_MODELS_BY_GROUP,
  DEMO_USABLE_KEYS,
  type FakeDaiDai,
} from '../../fake/fakeDaiDai';
import { GatewayMonitor } from '../../../src/core/gateway/monitor';
import { createGatewayProbe } from '../../../src/core/gateway/probe';
import { failureFamily, gatewaySignature } from '../../../src/core/gateway/signature';
import type { FailureTicket, GatewayPoolPort } from '../../../src/core/gateway/types';
import { KeyPool } from '../../../src/core/pool/keyPool';
import { classifyFailure } from '../../../src/core/pool/policy';
import type { PoolLease } from '../../../src/core/pool/types';
import { Emitter } from '../../../src/core/util/event';
import type { Logger } from '../../../src/core/util/log';
import { maskKey } from '../../../src/core/util/mask';

const [K0, K1, K2] = DEMO_USABLE_KEYS;

/** The pool's side of the contract, kept in memory (the KeyPool grows the same methods). */
class MemoryPool implements GatewayPoolPort {
  readonly list: PoolLease[];
  readonly models = new Map<string, readonly string[] | undefined>();
  readonly out = new Set<string>();
  readonly forgiven: FailureTicket[] = [];
  private readonly emitter = new Emitter<void>();
  readonly onDidChange = this.emitter.event;
  constructor(keys: readonly string[]) {
    this.list = keys.map((key) => ({ id: maskKey(key), key }));
  }
  get size(): number {
    return this.list.length;
  }
  leases(): PoolLease[] {
    return this.list.slice();
  }
  setModels(id: string, models: readonly string[] | undefined): void {
    this.models.set(id, models);
  }
  recheckCandidates(): PoolLease[] {
    return this.list.filter((l) => this.out.has(l.id));
  }
  recheckResult(id: string, ok: boolean): void {
    if (ok) this.out.delete(id);
    this.emitter.fire();
  }
  forgive(tickets: readonly FailureTicket[]): void {
    this.forgiven.push(...tickets);
  }
  takeOut(key: string): void {
    this.out.add(maskKey(key));
    this.emitter.fire();
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`gave up waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string | Error) => lines.push(`[${level}] ${m instanceof Error ? m.message : m}`);
  return { lines, trace() {}, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** One chat request with `key` straight to the gateway, as the forwarder's attempt would go. */
async function attempt(agent: Dispatcher, fake: FakeDaiDai, key: string): Promise<{ status?: number; errorCode?: string; body?: string }> {
  const url = new URL(fake.gatewayUrl + '/chat/completions');
  try {
    const res = await agent.request({
      origin: url.origin,
      path: url.pathname,
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
      headersTimeout: 2_000,
    });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    return { errorCode: e.code ?? e.cause?.code };
  }
}

describe('gateway monitor (loopback, against the fake DaiDai)', () => {
  let fake: FakeDaiDai;
  let agent: Agent;
  let monitor: GatewayMonitor | undefined;

  beforeEach(async () => {
    fake = createFakeDaiDai({ costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    agent = new Agent({ keepAliveTimeout: 1_000 });
  });
  afterEach(async () => {
    monitor?.dispose();
    monitor = undefined;
    await fake.stop();
    await agent.close();
  });

  it('the probe parses the fake\'s GET /v1/models, with the key as a bearer token', async () => {
    const probe = createGatewayProbe(agent, fake.gatewayUrl);
    const r = await probe.models(K0, 5_000);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.models.map((m) => m.id), [...DEMO_MODELS]);
    assert.equal(r.models[0].object, 'model', 'each model kept as the gateway described it');
    const seen = fake.requests.filter((q) => q.path === '/v1/models');
    assert.deepEqual(seen.map((q) => q.key), [K0]);
    const bad = await probe.models('sk-notakeyofthisaccount0000000000', 5_000);
    assert.ok(!bad.ok);
    assert.equal(bad.status, 401);
    assert.ok(!bad.reason.includes('sk-notakeyofthisaccount0000000000'));
  });

  it('start() fetches every key\'s list and the union names each model once', async () => {
    const pool = new MemoryPool([K0, K1, K2]);
    monitor = new GatewayMonitor({ pool, probe: createGatewayProbe(agent, fake.gatewayUrl) });
    await monitor.start();
    for (const l of pool.list) assert.deepEqual(pool.models.get(l.id), [...DEMO_MODELS]);
    assert.deepEqual(monitor.models()?.map((m) => m.id), [...DEMO_MODELS].sort());
  });

  it('keys of different packages: each key gets its package\'s list, the union lists every model once', async () => {
    await fake.stop();
    fake = createFakeDaiDai({ packages: true, costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    const byKey = new Map(DEMO_PACKAGE_KEYS.filter((k) => (k.state ?? 'success') === 'success' && !k.hasError).map((k) => [k.key, k]));
    const keys = [...byKey.keys()];
    const pool = new MemoryPool(keys);
    monitor = new GatewayMonitor({ pool, probe: createGatewayProbe(agent, fake.gatewayUrl) });
    await monitor.start();
    const claude = DEMO_PACKAGE_KEYS.find((k) => k.group === 'claude-max')!;
    assert.deepEqual(pool.models.get(maskKey(claude.key)), [...DEMO_PACKAGE_MODELS_BY_GROUP['claude-max']]);
    const gemini = DEMO_PACKAGE_KEYS.find((k) => k.group === 'gemini')!;
    assert.deepEqual(pool.models.get(maskKey(gemini.key)), [...DEMO_PACKAGE_MODELS_BY_GROUP.gemini]);
    const expected = [...new Set(keys.flatMap((k) => [...(pool.models.get(maskKey(k)) ?? [])]))].sort();
    const union = monitor.models()!.map((m) => m.id);
    assert.deepEqual(union, expected);
    assert.equal(new Set(union).size, union.length, 'each id once');
    for (const id of Object.values(DEMO_PACKAGE_MODELS_BY_GROUP).flat()) assert.ok(union.includes(id), id);
    assert.equal(fake.requests.filter((q) => q.path === '/v1/models').length, keys.length, 'one list request per key');
  });

  it('a key with a fault stays unknown; a re-check brings it back once the fault clears, with its list', async () => {
    const pool = new MemoryPool([K0, K1]);
    fake.setFault(K1, { status: 503, body: '<html>503</html>' });
    const logger = recordingLogger();
    monitor = new GatewayMonitor({
      pool,
      probe: createGatewayProbe(agent, fake.gatewayUrl),
      logger,
      syncDelayMs: 0,
      recheck: { firstDelayMs: 30, maxDelayMs: 60 },
    });
    await monitor.start();
    assert.equal(pool.models.has(maskKey(K1)), false, 'not fetched: unknown, serves anything');
    pool.takeOut(K1);
    await waitFor('two failed re-checks of K1', () => fake.requests.filter((q) => q.key === K1 && q.path === '/v1/models').length >= 3);
    assert.ok(pool.out.has(maskKey(K1)), 'still out while the gateway refuses it');
    fake.setFault(K1, undefined);
    await waitFor('K1 back in rotation', () => !pool.out.has(maskKey(K1)));
    assert.deepEqual(pool.models.get(maskKey(K1)), [...DEMO_MODELS]);
    assert.ok(logger.lines.some((l) => l.includes(`key ${maskKey(K1)} is back in rotation`)));
    assert.ok(!logger.lines.some((l) => l.includes(K1)), 'no key in clear in the log');
  });

  it('the whole gateway down: same failure on several keys → outage, failures forgiven, the probe ends it', async () => {
    const pool = new MemoryPool([K0, K1, K2]);
    const logger = recordingLogger();
    monitor = new GatewayMonitor({
      pool,
      probe: createGatewayProbe(agent, fake.gatewayUrl),
      logger,
      outage: { probeFirstMs: 20, probeMaxMs: 40, probeTimeoutMs: 1_000 },
    });
    await monitor.start();
    const port = fake.port;
    await fake.stop();

    const tickets: FailureTicket[] = [];
    for (const key of [K0, K1]) {
      const r = await attempt(agent, fake, key);
      const sig = gatewaySignature(r);
      // The kept-alive socket breaks (UND_ERR_SOCKET), a new one is refused: one family.
      assert.ok(sig && failureFamily(sig) === 'connection', JSON.stringify(r));
      const ticket = { keyId: maskKey(key), at: Date.now() };
      tickets.push(ticket);
      monitor.watch.recordFailure(ticket.keyId, sig!, ticket);
    }
    assert.equal(monitor.health()?.status, 'gateway-unreachable');
    assert.match(monitor.health()!.reason, /connection|socket/);
    assert.deepEqual(pool.forgiven, tickets);

    // Let a few probes fail, then bring the gateway back on the same port.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(monitor.watch.outage, 'still down while nothing answers');
    await fake.start(port, '127.0.0.1');
    await waitFor('the probe to end the outage', () => monitor!.watch.outage === undefined);
    assert.equal(monitor.health(), undefined);
    assert.ok(fake.requests.some((q) => q.path === '/v1/models' && q.status === 200), 'ended by a probe that got through');
    const lines = logger.lines.filter((l) => l.startsWith('[warn]') || /gateway/.test(l));
    assert.equal(lines.filter((l) => l.startsWith('[warn]')).length, 1, lines.join('\n'));
    assert.equal(lines.filter((l) => /answers again/.test(l)).length, 1, lines.join('\n'));
  });

  it('a whole-gateway HTML 502 from the front: outage on the same page from two keys, ended by the probe once it clears', async () => {
    const pool = new MemoryPool([K0, K1, K2]);
    const logger = recordingLogger();
    monitor = new GatewayMonitor({
      pool,
      probe: createGatewayProbe(agent, fake.gatewayUrl),
      logger,
      outage: { probeFirstMs: 20, probeMaxMs: 40, probeTimeoutMs: 1_000 },
    });
    fake.setGatewayFault({ status: 502, html: true });
    const tickets: FailureTicket[] = [];
    for (const key of [K1, K2]) {
      const r = await attempt(agent, fake, key);
      assert.equal(r.status, 502);
      const sig = gatewaySignature(r);
      assert.match(sig ?? '', /^HTTP 502:/);
      const ticket = { keyId: maskKey(key), at: Date.now() };
      tickets.push(ticket);
      monitor.watch.recordFailure(ticket.keyId, sig!, ticket);
    }
    assert.match(monitor.health()?.reason ?? '', /HTTP 502 page from the gateway's front on 2 keys/);
    assert.deepEqual(pool.forgiven, tickets);
    await waitFor('two failed probes', () => fake.requests.filter((q) => q.path === '/v1/models').length >= 2);
    assert.ok(monitor.watch.outage);
    fake.setGatewayFault(undefined);
    await waitFor('the probe to end the outage', () => monitor!.watch.outage === undefined);
    assert.equal(logger.lines.filter((l) => l.startsWith('[warn]')).length, 1);
  });

  it('the same HTML 502 page from every key is an outage; the gateway\'s JSON errors are not', async () => {
    const pool = new MemoryPool([K0, K1, K2]);
    monitor = new GatewayMonitor({ pool, probe: createGatewayProbe(agent, fake.gatewayUrl), outage: { probeFirstMs: 60_000 } });
    const page = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    for (const key of [K0, K1]) fake.setFault(key, { status: 503, body: { error: { message: '当前分组 claude-max 下对于模型 gpt-4o 无可用渠道', code: 'model_not_found' } } });
    for (const key of [K0, K1]) {
      const sig = gatewaySignature(await attempt(agent, fake, key));
      assert.equal(sig, undefined, 'a group without a channel is about the key and model, not the gateway');
    }
    for (const key of [K0, K1]) fake.setFault(key, { status: 502, body: page });
    for (const key of [K0, K1]) {
      const sig = gatewaySignature(await attempt(agent, fake, key));
      assert.ok(sig);
      monitor.watch.recordFailure(maskKey(key), sig, undefined);
    }
    assert.match(monitor.health()?.reason ?? '', /HTTP 502 page from the gateway's front on 2 keys/);
    monitor.watch.recordSuccess();
    assert.equal(monitor.health(), undefined);
  });
  describe('with the real KeyPool', () => {
    let pool: KeyPool | undefined;
    afterEach(() => {
      monitor?.dispose();
      monitor = undefined;
      pool?.dispose();
      pool = undefined;
    });

    const make = (keys: readonly string[], threshold = 3) => {
      const p = new KeyPool({ failureThreshold: threshold });
      p.setKeys(keys.map((key) => ({ key })));
      // The pool must fit the monitor's port as it is, no adapter.
      const port: GatewayPoolPort = p;
      void port;
      pool = p;
      return p;
    };
    const leaseOf = (p: KeyPool, key: string) => p.leases().find((l) => l.key === key)!;
    const stateOf = (p: KeyPool, key: string) => p.snapshot().keys.find((k) => k.id === leaseOf(p, key).id)!;

    it('each key\'s snapshot carries the models its package serves', async () => {
      await fake.stop();
      fake = createFakeDaiDai({ packages: true, costPerRequest: 0 });
      await fake.start(0, '127.0.0.1');
      const claude = DEMO_PACKAGE_KEYS.find((k) => k.group === 'claude-max')!.key;
      const gpt = DEMO_PACKAGE_KEYS.find((k) => k.group === 'gpt')!.key;
      const p = make([claude, gpt]);
      monitor = new GatewayMonitor({ pool: p, probe: createGatewayProbe(agent, fake.gatewayUrl) });
      await monitor.start();
      assert.deepEqual(stateOf(p, claude).models, [...DEMO_PACKAGE_MODELS_BY_GROUP['claude-max']]);
      assert.deepEqual(stateOf(p, gpt).models, [...DEMO_PACKAGE_MODELS_BY_GROUP.gpt]);
    });

    it('a key taken out by failures is re-checked and put back once the gateway answers it again', async () => {
      const p = make([K0, K1]);
      monitor = new GatewayMonitor({
        pool: p,
        probe: createGatewayProbe(agent, fake.gatewayUrl),
        syncDelayMs: 0,
        recheck: { firstDelayMs: 30, maxDelayMs: 60 },
      });
      await monitor.start();
      fake.setFault(K1, { status: 502, html: true });
      for (let i = 0; i < 3; i++) {
        const r = await attempt(agent, fake, K1);
        p.reportFailure(leaseOf(p, K1), classifyFailure({ status: r.status, body: r.body }));
      }
      assert.equal(stateOf(p, K1).state, 'disabled');
      assert.equal(stateOf(p, K1).disabledBy, 'failures');
      await waitFor('a failed re-check of K1', () => fake.requests.some((q) => q.key === K1 && q.path === '/v1/models' && q.status === 502));
      assert.equal(stateOf(p, K1).state, 'disabled', 'a 502 to the re-check keeps it out');
      fake.setFault(K1, undefined);
      await waitFor('K1 healthy again', () => stateOf(p, K1).state === 'healthy');
      assert.equal(stateOf(p, K1).consecutiveFailures, 0);
    });

    it('a key restored out from the state store is re-checked at start, before any request', async () => {
      const before = make([K0, K1]);
      before.reportFailure(leaseOf(before, K1), classifyFailure({ status: 401, body: '{"error":{"message":"无效的令牌"}}' }));
      assert.equal(stateOf(before, K1).disabledBy, 'revoked');
      const saved = before.exportState();
      before.dispose();
      const p = make([K0, K1]);
      p.importState(saved, Date.now());
      assert.equal(stateOf(p, K1).state, 'disabled');
      monitor = new GatewayMonitor({ pool: p, probe: createGatewayProbe(agent, fake.gatewayUrl) });
      await monitor.start();
      await waitFor('K1 back after its re-check', () => stateOf(p, K1).state === 'healthy');
      assert.deepEqual([...new Set(fake.requests.filter((q) => q.key === K1).map((q) => q.path))], ['/v1/models']);
    });

    it('an outage of the whole gateway leaves every key\'s failure count where it was', async () => {
      const p = make([K0, K1, K2], 1);
      monitor = new GatewayMonitor({
        pool: p,
        probe: createGatewayProbe(agent, fake.gatewayUrl),
        outage: { probeFirstMs: 20, probeMaxMs: 40, probeTimeoutMs: 1_000 },
      });
      await monitor.start();
      fake.setGatewayFault({ status: 502, html: true });
      for (const key of [K0, K1]) {
        const r = await attempt(agent, fake, key);
        const ticket = p.reportFailure(leaseOf(p, key), classifyFailure({ status: r.status, body: r.body }));
        assert.ok(ticket, 'a counted failure');
        if (key === K0) assert.equal(stateOf(p, K0).state, 'disabled', 'threshold 1: out after one failure');
        monitor.watch.recordFailure(leaseOf(p, key).id, gatewaySignature(r)!, ticket);
      }
      assert.equal(monitor.health()?.status, 'gateway-unreachable');
      for (const key of [K0, K1, K2]) {
        const k = stateOf(p, key);
        assert.equal(k.state, 'healthy', `${k.id} back: it was the gateway`);
        assert.equal(k.consecutiveFailures, 0);
        assert.equal(k.stats.failures, 0);
      }
      fake.setGatewayFault(undefined);
      await waitFor('the probe to end the outage', () => monitor!.health() === undefined);
    });
  });
});
