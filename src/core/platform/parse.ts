// Tolerant readers for the platform's JSON: every field may be missing or of the other type
// (a balance may come as "12.50", 12.5, "¥12.50" or not at all).

import type { AccountKey, KeyQuota, ModelAvailability, ModelPrice } from './types';

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number from a number or a numeric string ("12.50", " 1,234.5 ", "¥3"); else undefined. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const cleaned = v.trim().replace(/^[¥￥$]\s*/, '').replace(/,/g, '');
  if (cleaned === '') return undefined;
  const n = Number(cleaned);
  return Number.isFinite(n) ? n : undefined;
}

/** A non-empty trimmed string from a string or a number; else undefined. */
export function toText(v: unknown): string | undefined {
  if (typeof v === 'string') {
    const t = v.trim();
    return t === '' ? undefined : t;
  }
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** true, "true", 1, "1" → true; everything else (false, "false", 0, null, missing) → false. */
export function toFlag(v: unknown): boolean {
  if (v === true || v === 1) return true;
  if (typeof v === 'string') return ['true', '1', 'yes'].includes(v.trim().toLowerCase());
  return false;
}

function first(o: Json, ...names: string[]): unknown {
  for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
  return undefined;
}

/** The key an order carries, whatever the field is called. */
export function orderKey(o: Json): string | undefined {
  return toText(first(o, 'key', 'api_key', 'apiKey', 'token'));
}

/** Whether an order's key can be used: a key, state "success", no error. */
export function isUsableOrder(o: Json): boolean {
  if (!orderKey(o)) return false;
  const state = toText(o.state);
  if (!state || state.toLowerCase() !== 'success') return false;
  return !toFlag(first(o, 'hasError', 'has_error'));
}

/** An order as an AccountKey; undefined when it has no key. */
export function parseOrder(o: Json): AccountKey | undefined {
  const key = orderKey(o);
  if (!key) return undefined;
  const pkg = toText(first(o, 'payPackage', 'pay_package', 'package'));
  const name = toText(o.name) ?? pkg ?? 'DaiDai key';
  const out: AccountKey = { key, name };
  if (pkg) out.package = pkg;
  const balance = toNumber(o.balance);
  if (balance !== undefined) out.balance = balance;
  const used = toNumber(first(o, 'utilised', 'utilized', 'used'));
  if (used !== undefined) out.used = used;
  const created = toText(first(o, 'createdAt', 'created_at', 'createTime'));
  if (created) out.createdAt = created;
  return out;
}

/** The array of orders in an orders answer: `msg` itself, or a list inside it. */
export function ordersArray(envelope: Json): unknown[] | undefined {
  const msg = envelope.msg;
  if (Array.isArray(msg)) return msg;
  for (const holder of [msg, envelope.data, envelope]) {
    if (!isObject(holder)) continue;
    for (const name of ['list', 'rows', 'records', 'data', 'orders']) {
      if (Array.isArray(holder[name])) return holder[name] as unknown[];
    }
  }
  return Array.isArray(envelope.data) ? envelope.data : undefined;
}

/** totalPages of an orders answer (top level or inside msg); undefined when absent. */
export function totalPagesOf(envelope: Json): number | undefined {
  const msg = isObject(envelope.msg) ? envelope.msg : {};
  const n = toNumber(first(envelope, 'totalPages', 'total_pages', 'pages')) ?? toNumber(first(msg, 'totalPages', 'total_pages', 'pages'));
  return n === undefined ? undefined : Math.floor(n);
}

export function parseQuota(msg: unknown): KeyQuota {
  const o = isObject(msg) ? msg : {};
  const out: KeyQuota = {};
  const balance = toNumber(o.balance);
  if (balance !== undefined) out.balance = balance;
  const used = toNumber(first(o, 'utilised', 'utilized', 'used'));
  if (used !== undefined) out.used = used;
  return out;
}

export function parsePrice(row: unknown): ModelPrice | undefined {
  if (!isObject(row)) return undefined;
  const model = toText(first(row, 'all_name', 'model', 'name'));
  if (!model) return undefined;
  const out: ModelPrice = { model };
  const title = toText(row.title);
  if (title) out.title = title;
  if (toText(row.is_price) === '1' || row.is_price === true) {
    const num = toNumber(row.num) ?? 1;
    const price = toNumber(row.price);
    if (price !== undefined) out.perCall = Math.round(num * price * 1e6) / 1e6;
  } else {
    const input = toNumber(row.input_price);
    const output = toNumber(row.out_price);
    if (input !== undefined) out.inputPerMillion = input;
    if (output !== undefined) out.outputPerMillion = output;
  }
  return out;
}

export function parseAvailability(row: unknown): ModelAvailability | undefined {
  if (!isObject(row)) return undefined;
  const modelName = toText(first(row, 'modelName', 'model_name', 'model', 'name'));
  if (!modelName) return undefined;
  const out: ModelAvailability = { modelName };
  const latest = Array.isArray(row.history) ? row.history[0] : undefined;
  const rate = isObject(latest) ? toNumber(first(latest, 'weightedErrorRate', 'errorRate')) : undefined;
  if (rate !== undefined) out.availability = Math.min(100, Math.max(0, Math.round((100 - rate) * 100) / 100));
  return out;
}
