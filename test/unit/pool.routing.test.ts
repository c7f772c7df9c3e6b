import * as assert from 'node:assert/strict';
import { KeyPool, type KeyPoolOptions } from '../../src/core/pool/keyPool';
import { classifyFailure } from '../../src/core/pool/policy';
import { closestModels } from '../../src/core/gateway/modelSuggestions';
import type { AcquireResult, PoolLease, PoolSnapshot } from '../../src/core/pool/types';
import { maskKey } from '../../src/core/util/mask';

// Issue 9 (model routing, (key, model) exclusions) and issue 10 §1 (the tiers), on a fake clock.

const K1 = 'sk-aaaa1111111111111111111111111111111111111111';
const K2 = 'sk-bbbb2222222222222222222222222222222222222222';
const K3 = 'sk-cccc3333333333333333333333333333333333333333';
const CLAUDE = '[官Max]claude-sonnet-4-5-20250929';
const GPT = 'gpt-4o-mini';

const FAIL_503 = classifyFailure({ status: 503 });
const RATE_2S = classifyFailure({ status: 429, retryAfter: '2' });
const RATE_10S = classifyFailure({ status: 429, retryAfter: '10' });
const BAD_KEY = classifyFailure({ status: 401 });
const NO_CHANNEL = classifyFailure({
  status: 503,
  body: '{"error":{"message":"当前分组 claude-max 下对于模型 gpt-4o-mini 无可用渠道","type":"new_api_error","code":"model_not_found"}}',
});
const NOT_ALLOWED = classifyFailure({ status: 403, body: '{"error":{"message":"该令牌无权使用模型：gpt-4o-mini","type":"new_api_error"}}' });
const NONE_TRIED: ReadonlySet<string> = new Set();

describe('KeyPool routing by model and tiers', () => {
  let now: number;
  let pool: KeyPool;
  const id = (key: string) => maskKey(key);
  const make = (keys: readonly string[], opts: KeyPoolOptions = {}) => {
    pool?.dispose();
    pool = new KeyPool({ clock: () => now, ...opts });
    pool.setKeys(keys.map((key) => ({ key })));
    return pool;
  };
  const get = (model?: string, tried: ReadonlySet<string> = NONE_TRIED, maxWaitMs = 0): AcquireResult =>
    pool.acquire({ model, tried, maxWaitMs });
  const keyOfResult = (r: AcquireResult): string | undefined => (r.kind === 'key' ? r.lease.key : undefined);
  const lease = (r: AcquireResult): PoolLease => {
    assert.equal(r.kind, 'key');
    return r.kind === 'key' ? r.lease : (undefined as never);
  };
  const keyOf = (snap: PoolSnapshot, key: string) => snap.keys.find((k) => k.id === id(key))!;
  const takeOutByFailures = (key: string) => {
    const l = pool.leases().find((x) => x.key === key)!;
    for (let i = 0; i < 3; i++) pool.reportFailure(l, FAIL_503);
    assert.equal(keyOf(pool.snapshot(), key).disabledBy, 'failures');
  };

  beforeEach(() => {
    now = 1_700_000_000_000;
  });
  afterEach(() => pool?.dispose());

  describe('model lists', () => {
    it('hands out only keys whose list names the model exactly, round-robin among them', () => {
      make([K1, K2, K3]);
      pool.setModels(id(K1), [CLAUDE, 'claude-haiku']);
      pool.setModels(id(K2), [GPT]);
      pool.setModels(id(K3), [CLAUDE]);
      const got = Array.from({ length: 6 }, () => keyOfResult(get(CLAUDE)));
      assert.deepEqual(got, [K1, K3, K1, K3, K1, K3]);
      assert.equal(keyOfResult(get(GPT)), K2);
      const r = get('claude-sonnet-4-5-20250929');
      assert.equal(r.kind, 'none', 'the id without its [channel] prefix is another id');
      const g = get(GPT);
      assert.ok(g.kind === 'key' && g.modelKnown && g.tier === 'usable');
    });

    it('a request without a model may use any key', () => {
      make([K1, K2]);
      pool.setModels(id(K1), [CLAUDE]);
      pool.setModels(id(K2), [GPT]);
      assert.deepEqual([keyOfResult(get()), keyOfResult(get()), keyOfResult(get())], [K1, K2, K1]);
    });

    it('keys with unknown lists serve a model no known key serves, and come after known ones', () => {
      make([K1, K2, K3]);
      pool.setModels(id(K1), [CLAUDE]);
      // K2, K3 unknown
      assert.deepEqual([keyOfResult(get(CLAUDE)), keyOfResult(get(CLAUDE))], [K1, K1], 'known first');
      const r = get(GPT);
      assert.ok(r.kind === 'key' && !r.modelKnown);
      assert.notEqual(keyOfResult(r), K1);
      // Known key already tried: the unknown ones are the fallback.
      const again = get(CLAUDE, new Set([id(K1)]));
      assert.ok(again.kind === 'key' && !again.modelKnown);
    });

    it('noModel when no key serves the model and none is unknown, with the closest ids first', () => {
      make([K1, K2]);
      pool.setModels(id(K1), [CLAUDE, '[官Max]claude-opus-4-1', 'claude-haiku-4-5']);
      pool.setModels(id(K2), ['gpt-4o', 'gpt-4.1', 'text-embedding-3-small', 'o3', 'gpt-5', 'dall-e-3']);
      const r = get('claude-sonnet-4-5');
      assert.equal(r.kind, 'none');
      assert.ok(r.kind === 'none' && r.noModel);
      assert.equal(r.noModel.model, 'claude-sonnet-4-5');
      const closest = closestModels(r.noModel.model, r.noModel.served);
      assert.equal(closest[0], CLAUDE, closest.join(', '));
      assert.ok(closest.length <= 5);
      const g = get('gpt-4o-mini');
      assert.ok(g.kind === 'none' && g.noModel);
      assert.equal(closestModels(g.noModel.model, g.noModel.served)[0], 'gpt-4o');
      // One key unknown again: no noModel, the unknown key is tried.
      pool.setModels(id(K2), undefined);
      assert.equal(keyOfResult(get('claude-sonnet-4-5')), K2);
    });

    it('no noModel when a serving key is only out of rotation', () => {
      make([K1, K2]);
      pool.setModels(id(K1), [CLAUDE]);
      pool.setModels(id(K2), [GPT]);
      pool.reportFailure(lease(get(CLAUDE)), BAD_KEY);
      assert.deepEqual(get(CLAUDE), { kind: 'none' });
    });

    it('the snapshot shows each key\'s models; setModels for an unknown id says false', () => {
      make([K1]);
      assert.equal(keyOf(pool.snapshot(), K1).models, undefined);
      assert.equal(pool.setModels(id(K1), [GPT, CLAUDE, GPT]), true);
      assert.deepEqual(keyOf(pool.snapshot(), K1).models, [GPT, CLAUDE]);
      assert.equal(pool.setModels('sk-none…none', [GPT]), false);
    });
  });

  describe('(key, model) exclusions', () => {
    it('exclude the pair only: the key serves other models, its failure count and state do not change', () => {
      make([K1, K2]);
      const l = lease(get(GPT));
      assert.equal(l.key, K1);
      assert.equal(pool.reportFailure(l, NOT_ALLOWED, GPT), undefined, 'no ticket: not a counted failure');
      const snap = pool.snapshot();
      const k1 = keyOf(snap, K1);
      assert.equal(k1.state, 'healthy');
      assert.equal(k1.consecutiveFailures, 0);
      assert.equal(k1.stats.failures, 0);
      assert.deepEqual(k1.exclusions, [{ model: GPT, reason: 'model not served by this key (HTTP 403)' }]);
      assert.equal(snap.excludedPairs, 1);
      for (let i = 0; i < 4; i++) assert.equal(keyOfResult(get(GPT)), K2, 'the pair stays excluded');
      const other = new Set([keyOfResult(get(CLAUDE)), keyOfResult(get(CLAUDE))]);
      assert.deepEqual(other, new Set([K1, K2]), 'K1 still serves other models');
    });

    it('a temporary pair (无可用渠道) ends after the exclusion minutes on the clock', () => {
      make([K1, K2], { exclusionMinutes: 10 });
      pool.reportFailure(lease(get(GPT)), NO_CHANNEL, GPT);
      const x = keyOf(pool.snapshot(), K1).exclusions[0];
      assert.equal(x.until, now + 10 * 60_000);
      now += 10 * 60_000 - 1;
      assert.equal(keyOfResult(get(GPT)), K2);
      assert.equal(keyOfResult(get(GPT)), K2);
      now += 1;
      const snap = pool.snapshot();
      assert.deepEqual(keyOf(snap, K1).exclusions, []);
      assert.equal(snap.excludedPairs, 0);
      assert.deepEqual(new Set([keyOfResult(get(GPT)), keyOfResult(get(GPT))]), new Set([K1, K2]));
    });

    it('setExclusionMinutes applies to pairs excluded from then on', () => {
      make([K1, K2]);
      pool.setExclusionMinutes(1);
      pool.reportFailure(lease(get(GPT)), NO_CHANNEL, GPT);
      assert.equal(keyOf(pool.snapshot(), K1).exclusions[0].until, now + 60_000);
    });

    it('an until-refresh pair (permission) lasts until the key\'s next model list', () => {
      make([K1, K2]);
      pool.reportFailure(lease(get(GPT)), NOT_ALLOWED, GPT);
      now += 24 * 3600_000;
      assert.equal(keyOfResult(get(GPT)), K2);
      assert.equal(keyOf(pool.snapshot(), K1).exclusions.length, 1);
      pool.setModels(id(K1), [GPT, CLAUDE]);
      assert.deepEqual(keyOf(pool.snapshot(), K1).exclusions, []);
      assert.equal(keyOfResult(get(GPT)), K1);
    });

    it('a model list leaves temporary pairs in place', () => {
      make([K1, K2]);
      pool.reportFailure(lease(get(GPT)), NO_CHANNEL, GPT);
      pool.setModels(id(K1), [GPT]);
      assert.equal(keyOf(pool.snapshot(), K1).exclusions.length, 1);
    });

    it('every serving key excluded → noModel (nothing could serve it now)', () => {
      make([K1, K2]);
      pool.setModels(id(K1), [GPT]);
      pool.setModels(id(K2), [GPT, CLAUDE]);
      pool.reportFailure(lease(get(GPT)), NOT_ALLOWED, GPT);
      pool.reportFailure(lease(get(GPT)), NOT_ALLOWED, GPT);
      const r = get(GPT);
      assert.ok(r.kind === 'none' && r.noModel);
      assert.equal(pool.snapshot().excludedPairs, 2);
    });

    it('without a model an exclude-model decision is neutral', () => {
      make([K1]);
      pool.reportFailure(lease(get()), NOT_ALLOWED);
      const k = keyOf(pool.snapshot(), K1);
      assert.deepEqual(k.exclusions, []);
      assert.equal(k.stats.requests, 1);
      assert.equal(k.stats.failures, 0);
    });
  });

  describe('tiers', () => {
    it('1 usable, then 2 failing (last resort), then 3 cooling within the wait', () => {
      make([K1, K2, K3]);
      takeOutByFailures(K2);
      pool.reportFailure(pool.leases()[2], RATE_2S); // K3 cools for 2 s
      const tried = new Set<string>();
      const r1 = get(undefined, tried, 2_000);
      assert.ok(r1.kind === 'key' && r1.tier === 'usable' && r1.lease.key === K1 && r1.waitMs === 0);
      tried.add(r1.lease.id);
      const r2 = get(undefined, tried, 2_000);
      assert.ok(r2.kind === 'key' && r2.tier === 'failing' && r2.lease.key === K2, JSON.stringify(r2));
      tried.add(r2.lease.id);
      now += 500;
      const r3 = get(undefined, tried, 2_000);
      assert.ok(r3.kind === 'key' && r3.tier === 'cooling' && r3.lease.key === K3);
      assert.equal(r3.waitMs, 1_500);
      tried.add(r3.lease.id);
      assert.equal(get(undefined, tried, 2_000).kind, 'none');
      assert.equal(pool.snapshot().resets, 0, 'K1 was usable all along');
    });

    it('a cooling key whose cool-down ends after the wait is not handed out; nextUsableAt says when', () => {
      make([K1]);
      pool.reportFailure(lease(get()), RATE_10S);
      const r = get(undefined, NONE_TRIED, 2_000);
      assert.deepEqual(r, { kind: 'none', nextUsableAt: now + 10_000 });
      assert.equal(pool.snapshot().nextUsableAt, now + 10_000);
      now += 8_000;
      const w = get(undefined, NONE_TRIED, 2_000);
      assert.ok(w.kind === 'key' && w.tier === 'cooling' && w.waitMs === 2_000);
      assert.equal(get(undefined, NONE_TRIED, 0).kind, 'none', 'maxWaitMs 0 never waits');
    });

    it('the soonest cooling key first', () => {
      make([K1, K2]);
      pool.reportFailure(lease(get()), classifyFailure({ status: 429, retryAfter: '3' }));
      pool.reportFailure(lease(get()), classifyFailure({ status: 429, retryAfter: '1' }));
      const r = get(undefined, NONE_TRIED, 5_000);
      assert.ok(r.kind === 'key' && r.lease.key === K2 && r.waitMs === 1_000);
    });

    it('a success puts a last-resort key back at once', () => {
      make([K1, K2]);
      takeOutByFailures(K2);
      const r = get(undefined, new Set([id(K1)]));
      assert.ok(r.kind === 'key' && r.tier === 'failing');
      pool.reportSuccess(r.lease, 10);
      const k2 = keyOf(pool.snapshot(), K2);
      assert.equal(k2.state, 'healthy');
      assert.equal(k2.consecutiveFailures, 0);
      assert.deepEqual(new Set([keyOfResult(get()), keyOfResult(get())]), new Set([K1, K2]));
    });

    it('never hands out hand-disabled, revoked or exhausted keys, in any tier', () => {
      make([K1, K2, K3]);
      pool.setManualDisabled(id(K1), true);
      pool.reportFailure(pool.leases()[1], BAD_KEY);
      pool.reportFailure(pool.leases()[2], classifyFailure({ status: 402 }));
      assert.deepEqual(get(undefined, NONE_TRIED, 60_000), { kind: 'none' });
    });

    it('hands out the same frozen result object for the same key and tier (no allocation per acquire)', () => {
      make([K1]);
      const a = get();
      const b = get();
      assert.equal(a, b);
      assert.ok(Object.isFrozen(a));
    });

    it('model-serving keys come first in every tier before keys with unknown lists', () => {
      make([K1, K2]);
      pool.setModels(id(K1), [GPT]);
      takeOutByFailures(K1);
      // K2 (list unknown) is usable, K1 (serves it) only a last resort: a known list beats a guess.
      const r = get(GPT);
      assert.ok(r.kind === 'key' && r.lease.key === K1 && r.tier === 'failing', JSON.stringify(r));
    });
  });

  describe('prefer (the hook for session affinity)', () => {
    it('hands out the preferred key while it is usable, and the rotation of the others goes on where it was', () => {
      make([K1, K2, K3]);
      assert.equal(keyOfResult(get()), K1);
      const preferred = pool.acquire({ tried: NONE_TRIED, maxWaitMs: 0, prefer: id(K3) });
      assert.ok(preferred.kind === 'key' && preferred.lease.key === K3 && preferred.tier === 'usable');
      assert.equal(pool.snapshot().lastKeyId, id(K3));
      assert.equal(keyOfResult(get()), K2, 'the cursor did not move past the preferred key');
      assert.equal(keyOfResult(get()), K3);
    });

    it('falls back to the normal choice when the preferred key cools down, and wins again once it is back', () => {
      make([K1, K2]);
      const l2 = pool.leases().find((l) => l.key === K2)!;
      pool.reportFailure(l2, RATE_2S);
      const r = pool.acquire({ tried: NONE_TRIED, maxWaitMs: 5_000, prefer: id(K2) });
      assert.ok(r.kind === 'key' && r.lease.key === K1 && r.tier === 'usable', JSON.stringify(r));
      now += 2_000;
      assert.equal(keyOfResult(pool.acquire({ tried: NONE_TRIED, maxWaitMs: 0, prefer: id(K2) })), K2);
    });
  });
});
