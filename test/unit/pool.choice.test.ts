import * as assert from 'node:assert/strict';
import { chooseKey, summarize, tierOf, type ChoiceRequest, type Exclusion, type KeyView } from '../../src/core/pool/choice';
import type { Health } from '../../src/core/pool/health';

// The choice of a key, a pure function: a table of pools (as read-only views), requests and the
// key (and tier) each one must give.

const NOW = 1_000_000;
const M = 'claude-sonnet-4-5';

const H: Health = { kind: 'healthy' };
const cool = (ms: number): Health => ({ kind: 'cooling', until: NOW + ms });
const FAILING: Health = { kind: 'out', by: 'failures', recheck: false };
const RESTORED: Health = { kind: 'out', by: 'failures', recheck: true };
const REVOKED: Health = { kind: 'out', by: 'revoked', recheck: false };
const SPENT: Health = { kind: 'exhausted', by: 'request' };

/** A key `id` with a health; `models`: undefined = unknown list; `x`: the model excluded (until refresh) or with an end. */
function key(id: string, health: Health, opts: { models?: string[]; manual?: boolean; x?: Record<string, number | undefined> } = {}): KeyView {
  const exclusions = opts.x ? new Map<string, Exclusion>(Object.entries(opts.x).map(([m, until]) => [m, { reason: 'refused', until }])) : undefined;
  return { id, health, manuallyDisabled: opts.manual ?? false, models: opts.models ? new Set(opts.models) : undefined, exclusions };
}

const req = (r: Partial<ChoiceRequest> = {}): ChoiceRequest => ({ maxWaitMs: 0, ...r });

type Row = [name: string, keys: KeyView[], start: number, r: ChoiceRequest, want: string | undefined, tier?: 'usable' | 'failing' | 'cooling'];

const table: Row[] = [
  ['round-robin: the first healthy key from the cursor', [key('a', H), key('b', H), key('c', H)], 1, req(), 'b', 'usable'],
  ['round-robin wraps around', [key('a', H), key('b', H), key('c', REVOKED)], 2, req(), 'a', 'usable'],
  ['no keys: none', [], 0, req(), undefined],
  ['tried keys are skipped', [key('a', H), key('b', H)], 0, req({ tried: new Set(['a']) }), 'b', 'usable'],
  ['every key tried: none', [key('a', H), key('b', H)], 0, req({ tried: new Set(['a', 'b']) }), undefined],
  ['a key out by hand is never chosen', [key('a', H, { manual: true }), key('b', FAILING)], 0, req(), 'b', 'failing'],
  ['revoked, exhausted and restored-out keys are never chosen', [key('a', REVOKED), key('b', SPENT), key('c', RESTORED)], 0, req(), undefined],
  ['tier 2: out by failures when nothing is usable', [key('a', REVOKED), key('b', FAILING), key('c', FAILING)], 2, req(), 'c', 'failing'],
  ['usable beats failing whatever the cursor', [key('a', FAILING), key('b', H)], 0, req(), 'b', 'usable'],
  ['failing beats cooling', [key('a', cool(100)), key('b', FAILING)], 0, req({ maxWaitMs: 1_000 }), 'b', 'failing'],
  ['tier 3: cooling within the wait, the soonest end first', [key('a', cool(900)), key('b', cool(300)), key('c', cool(600))], 0, req({ maxWaitMs: 1_000 }), 'b', 'cooling'],
  ['cooling past the wait: none', [key('a', cool(2_000))], 0, req({ maxWaitMs: 1_000 }), undefined],
  ['cooling with no wait allowed: none', [key('a', cool(1))], 0, req(), undefined],
  ['a negative wait is no wait', [key('a', cool(1))], 0, req({ maxWaitMs: -5 }), undefined],
  // by model
  ['a model: only keys whose list names it', [key('a', H, { models: ['gpt'] }), key('b', H, { models: [M] })], 0, req({ model: M }), 'b', 'usable'],
  ['a model: a known list before an unknown one', [key('a', H), key('b', H, { models: [M] })], 0, req({ model: M }), 'b', 'usable'],
  ['a model: an unknown list when no known key is left', [key('a', H), key('b', H, { models: [M] })], 0, req({ model: M, tried: new Set(['b']) }), 'a', 'usable'],
  ['a model: a known failing key before an unknown usable one', [key('a', H), key('b', FAILING, { models: [M] })], 0, req({ model: M }), 'b', 'failing'],
  ['a model: a known cooling key before an unknown usable one', [key('a', H), key('b', cool(10), { models: [M] })], 0, req({ model: M, maxWaitMs: 100 }), 'b', 'cooling'],
  ['a model: an excluded pair is skipped', [key('a', H, { models: [M], x: { [M]: undefined } }), key('b', H, { models: [M] })], 0, req({ model: M }), 'b', 'usable'],
  ['a model: an exclusion that ended counts no more', [key('a', H, { models: [M], x: { [M]: NOW } }), key('b', H, { models: [M] })], 0, req({ model: M }), 'a', 'usable'],
  ['a model: an exclusion of another model does not matter', [key('a', H, { models: [M], x: { gpt: undefined } })], 0, req({ model: M }), 'a', 'usable'],
  ['a model no key serves: none', [key('a', H, { models: ['gpt'] })], 0, req({ model: M }), undefined],
  ['no model asked: lists do not matter', [key('a', H, { models: ['gpt'] })], 0, req(), 'a', 'usable'],
  // prefer (the session-affinity hook)
  ['prefer: the preferred key wins over the round-robin', [key('a', H), key('b', H), key('c', H)], 0, req({ prefer: 'c' }), 'c', 'usable'],
  ['prefer: a preferred key with an unknown list wins over a known one', [key('a', H, { models: [M] }), key('b', H)], 0, req({ model: M, prefer: 'b' }), 'b', 'usable'],
  ['prefer: not usable (cooling) → the normal choice', [key('a', H), key('b', cool(10))], 1, req({ prefer: 'b', maxWaitMs: 100 }), 'a', 'usable'],
  ['prefer: out by failures → the normal choice, failing tier included', [key('a', REVOKED), key('b', FAILING), key('c', FAILING)], 0, req({ prefer: 'c' }), 'b', 'failing'],
  ['prefer: already tried → the normal choice', [key('a', H), key('b', H)], 0, req({ prefer: 'a', tried: new Set(['a']) }), 'b', 'usable'],
  ['prefer: out by hand → the normal choice', [key('a', H), key('b', H, { manual: true })], 1, req({ prefer: 'b' }), 'a', 'usable'],
  ['prefer: its list lacks the model → the normal choice', [key('a', H, { models: ['gpt'] }), key('b', H, { models: [M] })], 0, req({ model: M, prefer: 'a' }), 'b', 'usable'],
  ['prefer: its pair is excluded → the normal choice', [key('a', H, { x: { [M]: undefined } }), key('b', H)], 0, req({ model: M, prefer: 'a' }), 'b', 'usable'],
  ['prefer: an id not in the pool → the normal choice', [key('a', H), key('b', H)], 1, req({ prefer: 'zz' }), 'b', 'usable'],
];

describe('pool choice: chooseKey (a pure function of the keys, the cursor and the request)', () => {
  for (const [name, keys, start, r, want, tier] of table) {
    it(name, () => {
      const frozen = Object.freeze(keys.map((k) => Object.freeze(k)));
      const idx = chooseKey(frozen, start, r, NOW);
      assert.equal(idx >= 0 ? keys[idx].id : undefined, want);
      if (tier) assert.equal(tierOf(keys[idx].health), tier);
      // Pure: the same answer again.
      assert.equal(chooseKey(frozen, start, r, NOW), idx);
    });
  }

  it('summarize: usable, failing, servable and the soonest end, keys out by hand left out of the first three', () => {
    const keys = [
      key('a', H, { manual: true }),
      key('b', FAILING, { models: [M] }),
      key('c', cool(500), { models: ['gpt'] }),
      key('d', cool(200), { manual: true }),
      key('e', REVOKED, { models: [M], x: { [M]: undefined } }),
    ];
    assert.deepEqual(summarize(keys, M, NOW), { anyUsable: false, anyFailing: true, servable: 3, minCooling: NOW + 500 });
    assert.deepEqual(summarize(keys, undefined, NOW), { anyUsable: false, anyFailing: true, servable: 0, minCooling: NOW + 500 });
    assert.equal(summarize([key('a', H)], undefined, NOW).anyUsable, true);
  });
});
