// Plain keys for the CLI (DAIDAI_KEYS or --keys-file), for people who do not log in.
import type { PoolKeyInput } from './pool/types';

/**
 * Whether `text` has the shape of an API key: `sk-` and at least 12 more characters of the
 * key alphabet (DaiDai's keys are `sk-` + 48). Catches a variable set to the wrong thing
 * (`DAIDAI_KEYS=notakey`, a half-pasted key) before it is served for every request.
 */
export function looksLikeApiKey(text: string): boolean {
  return /^sk-[A-Za-z0-9_-]{12,}$/.test(text);
}

/**
 * Accepts one key per line (blank lines and `#` comments ignored; `name=sk-…` or `sk-… name`
 * give a name; a leading `Bearer ` or `Authorization: Bearer `, as copied from a request, is
 * dropped), commas, or a JSON array of strings or {key, name}.
 */
export function parseKeys(text: string): PoolKeyInput[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const out: PoolKeyInput[] = [];
  const seen = new Set<string>();
  const add = (key: string, name?: string) => {
    const k = key.trim();
    if (!k || seen.has(k)) return;
    seen.add(k);
    out.push(name ? { key: k, name } : { key: k });
  };
  if (trimmed.startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(trimmed);
    } catch {
      throw new Error('The keys file looks like JSON but does not parse. Use one key per line, or a JSON array of keys.');
    }
    if (!Array.isArray(list)) throw new Error('The keys file must be a JSON array.');
    for (const item of list) {
      if (typeof item === 'string') add(item);
      else if (item && typeof item === 'object' && typeof (item as { key?: unknown }).key === 'string') {
        const o = item as { key: string; name?: unknown };
        add(o.key, typeof o.name === 'string' ? o.name : undefined);
      }
    }
    return out;
  }
  for (const rawLine of trimmed.split(/\r?\n/)) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (!line) continue;
    for (const part of line.split(',')) {
      const p = part.trim();
      if (!p) continue;
      const eq = p.indexOf('=');
      if (eq > 0 && !p.startsWith('sk-')) {
        add(p.slice(eq + 1), p.slice(0, eq).trim());
        continue;
      }
      const [key, ...rest] = p.replace(/^(?:authorization:\s*)?bearer\s+/i, '').split(/\s+/);
      add(key, rest.length ? rest.join(' ') : undefined);
    }
  }
  return out;
}
