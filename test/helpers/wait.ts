// The one way tests wait for something that happens by itself (unit, loopback, VS Code suite and
// e2e alike): poll until it holds, or fail saying what did not happen. No sleeps where an event
// will do; this is for the rest (a port closing, a record arriving, a status-bar text).

/**
 * Resolves with the probe's first truthy value; rejects after `timeoutMs` naming `what`. The
 * probe may be async; one that throws ends the wait at once with its error.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
