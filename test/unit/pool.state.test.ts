import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { KeyPool, type KeyPoolOptions } from '../../src/core/pool/keyPool';
import { keyHash } from '../../src/core/util/hash';
import { classifyFailure } from '../../src/core/pool/policy';
import type { FailureTicket, PoolLease, PoolSnapshot, PoolStateData } from '../../src/core/pool/types';
import { sanitizePoolState } from '../../src/core/state/poolState';
import { maskKey } from '../../src/core/util/mask';

// forgive (issue 10 §3's pool side), re-checks (§4), revealKey (issue 8), export/import (issue 11).

const K1 = 'sk-aaaa1111111111111111111111111111111111111111';
const K2 = 'sk-bbbb2222222222222222222222222222222222222222';
const K3 = 'sk-cccc3333333333333333333333333333333333333333';
const K4 = 'sk-dddd4444444444444444444444444444444444444444';
const GPT = 'gpt-4o-mini';
const FAIL_502 = classifyFailure({ status: 502 });
const RESET = classifyFailure({ errorCode: 'ECONNRESET' });
const RATE_10S = classifyFailure({ status: 429, retryAfter: '10' });
const BAD_KEY = classifyFailure({ status: 401 });
const NO_MONEY = classifyFailure({ status: 402 });
const NO_CHANNEL = classifyFailure({ status: 503, body: '当前分组 a 下对于模型 gpt-4o-mini 无可用渠道' });
const NOT_ALLOWED = classifyFailure({ status: 403, body: '该令牌无权使用模型：gpt-4o-mini' });
const NONE_TRIED: ReadonlySet<string> = new Set();

describe('KeyPool forgive, re-checks, revealKey, state', () => {
  let now: number;
  let pool: KeyPool;
  const id = (key: string) => maskKey(key);
  const make = (keys: readonly string[], opts: KeyPoolOptions = {}) => {
    pool?.dispose();
    pool = new KeyPool({ clock: () => now, ...opts });
    pool.setKeys(keys.map((key) => ({ key })));
    return pool;
  };
  const leaseOf = (key: string): PoolLease => pool.leases().find((l) => l.key === key)!;
  const keyOf = (snap: PoolSnapshot, key: string) => snap.keys.find((k) => k.id === id(key))!;
  const taken = (tried: ReadonlySet<string> = NONE_TRIED) => {
    const r = pool.acquire({ tried, maxWaitMs: 0 });
    return r.kind === 'key' ? r.lease.key : undefined;
  };

  beforeEach(() => {
    now = 1_700_000_000_000;
  });
  afterEach(() => pool?.dispose());

  describe('forgive', () => {
    it('a gateway outage leaves every key\'s failure count where it was', () => {
      make([K1, K2, K3]);
      pool.reportFailure(leaseOf(K1), FAIL_502); // before the outage: stays
      const before = pool.snapshot();
      const tickets: FailureTicket[] = [];
      for (const k of [K1, K2, K3]) {
        for (let i = 0; i < 3; i++) {
          const t = pool.reportFailure(leaseOf(k), i % 2 ? RESET : FAIL_502);
          assert.ok(t, 'a counted failure gives a ticket');
          assert.equal(t.keyId, id(k));
          assert.equal(t.at, now);
          tickets.push(t);
        }
      }
      const during = pool.snapshot();
      assert.equal(during.counts.usable, 0, 'the outage took every key out');
      pool.forgive(tickets);
      const after = pool.snapshot();
      for (const k of [K1, K2, K3]) {
        assert.equal(keyOf(after, k).state, 'healthy', id(k));
        assert.equal(keyOf(after, k).consecutiveFailures, keyOf(before, k).consecutiveFailures, id(k));
        assert.equal(keyOf(after, k).stats.failures, keyOf(before, k).stats.failures, id(k));
      }
      assert.equal(keyOf(after, K1).consecutiveFailures, 1);
      // Forgiving twice changes nothing.
      pool.forgive(tickets);
      assert.equal(keyOf(pool.snapshot(), K1).consecutiveFailures, 1);
    });

    it('puts a key back into the cool-down it was in when the failure took it out', () => {
      make([K1, K2]);
      pool.reportFailure(leaseOf(K1), RATE_10S);
      const ts = [0, 1, 2].map(() => pool.reportFailure(leaseOf(K1), FAIL_502)!);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      pool.forgive(ts);
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'cooling');
      assert.equal(k.coolingUntil, now + 10_000);
    });

    it('leaves a newer streak alone (a success came between)', () => {
      make([K1]);
      const t = pool.reportFailure(leaseOf(K1), FAIL_502)!;
      pool.reportSuccess(leaseOf(K1), 5);
      pool.reportFailure(leaseOf(K1), FAIL_502);
      pool.forgive([t]);
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.consecutiveFailures, 1);
      assert.equal(k.stats.failures, 1);
    });

    it('gives no ticket for failures that do not count', () => {
      make([K1]);
      for (const d of [RATE_10S, BAD_KEY, NO_MONEY, classifyFailure({ status: 400 })]) {
        assert.equal(pool.reportFailure(leaseOf(K1), d), undefined, d.action);
      }
      assert.equal(pool.reportFailure(leaseOf(K1), NOT_ALLOWED, GPT), undefined);
    });

    it('a ticket holds no key in clear', () => {
      make([K1]);
      const t = pool.reportFailure(leaseOf(K1), FAIL_502)!;
      assert.ok(!JSON.stringify(t).includes(K1));
      assert.deepEqual(Object.keys(t).sort(), ['at', 'keyId']);
    });
  });

  describe('re-checks', () => {
    it('candidates are keys out by failures; a good re-check puts one back, a bad one leaves it', () => {
      make([K1, K2, K3]);
      for (let i = 0; i < 3; i++) pool.reportFailure(leaseOf(K1), FAIL_502);
      pool.reportFailure(leaseOf(K2), BAD_KEY); // revoked while running: not a candidate
      assert.deepEqual(pool.recheckCandidates().map((l) => l.key), [K1]);
      pool.recheckResult(id(K1), false);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'disabled');
      pool.recheckResult(id(K1), true);
      const k = keyOf(pool.snapshot(), K1);
      assert.equal(k.state, 'healthy');
      assert.equal(k.consecutiveFailures, 0);
      assert.deepEqual(pool.recheckCandidates(), []);
    });

    it('a zero-balance key starts exhausted and is never handed out; a refresh with balance brings it back', () => {
      make([]);
      pool.setKeys([{ key: K1, balance: 0 }, { key: K2, balance: 3 }]);
      for (let i = 0; i < 4; i++) assert.equal(taken(), K2);
      assert.equal(taken(new Set([id(K2)])), undefined);
      pool.setKeys([{ key: K1, balance: 1 }, { key: K2, balance: 3 }]);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy');
    });
  });

  describe('revealKey', () => {
    it('gives the key behind an id, also for colliding masks after a refresh that reorders the list', () => {
      const a = 'sk-same0000000000000000000000000000000000tail';
      const b = 'sk-same1111111111111111111111111111111111tail';
      assert.equal(maskKey(a), maskKey(b));
      make([a, b]);
      const [ida, idb] = pool.snapshot().keys.map((k) => k.id);
      assert.equal(pool.revealKey(ida), a);
      assert.equal(pool.revealKey(idb), b);
      // The account now lists b first (a refresh): ids follow the keys, and so does revealKey.
      pool.setKeys([{ key: b }, { key: a }]);
      assert.deepEqual(
        pool.snapshot().keys.map((k) => k.id),
        [idb, ida],
      );
      assert.equal(pool.revealKey(ida), a);
      assert.equal(pool.revealKey(idb), b);
      assert.equal(pool.revealKey('sk-nope…nope'), undefined);
      pool.setKeys([{ key: b }]);
      assert.equal(pool.revealKey(ida), undefined, 'a key that left is not revealed');
    });
  });

  describe('exportState / importState', () => {
    const learn = () => {
      make([K1, K2, K3, K4]);
      pool.setManualDisabled(id(K1), true);
      pool.reportFailure(leaseOf(K2), BAD_KEY);
      pool.reportFailure(leaseOf(K3), RATE_10S);
      for (let i = 0; i < 3; i++) pool.reportFailure(leaseOf(K4), FAIL_502);
      pool.reportFailure(leaseOf(K1), NO_CHANNEL, GPT);
      pool.reportFailure(leaseOf(K3), NOT_ALLOWED, GPT);
      pool.reportSuccess(leaseOf(K1), 10);
      return pool.exportState();
    };

    it('keys only by keyHash (sha256 hex, 24 chars); no key in clear', () => {
      const data = learn();
      const json = JSON.stringify(data);
      for (const k of [K1, K2, K3, K4]) {
        assert.ok(!json.includes(k), 'key in clear');
        assert.ok(!json.includes(k.slice(3, 15)), 'part of a key');
        assert.ok(!json.includes(maskKey(k)), 'not even the mask');
      }
      assert.equal(keyHash(K1), createHash('sha256').update(K1).digest('hex').slice(0, 24));
      assert.deepEqual(Object.keys(data.keys).sort(), [K1, K2, K3, K4].map(keyHash).sort());
      assert.equal(data.keys[keyHash(K2)].state, 'disabled');
      assert.equal(data.keys[keyHash(K2)].disabledBy, 'revoked');
      assert.equal(data.keys[keyHash(K2)].since, now);
      assert.equal(data.keys[keyHash(K3)].coolingUntil, now + 10_000);
      assert.equal(data.keys[keyHash(K4)].disabledBy, 'failures');
      assert.deepEqual(data.keys[keyHash(K1)].stats, { requests: 2, successes: 1, failures: 0 });
      assert.equal(data.keys[keyHash(K4)].stats?.lastError, 'HTTP 502');
    });

    it('round trip: what was learned holds after a restart; revoked and failing keys wait for a re-check', () => {
      const data = JSON.parse(JSON.stringify(learn())) as PoolStateData;
      now += 5_000;
      make([K1, K2, K3, K4]); // a new process
      pool.importState(data, now);
      const s = pool.snapshot();
      assert.equal(keyOf(s, K1).manuallyDisabled, true);
      assert.deepEqual(keyOf(s, K1).exclusions, [{ model: GPT, reason: 'no channel for this model (HTTP 503)', until: now - 5_000 + 10 * 60_000 }]);
      assert.equal(keyOf(s, K2).state, 'disabled');
      assert.equal(keyOf(s, K2).disabledBy, 'revoked');
      assert.equal(keyOf(s, K2).awaitingRecheck, true);
      assert.equal(keyOf(s, K2).since, now - 5_000, 'since when, as stored');
      assert.equal(keyOf(s, K3).state, 'cooling');
      assert.equal(keyOf(s, K3).coolingUntil, now + 5_000);
      assert.equal(keyOf(s, K3).awaitingRecheck, undefined);
      assert.deepEqual(keyOf(s, K3).exclusions.map((x) => [x.model, x.until]), [[GPT, undefined]]);
      assert.equal(keyOf(s, K4).state, 'disabled');
      assert.equal(keyOf(s, K4).disabledBy, 'failures');
      assert.equal(keyOf(s, K1).stats.successes, 1);
      assert.equal(keyOf(s, K4).stats.failures, 3);
      // Nothing out is handed out: not even K4 as a last resort, nor after a reset.
      assert.equal(taken(), undefined);
      assert.equal(pool.snapshot().resets, 0);
      assert.deepEqual(pool.recheckCandidates().map((l) => l.key).sort(), [K2, K4].sort());
      pool.recheckResult(id(K2), true);
      assert.equal(keyOf(pool.snapshot(), K2).awaitingRecheck, undefined);
      assert.equal(taken(), K2);
    });

    it('expired cool-downs and exclusions are not restored; keys gone are dropped; new keys start healthy', () => {
      const data = learn();
      now += 11 * 60_000;
      make([K3, 'sk-eeee5555555555555555555555555555555555555555']);
      pool.importState(data, now);
      const s = pool.snapshot();
      assert.equal(s.counts.total, 2);
      assert.equal(keyOf(s, K3).state, 'healthy', 'the cool-down ended while we were away');
      assert.deepEqual(keyOf(s, K3).exclusions.map((x) => x.model), [GPT], 'until-refresh stays');
      assert.equal(s.keys[1].state, 'healthy');
      assert.deepEqual(s.keys[1].stats, { requests: 0, successes: 0, failures: 0 });
      assert.equal(s.excludedPairs, 1);
    });

    it('a key exhausted by its balance comes back when the account now shows a balance', () => {
      make([]);
      pool.setKeys([{ key: K1, balance: 0 }, { key: K2, balance: 5 }]);
      pool.reportFailure(leaseOf(K2), NO_MONEY);
      const data = pool.exportState();
      make([]);
      pool.setKeys([{ key: K1, balance: 4 }, { key: K2, balance: 5 }]);
      pool.importState(data, now);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy');
      assert.equal(keyOf(pool.snapshot(), K2).state, 'exhausted', 'refused for money: back when the balance goes up');
      pool.setKeys([{ key: K1, balance: 4 }, { key: K2, balance: 9 }]);
      assert.equal(keyOf(pool.snapshot(), K2).state, 'healthy');
    });

    it('the state file\'s sanitizer keeps everything the pool needs back', () => {
      const data = learn();
      const stored = sanitizePoolState(JSON.parse(JSON.stringify(data)));
      assert.ok(stored);
      make([K1, K2, K3, K4]);
      pool.importState(stored as PoolStateData, now);
      const s = pool.snapshot();
      assert.equal(keyOf(s, K1).manuallyDisabled, true);
      assert.equal(keyOf(s, K2).disabledBy, 'revoked');
      assert.equal(keyOf(s, K3).state, 'cooling');
      assert.equal(keyOf(s, K4).disabledBy, 'failures');
      assert.equal(s.excludedPairs, 2);
      // exhaustedBy is not a contract field: a key out for its empty balance is still known as such.
      make([]);
      pool.setKeys([{ key: K1, balance: 0 }]);
      const exhausted = sanitizePoolState(JSON.parse(JSON.stringify(pool.exportState()))) as PoolStateData;
      make([]);
      pool.setKeys([{ key: K1, balance: 2 }]);
      pool.importState(exhausted, now);
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy');
    });

    it('survives garbage without throwing (through the state file\'s decoder, which importState trusts)', () => {
      make([K1]);
      for (const bad of [null, {}, { keys: null }, { keys: { [keyHash(K1)]: 'x' } }, { keys: { [keyHash(K1)]: { state: 'weird', exclusions: [null, { model: 3 }], stats: 'no' } } }]) {
        const decoded = sanitizePoolState(bad);
        if (decoded) pool.importState(decoded, now);
      }
      assert.equal(keyOf(pool.snapshot(), K1).state, 'healthy');
    });
  });
});
