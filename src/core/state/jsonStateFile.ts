// One JSON file of state that outlives the process (the pool's learned key states, the usage
// history). Reading happens once, at start; writing is throttled, atomic and off the hot path,
// and a damaged file is set aside rather than allowed to stop the proxy from starting.
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { nullLogger, type Logger } from '../util/log';
import { makeDir } from '../util/mkdir';
import { maskKey, redactSecrets } from '../util/mask';
import { isRecord } from './decode';
import { keyLikePattern } from './secrets';

/** The few file operations the store needs, so tests can make one of them fail. */
export interface StateFs {
  /** Creates the folder and its parents; resolves if it exists. */
  mkdir(dir: string): Promise<void>;
  /** The file's text; rejects with code ENOENT when there is none. */
  readFile(path: string): Promise<string>;
  /** Writes a new file and fsyncs it before resolving, so a rename after it never exposes a half-written file. */
  writeFileDurable(path: string, text: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const nodeStateFs: StateFs = {
  // Not fsp.mkdir's recursive mode: it loops for ever under /proc (util/mkdir.ts).
  mkdir: (dir) => makeDir(dir, 0o700),
  readFile: (path) => fsp.readFile(path, 'utf8'),
  async writeFileDurable(path, text) {
    // 0600: no secret is in it, but what the user spends and on which model is their business
    const handle = await fsp.open(path, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (path) => fsp.unlink(path),
};

/** Timers as the store uses them; tests pass fake ones. */
export interface StateTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: StateTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface JsonStateFileOptions<T> {
  path: string;
  /** The envelope's version; a file of any other version is set aside. */
  version: number;
  /** What read() returns when there is nothing (usable) on disk. A fresh value each call. */
  empty: () => T;
  /** Checks what was read: the value to use, or undefined when it is not of the shape (the file is set aside). */
  validate: (data: unknown) => T | undefined;
  /** Applied just before writing (PoolStateFile strips anything key-like). */
  sanitize?: (data: T) => T;
  logger?: Logger;
  fs?: StateFs;
  /** Epoch ms, for `savedAt` and the set-aside file's name. */
  now?: () => number;
  timers?: StateTimers;
  /** Shortest gap between two writes while things keep changing. */
  delayMs?: number;
  /**
   * For a file that several processes write (the usage history): at write time, under a lock
   * file, gets what the file holds now (decoded; the empty value when there is none) and returns
   * what to write, so that nobody's writes are lost. Without it the newest writer wins.
   */
  mergeWithDisk?: (onDisk: T) => T;
}

/** A lock older than this is left over by a process that died while it held it. */
export const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 2_000;
const LOCK_RETRY_MS = 20;

/** The file as it is on disk. */
export interface StateEnvelope<T> {
  version: number;
  savedAt: string;
  data: T;
}

type Source<T> = T | (() => T);

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; version?: unknown };

/** A state file's text → its data, checked by `validate`; or why it cannot be used (English, for the log). */
export function parseEnvelope<T>(text: string, version: number, validate: (data: unknown) => T | undefined): Parsed<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'it is not valid JSON' };
  }
  if (!isRecord(raw) || typeof raw.version !== 'number' || !('data' in raw)) {
    return { ok: false, reason: 'it is not a state file' };
  }
  if (raw.version !== version) {
    return { ok: false, reason: `its version ${String(raw.version).slice(0, 20)} is not ${version}`, version: raw.version };
  }
  let value: T | undefined;
  try {
    value = validate(raw.data);
  } catch {
    value = undefined;
  }
  return value === undefined ? { ok: false, reason: 'its content is not of the expected shape' } : { ok: true, value };
}

export class JsonStateFile<T> {
  readonly path: string;
  private opts: JsonStateFileOptions<T>;
  private readonly fs: StateFs;
  private readonly timers: StateTimers;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly delayMs: number;
  /** The newest data not yet on disk. */
  private pending: { source: Source<T> } | undefined;
  /** Data whose write failed: written again on the next change or flush. */
  private retry: { source: Source<T> } | undefined;
  private timer: unknown;
  private writing: Promise<void> | undefined;
  private failing = false;
  private warnedKeyLike = false;
  private disposed = false;

  constructor(options: JsonStateFileOptions<T>) {
    this.opts = options;
    this.path = options.path;
    this.fs = options.fs ?? nodeStateFs;
    this.timers = options.timers ?? nodeTimers;
    this.logger = options.logger ?? nullLogger;
    this.now = options.now ?? Date.now;
    this.delayMs = options.delayMs ?? 1000;
  }

  /**
   * Reads the file once, at start. Never rejects: a missing file (or folder, which is then
   * created) gives the empty value; a corrupt one, one of the wrong shape or of an unknown
   * version is renamed `<name>.corrupt-<timestamp>.json`, costs one warning, and gives the empty
   * value too, because losing what the pool learned is cheap and refusing to start is not.
   */
  async read(): Promise<T> {
    const dir = dirname(this.path);
    try {
      await this.fs.mkdir(dir);
    } catch (err) {
      this.logger.warn(`Could not create the state folder ${dir} (${describe(err)}); starting with empty state.`);
      return this.opts.empty();
    }
    let text: string;
    try {
      text = await this.fs.readFile(this.path);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return this.opts.empty();
      this.logger.warn(`Could not read the state file ${this.path} (${describe(err)}); starting with empty state.`);
      return this.opts.empty();
    }
    const parsed = this.parse(text);
    if (parsed.ok) return parsed.value;
    await this.setAside(parsed.reason);
    return this.opts.empty();
  }

  /**
   * Asks for `data` to be written soon: at most once per delay while changes keep coming, the
   * newest data winning. Pass a function to have the snapshot taken only when the write happens,
   * so that a hot path which schedules on every change costs nothing but this call.
   */
  schedule(data: Source<T>): void {
    if (this.disposed) return;
    // The same thunk again (a hot path scheduling on every change) allocates nothing.
    if (this.pending?.source !== data) this.pending = { source: data };
    this.retry = undefined;
    this.arm();
  }

  /** Writes whatever is pending now (on stop and deactivate). Never rejects. */
  async flush(): Promise<void> {
    this.cancelTimer();
    await this.idle();
    if (!this.pending && this.retry) {
      this.pending = this.retry;
      this.retry = undefined;
    }
    if (this.pending) await this.writePending();
    await this.idle();
  }

  /** Resolves when no write is under way (a write may chain the next one). */
  private async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  /** Forgets everything: the empty value is written at once (Reset Key States). */
  async reset(): Promise<void> {
    if (this.disposed) return;
    this.pending = { source: this.opts.empty() };
    this.retry = undefined;
    await this.flush();
  }

  /** Sets (or replaces) the mergeWithDisk hook: see JsonStateFileOptions. */
  mergeWith(merge: (onDisk: T) => T): void {
    this.opts = { ...this.opts, mergeWithDisk: merge };
  }

  /** Stops the timer and drops what is pending: call flush() first to keep it. */
  dispose(): void {
    this.disposed = true;
    this.cancelTimer();
    this.pending = undefined;
    this.retry = undefined;
  }

  private arm(): void {
    if (this.disposed || this.timer !== undefined || this.writing || !this.pending) return;
    const handle = this.timers.setTimeout(() => {
      this.timer = undefined;
      void this.writePending();
    }, this.delayMs);
    // A pending write must not keep the CLI alive: stop() flushes explicitly.
    (handle as { unref?: () => void } | undefined)?.unref?.();
    this.timer = handle;
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private writePending(): Promise<void> {
    const job = this.pending;
    this.pending = undefined;
    if (!job) return Promise.resolve();
    const done = this.write(job).finally(() => {
      this.writing = undefined;
      this.arm(); // what was scheduled while writing
    });
    this.writing = done;
    return done;
  }

  private async write(job: { source: Source<T> }): Promise<void> {
    if (!this.opts.mergeWithDisk) return this.writeValue(job, () => (typeof job.source === 'function' ? (job.source as () => T)() : job.source));
    const merge = this.opts.mergeWithDisk;
    const lock = `${this.path}.lock`;
    if (!(await this.lock(lock))) {
      // Another process holds the file (a long write, or a slow disk): this data goes next time.
      if (!this.pending) this.retry = job;
      this.logger.debug(`State file ${this.path} is being written by another process; trying again on the next change.`);
      return;
    }
    try {
      const onDisk = await this.readCurrent();
      await this.writeValue(job, () => merge(onDisk));
    } finally {
      await this.fs.unlink(lock).catch(() => undefined);
    }
  }

  /** What the file holds now, decoded; the empty value when there is none or it cannot be used. */
  private async readCurrent(): Promise<T> {
    let text: string;
    try {
      text = await this.fs.readFile(this.path);
    } catch {
      return this.opts.empty();
    }
    const parsed = this.parse(text);
    if (parsed.ok) return parsed.value;
    await this.setAside(parsed.reason); // not ours to overwrite: kept for the user to look at
    return this.opts.empty();
  }

  /** Takes `<file>.lock` (created exclusively, holding the pid and time); false when it stays taken. */
  private async lock(lock: string): Promise<boolean> {
    const deadline = this.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await this.fs.mkdir(dirname(lock));
        await this.fs.writeFileDurable(lock, `${process.pid} ${this.now()}`);
        return true;
      } catch (err) {
        if (errorCode(err) !== 'EEXIST') return false;
      }
      const held = await this.fs.readFile(lock).catch(() => '');
      const since = Number(held.split(' ')[1]);
      if (!Number.isFinite(since) || this.now() - since > LOCK_STALE_MS) {
        await this.fs.unlink(lock).catch(() => undefined); // left by a process that died
        continue;
      }
      if (this.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, LOCK_RETRY_MS));
    }
  }

  private async writeValue(job: { source: Source<T> }, produce: () => T): Promise<void> {
    let text: string;
    try {
      const value = produce();
      text = this.serialize(value);
    } catch (err) {
      this.logger.warn(`Could not prepare the state for ${this.path} (${describe(err)}); nothing written.`);
      return;
    }
    // Same folder as the target, so the rename is atomic (same file system).
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
    try {
      await this.fs.mkdir(dirname(this.path));
      await this.fs.writeFileDurable(tmp, text);
      await this.fs.rename(tmp, this.path);
    } catch (err) {
      await this.fs.unlink(tmp).catch(() => undefined);
      if (!this.pending) this.retry = job;
      // One warning per run of failures: a full disk would otherwise warn every second.
      if (!this.failing) {
        this.logger.warn(`Could not write the state file ${this.path} (${describe(err)}); the previous file is kept, and the write is tried again on the next change.`);
      } else {
        this.logger.debug(`State file ${this.path} still not written (${describe(err)}).`);
      }
      this.failing = true;
      return;
    }
    if (this.failing) this.logger.info(`State file ${this.path} written again.`);
    this.failing = false;
  }

  private serialize(value: T): string {
    const data = this.opts.sanitize ? this.opts.sanitize(value) : value;
    const envelope: StateEnvelope<T> = { version: this.opts.version, savedAt: new Date(this.now()).toISOString(), data };
    const text = JSON.stringify(envelope);
    // Last line of defence, whatever the data: nothing key-shaped reaches the disk.
    const safe = text.replace(keyLikePattern(), (m) => maskKey(m));
    if (safe !== text && !this.warnedKeyLike) {
      this.warnedKeyLike = true;
      this.logger.warn(`Something key-like was about to be written to ${basename(this.path)}; it was masked. Please report this.`);
    }
    return safe;
  }

  private parse(text: string): Parsed<T> {
    return parseEnvelope(text, this.opts.version, this.opts.validate);
  }

  private async setAside(reason: string): Promise<void> {
    const aside = corruptFileName(this.path, this.now());
    try {
      await this.fs.rename(this.path, aside);
      this.logger.warn(`The state file ${this.path} could not be used (${reason}). It was set aside as ${basename(aside)}; starting with empty state.`);
    } catch (err) {
      this.logger.warn(
        `The state file ${this.path} could not be used (${reason}) nor set aside (${describe(err)}); starting with empty state, and the next write replaces it.`,
      );
    }
  }
}

/**
 * `pool-x.json` → `pool-x.corrupt-2026-12-01T06-20-29.123Z.json`: the ISO time with `:` made
 * `-`, because Windows forbids `:` in file names.
 */
export function corruptFileName(path: string, now: number): string {
  const name = basename(path);
  const stem = name.endsWith('.json') ? name.slice(0, -'.json'.length) : name;
  const stamp = new Date(now).toISOString().replace(/:/g, '-');
  return join(dirname(path), `${stem}.corrupt-${stamp}.json`);
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return redactSecrets(code && !message.includes(code) ? `${code}: ${message}` : message).slice(0, 300);
}
