import * as assert from 'node:assert/strict';
import { BodyBudget } from '../../src/core/proxy/bodyBudget';

describe('proxy: BodyBudget (memory of all bodies in flight)', () => {
  it('takes what fits, refuses what does not, and gives back on release', () => {
    const b = new BodyBudget(100);
    assert.equal(b.tryTake(60), true);
    assert.equal(b.tryTake(50), false);
    assert.equal(b.tryTake(40), true);
    assert.equal(b.inUse, 100);
    b.release(60);
    assert.equal(b.inUse, 40);
    assert.equal(b.tryTake(60), true);
  });

  it('a waiter gets room first come, first served; one that cannot fit in time gets false', async () => {
    const b = new BodyBudget(100);
    b.tryTake(90);
    const first = b.take(50, 1000);
    const second = b.take(30, 1000);
    assert.equal(b.tryTake(5), false, 'nobody jumps the queue');
    b.release(90);
    assert.equal(await first, true);
    assert.equal(await second, true);
    assert.equal(b.inUse, 80);
    assert.equal(await b.take(30, 20), false, 'timed out');
    assert.equal(await b.take(101, 1000), false, 'can never fit');
    assert.equal(b.inUse, 80);
  });

  it('a cancelled wait gives up its place', async () => {
    const b = new BodyBudget(10);
    b.tryTake(10);
    let cancel: (() => void) | undefined;
    const waiting = b.take(5, 10_000, { onCancel: (fn) => (cancel = fn) });
    cancel!();
    assert.equal(await waiting, false);
    b.release(10);
    assert.equal(b.inUse, 0);
  });
});
