// What the fake gateway charges for an answer, from its pricing list and the token counts the answer
// carries. Exported so tests can know to the last digit what the account's `utilised` must show.

import { DEMO_PACKAGE_PRICING } from './fixtures';

/** One priced model: ¥ per million tokens in / out, or ¥ per call. */
export type FakePrice = { perCall: number } | { inputPerM: number; outputPerM: number };

/** Token counts of one answer, as its `usage` reports them. */
export interface FakeUsage {
  inputTokens: number;
  outputTokens: number;
}

function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number.parseFloat(String(v));
  return Number.isFinite(n) ? n : 0;
}

/** One row of /api/commodity/getPricing, numbers as strings or numbers. */
export interface FakePricingRow {
  all_name: string;
  input_price: unknown;
  out_price: unknown;
  is_price: unknown;
  num: unknown;
  price: unknown;
}

function priceOfRow(row: FakePricingRow): FakePrice {
  if (String(row.is_price) === '1') return { perCall: num(row.num) * num(row.price) };
  return { inputPerM: num(row.input_price), outputPerM: num(row.out_price) };
}

const tables = new WeakMap<readonly FakePricingRow[], Map<string, FakePrice>>();

function table(rows: readonly FakePricingRow[]): Map<string, FakePrice> {
  let t = tables.get(rows);
  if (!t) {
    t = new Map(rows.map((row) => [row.all_name, priceOfRow(row)]));
    tables.set(rows, t);
  }
  return t;
}

/** `[官Max]claude-…` → `claude-…`; ids without a bracketed prefix stay as they are. */
export function stripChannelPrefix(model: string): string {
  return model.startsWith('[') && model.indexOf(']') > 0 ? model.slice(model.indexOf(']') + 1) : model;
}

/**
 * The price of a model as the gateway names it: its own row, else its bare id's; undefined =
 * unpriced. `rows` defaults to the list the fake serves with packages.
 */
export function fakePriceOf(model: string, rows: readonly FakePricingRow[] = DEMO_PACKAGE_PRICING): FakePrice | undefined {
  const t = table(rows);
  return t.get(model) ?? t.get(stripChannelPrefix(model));
}

/**
 * ¥ an answer costs at `rows` (default DEMO_PACKAGE_PRICING); undefined for an unpriced model
 * (the fake then charges `costPerRequest`).
 */
export function fakeCostOf(model: string, usage: FakeUsage, rows: readonly FakePricingRow[] = DEMO_PACKAGE_PRICING): number | undefined {
  const price = fakePriceOf(model, rows);
  if (!price) return undefined;
  if ('perCall' in price) return price.perCall;
  return (usage.inputTokens * price.inputPerM + usage.outputTokens * price.outputPerM) / 1_000_000;
}
