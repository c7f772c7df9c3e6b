// Reads the token usage an answer carries while it streams through, at next to no cost per
// chunk (issue 13: the request path must not get slower).
//
// Where usage sits in every shape we pass on:
// - OpenAI bodies (chat, completions, embeddings, Responses API): `"usage":{…}` near the end;
// - OpenAI streams: the last chunk before `[DONE]` (with stream_options.include_usage, or when the
//   gateway sends it anyway); earlier chunks may carry `"usage":null`;
// - Responses API streams: `response.completed`, the last event, usage near its end;
// - Anthropic bodies: `"usage":{…}` at the end;
// - Anthropic streams: `message_start` (the first event: input and cache tokens) and
//   `message_delta` (near the end: output tokens, sometimes input again, cumulative).
// So a tap keeps references to the chunks of the first few KB (Anthropic streams only) and of
// the last few KB, drops the rest as it goes, and parses only at end(): it searches the last KB
// backwards for `"usage"` (wider only when that finds nothing and may have missed something)
// and JSON.parses just the small object that follows. Per chunk that is an array push and a
// length sum: no scan, no copy, no toString.
//
// Holding a reference is safe: the forwarder has already handed the same chunk to
// `res.write`, which may itself queue it, so nobody reuses chunk memory after the write.
//
// Cost note (a one-off loop, not a test; Node 20 on this 2-core machine shared by nine builds,
// load average 12, where one JSON.parse of a 120-byte body took 2 µs; minimum of 7 rounds of
// 2,000–20,000 answers after warm-up): write() 15–75 ns per chunk; a whole 400-chunk OpenAI
// stream with its usage chunk 8 µs, without one 9 µs, an Anthropic stream of 400 events about
// the sum of its writes, a 200 KB body in 16 KB chunks 6 µs, a small one-chunk body 1.4–7 µs
// (mostly that one small JSON.parse). The forwarder's own res.write costs more per chunk.

import type { TokenUsage, UsageMeter, UsageTap } from './types';

/** Bytes kept from the end of every answer: usage is within the last event or the body's tail. */
export const TAIL_BYTES = 8 * 1024;
/** Bytes kept from the start of an Anthropic stream: message_start is its first event. */
export const HEAD_BYTES = 4 * 1024;
/** A usage object larger than this is not one. */
const MAX_USAGE_OBJECT = 4 * 1024;

const MARKER = Buffer.from('"usage"');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const COLON = 0x3a;

/** Routes whose answers carry usage (paths below the upstream base, as routes.ts gives them). */
const METERED = new Set(['/chat/completions', '/completions', '/embeddings', '/messages', '/responses']);

export function createUsageMeter(): UsageMeter {
  return {
    tap(route, contentType) {
      const kind = answerKind(contentType);
      if (!kind || !METERED.has(routePath(route.path))) return undefined;
      return new ChunkTap(kind === 'sse' && route.flavor === 'anthropic' ? HEAD_BYTES : 0, kind === 'sse');
    },
  };
}

function routePath(path: string): string {
  const q = path.indexOf('?');
  let p = q === -1 ? path : path.slice(0, q);
  if (p.startsWith('/v1/')) p = p.slice(3);
  if (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p;
}

function answerKind(contentType: string | undefined): 'sse' | 'json' | undefined {
  // A gateway that forgets the header still answers JSON; the scan finds nothing otherwise.
  if (contentType === undefined || contentType === '') return 'json';
  const ct = contentType.toLowerCase();
  if (ct.startsWith('text/event-stream')) return 'sse';
  if (ct.includes('json')) return 'json';
  return undefined; // audio, images, files: no usage to read, no tap to pay for
}

class ChunkTap implements UsageTap {
  private head: Buffer[] = [];
  private headBytes = 0;
  private tail: (Buffer | undefined)[] = [];
  private tailStart = 0;
  private tailBytes = 0;
  /** Chunks were dropped between the head and the tail. */
  private gap = false;
  private ended = false;

  constructor(
    private readonly headLimit: number,
    private readonly sse: boolean,
  ) {}

  write(chunk: Buffer): void {
    if (this.ended || chunk.length === 0) return;
    if (this.headBytes < this.headLimit) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      return;
    }
    this.tail.push(chunk);
    this.tailBytes += chunk.length;
    // Drop the oldest chunk while the rest still covers TAIL_BYTES.
    for (;;) {
      const first = this.tail[this.tailStart]!;
      if (this.tailBytes - first.length < TAIL_BYTES) break;
      this.tailBytes -= first.length;
      this.tail[this.tailStart++] = undefined;
      this.gap = true;
    }
    if (this.tailStart >= 64 && this.tailStart * 2 >= this.tail.length) {
      this.tail = this.tail.slice(this.tailStart);
      this.tailStart = 0;
    }
  }

  end(): TokenUsage | undefined {
    if (this.ended) return undefined;
    this.ended = true;
    const tail = this.tail.slice(this.tailStart) as Buffer[];
    const head = this.head;
    const all = this.gap ? tail : head.concat(tail);
    this.head = [];
    this.tail = [];
    // Anthropic streams need message_start (input) as well as message_delta (output); every
    // other answer says all in its last usage object.
    const needBoth = this.headLimit > 0;
    const found: TokenUsage = {};
    // The last usage object is almost always within the last KB: look there first, so that
    // the usual answer costs one small concat and a short backward search.
    const near = joinTail(all, NEAR_END_BYTES);
    if (scanBack(near, found, needBoth)) return found;
    if (needBoth) {
      // message_start is the first event: a forward search of the head finds it at once,
      // nearly always in the first chunk alone (then nothing is copied).
      if (head.length > 1) scanForward(asBuffer(head[0]!), found);
      if (!isComplete(found, true)) scanForward(joinTail(head, Infinity), found);
      if (isComplete(found, true)) return found;
    }
    // A stream's usage is in its last event or two; when the last KB holds the last three
    // events, there is nothing further back to find (the common stream without a usage chunk).
    if (this.sse && !needBoth && eventEnds(near, 3)) return hasAny(found) ? found : undefined;
    scanBack(joinTail(all, Infinity), found, needBoth);
    return hasAny(found) ? found : undefined;
  }
}

const LF_LF = Buffer.from('\n\n');
const CRLF_CRLF = Buffer.from('\r\n\r\n');

/** Whether `buf` holds at least `n` SSE event ends (blank lines). */
function eventEnds(buf: Buffer, n: number): boolean {
  for (const sep of [LF_LF, CRLF_CRLF]) {
    let seen = 0;
    let from = buf.length - sep.length;
    while (from >= 0) {
      const at = buf.lastIndexOf(sep, from);
      if (at === -1) break;
      if (++seen >= n) return true;
      from = at - 1;
    }
  }
  return false;
}

/** Where usage sits in nearly every answer: the last event, the body's last fields. */
const NEAR_END_BYTES = 1024;

function hasAny(u: TokenUsage): boolean {
  return u.inputTokens !== undefined || u.outputTokens !== undefined || u.cacheReadTokens !== undefined || u.cacheWriteTokens !== undefined;
}

function isComplete(u: TokenUsage, needBoth: boolean): boolean {
  return needBoth ? u.inputTokens !== undefined && u.outputTokens !== undefined : hasAny(u);
}

/** Fills what `into` lacks: scanning backwards, a later usage object has already spoken. */
function fillMissing(into: TokenUsage, u: TokenUsage): void {
  if (into.inputTokens === undefined && u.inputTokens !== undefined) into.inputTokens = u.inputTokens;
  if (into.outputTokens === undefined && u.outputTokens !== undefined) into.outputTokens = u.outputTokens;
  if (into.cacheReadTokens === undefined && u.cacheReadTokens !== undefined) into.cacheReadTokens = u.cacheReadTokens;
  if (into.cacheWriteTokens === undefined && u.cacheWriteTokens !== undefined) into.cacheWriteTokens = u.cacheWriteTokens;
}

/**
 * Reads `"usage": {…}` objects from the end of `buf` backwards, the later ones winning field by
 * field (OpenAI's last chunk; Anthropic's message_delta over message_start). Returns whether
 * what was found is complete, so the caller can stop.
 */
function scanBack(buf: Buffer, into: TokenUsage, needBoth: boolean): boolean {
  let from = buf.length - MARKER.length;
  while (from >= 0) {
    const at = buf.lastIndexOf(MARKER, from);
    if (at === -1) break;
    from = at - 1;
    const u = usageAt(buf, at);
    if (u) {
      fillMissing(into, u);
      if (isComplete(into, needBoth)) return true;
    }
  }
  return false;
}

/** The first usage object of `buf` (the head of an Anthropic stream: message_start). */
function scanForward(buf: Buffer, into: TokenUsage): void {
  let from = 0;
  for (;;) {
    const at = buf.indexOf(MARKER, from);
    if (at === -1) return;
    from = at + MARKER.length;
    const u = usageAt(buf, at);
    if (u) {
      fillMissing(into, u);
      return;
    }
  }
}

/** The usage object whose key starts at `at`, when it is one. */
function usageAt(buf: Buffer, at: number): TokenUsage | undefined {
  // Inside a JSON string the quote would be escaped (`\"usage\"`): not a key.
  if (isEscaped(buf, at)) return undefined;
  let i = skipSpace(buf, at + MARKER.length);
  if (buf[i] !== COLON) return undefined;
  i = skipSpace(buf, i + 1);
  if (buf[i] !== OPEN) return undefined; // `"usage":null` on every chunk of some streams
  const end = objectEnd(buf, i);
  if (end === -1) return undefined;
  try {
    return normalizeUsage(JSON.parse(buf.toString('utf8', i, end)));
  } catch {
    return undefined;
  }
}

/** The last `limit` bytes of the chunks, as one buffer (a view when there is one chunk). */
function joinTail(chunks: Buffer[], limit: number): Buffer {
  if (chunks.length === 0) return Buffer.alloc(0);
  // Usually the last chunk alone holds the last KB: a view of it, nothing copied.
  const last = asBuffer(chunks[chunks.length - 1]!);
  if (last.length >= limit) return last.subarray(last.length - limit);
  let total = 0;
  for (const c of chunks) total += c.length;
  const skip = total > limit ? total - limit : 0;
  if (chunks.length === 1) {
    const b = asBuffer(chunks[0]!);
    return skip ? b.subarray(skip) : b;
  }
  if (skip === 0) return Buffer.concat(chunks, total);
  const parts: Buffer[] = [];
  let left = skip;
  for (const c of chunks) {
    if (left >= c.length) {
      left -= c.length;
      continue;
    }
    parts.push(left ? c.subarray(left) : c);
    left = 0;
  }
  return Buffer.concat(parts, total - skip);
}

/** A chunk as a Buffer, without a copy: a plain Uint8Array would search for one element, not a byte sequence. */
function asBuffer(c: Uint8Array): Buffer {
  return Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

function isEscaped(buf: Buffer, quoteAt: number): boolean {
  let n = 0;
  for (let j = quoteAt - 1; j >= 0 && buf[j] === BACKSLASH; j--) n++;
  return n % 2 === 1;
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
    i++;
  }
  return i;
}

/** Index just past the `}` that closes the object opening at `start`; -1 if not within the bound. */
function objectEnd(buf: Buffer, start: number): number {
  const stop = Math.min(buf.length, start + MAX_USAGE_OBJECT);
  let depth = 0;
  let inString = false;
  for (let i = start; i < stop; i++) {
    const c = buf[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN) {
      depth++;
    } else if (c === CLOSE) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

function field(o: unknown, name: string): unknown {
  return typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[name] : undefined;
}

/**
 * A usage object of any shape we know, as TokenUsage; undefined for anything else.
 * OpenAI (`prompt_tokens`, cached ones inside it), Responses API (`input_tokens` with
 * `input_tokens_details.cached_tokens` inside it), Anthropic (`input_tokens` without the cache
 * tokens, which come apart as `cache_read_input_tokens` / `cache_creation_input_tokens`).
 */
export function normalizeUsage(o: unknown): TokenUsage | undefined {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const prompt = count(field(o, 'prompt_tokens'));
  const completion = count(field(o, 'completion_tokens'));
  const input = count(field(o, 'input_tokens'));
  const output = count(field(o, 'output_tokens'));
  const out: TokenUsage = {};
  if (prompt !== undefined || completion !== undefined) {
    if (prompt !== undefined) {
      const cached = Math.min(prompt, count(field(field(o, 'prompt_tokens_details'), 'cached_tokens')) ?? 0);
      out.inputTokens = prompt - cached;
      if (cached > 0) out.cacheReadTokens = cached;
    }
    if (completion !== undefined) out.outputTokens = completion;
    return out;
  }
  const cacheRead = count(field(o, 'cache_read_input_tokens'));
  const cacheWrite = count(field(o, 'cache_creation_input_tokens'));
  if (input === undefined && output === undefined && cacheRead === undefined && cacheWrite === undefined) return undefined;
  if (input !== undefined) {
    const detailsCached = count(field(field(o, 'input_tokens_details'), 'cached_tokens'));
    if (detailsCached !== undefined && cacheRead === undefined) {
      const cached = Math.min(input, detailsCached);
      out.inputTokens = input - cached;
      if (cached > 0) out.cacheReadTokens = cached;
    } else {
      out.inputTokens = input;
    }
  }
  if (cacheRead !== undefined) out.cacheReadTokens = cacheRead;
  if (cacheWrite !== undefined) out.cacheWriteTokens = cacheWrite;
  if (output !== undefined) out.outputTokens = output;
  return out;
}

/** All input tokens of a usage, cache included. */
export function totalInputTokens(u: TokenUsage | undefined): number {
  if (!u) return 0;
  return (u.inputTokens ?? 0) + (u.cacheReadTokens ?? 0) + (u.cacheWriteTokens ?? 0);
}
