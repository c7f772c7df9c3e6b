// A tiny event emitter shaped like vscode.EventEmitter, so core classes can expose
// `onDidChange…` without importing vscode, and the VS Code layer can pass them straight
// to anything that takes a vscode.Event.

export interface Disposable {
  dispose(): void;
}

/** Same shape as vscode.Event: `thisArg` binds the listener, `disposables` collects the subscription. */
export type Event<T> = (listener: (e: T) => unknown, thisArg?: unknown, disposables?: Disposable[]) => Disposable;

/** Where a listener's exception goes: a callback, or a logger's `error`. */
export type ListenerErrorSink = ((err: unknown) => void) | { error(message: string | Error, ...args: unknown[]): void };

const NOOP_DISPOSABLE: Disposable = Object.freeze({ dispose() {} });

export class Emitter<T> {
  // Replaced, never mutated, when a listener comes or goes: fire() then walks the array it read
  // without copying it, so a busy emitter (the pool fires per request) allocates nothing.
  private listeners: ReadonlyArray<(e: T) => unknown> = [];
  private disposed = false;
  private readonly report: (err: unknown) => void;

  /**
   * @param onListenerError receives what a listener throws, so a broken view is seen in the log
   *   while the emitter's owner (the proxy's hot path) carries on. Without one, console.error.
   */
  constructor(onListenerError?: ListenerErrorSink) {
    if (typeof onListenerError === 'function') this.report = onListenerError;
    else if (onListenerError) {
      const sink = onListenerError;
      this.report = (err) => sink.error(err instanceof Error ? err : String(err));
    } else this.report = (err) => console.error('[daidai] event listener failed:', err);
  }

  readonly event: Event<T> = (listener, thisArg, disposables) => {
    if (this.disposed) return NOOP_DISPOSABLE;
    const bound = thisArg === undefined ? listener : listener.bind(thisArg);
    this.listeners = [...this.listeners, bound];
    let live = true;
    const sub: Disposable = {
      dispose: () => {
        if (!live) return;
        live = false;
        const i = this.listeners.indexOf(bound);
        if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
      },
    };
    disposables?.push(sub);
    return sub;
  };

  get listenerCount(): number {
    return this.listeners.length;
  }

  fire(e: T): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i](e);
      } catch (err) {
        try {
          this.report(err);
        } catch {
          // The error sink itself failed: nothing sensible is left to tell.
        }
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}
