// The only forms in which a key or an e-mail address is written to a file or shown in /health:
// a hash that identifies it and cannot be turned back into it.
import { createHash } from 'node:crypto';

const hashLength = 24;

function shortSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, hashLength);
}

/** sha256(key) as hex, first 24 chars: the key's id in state files. */
export function keyHash(key: string): string {
  return shortSha256(key);
}

/**
 * Hash of the account's e-mail, lower-cased and trimmed, because people type it both ways and
 * it is the same account (and the same state file) either way.
 */
export function emailHash(email: string): string {
  return shortSha256(email.trim().toLowerCase());
}

/** Hash of any text that names a thing without being secret itself (a path, a list of hashes). */
export function textHash(text: string): string {
  return shortSha256(text);
}
