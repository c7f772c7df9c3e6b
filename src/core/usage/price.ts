// What a request cost in ¥, from the platform's price list (/api/commodity/getPricing).
// A model without a known price has no cost: undefined, never a guess.

import type { ModelPrice } from '../platform/types';
import type { TokenUsage, UsagePrice, UsageRecordInput } from './types';

/** `[官Max]claude-sonnet-4-5` → `claude-sonnet-4-5`; names without a channel prefix unchanged. */
export function stripChannel(model: string): string {
  const m = /^\s*\[[^\]]*\]\s*/.exec(model);
  return m ? model.slice(m[0].length) : model;
}

/**
 * The price of `model` as the gateway names it: the exact name first; then the name without
 * its `[channel]` prefix against the list; then the list's names without theirs against the
 * name, and both stripped. When a step finds several channels' rows that disagree on the
 * price, the price is unknown: picking one would be a guess.
 */
export function priceOf<P extends ModelPrice>(model: string | undefined, prices: readonly P[]): P | undefined {
  if (!model) return undefined;
  const exact = prices.find((p) => p.model === model);
  if (exact) return exact;
  const bare = stripChannel(model);
  if (bare !== model) {
    const hit = prices.find((p) => p.model === bare);
    if (hit) return hit;
  }
  const rows = prices.filter((p) => stripChannel(p.model) === model);
  if (rows.length > 0) return unanimous(rows);
  return bare !== model ? unanimous(prices.filter((p) => stripChannel(p.model) === bare)) : undefined;
}

function unanimous<P extends ModelPrice>(rows: readonly P[]): P | undefined {
  const first = rows[0];
  if (!first) return undefined;
  const same = (a: ModelPrice, b: ModelPrice) => a.perCall === b.perCall && a.inputPerMillion === b.inputPerMillion && a.outputPerMillion === b.outputPerMillion;
  return rows.every((r) => same(r, first)) ? first : undefined;
}

/**
 * priceOf over a list that changes rarely, for every request: names are looked up once and
 * remembered (misses too), so a request costs one Map lookup.
 */
export class PriceBook<P extends ModelPrice = UsagePrice> {
  private readonly memo = new Map<string, P | null>();
  constructor(readonly prices: readonly P[] = []) {}

  get(model: string | undefined): P | undefined {
    if (!model) return undefined;
    let hit = this.memo.get(model);
    if (hit === undefined) {
      hit = priceOf(model, this.prices) ?? null;
      // Client-chosen names: bound the memo so a client cannot grow it without end.
      if (this.memo.size >= 2048) this.memo.clear();
      this.memo.set(model, hit);
    }
    return hit ?? undefined;
  }
}

const PER_MILLION = 1_000_000;

/**
 * ¥ of one call: the fixed per-call price when the model has one; otherwise input (cache
 * tokens priced as input unless the price names a cache price) and output at ¥ per million.
 * undefined when unknown: no price, no usage on a per-token price, or a token kind the
 * request used without a price for it.
 */
export function costOf(usage: TokenUsage | undefined, price: UsagePrice | undefined): number | undefined {
  if (!price) return undefined;
  if (price.perCall !== undefined) return price.perCall;
  if (!usage) return undefined;
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  const cacheRead = usage.cacheReadTokens ?? 0;
  const cacheWrite = usage.cacheWriteTokens ?? 0;
  if (input + output + cacheRead + cacheWrite === 0 && usage.inputTokens === undefined && usage.outputTokens === undefined) return undefined;
  const parts: [number, number | undefined][] = [
    [input, price.inputPerMillion],
    [output, price.outputPerMillion],
    [cacheRead, price.cacheReadPerMillion ?? price.inputPerMillion],
    [cacheWrite, price.cacheWritePerMillion ?? price.inputPerMillion],
  ];
  let yuan = 0;
  for (const [tokens, perMillion] of parts) {
    if (tokens === 0) continue;
    if (perMillion === undefined) return undefined;
    yuan += (tokens * perMillion) / PER_MILLION;
  }
  // Micro-yuan: enough for one token of the cheapest model, and sums stay readable.
  return Math.round(yuan * 1e8) / 1e8;
}

/**
 * The cost the history records for a finished request. A refused request (no 2xx) is not
 * charged by the gateway (new-api refunds what it pre-consumed): ¥0, known. Otherwise costOf.
 */
export function requestCost(record: Pick<UsageRecordInput, 'status' | 'model' | 'usage'>, prices: PriceBook | readonly UsagePrice[]): number | undefined {
  if (record.status < 200 || record.status >= 300) return 0;
  const price = prices instanceof PriceBook ? prices.get(record.model) : priceOf(record.model, prices);
  return costOf(record.usage, price);
}
