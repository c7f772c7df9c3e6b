import { createHash } from 'node:crypto';

// The key's id in files (the state store): enough bits to tell an account's keys apart, far too few
// and one-way to give the key back. Same one-liner as the contract's src/core/util/hash.ts, which
// replaces this file once it lands.
export function keyHash(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 24);
}
