// Rows of the "Models" tree as a pure function of what the gateway lists, the pool, the price
// list and the model monitor. People copy model ids from here into SillyTavern, so the label is
// the id exactly as the gateway names it, `[官Max]` prefix and all.
import type { GatewayModel } from '../gateway/types';
import { t } from '../l10n';
import type { ModelAvailability, ModelPrice } from '../platform/types';
import type { PoolSnapshot } from '../pool/types';
import { priceOf, stripChannel } from '../usage/price';
import { formatYuan } from './format';
import type { RowIcon } from './keys';

/** Availability under this (%) gets a warning icon: the monitor's "this model is struggling". */
export const AVAILABILITY_WARNING_PERCENT = 95;

export interface ModelsInput {
  /** The union of the keys' lists (`session.models`); undefined while no list is known. */
  models?: readonly GatewayModel[];
  /** Each key's own list (`models`) and the pairs it refused (`exclusions`). */
  pool?: PoolSnapshot;
  prices: readonly ModelPrice[];
  availability: readonly ModelAvailability[];
  now: number;
}

export interface ModelServer {
  /** Pool id (masked). */
  keyId: string;
  masked: string;
  name?: string;
  /** Why this key refuses the model for now, when it does. */
  excluded?: string;
}

export interface ModelRow {
  /** Stable tree item id. */
  id: string;
  /** The model id as the gateway names it: what Copy Model ID copies. */
  model: string;
  label: string;
  description: string;
  tooltip: string;
  /** `model` or `model:warning` (availability under 95 %). */
  contextValue: string;
  icon: RowIcon;
  price?: ModelPrice;
  priceText: string;
  /** Latest availability, 0–100; undefined when the monitor does not know the model. */
  availability?: number;
  availabilityText?: string;
  /** Keys whose list names the model, in pool order. */
  servedBy: ModelServer[];
}

/** `¥3.00 in / ¥15.00 out per M tokens`, `¥0.10 per call`, or `price unknown`. */
export function priceText(price: ModelPrice | undefined): string {
  if (!price) return t('price unknown');
  if (price.perCall !== undefined) return t('{0} per call', formatYuan(price.perCall, 'price'));
  if (price.inputPerMillion === undefined && price.outputPerMillion === undefined) return t('price unknown');
  const side = (v: number | undefined) => formatYuan(v, 'price');
  return t('{0} in / {1} out per M tokens', side(price.inputPerMillion), side(price.outputPerMillion));
}

/** The short form for the row's description: `¥3.00/¥15.00 per M`, `¥0.10/call`. */
function shortPrice(price: ModelPrice | undefined): string {
  if (!price) return t('price unknown');
  if (price.perCall !== undefined) return t('{0}/call', formatYuan(price.perCall, 'price'));
  if (price.inputPerMillion === undefined && price.outputPerMillion === undefined) return t('price unknown');
  const side = (v: number | undefined) => formatYuan(v, 'price');
  return t('{0}/{1} per M', side(price.inputPerMillion), side(price.outputPerMillion));
}

/**
 * The monitor's latest availability for a model, matched as prices are: the exact name, then
 * without the model's `[channel]` prefix, then the monitor's names without theirs. Several
 * channels that disagree leave it unknown: showing one of them would be a guess.
 */
export function availabilityOf(model: string, rows: readonly ModelAvailability[]): number | undefined {
  const known = rows.filter((r) => r.availability !== undefined && Number.isFinite(r.availability));
  const exact = known.find((r) => r.modelName === model);
  if (exact) return exact.availability;
  const bare = stripChannel(model);
  if (bare !== model) {
    const hit = known.find((r) => r.modelName === bare);
    if (hit) return hit.availability;
  }
  const same = (list: readonly ModelAvailability[]) => (list.length > 0 && list.every((r) => r.availability === list[0]!.availability) ? list[0]!.availability : undefined);
  const byStripped = known.filter((r) => stripChannel(r.modelName) === model);
  if (byStripped.length > 0) return same(byStripped);
  return bare !== model ? same(known.filter((r) => stripChannel(r.modelName) === bare)) : undefined;
}

function formatPercent(p: number): string {
  return `${Number(p.toFixed(2))}%`;
}

/**
 * One row per model some key serves: the union the gateway monitor keeps first (its order is
 * stable), then any model only a key's own list names. Empty while no list is known (the
 * welcome text shows instead).
 */
export function modelRows(input: ModelsInput): ModelRow[] {
  const keys = input.pool?.keys ?? [];
  const ids: string[] = [];
  const seen = new Set<string>();
  const add = (id: unknown) => {
    if (typeof id !== 'string' || id === '' || seen.has(id)) return;
    seen.add(id);
    ids.push(id);
  };
  for (const m of input.models ?? []) add(m.id);
  for (const k of keys) for (const m of k.models ?? []) add(m);
  const unknownLists = keys.filter((k) => k.models === undefined).length;

  return ids.map((model) => {
    const price = priceOf(model, input.prices);
    const availability = availabilityOf(model, input.availability);
    const servedBy: ModelServer[] = [];
    for (const k of keys) {
      if (!k.models?.includes(model)) continue;
      const server: ModelServer = { keyId: k.id, masked: k.masked };
      if (k.name) server.name = k.name;
      const ex = k.exclusions.find((e) => e.model === model && (e.until === undefined || e.until > input.now));
      if (ex) server.excluded = ex.reason;
      servedBy.push(server);
    }
    const warn = availability !== undefined && availability < AVAILABILITY_WARNING_PERCENT;

    const parts = [shortPrice(price)];
    if (availability !== undefined) parts.push(warn ? t('{0} available (low)', formatPercent(availability)) : t('{0} available', formatPercent(availability)));
    parts.push(servedBy.length === 1 ? t('1 key') : t('{0} keys', servedBy.length));

    const tip = [model];
    if (price?.title) tip.push(price.title);
    tip.push(t('Price: {0}', priceText(price)));
    tip.push(
      availability === undefined
        ? t('Availability: the model monitor has no figure')
        : warn
          ? t('Availability: {0} (under {1}: expect failures)', formatPercent(availability), `${AVAILABILITY_WARNING_PERCENT}%`)
          : t('Availability: {0}', formatPercent(availability)),
    );
    if (servedBy.length === 0) tip.push(t('Served by: no key lists it'));
    else {
      tip.push(t('Served by {0}:', servedBy.length === 1 ? t('1 key') : t('{0} keys', servedBy.length)));
      for (const s of servedBy) {
        const who = s.name ? `${s.masked} (${s.name})` : s.masked;
        tip.push(s.excluded ? `  ${who} — ${t('refused for now: {0}', s.excluded)}` : `  ${who}`);
      }
    }
    if (unknownLists > 0) tip.push(t('{0} more key(s) whose model list is not known yet may serve it too.', unknownLists));
    tip.push(t('Click to copy the model id.'));

    const row: ModelRow = {
      id: `model/${model}`,
      model,
      label: model,
      description: parts.join(' · '),
      tooltip: tip.join('\n'),
      contextValue: warn ? 'model:warning' : 'model',
      icon: warn ? { id: 'warning', color: 'charts.yellow' } : { id: 'symbol-misc' },
      priceText: priceText(price),
      servedBy,
    };
    if (price) row.price = price;
    if (availability !== undefined) {
      row.availability = availability;
      row.availabilityText = formatPercent(availability);
    }
    return row;
  });
}
