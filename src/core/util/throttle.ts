// Re-rendering on every proxied request would redraw the tree hundreds of times a second under
// load; views render at most once per interval (first change at once, the rest coalesced).

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

const nodeTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => Date.now(),
};

export interface Throttled {
  /** Asks for a run: now if the last one is old enough, else once at the end of the interval. */
  (): void;
  /** Runs now if a run is pending. */
  flush(): void;
  dispose(): void;
}

export function throttle(fn: () => void, intervalMs: number, timers: Timers = nodeTimers): Throttled {
  let last = -Infinity;
  let timer: unknown;
  let disposed = false;
  const run = () => {
    timer = undefined;
    last = timers.now();
    fn();
  };
  const t = (() => {
    if (disposed || timer !== undefined) return;
    const wait = last + intervalMs - timers.now();
    if (wait <= 0) run();
    else timer = timers.setTimeout(run, wait);
  }) as Throttled;
  t.flush = () => {
    if (timer === undefined) return;
    timers.clearTimeout(timer);
    run();
  };
  t.dispose = () => {
    disposed = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  };
  return t;
}
