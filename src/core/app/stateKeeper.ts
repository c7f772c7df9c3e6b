// What the pool learned and where the money went, kept across reloads and restarts (issues 11
// and 14): one pool-state file and one usage file per account (or per keys file) in the state
// folder. Reads happen once, when the account is known and before the proxy serves; writes are
// scheduled from change events (the thunk runs at write time, so a request costs nothing) and
// flushed on stop. A damaged file costs one warning, never the login or the keys.
import type { KeyPool } from '../pool/keyPool';
import { openStateFiles, type StateFiles, type StateIdentity } from '../state';
import { UsageHistory } from '../usage';
import { addUsage, usageDelta } from '../usage/historyMerge';
import type { Disposable } from '../util/event';
import type { Logger } from '../util/log';

export class StateKeeper {
  private files?: StateFiles;
  private subscriptions: Disposable[] = [];
  private _history = new UsageHistory();
  private opening?: Promise<void>;

  constructor(
    private readonly dir: string | undefined,
    private readonly pool: KeyPool,
    private readonly logger: Logger,
    /** Whether this window may write (it owns the proxy, or the user changed something here). */
    private readonly mayWrite: () => boolean,
  ) {}

  /** The usage history of the account in use (empty until one is opened). */
  get history(): UsageHistory {
    return this._history;
  }

  /**
   * Switches to the files of `identity`: flushes and closes the previous ones, reads the new ones,
   * applies the pool state to the keys the pool has now and loads the usage history. Resolves when
   * that is done; never rejects over a file.
   */
  open(identity: StateIdentity | undefined): Promise<void> {
    const run = async () => {
      await this.close();
      this._history = new UsageHistory();
      if (!this.dir || !identity) return;
      const files = openStateFiles(this.dir, identity, { logger: this.logger });
      this.files = files;
      const [poolRead, usageRead] = await Promise.all([files.pool.read(), files.usage.read()]);
      if (this.files !== files) return; // switched again meanwhile
      this.pool.importState(poolRead, Date.now());
      // Both reads went through their decoders (src/core/state): a damaged file was set aside with a warning.
      this._history = UsageHistory.fromData(usageRead, Date.now());
      const history = this._history;
      // Another process (a second CLI, another window) may write the same usage file: each
      // write adds what this one counted since its last read or write onto what the file holds
      // (files.usage's mergeWithDisk), so a window taking the port over never writes its stale
      // history over the other's.
      let base = history.toJSON();
      files.usage.mergeWith((onDisk) => {
        const merged = addUsage(onDisk, usageDelta(history.toJSON(), base));
        history.replaceData(merged, Date.now());
        base = history.toJSON();
        return base;
      });
      // The pool changes on every request: the listeners allocate nothing (one thunk each, made
      // here), and the file's own timer makes it at most one write a second.
      const poolData = () => this.pool.exportState();
      const usageData = () => base;
      this.subscriptions.push(
        this.pool.onDidChange(() => {
          if (this.mayWrite()) files.pool.schedule(poolData);
        }),
        history.onDidChange(() => {
          if (this.mayWrite()) files.usage.schedule(usageData);
        }),
      );
    };
    const p = (this.opening ?? Promise.resolve()).then(run, run);
    this.opening = p.finally(() => {
      if (this.opening === p) this.opening = undefined;
    });
    return p;
  }

  /** Waits for a switch under way (the first request must see what the file said). */
  async ready(): Promise<void> {
    await this.opening;
  }

  /** Writes what the user just changed by hand, even in a window that does not own the proxy. */
  saveNow(): void {
    const files = this.files;
    if (files) files.pool.schedule(() => this.pool.exportState());
  }

  /** Forgets what the pool learned (the file is rewritten empty); the usage history stays. */
  async resetPoolState(): Promise<void> {
    await this.ready();
    await this.files?.pool.reset();
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions.splice(0)) s.dispose();
    const files = this.files;
    this.files = undefined;
    if (!files) return;
    await files.flush();
    files.dispose();
  }
}
