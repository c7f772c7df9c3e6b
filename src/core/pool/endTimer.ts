// The earliest end of a cool-down or a temporary (key, model) exclusion, and one unref'd timer
// for it, so that listeners hear of the end even when no request comes. The clock decides, not
// the timer: an early wake just re-arms.

export class EndTimer {
  /** Earliest end (epoch ms) known; Infinity when none. Reads compare the clock with it to skip a scan. */
  next = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  /** `due(now)` expires what has ended and returns the next end (Infinity when none). */
  constructor(
    private readonly clock: () => number,
    private readonly due: (now: number) => number,
  ) {}

  /** Something ends at `until`. */
  at(until: number, now: number): void {
    if (until < this.next) {
      this.next = until;
      this.arm(now);
    } else if (!this.timer) this.arm(now);
  }

  /** The earliest end after a full scan (keys replaced, state restored). */
  reset(next: number, now: number): void {
    this.next = next;
    this.arm(now);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(now: number): void {
    if (this.disposed || this.next === Infinity) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(0, Math.min(this.next - now, 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const t = this.clock();
      this.next = this.due(t);
      this.arm(t);
    }, delay);
    this.timer.unref?.();
  }
}
