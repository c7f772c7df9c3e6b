// A tiny event emitter shaped like vscode.EventEmitter, so core classes can expose
// `onDidChange…` without importing vscode, and the VS Code layer can pass them straight
// to anything that takes a vscode.Event.

export interface Disposable {
  dispose(): void;
}

export type Event<T> = (listener: (e: T) => unknown, thisArg?: unknown) => Disposable;

export class Emitter<T> {
  private listeners: Array<(e: T) => unknown> = [];
  private disposed = false;

  readonly event: Event<T> = (listener, thisArg) => {
    const bound = thisArg ? listener.bind(thisArg) : listener;
    if (this.disposed) return { dispose() {} };
    this.listeners.push(bound);
    return {
      dispose: () => {
        const i = this.listeners.indexOf(bound);
        if (i >= 0) this.listeners.splice(i, 1);
      },
    };
  };

  get listenerCount(): number {
    return this.listeners.length;
  }

  fire(e: T): void {
    // Copy: a listener may dispose itself while we iterate.
    for (const l of this.listeners.slice()) {
      try {
        l(e);
      } catch {
        // A broken listener must not break the emitter's owner (the proxy's hot path).
      }
    }
  }

  dispose(): void {
    this.disposed = true;
    this.listeners = [];
  }
}
