import * as assert from 'node:assert/strict';
import {
  endsStreak,
  HEALTHY,
  isFailing,
  keyStateOf,
  nextHealth,
  NO_BALANCE_REASON,
  RECHECK_PASSED,
  RESET,
  RESTORED_OUT_REASON,
  SUCCESS,
  TIME,
  wantsRecheck,
  type Health,
  type HealthEvent,
} from '../../src/core/pool/health';

// A key's health as one value, changed by one pure function: the whole table, health × event.

const NOW = 50_000;
const T0 = 10_000; // an earlier `since`

const healthy: Health = { kind: 'healthy', since: T0 };
const cooling: Health = { kind: 'cooling', until: NOW + 5_000, reason: 'HTTP 429', since: T0 };
const cooledOff: Health = { kind: 'cooling', until: NOW - 1, reason: 'HTTP 429', since: T0 };
const failing: Health = { kind: 'out', by: 'failures', recheck: false, reason: '3 consecutive failures: HTTP 502', since: T0 };
const failingRestored: Health = { kind: 'out', by: 'failures', recheck: true, reason: 'x', since: T0 };
const revoked: Health = { kind: 'out', by: 'revoked', recheck: false, reason: 'HTTP 401', since: T0 };
const revokedRestored: Health = { kind: 'out', by: 'revoked', recheck: true, reason: 'HTTP 401', since: T0 };
const spent: Health = { kind: 'exhausted', by: 'request', reason: 'balance used up (HTTP 402)', since: T0 };
const empty: Health = { kind: 'exhausted', by: 'balance', reason: NO_BALANCE_REASON, since: T0 };

const back: Health = { kind: 'healthy', since: NOW };
const SAME = 'same';

const failure = (streak: number): HealthEvent => ({ type: 'failure', streak, threshold: 3, reason: 'HTTP 502' });
const coolDown = (until: number): HealthEvent => ({ type: 'cool-down', until, reason: 'HTTP 429 again' });
const balance = (b: number, previous?: number): HealthEvent => ({ type: 'balance', balance: b, previous });
const forgiven = (streak: number, before: Health): HealthEvent => ({ type: 'forgiven', streak, threshold: 3, before });
const restored = (ev: Partial<Extract<HealthEvent, { type: 'restored' }>> & { state: 'disabled' | 'exhausted' | 'cooling' }): HealthEvent => ({
  type: 'restored',
  balance: undefined,
  ...ev,
});

type Row = [name: string, from: Health, ev: HealthEvent, to: Health | typeof SAME];

const table: Row[] = [
  // success
  ['success: healthy stays', healthy, SUCCESS, SAME],
  ['success: out by failures is back', failing, SUCCESS, back],
  ['success: out by failures, waiting for a re-check, is back', failingRestored, SUCCESS, back],
  ['success: revoked stays out', revoked, SUCCESS, SAME],
  ['success: exhausted stays', spent, SUCCESS, SAME],
  ['success: cooling stays', cooling, SUCCESS, SAME],
  // counted failure
  ['failure below the threshold: healthy stays', healthy, failure(2), SAME],
  ['failure at the threshold: healthy → out by failures', healthy, failure(3), { kind: 'out', by: 'failures', recheck: false, reason: '3 consecutive failures: HTTP 502', since: NOW }],
  ['failure past the threshold: cooling → out by failures', cooling, failure(4), { kind: 'out', by: 'failures', recheck: false, reason: '4 consecutive failures: HTTP 502', since: NOW }],
  ['failure: revoked stays revoked', revoked, failure(9), SAME],
  ['failure: exhausted stays', empty, failure(9), SAME],
  ['failure: already out by failures stays (since kept)', failing, failure(9), SAME],
  // 429
  ['cool-down: healthy → cooling', healthy, coolDown(NOW + 2_000), { kind: 'cooling', until: NOW + 2_000, reason: 'HTTP 429 again', since: NOW }],
  ['cool-down: a longer one extends (since kept)', cooling, coolDown(NOW + 9_000), { kind: 'cooling', until: NOW + 9_000, reason: 'HTTP 429 again', since: T0 }],
  ['cool-down: a shorter one never shortens', cooling, coolDown(NOW + 1_000), { kind: 'cooling', until: NOW + 5_000, reason: 'HTTP 429 again', since: T0 }],
  ['cool-down: out stays out', failing, coolDown(NOW + 1_000), SAME],
  ['cool-down: exhausted stays', spent, coolDown(NOW + 1_000), SAME],
  // 401/403
  ['revoked: healthy → out revoked', healthy, { type: 'revoked', reason: 'HTTP 403' }, { kind: 'out', by: 'revoked', recheck: false, reason: 'HTTP 403', since: NOW }],
  ['revoked: exhausted → out revoked', spent, { type: 'revoked', reason: 'HTTP 403' }, { kind: 'out', by: 'revoked', recheck: false, reason: 'HTTP 403', since: NOW }],
  ['revoked: out by failures becomes revoked (since kept)', failing, { type: 'revoked', reason: 'HTTP 403' }, { kind: 'out', by: 'revoked', recheck: false, reason: 'HTTP 403', since: T0 }],
  ['revoked: a restored key keeps waiting for its re-check', failingRestored, { type: 'revoked', reason: 'HTTP 403' }, { kind: 'out', by: 'revoked', recheck: true, reason: 'HTTP 403', since: T0 }],
  // 402
  ['refused for money: healthy → exhausted by request', healthy, { type: 'refused-for-money', reason: 'HTTP 402' }, { kind: 'exhausted', by: 'request', reason: 'HTTP 402', since: NOW }],
  ['refused for money: cooling → exhausted', cooling, { type: 'refused-for-money', reason: 'HTTP 402' }, { kind: 'exhausted', by: 'request', reason: 'HTTP 402', since: NOW }],
  ['refused for money: exhausted by balance → by request (since kept)', empty, { type: 'refused-for-money', reason: 'HTTP 402' }, { kind: 'exhausted', by: 'request', reason: 'HTTP 402', since: T0 }],
  // the account's balance
  ['balance 0: healthy → exhausted by balance', healthy, balance(0), { kind: 'exhausted', by: 'balance', reason: NO_BALANCE_REASON, since: NOW }],
  ['balance -1: out → exhausted by balance', failing, balance(-1), { kind: 'exhausted', by: 'balance', reason: NO_BALANCE_REASON, since: NOW }],
  ['balance 0: exhausted stays', spent, balance(0), SAME],
  ['balance > 0: exhausted by balance is back', empty, balance(1), back],
  ['balance up: exhausted by request is back (topped up)', spent, balance(5, 3), back],
  ['balance the same: exhausted by request stays', spent, balance(3, 3), SAME],
  ['balance first known: exhausted by request stays', spent, balance(3), SAME],
  ['balance > 0: healthy stays', healthy, balance(3, 1), SAME],
  ['balance > 0: out stays', revoked, balance(3, 1), SAME],
  // the clock
  ['time: a cool-down that ended is over', cooledOff, TIME, back],
  ['time: a cool-down under way goes on', cooling, TIME, SAME],
  ['time: out stays', failing, TIME, SAME],
  // no key usable
  ['reset: out by failures is back', failing, RESET, back],
  ['reset: out by failures but waiting for a re-check stays', failingRestored, RESET, SAME],
  ['reset: revoked stays', revoked, RESET, SAME],
  ['reset: cooling stays', cooling, RESET, SAME],
  ['reset: exhausted stays', empty, RESET, SAME],
  // re-check
  ['re-check passed: out by failures is back', failing, RECHECK_PASSED, back],
  ['re-check passed: restored revoked is back', revokedRestored, RECHECK_PASSED, back],
  ['re-check passed: healthy stays', healthy, RECHECK_PASSED, SAME],
  ['re-check passed: exhausted stays', spent, RECHECK_PASSED, SAME],
  // forgiven (a gateway outage)
  ['forgiven below the threshold: back to healthy', failing, forgiven(2, healthy), back],
  ['forgiven: back into the cool-down it was in', failing, forgiven(0, cooling), { kind: 'cooling', until: NOW + 5_000, reason: 'HTTP 429', since: NOW }],
  ['forgiven: a cool-down that ended meanwhile gives healthy', failing, forgiven(0, cooledOff), back],
  ['forgiven: still at the threshold stays out', failing, forgiven(3, healthy), SAME],
  ['forgiven: revoked since stays revoked', revoked, forgiven(0, healthy), SAME],
  // restored from the state file
  ['restored out: healthy → out revoked, waiting for a re-check, since as stored', healthy, restored({ state: 'disabled', outBy: 'revoked', reason: 'HTTP 401', since: 7 }), { kind: 'out', by: 'revoked', recheck: true, reason: 'HTTP 401', since: 7 }],
  ['restored out by failures without reason or since', healthy, restored({ state: 'disabled', outBy: 'failures' }), { kind: 'out', by: 'failures', recheck: true, reason: RESTORED_OUT_REASON, since: NOW }],
  ['restored out without a cause: revoked', healthy, restored({ state: 'disabled' }), { kind: 'out', by: 'revoked', recheck: true, reason: RESTORED_OUT_REASON, since: NOW }],
  ['restored exhausted by request', healthy, restored({ state: 'exhausted', exhaustedBy: 'request', reason: 'HTTP 402', since: 7 }), { kind: 'exhausted', by: 'request', reason: 'HTTP 402', since: 7 }],
  ['restored exhausted by balance while the balance is 0', healthy, restored({ state: 'exhausted', exhaustedBy: 'balance', balance: 0 }), { kind: 'exhausted', by: 'balance', reason: NO_BALANCE_REASON, since: NOW }],
  ['restored exhausted by balance, the account shows money now: stays healthy', healthy, restored({ state: 'exhausted', exhaustedBy: 'balance', balance: 4 }), SAME],
  ['restored exhausted by request, money or not: exhausted', healthy, restored({ state: 'exhausted', exhaustedBy: 'request', balance: 4, reason: 'r' }), { kind: 'exhausted', by: 'request', reason: 'r', since: NOW }],
  ['restored exhausted: a key the balance already emptied stays as it is', empty, restored({ state: 'exhausted', exhaustedBy: 'request', reason: 'r' }), SAME],
  ['restored exhausted: an out key stays out', revoked, restored({ state: 'exhausted', exhaustedBy: 'request' }), SAME],
  ['restored cooling still under way', healthy, restored({ state: 'cooling', coolingUntil: NOW + 1, since: 7 }), { kind: 'cooling', until: NOW + 1, reason: undefined, since: 7 }],
  ['restored cooling that ended', healthy, restored({ state: 'cooling', coolingUntil: NOW }), SAME],
  ['restored cooling: an exhausted key stays exhausted', empty, restored({ state: 'cooling', coolingUntil: NOW + 1 }), SAME],
];

describe('pool health: nextHealth (health × event → health)', () => {
  for (const [name, from, ev, to] of table) {
    it(name, () => {
      const got = nextHealth(from, ev, NOW);
      if (to === SAME) assert.equal(got, from, 'the very same object: nothing changed');
      else {
        assert.notEqual(got, from);
        assert.deepEqual(got, to);
      }
    });
  }

  it('the table covers every event type and every kind of health', () => {
    assert.deepEqual(new Set(table.map((r) => r[2].type)).size, 11);
    assert.deepEqual([...new Set(table.map((r) => r[1].kind))].sort(), ['cooling', 'exhausted', 'healthy', 'out']);
  });

  it('the streak ends on a success, and when a reset, a re-check or the balance brings a key back', () => {
    assert.equal(endsStreak(SUCCESS, healthy, healthy), true, 'a success ends it even when nothing moved');
    assert.equal(endsStreak(RESET, failing, back), true);
    assert.equal(endsStreak(RECHECK_PASSED, failing, back), true);
    assert.equal(endsStreak(RECHECK_PASSED, healthy, healthy), false, 'a re-check of a healthy key ends nothing');
    assert.equal(endsStreak(balance(4), empty, back), true);
    assert.equal(endsStreak(balance(0), healthy, empty), false);
    assert.equal(endsStreak(forgiven(0, healthy), failing, back), false, 'forgiving takes back failures one by one');
    assert.equal(endsStreak(TIME, cooledOff, back), false);
    assert.equal(endsStreak(failure(3), healthy, failing), false);
  });

  it('failing (the last-resort tier), re-check candidates and the words', () => {
    assert.deepEqual([healthy, cooling, failing, failingRestored, revoked, revokedRestored, spent].map(isFailing), [false, false, true, false, false, false, false]);
    assert.deepEqual([healthy, cooling, failing, failingRestored, revoked, revokedRestored, spent].map(wantsRecheck), [false, false, true, true, false, true, false]);
    assert.deepEqual([HEALTHY, cooling, failing, spent].map(keyStateOf), ['healthy', 'cooling', 'disabled', 'exhausted']);
  });
});
