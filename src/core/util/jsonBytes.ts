// Walking JSON as bytes without parsing it: whitespace, where a string ends (long ones found with
// memchr), where an object or array ends. The proxy's body scan (proxy/scan.ts) and the session
// ids (routing/sessionId.ts) read request bodies with these. Pure.

/** The JSON punctuation as bytes, shared by every byte walker. */
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const LBRACE = 0x7b;
export const RBRACE = 0x7d;
export const LBRACKET = 0x5b;
export const RBRACKET = 0x5d;
export const COMMA = 0x2c;
export const COLON = 0x3a;

export function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

export function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i])) i++;
  return i;
}

/** Index just past the closing quote of the string opening at `open`, or -1 when unterminated. */
export function stringEnd(b: Buffer, open: number): number {
  const n = b.length;
  // Keys and short values end within a few bytes: a byte loop beats a native call there.
  const near = Math.min(n, open + 24);
  let i = open + 1;
  for (; i < near; i++) {
    const c = b[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  // Long text (a chat history): jump from quote to quote with memchr; a quote after an odd run
  // of backslashes is escaped.
  for (;;) {
    const q = b.indexOf(QUOTE, i);
    if (q === -1) return -1;
    let k = q - 1;
    while (k > open && b[k] === BACKSLASH) k--;
    if (((q - 1 - k) & 1) === 0) return q + 1;
    i = q + 1;
  }
}

/** Index just past the object or array opening at `open`, or -1 when unterminated. */
export function containerEnd(b: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < b.length; i++) {
    const c = b[i];
    if (c === QUOTE) {
      const e = stringEnd(b, i);
      if (e === -1) return -1;
      i = e - 1;
    } else if (c === LBRACE || c === LBRACKET) {
      depth++;
    } else if (c === RBRACE || c === RBRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

