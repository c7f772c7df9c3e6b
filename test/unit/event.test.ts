import * as assert from 'node:assert/strict';
import { Emitter, type Disposable } from '../../src/core/util/event';

describe('Emitter', () => {
  it('calls listeners in order with the event, bound to thisArg', () => {
    const e = new Emitter<number>();
    const seen: string[] = [];
    const owner = { name: 'view', on(this: { name: string }, n: number) { seen.push(`${this.name}:${n}`); } };
    e.event((n) => seen.push(`a:${n}`));
    e.event(owner.on, owner);
    e.fire(1);
    assert.deepEqual(seen, ['a:1', 'view:1']);
  });

  it('collects subscriptions in the disposables array, and disposing one stops it (once)', () => {
    const e = new Emitter<void>();
    const bag: Disposable[] = [];
    let n = 0;
    const sub = e.event(() => n++, undefined, bag);
    assert.deepEqual(bag, [sub]);
    e.fire();
    sub.dispose();
    sub.dispose();
    e.fire();
    assert.equal(n, 1);
    assert.equal(e.listenerCount, 0);
  });

  it('reports a listener\'s exception to the error callback and keeps calling the others', () => {
    const errors: unknown[] = [];
    const e = new Emitter<void>((err) => errors.push(err));
    let later = 0;
    e.event(() => {
      throw new Error('boom');
    });
    e.event(() => later++);
    e.fire();
    assert.equal(later, 1);
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /boom/);
  });

  it('takes a logger as the error sink', () => {
    const lines: string[] = [];
    const e = new Emitter<void>({ error: (m: string | Error) => lines.push(String(m)) });
    e.event(() => {
      throw new Error('bad view');
    });
    e.fire();
    assert.deepEqual(lines, ['Error: bad view']);
  });

  it('a fire reaches the listeners of when it began: one removed or added meanwhile counts from the next fire', () => {
    const e = new Emitter<void>();
    const seen: string[] = [];
    e.event(() => {
      seen.push('a');
      subB.dispose();
      e.event(() => seen.push('late'));
    });
    const subB = e.event(() => seen.push('b'));
    e.fire();
    assert.deepEqual(seen, ['a', 'b']);
    seen.length = 0;
    e.fire();
    assert.deepEqual(seen.filter((s) => s === 'b'), []);
    assert.ok(seen.includes('late'));
  });

  it('after dispose: no listener, and subscribing is a no-op', () => {
    const e = new Emitter<void>();
    let n = 0;
    e.event(() => n++);
    e.dispose();
    e.fire();
    e.event(() => n++).dispose();
    e.fire();
    assert.equal(n, 0);
  });
});
