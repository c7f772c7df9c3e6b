import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { KeyPool, type KeyPoolOptions } from '../../src/core/pool/keyPool';
import { classifyFailure } from '../../src/core/pool/policy';
import type { AcquireResult, FailureDecision, PoolKeyInput, PoolLease, PoolSnapshot } from '../../src/core/pool/types';
import { maskKey } from '../../src/core/util/mask';

const K1 = 'sk-aaaa1111111111111111111111111111111111111111';
const K2 = 'sk-bbbb2222222222222222222222222222222222222222';
const K3 = 'sk-cccc3333333333333333333333333333333333333333';
const K4 = 'sk-dddd4444444444444444444444444444444444444444';
const ALL = [K1, K2, K3, K4];

const FAIL_503: FailureDecision = classifyFailure({ status: 503 });
const RATE_10S: FailureDecision = classifyFailure({ status: 429, retryAfter: '10' });
const BAD_KEY: FailureDecision = classifyFailure({ status: 401 });
const NO_MONEY: FailureDecision = classifyFailure({ status: 402 });
const CLIENT_400: FailureDecision = classifyFailure({ status: 400, body: 'invalid model' });
const NOTHING_TRIED: ReadonlySet<string> = new Set();
const NO_CHANNEL: FailureDecision = classifyFailure({ status: 503, body: '当前分组 claude-max 下对于模型 gpt-4o-mini 无可用渠道' });
const NOT_SERVED: FailureDecision = classifyFailure({ status: 403, body: '该令牌无权使用模型：gpt-4o-mini' });

describe('KeyPool', () => {
  let now: number;
  let pool: KeyPool;

  const make = (keys: readonly string[] = [K1, K2, K3], opts: KeyPoolOptions = {}) => {
    pool?.dispose();
    pool = new KeyPool({ clock: () => now, ...opts });
    pool.setKeys(keys.map((key) => ({ key })));
    return pool;
  };
  const id = (key: string) => maskKey(key);
  const keyOf = (snap: PoolSnapshot, key: string) => {
    const k = snap.keys.find((x) => x.id === id(key));
    assert.ok(k, `key ${id(key)} in snapshot`);
    return k;
  };
  const acquire = (tried: ReadonlySet<string> = NOTHING_TRIED, model?: string, maxWaitMs = 0): AcquireResult =>
    pool.acquire({ tried, model, maxWaitMs });
  const take = (tried?: ReadonlySet<string>, model?: string): PoolLease => {
    const got = acquire(tried, model);
    assert.equal(got.kind, 'key', 'a key was handed out');
    return got.kind === 'key' ? got.lease : (undefined as never);
  };
  /** Takes `key` out of rotation in the given way, going through acquire like the proxy does. */
  const failUntilLeased = (key: string, decision: FailureDecision) => {
    for (let i = 0; i < 10; i++) {
      const lease = take();
      if (lease.key === key) {
        pool.reportFailure(lease, decision);
        return;
      }
      pool.reportSuccess(lease, 10);
    }
    assert.fail(`never got ${id(key)}`);
  };

  beforeEach(() => {
    now = 1_700_000_000_000;
  });
  afterEach(() => pool?.dispose());

  describe('round-robin', () => {
    it('hands keys out in order, wrapping around', () => {
      make();
      const got = Array.from({ length: 7 }, () => take().key);
      assert.deepEqual(got, [K1, K2, K3, K1, K2, K3, K1]);
    });

    it('spreads 300 sequential requests evenly over 3 keys', () => {
      make();
      const counts = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        const l = take();
        counts.set(l.key, (counts.get(l.key) ?? 0) + 1);
        pool.reportSuccess(l, 5);
      }
      assert.deepEqual([...counts.values()], [100, 100, 100]);
      assert.equal(pool.snapshot().totals.successes, 300);
    });

    it('is fair under concurrency: interleaved acquires before any report', () => {
      make(ALL);
      for (const n of [1, 2, 3, 4, 5, 7, 13, 50]) {
        const leases = Array.from({ length: n }, () => take());
        const counts = new Map<string, number>(ALL.map((k) => [k, 0]));
        for (const l of leases) counts.set(l.key, counts.get(l.key)! + 1);
        const min = Math.min(...counts.values());
        const max = Math.max(...counts.values());
        assert.ok(max - min <= 1, `n=${n}: ${[...counts.values()]}`);
        // Reports in reverse order do not disturb the rotation.
        for (const l of leases.reverse()) pool.reportSuccess(l, 1);
      }
    });

    it('skips excluded ids (keys this request already tried)', () => {
      make();
      const first = take();
      assert.equal(first.key, K1);
      const tried = new Set([first.id, id(K2)]);
      assert.equal(take(tried).key, K3);
      assert.equal(acquire(new Set([id(K1), id(K2), id(K3)])).kind, 'none', 'all tried → nothing');
      assert.equal(pool.snapshot().resets, 0, 'exclusion alone never resets the pool');
    });

    it('returns the same lease object for a key and keeps the key out of the id', () => {
      make();
      const a = take();
      take();
      take();
      const b = take();
      assert.equal(a, b);
      assert.equal(a.id, id(K1));
      assert.ok(!a.id.includes(K1));
    });

    it('returns nothing with no keys', () => {
      make([]);
      assert.deepEqual(acquire(), { kind: 'none' });
      assert.equal(pool.snapshot().counts.total, 0);
      assert.equal(pool.snapshot().nextKeyId, undefined);
    });
  });

  describe('failures', () => {
    it('disables a key after 3 consecutive failures, with the last reason', () => {
      make([K1]);
      for (let i = 0; i < 2; i++) pool.reportFailure(take(), FAIL_503);
      let k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'healthy');
      assert.equal(k.consecutiveFailures, 2);
      pool.reportFailure(take(), classifyFailure({ errorCode: 'ECONNRESET' }));
      k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'disabled');
      assert.equal(k.reason, '3 consecutive failures: connection reset');
      assert.equal(k.stats.failures, 3);
      assert.equal(k.stats.lastError, 'connection reset');
    });

    it('setFailureThreshold applies live (the setting changed while running)', () => {
      make([K1], { failureThreshold: 3 });
      pool.setFailureThreshold(5);
      for (let i = 0; i < 4; i++) pool.reportFailure(take(), FAIL_503);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy', 'four failures stay under a threshold of 5');
      pool.reportFailure(take(), FAIL_503);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      make([K2], { failureThreshold: 3 });
      pool.setFailureThreshold(0); // clamped to 1
      pool.reportFailure(take(), FAIL_503);
      assert.equal(keyOf(pool.snapshot(), K2).state, 'disabled');
    });

    it('a success in between resets the streak', () => {
      make([K1]);
      pool.reportFailure(take(), FAIL_503);
      pool.reportFailure(take(), FAIL_503);
      pool.reportSuccess(take(), 100);
      pool.reportFailure(take(), FAIL_503);
      pool.reportFailure(take(), FAIL_503);
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'healthy');
      assert.equal(k.consecutiveFailures, 2);
      assert.equal(k.stats.requests, 5);
      assert.equal(k.stats.failures, 4);
      assert.equal(k.stats.successes, 1);
    });

    it('honours a custom failureThreshold', () => {
      make([K1, K2], { failureThreshold: 1 });
      pool.reportFailure(take(), FAIL_503);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      assert.equal(take().key, K2);
    });

    it('cools a 429 key for Retry-After, skips it, and brings it back when the time has passed', () => {
      make([K1, K2]);
      const l = take();
      pool.reportFailure(l, RATE_10S);
      let snap = pool.snapshot();
      const k = keyOf(snap, K1);
      assert.equal(k.state, 'cooling');
      assert.equal(k.coolingUntil, now + 10_000);
      assert.equal(k.consecutiveFailures, 0, 'a cool-down does not count toward the threshold');
      assert.equal(snap.counts.cooling, 1);
      assert.equal(snap.counts.usable, 1);
      assert.equal(take().key, K2);
      assert.equal(take().key, K2, 'K1 still cooling');
      now += 9_999;
      assert.equal(take().key, K2);
      now += 1;
      snap = pool.snapshot();
      assert.equal(keyOf(snap, K1).state, 'healthy', 'cooldown over on read');
      assert.equal(keyOf(snap, K1).coolingUntil, undefined);
      assert.equal(snap.counts.usable, 2);
      const seen = new Set([take().key, take().key]);
      assert.deepEqual(seen, new Set([K1, K2]));
    });

    it('a second 429 never shortens a cooldown', () => {
      make([K1, K2]);
      const l = take();
      pool.reportFailure(l, classifyFailure({ status: 429, retryAfter: '60' }));
      pool.reportFailure(l, classifyFailure({ status: 429, retryAfter: '5' }));
      assert.equal(keyOf(pool.snapshot(), K1).coolingUntil, now + 60_000);
    });

    it('disables a key on 401 at once, with its reason', () => {
      make([K1, K2]);
      pool.reportFailure(take(), BAD_KEY);
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'disabled');
      assert.match(k.reason ?? '', /401/);
      assert.equal(take().key, K2);
      assert.equal(take().key, K2);
    });

    it('marks a key exhausted on 402 and keeps it out', () => {
      make([K1, K2]);
      pool.reportFailure(take(), NO_MONEY);
      const snap = pool.snapshot();
      assert.equal(keyOf(snap, K1).state, 'exhausted');
      assert.equal(snap.counts.exhausted, 1);
      for (let i = 0; i < 5; i++) assert.equal(take().key, K2);
    });

    it('a client error costs the key nothing', () => {
      make([K1]);
      pool.reportFailure(take(), FAIL_503);
      pool.reportFailure(take(), FAIL_503);
      pool.reportFailure(take(), CLIENT_400);
      pool.reportNeutral(take());
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'healthy');
      assert.equal(k.consecutiveFailures, 2, 'streak unchanged');
      assert.equal(k.stats.requests, 4);
      assert.equal(k.stats.failures, 2);
      assert.equal(k.stats.lastError, 'HTTP 503');
    });

    it('records latency: last and an EWMA', () => {
      make([K1]);
      pool.reportSuccess(take(), 100);
      assert.equal(keyOf(pool.snapshot(), K1).stats.avgLatencyMs, 100);
      pool.reportSuccess(take(), 200);
      const s = keyOf(pool.snapshot(), K1).stats;
      assert.equal(s.lastLatencyMs, 200);
      assert.equal(s.avgLatencyMs, 120);
      assert.equal(s.lastUsedAt, now);
    });

    it('ignores reports for keys that left the pool', () => {
      make([K1, K2]);
      const l = take();
      pool.setKeys([{ key: K2 }]);
      pool.reportFailure(l, BAD_KEY);
      pool.reportSuccess(l, 1);
      const snap = pool.snapshot();
      assert.equal(snap.counts.total, 1);
      assert.equal(snap.totals.requests, 0);
    });
  });

  describe('reset when every key is out', () => {
    const takeOut = (key: string) => {
      for (let i = 0; i < 3; i++) failUntilLeased(key, FAIL_503);
    };

    it('brings back only keys taken out by failures: cooling, revoked and exhausted keys stay out', () => {
      make(ALL);
      failUntilLeased(K1, BAD_KEY);
      failUntilLeased(K2, RATE_10S);
      failUntilLeased(K3, NO_MONEY);
      takeOut(K4);
      const out = pool.snapshot();
      assert.equal(out.counts.usable, 0);
      assert.equal(out.resets, 0);
      assert.equal(keyOf(out, K4).disabledBy, 'failures');
      assert.equal(keyOf(out, K1).disabledBy, 'revoked');
      assert.equal(out.nextKeyId, id(K4), 'a reset would hand K4 out');
      assert.equal(out.nextUsableAt, now + 10_000, 'the cooling key is the next one usable');

      const got = acquire();
      assert.equal(got.kind === 'key' && got.lease.key, K4);
      assert.equal(got.kind === 'key' && got.tier, 'usable', 'the reset made it usable');
      const snap = pool.snapshot();
      assert.equal(snap.resets, 1);
      assert.equal(keyOf(snap, K4).state, 'healthy');
      assert.equal(keyOf(snap, K4).consecutiveFailures, 0);
      assert.equal(keyOf(snap, K1).state, 'disabled', 'revoked stays revoked');
      assert.equal(keyOf(snap, K2).state, 'cooling', 'a reset never ends a cool-down early');
      assert.equal(keyOf(snap, K2).coolingUntil, now + 10_000);
      assert.equal(keyOf(snap, K3).state, 'exhausted');
    });

    it('never resets while any key is usable', () => {
      make([K1, K2]);
      takeOut(K1);
      for (let i = 0; i < 5; i++) assert.equal(take().key, K2);
      assert.equal(pool.snapshot().resets, 0);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      // K2 tried by this request: K1 is the last resort (tier 2), still no reset.
      const got = acquire(new Set([id(K2)]));
      assert.equal(got.kind === 'key' && got.tier, 'failing');
      assert.equal(pool.snapshot().resets, 0);
    });

    it('a reset leaves a cooling key cooling and says when it is back', () => {
      make([K1, K2]);
      failUntilLeased(K2, RATE_10S);
      takeOut(K1);
      assert.equal(take().key, K1);
      const snap = pool.snapshot();
      assert.equal(snap.resets, 1);
      assert.equal(keyOf(snap, K2).state, 'cooling');
      assert.equal(snap.nextUsableAt, undefined, 'a key is usable now');
    });

    it('brings back keys disabled by the failure threshold', () => {
      make([K1]);
      for (let i = 0; i < 3; i++) pool.reportFailure(take(), FAIL_503);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      assert.equal(take().key, K1);
      assert.equal(pool.snapshot().resets, 1);
      assert.equal(keyOf(pool.snapshot(), K1).consecutiveFailures, 0);
    });

    it('never brings back a key disabled by hand', () => {
      make([K1, K2]);
      assert.equal(pool.setManualDisabled(id(K1), true), true);
      takeOut(K2);
      assert.equal(take().key, K2, 'K2 back after the reset');
      assert.equal(pool.snapshot().resets, 1);
      const k1 = keyOf(pool.snapshot(), K1);
      assert.equal(k1.manuallyDisabled, true);
      for (let i = 0; i < 4; i++) assert.equal(take().key, K2);
    });

    it('gives nothing when only manually disabled, revoked or exhausted keys remain, without counting resets', () => {
      make([K1, K2, K3]);
      pool.setManualDisabled(id(K1), true);
      failUntilLeased(K2, BAD_KEY);
      failUntilLeased(K3, NO_MONEY);
      assert.deepEqual(acquire(), { kind: 'none' });
      assert.deepEqual(acquire(), { kind: 'none' });
      const snap = pool.snapshot();
      assert.equal(snap.resets, 0);
      assert.equal(snap.counts.usable, 0);
      assert.equal(snap.nextKeyId, undefined);
      assert.equal(snap.nextUsableAt, undefined);
      pool.setManualDisabled(id(K1), false);
      assert.equal(take().key, K1);
    });

    it('resets but gives nothing when the reset keys were all tried by this request', () => {
      make([K1, K2]);
      const tried = new Set<string>();
      for (let i = 0; i < 2; i++) {
        const l = take(tried);
        tried.add(l.id);
        for (let j = 0; j < 3; j++) pool.reportFailure(l, FAIL_503);
      }
      assert.equal(acquire(tried).kind, 'none');
      assert.equal(pool.snapshot().resets, 1);
      assert.equal(pool.snapshot().counts.usable, 2, 'the next request finds them again');
    });

    it('logs a reset storm once a minute, with a count', () => {
      const lines: string[] = [];
      const logger = { trace() {}, debug() {}, info() {}, error() {}, warn: (m: string | Error) => lines.push(String(m)) };
      make([K1], { logger });
      const resetLines = () => lines.filter((l) => /No key was usable/.test(l));
      for (let i = 0; i < 5; i++) {
        for (let j = 0; j < 3; j++) pool.reportFailure(take(), FAIL_503);
        now += 1_000;
      }
      assert.equal(pool.snapshot().resets, 4);
      assert.equal(resetLines().length, 1, resetLines().join('\n'));
      now += 60_000;
      for (let j = 0; j < 3; j++) pool.reportFailure(take(), FAIL_503);
      take();
      assert.equal(resetLines().length, 2);
      assert.match(resetLines()[1], /reset #5/);
      assert.match(resetLines()[1], /4 resets since the last such line/);
      assert.equal(pool.snapshot().resets, 6, 'every reset is counted, logged or not');
    });

    it('setManualDisabled returns false for an unknown id', () => {
      make([K1]);
      assert.equal(pool.setManualDisabled('sk-nope…nope', true), false);
    });
  });

  describe('setKeys', () => {
    it('keeps state and stats of known keys, adds new ones healthy, drops removed ones', () => {
      make([K1, K2, K3]);
      pool.reportSuccess(take(), 50); // K1
      pool.reportFailure(take(), BAD_KEY); // K2
      pool.setKeys([{ key: K2, name: 'renamed' }, { key: K1, name: 'first' }, { key: K4, name: 'new', balance: 3 }]);
      const snap = pool.snapshot();
      assert.deepEqual(
        snap.keys.map((k) => k.id),
        [id(K2), id(K1), id(K4)],
      );
      assert.equal(keyOf(snap, K2).state, 'disabled');
      assert.equal(keyOf(snap, K2).name, 'renamed');
      assert.equal(keyOf(snap, K1).stats.successes, 1);
      assert.equal(keyOf(snap, K4).state, 'healthy');
      assert.equal(keyOf(snap, K4).balance, 3);
      assert.equal(snap.counts.total, 3);
    });

    it('keeps manual disable across refreshes', () => {
      make([K1, K2]);
      pool.setManualDisabled(id(K1), true);
      pool.setKeys([{ key: K1 }, { key: K2 }]);
      assert.equal(keyOf(pool.snapshot(), K1).manuallyDisabled, true);
    });

    it('drops duplicates and empty keys', () => {
      make([]);
      pool.setKeys([{ key: K1 }, { key: K1 }, { key: '' }, { key: `  ${K2}  ` }] as PoolKeyInput[]);
      assert.deepEqual(
        pool.snapshot().keys.map((k) => k.id),
        [id(K1), id(K2)],
      );
    });

    it('suffixes colliding masked ids', () => {
      const a = 'sk-same0000000000000000000000000000000000tail';
      const b = 'sk-same1111111111111111111111111111111111tail';
      assert.equal(maskKey(a), maskKey(b));
      make([a, b]);
      const ids = pool.snapshot().keys.map((k) => k.id);
      assert.deepEqual(ids, [maskKey(a), `${maskKey(a)}#2`]);
      assert.equal(take().key, a);
      assert.equal(take().key, b);
      // The kept key keeps its id even when it is listed second next time.
      pool.setKeys([{ key: b }, { key: a }]);
      assert.deepEqual(
        pool.snapshot().keys.map((k) => k.id),
        [`${maskKey(a)}#2`, maskKey(a)],
      );
    });

    it('a balance <= 0 marks a key exhausted; a positive balance later brings it back', () => {
      make([]);
      pool.setKeys([{ key: K1, balance: 0 }, { key: K2, balance: 5 }]);
      let snap = pool.snapshot();
      assert.equal(keyOf(snap, K1).state, 'exhausted');
      assert.equal(keyOf(snap, K1).reason, 'no balance left');
      assert.equal(take().key, K2);
      assert.equal(take().key, K2);
      pool.setKeys([{ key: K1, balance: '-0.5' as unknown as number }, { key: K2, balance: 5 }]);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'exhausted', 'numbers as strings are read');
      pool.setKeys([{ key: K1, balance: 12.5 }, { key: K2, balance: 5 }]);
      snap = pool.snapshot();
      assert.equal(keyOf(snap, K1).state, 'healthy');
      assert.equal(keyOf(snap, K1).balance, 12.5);
    });

    it('a key refused for money comes back only when its balance goes up', () => {
      make([]);
      pool.setKeys([{ key: K1, balance: 2 }, { key: K2, balance: 5 }]);
      failUntilLeased(K1, NO_MONEY);
      pool.setKeys([{ key: K1, balance: 2 }, { key: K2, balance: 5 }]);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'exhausted', 'same stale balance: still out');
      pool.setKeys([{ key: K1, balance: 20 }, { key: K2, balance: 5 }]);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy', 'topped up');
    });

    it('an unknown balance says nothing about exhaustion', () => {
      make([K1]);
      pool.setKeys([{ key: K1, balance: undefined }]);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy');
    });
  });

  describe('snapshot', () => {
    it('is the same object until something changes', () => {
      make();
      const a = pool.snapshot();
      assert.equal(pool.snapshot(), a);
      const l = take();
      const b = pool.snapshot();
      assert.notEqual(b, a);
      assert.equal(pool.snapshot(), b);
      pool.reportSuccess(l, 3);
      assert.notEqual(pool.snapshot(), b);
    });

    it('is rebuilt when a cooldown ends, with no other change', () => {
      make([K1, K2]);
      pool.reportFailure(take(), RATE_10S);
      const a = pool.snapshot();
      now += 5_000;
      assert.equal(pool.snapshot(), a);
      now += 5_000;
      const b = pool.snapshot();
      assert.notEqual(b, a);
      assert.equal(keyOf(b, K1).state, 'healthy');
    });

    it('nextKeyId is what acquire returns, and reading it does not advance', () => {
      make();
      for (let i = 0; i < 7; i++) {
        const predicted = pool.snapshot().nextKeyId;
        assert.equal(pool.snapshot().nextKeyId, predicted);
        const l = take();
        assert.equal(l.id, predicted);
        assert.equal(pool.snapshot().lastKeyId, l.id);
        if (i === 3) pool.reportFailure(l, BAD_KEY);
      }
    });

    it('counts and totals add up; a key out by hand counts as disabled but keeps its own state', () => {
      make(ALL);
      pool.reportSuccess(take(), 1);
      pool.reportFailure(take(), RATE_10S);
      pool.reportFailure(take(), NO_MONEY);
      pool.setManualDisabled(id(K4), true);
      const s = pool.snapshot();
      assert.deepEqual(s.counts, { total: 4, healthy: 1, cooling: 1, disabled: 1, exhausted: 1, usable: 1 });
      assert.deepEqual(s.totals, { requests: 3, successes: 1, failures: 2 });
      assert.equal(keyOf(s, K4).state, 'healthy');
      assert.equal(keyOf(s, K4).manuallyDisabled, true);
    });

    it('never holds a key in clear', () => {
      make(ALL);
      pool.setKeys(ALL.map((key, i) => ({ key, name: `order ${i}`, balance: i, used: 1 })));
      const leases = [take(), take(), take()];
      pool.reportFailure(leases[0], { ...FAIL_503, reason: `HTTP 503 from ${K1}` });
      pool.reportFailure(leases[1], BAD_KEY);
      pool.reportSuccess(leases[2], 7);
      pool.setManualDisabled(id(K4), true);
      const json = JSON.stringify(pool.snapshot());
      for (const key of ALL) {
        assert.ok(!json.includes(key), `key ${id(key)} leaked`);
        assert.ok(!json.includes(key.slice(3, 20)), `part of key ${id(key)} leaked`);
      }
    });

    it('reuses the part of an unchanged key and rebuilds the part of a changed one', () => {
      make();
      const a = pool.snapshot();
      pool.reportSuccess(take(), 9); // K1 only
      const b = pool.snapshot();
      assert.notEqual(keyOf(b, K1), keyOf(a, K1));
      assert.equal(keyOf(b, K2), keyOf(a, K2));
      assert.equal(keyOf(b, K3), keyOf(a, K3));
    });

    it('a cached snapshot always equals one built from scratch (replayed random operations)', () => {
      // Differential check of the per-key cache: pool A is read after every step; for each step a
      // fresh pool B replays the same steps and is read once, so B builds everything anew.
      // A seed whose walk reaches every state, a manual toggle, a reset and an excluded pair (asserted below).
      let seed = 6;
      // mulberry32: small, and its low bits are as good as its high ones.
      const rnd = (n: number) => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
        t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
        return ((t ^ (t >>> 14)) >>> 0) % n;
      };
      type Op = { kind: number; arg: number };
      const ops: Op[] = Array.from({ length: 160 }, () => ({ kind: rnd(13), arg: rnd(1000) }));
      const decisions = [FAIL_503, FAIL_503, FAIL_503, RATE_10S, BAD_KEY, NO_MONEY, CLIENT_400, NO_CHANNEL, NOT_SERVED];
      const apply = (p: KeyPool, op: Op, clock: { t: number }, held: PoolLease[]) => {
        switch (op.kind) {
          case 0:
          case 1:
          case 11:
          case 12: {
            const tried = op.arg % 3 === 0 && held[0] ? new Set([held[0].id]) : NOTHING_TRIED;
            const got = p.acquire({ tried, maxWaitMs: op.arg % 5 === 0 ? 5_000 : 0, model: op.kind === 1 ? 'm1' : undefined });
            if (got.kind === 'key') held.push(got.lease);
            break;
          }
          case 2:
            if (held.length) p.reportSuccess(held.shift()!, op.arg);
            break;
          case 3:
          case 4:
            if (held.length) p.reportFailure(held.shift()!, decisions[op.arg % decisions.length], 'm1');
            break;
          case 9:
            p.setModels(id(ALL[op.arg % 4]), op.arg % 3 === 0 ? undefined : op.arg % 3 === 1 ? ['m1', 'm2'] : ['m2']);
            break;
          case 10:
            p.recheckResult(id(ALL[op.arg % 4]), op.arg % 2 === 0);
            break;
          case 5:
            if (held.length) p.reportNeutral(held.shift()!);
            break;
          case 6:
            p.setManualDisabled(id(ALL[op.arg % 4]), op.arg % 2 === 0);
            break;
          case 7:
            clock.t += op.arg * 20;
            break;
          case 8:
            p.setKeys(ALL.slice(0, 2 + (op.arg % 3)).map((key, i) => ({ key, balance: (op.arg + i) % 4 === 0 ? 0 : 5 + (op.arg % 7) })));
            break;
        }
      };
      const run = (steps: number, readEach: boolean) => {
        const clock = { t: now };
        const p = new KeyPool({ clock: () => clock.t });
        p.setKeys(ALL.map((key) => ({ key })));
        const held: PoolLease[] = [];
        const seen: string[] = [];
        for (let i = 0; i < steps; i++) {
          apply(p, ops[i], clock, held);
          if (readEach) seen.push(JSON.stringify(p.snapshot()));
        }
        if (!readEach) seen.push(JSON.stringify(p.snapshot()));
        p.dispose();
        return seen;
      };
      const cached = run(ops.length, true);
      // The walk must reach every state, a manual toggle and a reset, or it proves little.
      const states = new Set<string>();
      let sawManual = false;
      for (const json of cached) {
        const snap = JSON.parse(json) as PoolSnapshot;
        for (const k of snap.keys) {
          states.add(k.state);
          sawManual ||= k.manuallyDisabled;
        }
      }
      assert.deepEqual([...states].sort(), ['cooling', 'disabled', 'exhausted', 'healthy']);
      assert.ok(sawManual, 'a key was disabled by hand');
      assert.ok((JSON.parse(cached[cached.length - 1]) as PoolSnapshot).resets > 0, 'the pool reset');
      assert.ok(cached.some((json) => (JSON.parse(json) as PoolSnapshot).excludedPairs > 0), 'a pair was excluded');
      for (let i = 1; i <= ops.length; i++) {
        assert.equal(cached[i - 1], run(i, false)[0], `after step ${i} (${JSON.stringify(ops[i - 1])})`);
      }
    });

    it('is frozen so a reader cannot corrupt the cache', () => {
      make();
      const s = pool.snapshot();
      assert.ok(Object.isFrozen(s));
      assert.ok(Object.isFrozen(s.keys));
      assert.ok(Object.isFrozen(s.keys[0]));
    });
  });

  describe('onDidChange', () => {
    it('fires with no payload after each change; readers take a snapshot', () => {
      make();
      const seen: unknown[] = [];
      const sub = pool.onDidChange((e) => seen.push(e));
      const l = take();
      assert.deepEqual(seen, [undefined]);
      assert.equal(pool.snapshot().lastKeyId, l.id);
      pool.reportFailure(l, BAD_KEY);
      assert.equal(seen.length, 2);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      pool.setManualDisabled(id(K2), true);
      pool.setManualDisabled(id(K2), true); // no change, no event
      assert.equal(seen.length, 3);
      sub.dispose();
      take();
      assert.equal(seen.length, 3);
    });

    it('builds no snapshot for a listener that does not read one', () => {
      make();
      pool.onDidChange(() => undefined);
      const a = pool.snapshot();
      const build = sinon.spy(pool as unknown as { build(): PoolSnapshot }, 'build');
      for (let i = 0; i < 20; i++) pool.reportSuccess(take(), 1);
      assert.equal(build.callCount, 0);
      assert.notEqual(pool.snapshot(), a);
      assert.equal(build.callCount, 1);
    });

    it('a listener that throws is reported to the logger and the others still hear', () => {
      const errors: string[] = [];
      make([K1], { logger: { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string | Error) => errors.push(String(m)) } });
      let heard = 0;
      pool.onDidChange(() => {
        throw new Error('view broke');
      });
      pool.onDidChange(() => heard++);
      take();
      assert.equal(heard, 1);
      assert.equal(errors.length, 1);
      assert.match(errors[0], /view broke/);
    });

    it('fires when a cooldown ends on its own (unref\'d timer), and not after dispose', () => {
      const clock = sinon.useFakeTimers({ now: 1_700_000_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      try {
        pool?.dispose();
        pool = new KeyPool(); // default clock: Date.now, faked
        pool.setKeys([{ key: K1 }, { key: K2 }]);
        const first = pool.acquire({ tried: NOTHING_TRIED, maxWaitMs: 0 });
        assert.ok(first.kind === 'key');
        pool.reportFailure(first.lease, RATE_10S);
        const states: string[] = [];
        pool.onDidChange(() => states.push(keyOf(pool.snapshot(), K1).state));
        clock.tick(9_999);
        assert.deepEqual(states, []);
        clock.tick(1);
        assert.deepEqual(states, ['healthy']);
        assert.equal(clock.countTimers(), 0, 'no timer left once nothing cools');

        const again = pool.acquire({ tried: NOTHING_TRIED, maxWaitMs: 0 });
        assert.ok(again.kind === 'key');
        pool.reportFailure(again.lease, RATE_10S);
        assert.equal(clock.countTimers(), 1);
        pool.dispose();
        assert.equal(clock.countTimers(), 0, 'dispose clears the timer');
      } finally {
        clock.restore();
      }
    });
  });
});
