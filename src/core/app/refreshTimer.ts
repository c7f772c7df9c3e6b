// The refresh timer (`daidai.balances.refreshMinutes`): keys, balances, prices and model
// availability every N minutes while an account is signed in. A failed tick is logged by what it
// runs; the next tick tries again.

export class RefreshTimer {
  private timer?: NodeJS.Timeout;

  constructor(private readonly tick: () => Promise<unknown>) {}

  /** (Re)starts the timer; 0 or less minutes, or `active` false, stops it. */
  schedule(minutes: number, active: boolean): void {
    this.stop();
    if (!(minutes > 0) || !active) return;
    this.timer = setInterval(() => {
      this.tick().catch(() => {
        // logged by the tick; the next one tries again
      });
    }, minutes * 60_000);
    this.timer.unref?.();
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
