// Which model the account really serves for the one a client asks for. Coding assistants send
// the vendor's own ids (`claude-opus-4-8`, `gpt-5`); a reseller's gateway lists them under channel
// prefixes and with dates or suffixes (`[官Max]claude-opus-4-6-20260205-thinking`). The order:
// the exact id; a user alias; the same id under a `[channel]` prefix; then the same family
// (opus, sonnet, haiku, gpt-4o, gpt-5, …), newest first, never across families, and a
// `-thinking` variant only when one was asked for. Pure: built from the served ids, the aliases
// and one switch; the forwarder asks it once per request (a Map hit after the first time).

/** How a requested id became the one sent upstream. */
export type ResolutionKind = 'exact' | 'alias' | 'prefix' | 'family';

export type Resolution =
  | { kind: ResolutionKind; requested: string; served: string }
  /** Nothing the account lists matches: the gateway decides (the request goes out as asked). */
  | { kind: 'none'; requested: string };

export interface ResolverOptions {
  /** User aliases, requested id → id to send (`daidai.models.aliases`, CLI `--model-alias`). */
  aliases?: Readonly<Record<string, string>>;
  /** Whether the family step runs (`daidai.models.familyFallback`, default true). */
  familyFallback?: boolean;
}

/** What an id says about itself once its channel prefix, date and suffixes are set aside. */
export interface ParsedModelId {
  id: string;
  /** Lower case, without the channel prefix(es) (`[官Max]`) and a display suffix like `[1m]`. */
  bare: string;
  /** The `[channel]` prefix as written, '' when none. */
  channel: string;
  /** `claude-opus`, `claude-haiku`, `gpt-5`, `gpt-4o`, `gpt-4-mini`, `gemini-pro`, … */
  family: string;
  /** Version numbers in order: `claude-opus-4-6` → [4, 6], `gpt-4.1-mini` → [4, 1]. */
  version: number[];
  /** A release date (yyyymmdd) when the id carries one, else 0; `-latest` counts as newest. */
  date: number;
  thinking: boolean;
}

/** Cached resolutions per resolver; requested ids come from clients, so the cache is bounded. */
const CACHE_LIMIT = 512;
/** Longer ids are nobody's model: resolved as 'none' without looking (and put in no Connect a Client snippet). */
export const MAX_ID_LENGTH = 256;

const PREFIX = /^\s*(?:[[【][^\]】]*[\]】]\s*)+/;
const DISPLAY_SUFFIX = /\[[^\]]*\]\s*$/;
const VERSION = /^\d{1,3}(?:\.\d{1,3})*$/;
const DATE8 = /^(?:19|20)\d{6}$/;

export function parseModelId(id: string): ParsedModelId {
  const prefix = PREFIX.exec(id);
  const channel = prefix ? prefix[0].trim() : '';
  let rest = (prefix ? id.slice(prefix[0].length) : id).trim().toLowerCase();
  rest = rest.replace(DISPLAY_SUFFIX, '').trim();
  const bare = rest;
  let thinking = false;
  if (rest.endsWith('-thinking')) {
    thinking = true;
    rest = rest.slice(0, -'-thinking'.length);
  }
  const tokens = rest.split(/[-_]/).filter((s) => s !== '');
  let date = 0;
  // Dates at the end: 20250929, 2024-08-06, 0613 (OpenAI's old month-day), or `latest`.
  const last = tokens[tokens.length - 1];
  if (last === 'latest') {
    date = 99999999;
    tokens.pop();
  } else if (last !== undefined && DATE8.test(last)) {
    date = Number(last);
    tokens.pop();
  } else if (
    tokens.length >= 4 &&
    /^\d{4}$/.test(tokens[tokens.length - 3]!) &&
    /^\d{2}$/.test(tokens[tokens.length - 2]!) &&
    /^\d{2}$/.test(last!)
  ) {
    date = Number(tokens.splice(tokens.length - 3, 3).join(''));
  } else if (last !== undefined && /^\d{4}$/.test(last) && tokens.length > 1) {
    date = 20000000 + Number(last); // 0613: the year is unknown, the order within it is not
    tokens.pop();
  }
  const names: string[] = [];
  const version: number[] = [];
  for (const tok of tokens) {
    if (VERSION.test(tok)) for (const part of tok.split('.')) version.push(Number(part));
    else names.push(tok);
  }
  let family: string;
  if (names[0] === 'gpt') {
    // OpenAI names product lines by number: gpt-4o, gpt-4.1, gpt-5 are different models, not
    // releases of one. The major version is part of the family.
    const major = version.length > 0 ? [String(version[0])] : [];
    family = ['gpt', ...major, ...names.slice(1)].join('-');
  } else {
    family = names.join('-');
  }
  return { id, bare, channel, family: family || bare, version, date, thinking };
}

/** Newer first: by version, then by date. */
function newerFirst(a: ParsedModelId, b: ParsedModelId): number {
  const n = Math.max(a.version.length, b.version.length);
  for (let i = 0; i < n; i++) {
    const d = (b.version[i] ?? 0) - (a.version[i] ?? 0);
    if (d !== 0) return d;
  }
  return b.date - a.date;
}

function sameVersion(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ModelResolver {
  private readonly served: ReadonlySet<string>;
  private readonly parsed: ParsedModelId[];
  private readonly byBare = new Map<string, ParsedModelId[]>();
  private readonly byFamily = new Map<string, ParsedModelId[]>();
  private readonly aliases: ReadonlyMap<string, string>;
  private readonly family: boolean;
  private readonly cache = new Map<string, Resolution>();

  /** `served`: the ids the account's keys list, in the gateway's order (ties keep that order). */
  constructor(served: readonly string[], opts: ResolverOptions = {}) {
    this.served = new Set(served);
    this.parsed = [...this.served].map(parseModelId);
    for (const p of this.parsed) {
      push(this.byBare, p.bare, p);
      push(this.byFamily, p.family, p);
    }
    // Newest first within a family; Array.prototype.sort is stable, so ties keep the list's order.
    for (const list of this.byFamily.values()) list.sort(newerFirst);
    const aliases = new Map<string, string>();
    for (const [from, to] of Object.entries(opts.aliases ?? {})) {
      if (typeof to === 'string' && from.trim() && to.trim()) aliases.set(from.trim(), to.trim());
    }
    this.aliases = aliases;
    this.family = opts.familyFallback !== false;
  }

  /** The served ids (for the 404's closest ids and for views). */
  get servedIds(): readonly string[] {
    return this.parsed.map((p) => p.id);
  }

  resolve(requested: string): Resolution {
    const hit = this.cache.get(requested);
    if (hit) return hit;
    const r = this.compute(requested);
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(requested, r);
    return r;
  }

  private compute(requested: string): Resolution {
    if (this.served.has(requested)) return { kind: 'exact', requested, served: requested };
    if (requested.length > MAX_ID_LENGTH || requested.trim() === '') return { kind: 'none', requested };
    const alias = this.aliases.get(requested) ?? this.aliases.get(requested.trim());
    if (alias !== undefined) {
      // An alias names what to send; the steps below still find it under a prefix or a date.
      const via = alias === requested ? undefined : this.compute(alias);
      if (via && via.kind !== 'none') return { kind: 'alias', requested, served: via.served };
      // Not served as far as the lists know: send it anyway, the user asked for exactly that.
      return { kind: 'alias', requested, served: alias };
    }
    const want = parseModelId(requested);
    const same = this.byBare.get(want.bare);
    if (same && same.length > 0) return { kind: 'prefix', requested, served: same[0]!.id };
    if (!this.family) return { kind: 'none', requested };
    const family = this.byFamily.get(want.family);
    if (!family || family.length === 0) return { kind: 'none', requested };
    const pick = pickInFamily(family, want);
    return pick ? { kind: 'family', requested, served: pick.id } : { kind: 'none', requested };
  }
}

/**
 * Within a family (newest first): the same version first (`claude-sonnet-4-5` → its dated
 * release), else the newest; a `-thinking` variant only when asked for, and then before the
 * plain one.
 */
function pickInFamily(family: readonly ParsedModelId[], want: ParsedModelId): ParsedModelId | undefined {
  const order: ((p: ParsedModelId) => boolean)[] = want.thinking
    ? [(p) => p.thinking && sameVersion(p.version, want.version), (p) => p.thinking, (p) => !p.thinking && sameVersion(p.version, want.version), (p) => !p.thinking]
    : [(p) => !p.thinking && sameVersion(p.version, want.version), (p) => !p.thinking];
  for (const ok of order) {
    const p = family.find(ok);
    if (p) return p;
  }
  return undefined;
}

function push<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

/** `from=to` pairs (the CLI's repeatable `--model-alias`) as an alias map; `bad` is the first malformed one. */
export function parseAliasPairs(pairs: readonly string[]): { aliases: Record<string, string>; bad?: string } {
  const aliases: Record<string, string> = {};
  for (const p of pairs) {
    const at = p.indexOf('=');
    const from = at > 0 ? p.slice(0, at).trim() : '';
    const to = at > 0 ? p.slice(at + 1).trim() : '';
    if (!from || !to) return { aliases, bad: p };
    aliases[from] = to;
  }
  return { aliases };
}

/** A short, log-safe form of a resolution: `claude-opus-4-8 → [官Max]claude-opus-4-6-20260205`. */
export function resolutionText(r: Resolution): string | undefined {
  return r.kind === 'none' || r.kind === 'exact' ? undefined : `${r.requested} → ${r.served}`;
}
