import * as assert from 'node:assert/strict';
import { parsePrice } from '../../src/core/platform/parse';
import type { ModelPrice } from '../../src/core/platform/types';
import { costOf, priceOf, PriceBook, requestCost, stripChannel, type UsagePrice } from '../../src/core/usage';

const prices: ModelPrice[] = [
  { model: 'gpt-4o-mini', inputPerMillion: 1.05, outputPerMillion: 4.2 },
  { model: '[官Max]claude-sonnet-4-5-20250929', inputPerMillion: 21, outputPerMillion: 105 },
  { model: 'claude-sonnet-4-5-20250929', inputPerMillion: 30, outputPerMillion: 150 },
  { model: '[逆向]claude-opus-4-1', inputPerMillion: 60, outputPerMillion: 300 },
  { model: 'midjourney-imagine', perCall: 0.35 },
  { model: 'deepseek-chat', inputPerMillion: 2 }, // output price missing
];

describe('usage price: priceOf', () => {
  it('matches the exact name first, then without the [channel] prefix both ways', () => {
    assert.equal(priceOf('gpt-4o-mini', prices)?.inputPerMillion, 1.05);
    assert.equal(priceOf('[官Max]claude-sonnet-4-5-20250929', prices)?.inputPerMillion, 21, 'exact beats stripped');
    assert.equal(priceOf('claude-sonnet-4-5-20250929', prices)?.inputPerMillion, 30, 'exact beats the prefixed row');
    assert.equal(priceOf('[默认]gpt-4o-mini', prices)?.model, 'gpt-4o-mini', 'request prefixed, list bare');
    assert.equal(priceOf('claude-opus-4-1', prices)?.model, '[逆向]claude-opus-4-1', 'request bare, list prefixed');
    assert.equal(priceOf('[官Max]claude-opus-4-1', prices)?.model, '[逆向]claude-opus-4-1', 'both prefixed, other channel');
    assert.equal(priceOf('gpt-5', prices), undefined);
    assert.equal(priceOf(undefined, prices), undefined);
    assert.equal(priceOf('', prices), undefined);
  });

  it('channels that disagree on the price leave it unknown; agreeing ones give it', () => {
    const list: ModelPrice[] = [
      { model: '[官Max]claude-haiku', inputPerMillion: 5, outputPerMillion: 25 },
      { model: '[逆向]claude-haiku', inputPerMillion: 1, outputPerMillion: 5 },
      { model: '[A]gemini', inputPerMillion: 2, outputPerMillion: 8 },
      { model: '[B]gemini', inputPerMillion: 2, outputPerMillion: 8 },
    ];
    assert.equal(priceOf('claude-haiku', list), undefined);
    assert.equal(priceOf('[其他]claude-haiku', list), undefined);
    assert.equal(priceOf('[官Max]claude-haiku', list)?.inputPerMillion, 5, 'exact still wins');
    assert.equal(priceOf('gemini', list)?.model, '[A]gemini');
  });

  it('stripChannel takes off one leading bracketed prefix only', () => {
    assert.equal(stripChannel('[官Max]claude-x'), 'claude-x');
    assert.equal(stripChannel(' [A] claude-x'), 'claude-x');
    assert.equal(stripChannel('claude-x[beta]'), 'claude-x[beta]');
    assert.equal(stripChannel('claude-x'), 'claude-x');
  });

  it('PriceBook answers as priceOf and remembers misses', () => {
    const book = new PriceBook(prices);
    for (const m of ['gpt-4o-mini', '[默认]gpt-4o-mini', 'claude-opus-4-1', 'nope', 'nope']) assert.equal(book.get(m), priceOf(m, prices));
    assert.equal(book.get(undefined), undefined);
  });
});

describe('usage price: costOf', () => {
  it('¥ per million input and output tokens', () => {
    assert.equal(costOf({ inputTokens: 1_000_000, outputTokens: 500_000 }, prices[0]), 3.15);
    assert.equal(costOf({ inputTokens: 1200, outputTokens: 300 }, prices[1]), (1200 * 21 + 300 * 105) / 1e6);
    assert.equal(costOf({ inputTokens: 0, outputTokens: 0 }, prices[0]), 0);
  });

  it('a per-call price, with or without usage', () => {
    assert.equal(costOf(undefined, prices[4]), 0.35);
    assert.equal(costOf({ inputTokens: 99 }, prices[4]), 0.35);
    // As parsed from the platform: is_price "1", num × price.
    const parsed = parsePrice({ all_name: 'mj', is_price: '1', num: '2', price: '0.1' });
    assert.equal(costOf(undefined, parsed), 0.2);
  });

  it('cache tokens cost input tokens unless the price names a cache price', () => {
    const u = { inputTokens: 100, cacheReadTokens: 1000, cacheWriteTokens: 200, outputTokens: 10 };
    assert.equal(costOf(u, prices[1]), ((100 + 1000 + 200) * 21 + 10 * 105) / 1e6);
    const withCache: UsagePrice = { ...prices[1]!, cacheReadPerMillion: 2.1, cacheWritePerMillion: 26.25 };
    assert.equal(costOf(u, withCache), Math.round(((100 * 21 + 1000 * 2.1 + 200 * 26.25 + 10 * 105) / 1e6) * 1e8) / 1e8);
  });

  it('unknown, never made up: no price, no usage, or a missing price for tokens used', () => {
    assert.equal(costOf({ inputTokens: 10, outputTokens: 10 }, undefined), undefined);
    assert.equal(costOf(undefined, prices[0]), undefined);
    assert.equal(costOf({}, prices[0]), undefined);
    assert.equal(costOf({ inputTokens: 10, outputTokens: 5 }, prices[5]), undefined, 'no output price');
    assert.equal(costOf({ inputTokens: 10, outputTokens: 0 }, prices[5]), 20 / 1e6, 'no output used');
    assert.equal(costOf({ inputTokens: 10 }, { model: 'x' }), undefined);
  });

  it('requestCost: a refused request costs ¥0; a 2xx is priced by model', () => {
    assert.equal(requestCost({ status: 502, model: 'gpt-4o-mini' }, prices), 0);
    assert.equal(requestCost({ status: 200, model: '[默认]gpt-4o-mini', usage: { inputTokens: 1e6 } }, new PriceBook(prices)), 1.05);
    assert.equal(requestCost({ status: 200, model: 'gpt-5', usage: { inputTokens: 1e6 } }, prices), undefined);
    assert.equal(requestCost({ status: 200, model: 'gpt-4o-mini' }, prices), undefined, 'no usage measured');
  });
});
