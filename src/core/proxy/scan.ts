// What the proxy needs of a request body is `model` and `stream`. A full JSON.parse of a 100 KB
// chat history only to read them costs more than the rest of the request path together, and
// the gateway validates the JSON anyway. So: one pass over the top-level object's skeleton,
// long strings skipped from quote to quote with Buffer.indexOf (memchr), nested values by
// bracket counting, nothing allocated beyond the model string. Pure.

import { BACKSLASH, COLON, COMMA, containerEnd, isSpace, LBRACE, LBRACKET, QUOTE, RBRACE, RBRACKET, skipSpace, stringEnd } from '../util/jsonBytes';

export { stringEnd };

export type BodyScan =
  /** `modelAt`: where the model's string value (quotes included) sits, so it can be replaced in place. */
  | { ok: true; model?: string; stream: boolean; modelAt?: number; modelEnd?: number }
  /** The skeleton itself is broken: not an object, unterminated, garbage between or after keys. */
  | { ok: false; reason: string; at: number };

// "model" and "stream" as bytes, compared in place.
const MODEL = [0x6d, 0x6f, 0x64, 0x65, 0x6c];
const STREAM = [0x73, 0x74, 0x72, 0x65, 0x61, 0x6d];

/** Index just past a top-level literal (true, false, null, a number), or -1 when it is none. */
function literalEnd(b: Buffer, i: number): number {
  const start = i;
  while (i < b.length) {
    const c = b[i];
    if (c === COMMA || c === RBRACE || isSpace(c)) break;
    i++;
  }
  const n = i - start;
  if (n === 0) return -1;
  const c0 = b[start];
  if (c0 === 0x74 /* t */) return keyIs(b, start, i, TRUE) ? i : -1;
  if (c0 === 0x66 /* f */) return keyIs(b, start, i, FALSE) ? i : -1;
  if (c0 === 0x6e /* n */) return keyIs(b, start, i, NULL) ? i : -1;
  return isNumber(b, start, i) ? i : -1;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** JSON's number grammar: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? over [i, end). */
function isNumber(b: Buffer, i: number, end: number): boolean {
  if (b[i] === 0x2d /* - */) i++;
  if (i >= end || !isDigit(b[i])) return false;
  if (b[i] === 0x30) i++;
  else while (i < end && isDigit(b[i])) i++;
  if (i < end && b[i] === 0x2e /* . */) {
    i++;
    if (i >= end || !isDigit(b[i])) return false;
    while (i < end && isDigit(b[i])) i++;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45) /* e E */) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    if (i >= end || !isDigit(b[i])) return false;
    while (i < end && isDigit(b[i])) i++;
  }
  return i === end;
}

function keyIs(b: Buffer, start: number, end: number, word: readonly number[]): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[start + k] !== word[k]) return false;
  return true;
}

/** The key between the quotes at [open, end): its bytes, or its decoded text when it has escapes. */
function whichKey(b: Buffer, open: number, end: number): 'model' | 'stream' | undefined {
  const s = open + 1;
  const e = end - 1;
  if (keyIs(b, s, e, MODEL)) return 'model';
  if (keyIs(b, s, e, STREAM)) return 'stream';
  // "mod\u0065l" is `model` to JSON.parse (and to the gateway); short keys only, so this is rare and cheap.
  if (e - s > 40) return undefined;
  for (let k = s; k < e; k++) {
    if (b[k] === BACKSLASH) {
      const text = decodeString(b, open, end);
      return text === 'model' || text === 'stream' ? text : undefined;
    }
  }
  return undefined;
}

function decodeString(b: Buffer, open: number, end: number): string | undefined {
  let escaped = false;
  for (let k = open + 1; k < end - 1 && !escaped; k++) escaped = b[k] === BACKSLASH;
  if (!escaped) return b.toString('utf8', open + 1, end - 1);
  try {
    return JSON.parse(b.toString('utf8', open, end)) as string;
  } catch {
    return undefined; // a bad escape is the gateway's to report
  }
}

/**
 * Reads `model` (when a string) and `stream` (true only when literally `true`) from the body's
 * top-level object, as JSON.parse would (the last duplicate wins). Keys inside nested values
 * never count. Errors below the top level are left to the gateway.
 */
export function scanRequestBody(b: Buffer): BodyScan {
  if (b.length >= ENDS_MIN_BYTES) {
    const quick = scanEnds(b);
    if (quick) return quick;
  }
  return scanWhole(b);
}

/** Below this, walking the whole skeleton costs a few µs: not worth a second way. */
const ENDS_MIN_BYTES = 16 * 1024;

// Node's Buffer search slows down on needles that start with a frequent byte (`"`): `model"`
// finds every `"model"` too, at a fraction of the cost.
const MODEL_KEY = Buffer.from('model"');
const STREAM_KEY = Buffer.from('stream"');

/**
 * The large bodies (a SillyTavern history, Claude Code's tools and conversation) are one or two
 * big nested values (`messages`, `tools`, `system`) with the small top-level members before and
 * after them. Walking the nested values costs a native call per string; this reads the members
 * before the first nested value forwards and the members after the last one backwards, and
 * checks with one search that `model"` appears nowhere in between: then `model` is the whole
 * scan's, and the same for `stream"`. Undefined whenever it cannot be sure (a model or stream key in between,
 * anything unexpected at either end): the whole scan decides, and refuses a broken skeleton.
 */
function scanEnds(b: Buffer): BodyScan | undefined {
  let i = skipSpace(b, 0);
  if (b[i] !== LBRACE) return undefined;
  const open = i;
  let model: string | undefined;
  let haveModel = false;
  let modelAt = -1;
  let modelEnd = -1;
  let stream = false;
  // Forwards, until the first nested value.
  i = skipSpace(b, i + 1);
  let headEnd = -1;
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(b, i);
    if (keyEnd === -1) return undefined;
    const key = whichKey(b, i, keyEnd);
    i = skipSpace(b, keyEnd);
    if (b[i] !== COLON) return undefined;
    i = skipSpace(b, i + 1);
    const c = b[i];
    if (c === LBRACE || c === LBRACKET) {
      if (key !== undefined) return undefined; // model or stream nested: the whole scan says what that means
      headEnd = i;
      break;
    }
    let end: number;
    if (c === QUOTE) {
      end = stringEnd(b, i);
      if (end === -1) return undefined;
      if (key === 'model') {
        model = decodeString(b, i, end);
        haveModel = true;
        modelAt = i;
        modelEnd = end;
      } else if (key === 'stream') stream = false;
    } else {
      end = literalEnd(b, i);
      if (end === -1) return undefined;
      if (key === 'model') {
        model = undefined;
        haveModel = true;
      } else if (key === 'stream') stream = end - i === 4 && b[i] === 0x74;
    }
    i = skipSpace(b, end);
    if (b[i] !== COMMA) return undefined; // the end of a small body, or something odd: the whole scan
    i = skipSpace(b, i + 1);
  }
  // Backwards, from the closing brace to the last nested value.
  let j = b.length - 1;
  while (j > headEnd && isSpace(b[j])) j--;
  if (b[j] !== RBRACE) return undefined;
  j--;
  let tailStart = -1;
  let tailModel: string | undefined;
  let tailHasModel = false;
  let tailModelAt = -1;
  let tailStream = false;
  let tailHasStream = false;
  for (;;) {
    while (j > headEnd && isSpace(b[j])) j--;
    const c = b[j];
    if (c === RBRACE || c === RBRACKET) {
      tailStart = j + 1;
      break;
    }
    let valueStart: number;
    if (c === QUOTE) {
      valueStart = openingQuote(b, j, headEnd);
      if (valueStart === -1) return undefined;
    } else {
      valueStart = j;
      while (valueStart > headEnd && isLiteralByte(b[valueStart - 1])) valueStart--;
      if (literalEnd(b, valueStart) !== j + 1) return undefined;
    }
    let k = valueStart - 1;
    while (k > headEnd && isSpace(b[k])) k--;
    if (b[k] !== COLON) return undefined;
    k--;
    while (k > headEnd && isSpace(b[k])) k--;
    if (b[k] !== QUOTE) return undefined;
    const keyStart = openingQuote(b, k, headEnd);
    if (keyStart === -1) return undefined;
    // Backwards the first one seen is the last one written: it wins, as in JSON.parse.
    const key = whichKey(b, keyStart, k + 1);
    if (key === 'model' && !tailHasModel) {
      tailHasModel = true;
      tailModel = b[valueStart] === QUOTE ? decodeString(b, valueStart, j + 1) : undefined;
      tailModelAt = valueStart;
      modelEnd = j + 1;
    } else if (key === 'stream' && !tailHasStream) {
      tailHasStream = true;
      tailStream = b[valueStart] !== QUOTE && j + 1 - valueStart === 4 && b[valueStart] === 0x74;
    }
    j = keyStart - 1;
    while (j > headEnd && isSpace(b[j])) j--;
    if (b[j] !== COMMA) return undefined;
    j--;
  }
  if (tailStart <= headEnd || open >= headEnd) return undefined;
  // Between the two: nested values, and maybe small members between them. A `model` found in
  // the tail was written after all of them and wins whatever they hold (the last duplicate
  // wins, as in JSON.parse): nothing to search. Otherwise any "model" there (at any depth, or
  // inside a string) and the whole scan decides. The search is most of this scan's cost on a
  // 100 KB history, and SillyTavern writes `model` after `messages`.
  // `stream` likewise: a tail `stream` wins; otherwise one written between the nested values
  // would override the head's (or be the only one), so any `stream"` there and the whole scan
  // decides. SillyTavern and Claude Code write `stream` last: the search rarely runs.
  const middle = b.subarray(headEnd, tailStart);
  if (tailHasModel) {
    model = tailModel;
    haveModel = true;
    modelAt = tailModelAt;
  }
  else if (middle.indexOf(MODEL_KEY) !== -1) return undefined;
  if (tailHasStream) stream = tailStream;
  else if (middle.indexOf(STREAM_KEY) !== -1) return undefined;
  return haveModel && model !== undefined ? { ok: true, model, stream, modelAt, modelEnd } : { ok: true, stream };
}

/** The opening quote of the string whose closing quote is at `close` (the previous unescaped one), or -1. */
function openingQuote(b: Buffer, close: number, floor: number): number {
  let q = close;
  for (;;) {
    q = b.lastIndexOf(QUOTE, q - 1);
    if (q <= floor) return -1;
    let k = q - 1;
    while (k > floor && b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q;
  }
}

function isLiteralByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45;
}

/** The whole skeleton, forwards: the reference, and the judge of a broken body. */
function scanWhole(b: Buffer): BodyScan {
  const broken = (reason: string, at: number): BodyScan => ({ ok: false, reason, at });
  let i = skipSpace(b, 0);
  if (i >= b.length) return broken('the body is empty', i);
  if (b[i] !== LBRACE) return broken('the body is not a JSON object', i);
  let model: string | undefined;
  let modelAt = -1;
  let modelEnd = -1;
  let stream = false;
  i = skipSpace(b, i + 1);
  if (b[i] === RBRACE) return trailing(b, i + 1, model, stream, modelAt, modelEnd);
  for (;;) {
    if (i >= b.length) return broken('the object is not closed', i);
    if (b[i] !== QUOTE) return broken('a key is expected', i);
    const keyEnd = stringEnd(b, i);
    if (keyEnd === -1) return broken('a key is not closed', i);
    const key = whichKey(b, i, keyEnd);
    i = skipSpace(b, keyEnd);
    if (b[i] !== COLON) return broken("':' is expected after a key", i);
    i = skipSpace(b, i + 1);
    if (i >= b.length) return broken('a value is missing', i);
    const c = b[i];
    let end: number;
    if (c === QUOTE) {
      end = stringEnd(b, i);
      if (end === -1) return broken('a string is not closed', i);
      if (key === 'model') {
        model = decodeString(b, i, end);
        modelAt = i;
        modelEnd = end;
      } else if (key === 'stream') stream = false;
    } else if (c === LBRACE || c === LBRACKET) {
      end = containerEnd(b, i);
      if (end === -1) return broken(c === LBRACE ? 'an object is not closed' : 'an array is not closed', i);
      if (key !== undefined) {
        if (key === 'model') model = undefined;
        else stream = false;
      }
    } else {
      end = literalEnd(b, i);
      if (end === -1) return broken('a value is not valid JSON', i);
      if (key === 'model') model = undefined;
      else if (key === 'stream') stream = end - i === 4 && b[i] === 0x74;
    }
    i = skipSpace(b, end);
    if (i >= b.length) return broken('the object is not closed', i);
    if (b[i] === RBRACE) return trailing(b, i + 1, model, stream, modelAt, modelEnd);
    if (b[i] !== COMMA) return broken("',' or '}' is expected", i);
    i = skipSpace(b, i + 1);
  }
}

function trailing(b: Buffer, i: number, model: string | undefined, stream: boolean, modelAt: number, modelEnd: number): BodyScan {
  const j = skipSpace(b, i);
  if (j < b.length) return { ok: false, reason: 'there is more after the JSON object', at: j };
  return model === undefined ? { ok: true, stream } : { ok: true, model, stream, modelAt, modelEnd };
}

/** The body with the model's string value (at [at, end), quotes included) replaced by `model`. */
export function withModel(b: Buffer, at: number, end: number, model: string): Buffer {
  const value = Buffer.from(JSON.stringify(model));
  return Buffer.concat([b.subarray(0, at), value, b.subarray(end)], b.length - (end - at) + value.length);
}
