import { writeSync } from 'node:fs';
import { redactSecrets } from './mask';

// The logger the core writes to. Shaped like vscode.LogOutputChannel so the extension can
// pass its channel straight in; the CLI passes a console logger. Callers never pass secrets:
// keys go through maskKey first, and free text from the network through redactSecrets.

export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
  /**
   * The lowest level shown, in vscode.LogLevel's numbers (0 off, 1 trace, 2 debug, 3 info, 4 warning,
   * 5 error), as vscode.LogOutputChannel has it. Absent: everything is shown.
   */
  readonly logLevel?: number;
}

const levelNumber = { trace: 1, debug: 2, info: 3, warn: 4, error: 5 } as const;

/** Whether a line at `level` would be shown: lets callers skip formatting lines nobody sees. */
export function logsAt(logger: Logger, level: keyof typeof levelNumber): boolean {
  const min = logger.logLevel;
  return min === undefined || (min !== 0 && levelNumber[level] >= min);
}

export const nullLogger: Logger = {
  logLevel: 0,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const rank: Record<Level, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };

/**
 * Where a console logger's lines go. `defer` is optional: a sink that has it receives the
 * argument and its formatter instead of the line, and formats when it writes (off the request).
 */
export interface LineSink {
  write(line: string, urgent?: boolean): void;
  defer?<T>(level: Level, arg: T, format: (arg: T) => string): void;
}

/** A console logger, plus a way to log a line per request without building it on the request's path. */
export interface ConsoleLogger extends Logger {
  /** Whether a message at `level` is shown. */
  enabled(level: Level): boolean;
  /**
   * Logs `format(arg)` at `level` if that level is shown. With a batched writer the line is
   * built when the batch is written, so a request pays for one array push, not for a string.
   * `format` must not keep `arg` (it is dropped after the write) and must not throw.
   */
  lazy<T>(level: Level, arg: T, format: (arg: T) => string): void;
}

/** `2026-12-01T06:20:29.123Z [info] ` */
export function linePrefix(at: number, level: Level): string {
  return `${new Date(at).toISOString()} [${level}] `;
}

const asIs = (s: string): string => s;

/**
 * Characters that would let a value start a line of its own or hide what follows: C0 and C1
 * controls (CR, LF, ESC…), DEL, the Unicode line and paragraph separators, and the bidi
 * overrides that make a terminal show text in another order than it is.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const HAS_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const NEEDS_WORK = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\" ]|sk-|bearer|eyJ/i;

function escapeChar(c: string): string {
  switch (c) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
  }
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * A value from outside (a model id from a client's body, a path, a gateway's message) as one
 * log field: key-like text masked, control characters written as escapes (`\n`, `\x1b`), at
 * most `max` characters, and in double quotes when it holds a space or a quote, so that it can
 * neither start a forged line of its own nor run into the next field. Plain values (nearly
 * every model id) come back as they are, after one regex test.
 */
export function logValue(value: string, max = 200): string {
  if (value.length <= max && !NEEDS_WORK.test(value)) return value;
  let s = redactSecrets(value);
  let cut = 0;
  if (s.length > max) {
    cut = s.length - max;
    s = s.slice(0, max);
  }
  s = s.replace(/\\/g, '\\\\').replace(UNSAFE, escapeChar);
  if (cut) s += `…(+${cut})`;
  return s.includes(' ') || s.includes('"') ? `"${s.replace(/"/g, '\\"')}"` : s;
}

/** Free text for a log message: key-like text masked and every control character escaped, so one message is one line. */
export function logText(text: string, max = 4000): string {
  let s = redactSecrets(text.length > max ? `${text.slice(0, max)}…(+${text.length - max})` : text);
  if (HAS_UNSAFE.test(s)) s = s.replace(UNSAFE, escapeChar);
  return s;
}

/** A logger for the CLI: one line per message on stderr, at or above `level`. */
export function consoleLogger(
  level: Level = 'info',
  sink: LineSink | ((line: string, urgent: boolean) => void) = (l) => process.stderr.write(l + '\n'),
): ConsoleLogger {
  const min = rank[level];
  const out: LineSink = typeof sink === 'function' ? { write: (l, u) => sink(l, u ?? false) } : sink;
  const at = (lvl: Level) => {
    if (rank[lvl] < min) return () => {};
    const urgent = rank[lvl] >= rank.warn;
    return (message: string | Error, ...args: unknown[]) => {
      // Whatever a message carries from outside, it stays one line, with no key in it.
      const text = logText(message instanceof Error ? message.message : message);
      const extra = args.length ? ' ' + logText(args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ')) : '';
      // Below warn, a batching sink stamps and joins the line when it writes the batch.
      if (out.defer && !urgent) out.defer(lvl, extra ? text + extra : text, asIs);
      else out.write(`${linePrefix(Date.now(), lvl)}${text}${extra}`, urgent);
    };
  };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    logLevel: levelNumber[level],
    enabled: (lvl) => rank[lvl] >= min,
    lazy(lvl, arg, format) {
      if (rank[lvl] < min) return;
      if (out.defer && rank[lvl] < rank.warn) out.defer(lvl, arg, format);
      else out.write(linePrefix(Date.now(), lvl) + format(arg), rank[lvl] >= rank.warn);
    },
  };
}

export interface BatchedWriterOptions {
  /** Longest a line waits before it is written (ms). */
  flushMs?: number;
  /** Lines that make a batch: written at once when this many are waiting. */
  batchLines?: number;
  /**
   * Bytes held while the reader is not reading (a stuck pipe). Beyond this, lines are dropped
   * and counted, and the count is written once the reader catches up.
   */
  maxBacklogBytes?: number;
}

export interface BatchedWriter extends LineSink {
  defer<T>(level: Level, arg: T, format: (arg: T) => string): void;
  /** Writes what waits, without blocking (call it at exit; what a stuck reader cannot take is lost). */
  flush(): void;
  /** Lines dropped so far because the reader did not keep up. */
  readonly dropped: number;
}

type Output = { kind: 'stream'; stream: NodeJS.WritableStream & { writableNeedDrain?: boolean } } | { kind: 'fd'; fd: number };

/**
 * A line writer that batches writes and never blocks the event loop on its reader.
 *
 * A busy proxy logs a line per request. Writing each one at once costs a syscall (and, on a
 * pipe, a wake-up of the reader) on the request's path, and a synchronous write to a pipe
 * whose reader is slow or stuck (a terminal paused with Ctrl-S, a `| less`, a supervisor that
 * stopped reading) stalls every request behind it. So lines wait in memory and go out in one
 * write per batch (every `flushMs`, or `batchLines` lines); lines logged with `defer` are built
 * only then. Stdout and stderr are written through Node's own stream, which for a pipe queues
 * instead of blocking; while it waits for its reader, batches are kept up to `maxBacklogBytes`
 * and then dropped with a count, so a stuck reader costs neither time nor unbounded memory.
 * Warnings and errors flush at once (with what came before them, in order).
 *
 * `target`: 1 or 2 for process.stdout/stderr, a writable stream, or another file descriptor
 * (a file, written synchronously: files do not stall).
 */
export function batchedWriter(target: number | NodeJS.WritableStream = 2, options: number | BatchedWriterOptions = {}): BatchedWriter {
  const opts = typeof options === 'number' ? { flushMs: options } : options;
  const flushMs = opts.flushMs ?? 100;
  const batchLines = Math.max(1, opts.batchLines ?? 256);
  const maxBacklog = opts.maxBacklogBytes ?? 1 << 20;
  const output: Output =
    typeof target !== 'number' ? { kind: 'stream', stream: target }
    : target === 2 ? { kind: 'stream', stream: process.stderr }
    : target === 1 ? { kind: 'stream', stream: process.stdout }
    : { kind: 'fd', fd: target };

  // Parallel arrays rather than an object per line: a request adds to them, it allocates nothing.
  let lines: unknown[] = [];
  let formats: (((arg: never) => string) | undefined)[] = [];
  let levels: (Level | undefined)[] = [];
  let times: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  /** Batches waiting for the stream's 'drain'. */
  let backlog: string[] = [];
  let backlogBytes = 0;
  let waitingForDrain = false;
  let dropped = 0;
  let droppedUnreported = 0;
  let broken = false;

  const render = (): string => {
    let text = '';
    // A busy proxy logs many lines within one millisecond: one timestamp string for all of them.
    let prefixAt = -1;
    let prefixLevel: Level | undefined;
    let prefix = '';
    for (let i = 0; i < lines.length; i++) {
      const f = formats[i];
      if (f === undefined) text += (lines[i] as string) + '\n';
      else {
        let line: string;
        try {
          line = f(lines[i] as never);
        } catch (err) {
          line = `(log line could not be formatted: ${(err as Error)?.message ?? err})`;
        }
        if (times[i] !== prefixAt || levels[i] !== prefixLevel) {
          prefixAt = times[i];
          prefixLevel = levels[i];
          prefix = linePrefix(prefixAt, prefixLevel!);
        }
        text += prefix + line + '\n';
      }
    }
    return text;
  };

  const droppedNotice = (): string => {
    const n = droppedUnreported;
    droppedUnreported = 0;
    return `${linePrefix(Date.now(), 'warn')}${n} log line(s) dropped: the reader of this output did not keep up\n`;
  };

  const onDrain = () => {
    waitingForDrain = false;
    const text = backlog.join('') + (droppedUnreported > 0 ? droppedNotice() : '');
    backlog = [];
    backlogBytes = 0;
    if (text) send(text);
  };

  const send = (text: string): void => {
    if (broken) return;
    if (output.kind === 'fd') {
      try {
        writeSync(output.fd, text);
      } catch {
        broken = true; // closed (the parent went away): nothing useful left to do with a log line
      }
      return;
    }
    const s = output.stream;
    if (waitingForDrain) {
      if (backlogBytes + text.length > maxBacklog) {
        let n = 0;
        for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
        dropped += n;
        droppedUnreported += n;
      } else {
        backlog.push(text);
        backlogBytes += text.length;
      }
      return;
    }
    try {
      if (!s.write(text)) {
        waitingForDrain = true;
        s.once('drain', onDrain);
      }
    } catch {
      broken = true;
    }
  };

  const flush = (): void => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (lines.length === 0) return;
    const text = render();
    lines = [];
    formats = [];
    levels = [];
    times = [];
    send(text);
  };

  const queued = (): void => {
    if (lines.length >= batchLines) flush();
    else if (!timer) {
      timer = setTimeout(flush, flushMs);
      timer.unref();
    }
  };

  if (output.kind === 'stream') {
    // EPIPE and friends arrive as 'error' events on the stream: a log line must not crash the proxy.
    output.stream.on('error', () => {
      broken = true;
    });
  }

  return {
    write(line, urgent = false) {
      lines.push(line);
      formats.push(undefined);
      levels.push(undefined);
      times.push(0);
      if (urgent) flush();
      else queued();
    },
    defer(level, arg, format) {
      lines.push(arg);
      formats.push(format as (arg: never) => string);
      levels.push(level);
      times.push(Date.now());
      queued();
    },
    flush,
    get dropped() {
      return dropped;
    },
  };
}
