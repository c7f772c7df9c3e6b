// What a key looks like, for the state files' defence in depth: the pool hands them only
// hashes, but a reason or an error text copied from the network may echo a key back.

/**
 * `sk-` and at least 8 key characters, not preceded by a letter or digit (so that `task-…` or
 * `disk-…` in an error text are not taken for keys). A fresh RegExp each call: it is global.
 */
export function keyLikePattern(): RegExp {
  return /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}/g;
}

export function looksLikeKey(text: string): boolean {
  return keyLikePattern().test(text);
}
