// Time as the gateway monitor sees it: a clock and timers in one injected object, so tests run
// every backoff on a clock they advance by hand, and the real one never keeps the process alive.

export type TimerHandle = unknown;

export interface GatewayClock {
  /** Epoch ms. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Date.now and unref'd timers: a background re-check or an outage probe must never be the
 * reason the CLI, a test run or the extension host stays up.
 */
export const systemClock: GatewayClock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export { eachLimited } from '../util/limit';

/** Resolves with `fallback` if `p` has not settled within `ms` on `clock`. */
export function withTimeout<T>(p: Promise<T>, ms: number, clock: GatewayClock, fallback: () => T): Promise<T> {
  return new Promise<T>((resolve) => {
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      resolve(fallback());
    }, ms);
    p.then(
      (v) => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        resolve(v);
      },
      () => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        resolve(fallback());
      },
    );
  });
}
