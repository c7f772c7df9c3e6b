// The fake gateway's prompt cache, per key, as the real upstreams keep one per key and channel: a
// request whose leading part (system, tools, earlier messages) was sent before on the same key
// reads it from the cache. Anthropic caches only with `cache_control` breakpoints (Claude Code
// sets them) and reports `cache_read_input_tokens` / `cache_creation_input_tokens`; OpenAI caches
// any prompt prefix of 1,024 tokens or more and reports `cached_tokens`. So the fake shows what
// session affinity buys: the same conversation on one key reads its history from the cache, spread
// over keys it pays full price each time.
import { createHash } from 'node:crypto';

/** Cache tokens of one answer. */
export interface FakeCache {
  read: number;
  write: number;
}

/** OpenAI caches prompts from this many tokens on. */
const OPENAI_MIN_TOKENS = 1024;
/** Prefixes remembered per key (least recently stored go first). */
const MAX_PREFIXES = 4096;

export class FakePromptCache {
  private readonly prefixes = new Map<string, number>();

  /**
   * `parts`: the request's input in order (the head — system, instructions, tools — then each
   * message); `total`: its input tokens as the answer reports them. Returns the cache tokens, and
   * remembers every prefix of this request for the next one.
   */
  use(flavor: 'anthropic' | 'openai', parts: readonly string[], total: number, breakpoints: boolean): FakeCache | undefined {
    if (parts.length === 0) return undefined;
    if (flavor === 'anthropic' && !breakpoints) return undefined;
    const hashes: string[] = [];
    const tokens: number[] = [];
    let h = '';
    let bytes = 0;
    for (const p of parts) {
      h = createHash('sha1').update(h).update('\u0000').update(p).digest('base64');
      bytes += Buffer.byteLength(p);
      hashes.push(h);
      tokens.push(Math.ceil(bytes / 4));
    }
    // The longest prefix seen before, the last part (the new turn) excluded.
    let read = 0;
    for (let k = parts.length - 2; k >= 0; k--) {
      if (this.prefixes.has(hashes[k]!)) {
        read = Math.min(total, tokens[k]!);
        break;
      }
    }
    if (flavor === 'openai' && read < OPENAI_MIN_TOKENS) read = 0;
    for (let k = 0; k < hashes.length; k++) {
      this.prefixes.delete(hashes[k]!);
      this.prefixes.set(hashes[k]!, tokens[k]!);
    }
    while (this.prefixes.size > MAX_PREFIXES) this.prefixes.delete(this.prefixes.keys().next().value!);
    if (flavor === 'openai') return read > 0 ? { read, write: 0 } : undefined;
    // Anthropic writes what it did not read, up to the last breakpoint: all but the new turn.
    const last = Math.ceil(Buffer.byteLength(parts[parts.length - 1]!) / 4);
    const write = Math.max(0, total - read - last);
    return read + write > 0 ? { read, write } : undefined;
  }
}

const caches = new WeakMap<object, FakePromptCache>();

/** The cache of one key of one fake (keyed by the fake's own per-key object). */
export function promptCacheOf(key: object): FakePromptCache {
  let c = caches.get(key);
  if (!c) caches.set(key, (c = new FakePromptCache()));
  return c;
}

/** A request body's input as cacheable parts: the head (system, instructions, tools), then each message or input item. */
export function promptParts(body: Record<string, unknown>): string[] {
  const head = JSON.stringify([body.system ?? null, body.instructions ?? null, body.tools ?? null]);
  const list = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : typeof body.input === 'string' ? [body.input] : [];
  return [head, ...list.map((m) => JSON.stringify(m))];
}
