// Small helpers shared by the suite's files.
import * as assert from 'node:assert/strict';
import { createServer } from 'node:net';

export const EXTENSION_ID = 'daidai-aggregator.daidai-aggregator';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls a condition a bounded number of times (events reach the views asynchronously). */
export async function waitFor(what: string, pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const rounds = Math.ceil(timeoutMs / 50);
  for (let i = 0; i < rounds; i++) {
    if (pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`Timed out waiting for ${what}`);
}
