// What Session delegates to, each alone: the refresh timer, the market info (prices and
// availability), the model-id watch a chat provider listens to, the low-balance warnings.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { LowBalanceWatch } from '../../src/core/app/lowBalance';
import { MarketInfo } from '../../src/core/app/marketInfo';
import { ModelListWatch } from '../../src/core/app/modelList';
import { RefreshTimer } from '../../src/core/app/refreshTimer';
import type { GatewayModel } from '../../src/core/gateway';
import type { ModelAvailability, ModelPrice } from '../../src/core/platform/types';
import { KeyPool } from '../../src/core/pool/keyPool';
import type { Logger } from '../../src/core/util/log';

function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (m: string | Error) => void lines.push(`[${level}] ${m instanceof Error ? m.message : m}`);
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('app: RefreshTimer', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => (clock = sinon.useFakeTimers()));
  afterEach(() => clock.restore());

  it('ticks every N minutes while active, survives a failed tick, and stops', async () => {
    const tick = sinon.stub().onFirstCall().rejects(new Error('platform down')).resolves();
    const timer = new RefreshTimer(tick);
    timer.schedule(2, true);
    assert.equal(timer.running, true);
    await clock.tickAsync(2 * 60_000 - 1);
    assert.equal(tick.callCount, 0);
    await clock.tickAsync(1);
    assert.equal(tick.callCount, 1);
    await clock.tickAsync(2 * 60_000);
    assert.equal(tick.callCount, 2, 'a failed tick does not stop the next one');
    timer.stop();
    await clock.tickAsync(10 * 60_000);
    assert.equal(tick.callCount, 2);
    assert.equal(timer.running, false);
  });

  it('does not run with 0 minutes or while inactive; a new schedule replaces the old one', async () => {
    const tick = sinon.stub().resolves();
    const timer = new RefreshTimer(tick);
    timer.schedule(0, true);
    assert.equal(timer.running, false);
    timer.schedule(1, false);
    assert.equal(timer.running, false);
    timer.schedule(1, true);
    timer.schedule(5, true);
    await clock.tickAsync(4 * 60_000);
    assert.equal(tick.callCount, 0, 'the 1-minute schedule was replaced');
    await clock.tickAsync(60_000);
    assert.equal(tick.callCount, 1);
    timer.stop();
  });
});

describe('app: MarketInfo', () => {
  const price: ModelPrice = { model: 'gpt-4o-mini', inputPerMillion: 0.15, outputPerMillion: 0.6 };
  const up: ModelAvailability = { modelName: 'gpt-4o-mini', availability: 100 };

  it('keeps what was known when one half fails, says so at debug, and fires each time', async () => {
    const lines: string[] = [];
    const market = new MarketInfo(recordingLogger(lines));
    const fired = sinon.spy();
    market.onDidChange(fired);
    await market.fetch({ pricing: async () => [price], monitor: async () => [up] });
    assert.deepEqual(market.view.prices, [price]);
    assert.deepEqual(market.view.availability, [up]);
    assert.ok(market.book.get('gpt-4o-mini'), 'the price book the usage cost reads');
    const first = market.view.fetchedAt;
    assert.equal(typeof first, 'number');

    await market.fetch({ pricing: async () => Promise.reject(new Error('HTTP 502')), monitor: async () => [] });
    assert.deepEqual(market.view.prices, [price], 'the old prices stay');
    assert.deepEqual(market.view.availability, [], 'the monitor answered: its (empty) list is taken');
    assert.ok(lines.some((l) => l.startsWith('[debug]') && /price list failed: HTTP 502/.test(l)), lines.join('\n'));
    assert.equal(fired.callCount, 2);
    market.dispose();
    await market.fetch({ pricing: async () => [], monitor: async () => [] });
    assert.deepEqual(market.view.prices, [price], 'nothing changes after dispose');
  });
});

describe('app: ModelListWatch', () => {
  it('fires when the served ids change, not for the same ids again', () => {
    let models: GatewayModel[] | undefined;
    const watch = new ModelListWatch(() => models);
    const fired = sinon.spy();
    watch.onDidChange(fired);
    watch.check();
    assert.equal(fired.callCount, 0, 'nothing known yet, nothing announced yet');
    models = [{ id: 'gpt-4o-mini' }, { id: 'claude-sonnet-4-5' }] as GatewayModel[];
    watch.check();
    watch.check();
    assert.equal(fired.callCount, 1);
    models = [{ id: 'gpt-4o-mini' }, { id: 'claude-sonnet-4-5' }] as GatewayModel[];
    watch.check();
    assert.equal(fired.callCount, 1, 'a new list with the same ids is no change');
    models = undefined;
    watch.check();
    assert.equal(fired.callCount, 2, 'signed out: the list is gone');
    watch.dispose();
  });
});

describe('app: LowBalanceWatch', () => {
  it('warns once per key until reset, with the balance in ¥', () => {
    const lines: string[] = [];
    const watch = new LowBalanceWatch(recordingLogger(lines));
    const found = sinon.spy();
    watch.onDidFind(found);
    const pool = new KeyPool({});
    pool.setKeys([
      { key: 'sk-lowBalanceKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAA1111', balance: 0.5 },
      { key: 'sk-lowBalanceKeyBBBBBBBBBBBBBBBBBBBBBBBBBBBB2222', balance: 50 },
    ]);
    watch.check(pool.snapshot(), 1);
    watch.check(pool.snapshot(), 1);
    assert.equal(found.callCount, 1);
    assert.equal(found.firstCall.args[0].length, 1);
    assert.match(lines.join('\n'), /\[warn\] Low balance: sk-lowB…1111 ¥0\.50/);
    watch.check(pool.snapshot(), 0);
    assert.equal(found.callCount, 1, 'a threshold of 0 turns it off');
    watch.reset();
    watch.check(pool.snapshot(), 1);
    assert.equal(found.callCount, 2, 'after a logout the same key is reported again');
    watch.dispose();
    pool.dispose();
  });
});
