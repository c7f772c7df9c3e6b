// The one way tests wait for something that happens by itself: poll until it holds, or fail
// saying what did not happen. No sleeps where an event will do; this is for the rest.

/**
 * Resolves with the probe's first truthy value; rejects after `timeoutMs` with `what`.
 * The probe may be async (an HTTP call) and may throw while the thing is not there yet.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
