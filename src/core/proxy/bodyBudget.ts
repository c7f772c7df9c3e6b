// The memory all request bodies in flight may hold together. The body limit (32 MiB) is per
// request: 40 local connections each sending 31 MiB and stalling took the CLI from 87 MiB to
// 1.3 GB (issue 22). A body is held from its first byte until its answer is over (every attempt
// replays it); past the budget a request waits a little for room, then is refused with a 503 in
// its client's format, while small requests keep passing.

import { releasedLargeMemory } from '../util/gcHint';

/** Bodies from this size on are what the memory hint is about (a chat turn is a few KB). */
const LARGE_BODY_BYTES = 1024 * 1024;

export class BodyBudget {
  private used = 0;
  private readonly waiters: Array<{ bytes: number; grant: (ok: boolean) => void }> = [];

  constructor(private capacity: number) {}

  /** Bytes held now (for tests and /health). */
  get inUse(): number {
    return this.used;
  }

  get size(): number {
    return this.capacity;
  }

  resize(capacity: number): void {
    this.capacity = capacity;
    this.wakeWaiters();
  }

  /** Takes `bytes` at once if they fit (and nobody waits before us). */
  tryTake(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.waiters.length > 0 || this.used + bytes > this.capacity) return false;
    this.used += bytes;
    return true;
  }

  /**
   * Takes `bytes`, waiting up to `waitMs` for room (first come, first served). False when it did
   * not fit in time, or can never fit. `cancel` (the client left) gives up the wait.
   */
  take(bytes: number, waitMs: number, cancel?: { onCancel(fn: () => void): void }): Promise<boolean> {
    if (this.tryTake(bytes)) return Promise.resolve(true);
    if (bytes > this.capacity || waitMs <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter = {
        bytes,
        grant: (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const drop = () => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) {
          this.waiters.splice(i, 1);
          waiter.grant(false);
          this.wakeWaiters(); // the next one may fit now
        }
      };
      const timer = setTimeout(drop, waitMs);
      timer.unref?.();
      this.waiters.push(waiter);
      cancel?.onCancel(drop);
    });
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.used = Math.max(0, this.used - bytes);
    this.wakeWaiters();
    // Large bodies are gone: have the memory back now, not at the next busy moment.
    if (bytes >= LARGE_BODY_BYTES) releasedLargeMemory(bytes, this.used < LARGE_BODY_BYTES);
  }

  private wakeWaiters(): void {
    while (this.waiters.length > 0 && this.used + this.waiters[0].bytes <= this.capacity) {
      const w = this.waiters.shift()!;
      this.used += w.bytes;
      w.grant(true);
    }
  }
}
