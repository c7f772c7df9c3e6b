// Which conversation a request belongs to, so that its turns go to one key (prompt caches live
// upstream per key and channel). What the clients send (../../../shared/clients.md):
//   1. Claude Code: header `x-claude-code-session-id`;
//   2. Codex CLI: header `session-id` (and `prompt_cache_key` in the body, the same uuid);
//   3. Anthropic-style bodies: `metadata.user_id` as a JSON string holding `session_id`
//      (older Claude Code, and SDK users who copy it);
//   4. OpenAI-style bodies: `prompt_cache_key`, else `user`;
//   5. anything else (SillyTavern, Continue, Cline, the SDKs): a hash of the system prompt and the
//      first user message, which a growing conversation resends unchanged on every turn.
// Headers first: they cost nothing, and no known client sends a header and a different body id.
// The body is read without parsing it: the members before `messages` (or `input`) forwards, the
// first user message within it, and the body's last few KB for `prompt_cache_key` and `user`,
// which clients write after the history. Pure; the ids are bounded and never logged whole.
import * as crypto from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { BACKSLASH, COLON, COMMA, containerEnd, isSpace, LBRACE, LBRACKET, QUOTE, RBRACKET, skipSpace, stringEnd } from '../util/jsonBytes';

/** Ids longer than this are cut (a session id is a uuid; a client could send anything). */
const MAX_ID = 128;
/** `metadata` larger than this is not parsed. */
const MAX_METADATA = 16 * 1024;
/** Bytes of each hashed part taken into the hash (a longer system prompt is known by its start). */
const MAX_HASHED = 64 * 1024;
/**
 * A hashed part longer than twice this is known by its first and last this many bytes and its
 * length: sha256 runs at about 1.5 GB/s here, so a 30 KB character card would cost 20 µs on
 * every turn. Two conversations that differ only in the middle of a long first turn share a
 * key, which costs nothing but the spread (affinity is a preference, never a wall).
 */
const HASHED_END = 4 * 1024;
/** The body's tail searched for `metadata`, `prompt_cache_key` and `user`. */
const TAIL = 4 * 1024;
/** Bodies from this size on have their tail searched for `metadata` before the walk. */
const EARLY_METADATA_BYTES = 16 * 1024;

/** Where a session id came from (for tests and the debug log). */
export type SessionSource = 'claude-code' | 'codex' | 'metadata' | 'prompt-cache-key' | 'user' | 'hash';

export interface SessionId {
  /** `<source>:<id>`: ids from different sources never collide. */
  id: string;
  source: SessionSource;
}

export function sessionIdOf(headers: IncomingHttpHeaders, body: Buffer | undefined): SessionId | undefined {
  const cc = headerText(headers['x-claude-code-session-id']);
  if (cc) return make('claude-code', cc);
  const codex = headerText(headers['session-id']);
  if (codex) return make('codex', codex);
  if (!body || body.length === 0) return undefined;
  return bodySession(body);
}

function make(source: SessionSource, id: string): SessionId {
  return { id: `${source}:${id.length > MAX_ID ? id.slice(0, MAX_ID) : id}`, source };
}

function headerText(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const t = s.trim();
  return t === '' ? undefined : t;
}

function keyText(b: Buffer, open: number, end: number): string {
  return end - open > 40 ? '' : b.toString('utf8', open + 1, end - 1);
}

function decode(b: Buffer, open: number, end: number): string | undefined {
  try {
    const v: unknown = JSON.parse(b.toString('utf8', open, Math.min(end, open + MAX_ID * 4)));
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** Index just past any JSON value starting at `i` (string, container or literal), or -1. */
function valueEnd(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i);
  if (c === LBRACE || c === LBRACKET) return containerEnd(b, i);
  let j = i;
  while (j < b.length && b[j] !== COMMA && b[j] !== 0x7d && !isSpace(b[j]!)) j++;
  return j > i ? j : -1;
}

interface Found {
  metadata?: string;
  promptCacheKey?: string;
  user?: string;
  /** [start, end) byte ranges hashed, in order. */
  parts: [number, number][];
  /** Where the history's first user turn ends: members after the history lie beyond it. */
  after: number;
}

function bodySession(b: Buffer): SessionId | undefined {
  const found: Found = { parts: [], after: 0 };
  let i = skipSpace(b, 0);
  if (b[i] !== LBRACE) return undefined;
  // Claude-style `metadata` is written after the history: found in a large body's tail, it wins
  // outright (the highest of the body's sources), and the walk through the head (tools, system
  // prompt) is saved. A small body is walked first, and its tail searched only past the history.
  const early = b.length >= EARLY_METADATA_BYTES;
  if (early) {
    tailMetadata(b, Math.max(0, b.length - TAIL), found);
    if (found.metadata) return make('metadata', found.metadata);
    if (found.user !== undefined) {
      // A plain `metadata.user_id` (an Anthropic-style body): only `prompt_cache_key`, an
      // OpenAI member written after the history too, would rank above it.
      const key = stringValue(b, PROMPT_CACHE_KEY, Math.max(0, b.length - TAIL));
      return key ? make('prompt-cache-key', key) : make('user', found.user);
    }
  }
  i = skipSpace(b, i + 1);
  // Forwards through the top-level members until the history.
  while (i < b.length && b[i] === QUOTE) {
    const keyEnd = stringEnd(b, i);
    if (keyEnd === -1) return undefined;
    const key = keyText(b, i, keyEnd);
    i = skipSpace(b, keyEnd);
    if (b[i] !== COLON) return undefined;
    i = skipSpace(b, i + 1);
    const start = i;
    if ((key === 'messages' || key === 'input') && (b[start] === LBRACKET || b[start] === QUOTE)) {
      firstUserTurn(b, start, found);
      break; // the rest is the history: the tail is searched instead
    }
    const end = valueEnd(b, start);
    if (end === -1) return undefined;
    if (key === 'system' || key === 'instructions') found.parts.push([start, end]);
    else if (key === 'metadata' && b[start] === LBRACE && end - start <= MAX_METADATA) readMetadata(b, start, end, found);
    else if (key === 'prompt_cache_key' && b[start] === QUOTE) found.promptCacheKey = decode(b, start, end);
    else if (key === 'user' && b[start] === QUOTE) found.user ??= decode(b, start, end);
    i = skipSpace(b, end);
    if (b[i] !== COMMA) break;
    i = skipSpace(b, i + 1);
  }
  if (!early && found.metadata === undefined) tailMetadata(b, Math.max(0, b.length - TAIL, found.after), found);
  searchTail(b, found);
  if (found.metadata) return make('metadata', found.metadata);
  if (found.promptCacheKey) return make('prompt-cache-key', found.promptCacheKey);
  if (found.user) return make('user', found.user);
  if (found.parts.length === 0) return undefined;
  return { id: `hash:${digest(b, found.parts).slice(0, 22)}`, source: 'hash' };
}

/** Node ≥ 20.12's one-shot hash: half the cost of a Hash object for the common single part. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'base64url') => string }).hash;

function digest(b: Buffer, parts: readonly [number, number][]): string {
  if (parts.length === 1 && oneShot !== undefined) {
    const [s, e] = parts[0]!;
    if (e - s <= 2 * HASHED_END) return oneShot('sha256', b.subarray(s, e), 'base64url');
  }
  const h = crypto.createHash('sha256');
  for (const [s, e] of parts) {
    if (e - s <= 2 * HASHED_END) {
      h.update(b.subarray(s, e));
    } else {
      h.update(b.subarray(s, s + HASHED_END));
      h.update(b.subarray(e - HASHED_END, e));
      h.update(`\u0000${e - s}`);
    }
  }
  return h.digest('base64url');
}

/** `metadata.user_id`: Claude Code's JSON string with `session_id`, or a plain user id. */
function readMetadata(b: Buffer, start: number, end: number, found: Found): void {
  let meta: unknown;
  try {
    meta = JSON.parse(b.toString('utf8', start, end));
  } catch {
    return;
  }
  const userId = (meta as { user_id?: unknown } | null)?.user_id;
  if (typeof userId !== 'string') return;
  const s = userId.trim();
  if (s.startsWith('{')) {
    try {
      const sid = (JSON.parse(s) as { session_id?: unknown } | null)?.session_id;
      if (typeof sid === 'string' && sid.trim()) found.metadata = sid.trim();
    } catch {
      /* not Claude Code's shape: a plain id below */
    }
    if (found.metadata) return;
  }
  if (s) found.user ??= s;
}

const ROLE = Buffer.from('role"');
const USER = Buffer.from('"user"');

/**
 * The history up to and including its first user message (the system or developer messages
 * before it included): the part every later turn resends unchanged. A string `input` (the
 * Responses API's short form) is the first user message itself.
 */
function firstUserTurn(b: Buffer, start: number, found: Found): void {
  if (b[start] === QUOTE) {
    const end = stringEnd(b, start);
    if (end !== -1) {
      found.parts.push([start, end]);
      found.after = end;
    }
    return;
  }
  let i = skipSpace(b, start + 1);
  let last = start + 1;
  while (i < b.length && b[i] !== RBRACKET) {
    const end = valueEnd(b, i);
    if (end === -1) return;
    last = end;
    if (b[i] === QUOTE || isUserMessage(b, i, end)) break;
    i = skipSpace(b, end);
    if (b[i] !== COMMA) break;
    i = skipSpace(b, i + 1);
    if (last - start > MAX_HASHED) break;
  }
  found.parts.push([start, last]);
  found.after = last;
}

/** Whether the object at [start, end) says `"role": "user"` (an unescaped key, so not inside a string). */
function isUserMessage(b: Buffer, start: number, end: number): boolean {
  let from = start + 1;
  for (;;) {
    const at = b.indexOf(ROLE, from);
    if (at === -1 || at >= end) return false;
    from = at + ROLE.length;
    if (b[at - 1] !== QUOTE || escaped(b, at - 1)) continue;
    let j = skipSpace(b, from);
    if (b[j] !== COLON) continue;
    j = skipSpace(b, j + 1);
    if (j + USER.length <= end && b.compare(USER, 0, USER.length, j, j + USER.length) === 0) return true;
    // A message's own role is the first `"role"` in it (nested content carries none as a key).
    return false;
  }
}

function escaped(b: Buffer, quoteAt: number): boolean {
  let n = 0;
  for (let k = quoteAt - 1; k >= 0 && b[k] === BACKSLASH; k--) n++;
  return (n & 1) === 1;
}

// Keys searched without their opening quote, which is checked after a hit: Buffer#indexOf is
// several times slower on a needle that starts with a byte as frequent as `"` (PERFORMANCE.md #4).
const PROMPT_CACHE_KEY = Buffer.from('prompt_cache_key"');
const METADATA = Buffer.from('metadata"');
const USER_KEY = Buffer.from('user"');

/**
 * `"metadata": {…}`, `"prompt_cache_key": "…"` and `"user": "…"` as keys (unescaped, with a
 * value of that type) in the body's tail, for what the forward walk did not see.
 */
function searchTail(b: Buffer, found: Found): void {
  // The forward walk saw every member up to the history's first user turn.
  const from = Math.max(0, b.length - TAIL, found.after);
  if (found.metadata !== undefined) return;
  if (found.promptCacheKey === undefined) found.promptCacheKey = stringValue(b, PROMPT_CACHE_KEY, from);
  if (found.user === undefined) found.user = stringValue(b, USER_KEY, from);
}

/** `"metadata": {…}` as a key in the body's tail (Claude Code's `user_id` with its `session_id`). */
function tailMetadata(b: Buffer, from: number, found: Found): void {
  const at = valueOf(b, METADATA, from, LBRACE);
  if (at === -1) return;
  const end = containerEnd(b, at);
  if (end !== -1 && end - at <= MAX_METADATA) readMetadata(b, at, end, found);
}

function stringValue(b: Buffer, key: Buffer, from: number): string | undefined {
  const at = valueOf(b, key, from, QUOTE);
  if (at === -1) return undefined;
  const end = stringEnd(b, at);
  return end === -1 ? undefined : decode(b, at, end);
}

/**
 * Where the first value of `key` (the key's text and closing quote; a key: its opening quote just
 * before, unescaped, and a colon after) starting with `opener` begins, or -1.
 */
function valueOf(b: Buffer, key: Buffer, from: number, opener: number): number {
  let at = b.indexOf(key, from + 1);
  while (at !== -1) {
    const quote = at - 1;
    if (b[quote] === QUOTE && !escaped(b, quote)) {
      let j = skipSpace(b, at + key.length);
      if (b[j] === COLON) {
        j = skipSpace(b, j + 1);
        if (b[j] === opener) return j;
      }
    }
    at = b.indexOf(key, at + key.length);
  }
  return -1;
}
