// A few async jobs at a time: the key-quota fetch after login and the model-list fetch.

/**
 * Runs `fn` with at most `limit` in flight, in input order; resolves when all are done.
 * `fn` must not throw (each caller turns its own errors into results).
 */
export async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}
