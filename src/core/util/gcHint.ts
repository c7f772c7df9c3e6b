// After a burst of large request bodies (tens of MiB each) the memory is garbage, but an idle
// process runs no full collection: it keeps the RSS of the burst until traffic comes back (issue
// 22: 40 × 31 MiB left the CLI at +1.2 GB). One collection shortly after such a burst gives it
// back. Rare by construction: only after ≥ 16 MiB was released, at most once per 30 s.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const MIN_RELEASED_BYTES = 16 * 1024 * 1024;
const DELAY_MS = 1_000;
const MIN_GAP_MS = 30_000;

let gcFn: (() => void) | null | undefined;
let released = 0;
let timer: NodeJS.Timeout | undefined;
let lastRun = 0;

/** V8's gc(), exposed once for a context of our own (the global one is left as it was). */
function gcFunction(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (gcFn = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** `bytes` of large buffers just became garbage; `idle` when nothing large is held any more. */
export function releasedLargeMemory(bytes: number, idle: boolean): void {
  released += bytes;
  if (!idle || released < MIN_RELEASED_BYTES || timer) return;
  const wait = Math.max(DELAY_MS, lastRun + MIN_GAP_MS - Date.now());
  timer = setTimeout(() => {
    timer = undefined;
    released = 0;
    lastRun = Date.now();
    try {
      gcFunction()?.();
    } catch {
      // a hint only
    }
  }, wait);
  timer.unref?.();
}
