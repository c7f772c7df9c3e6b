import { writeSync } from 'node:fs';

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

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const order: Level[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** A logger for the CLI: one line per message on stderr, at or above `level`. */
export function consoleLogger(
  level: Level = 'info',
  write: (line: string, urgent: boolean) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const min = order.indexOf(level);
  const at = (lvl: Level) => (message: string | Error, ...args: unknown[]) => {
    if (order.indexOf(lvl) < min) return;
    const text = message instanceof Error ? message.message : message;
    const extra = args.length ? ' ' + args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ') : '';
    write(`${new Date().toISOString()} [${lvl}] ${text}${extra}`, lvl === 'warn' || lvl === 'error');
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), logLevel: levelNumber[level] };
}

/**
 * A line writer that batches writes to a file descriptor (default stderr) and flushes at most
 * every `flushMs`. A busy proxy logs a line per request; writing each one at once costs a
 * syscall (and, on a pipe, a wake-up of the reader) on the request's hot path, which showed up
 * as added latency in the benchmark. Warnings and errors flush at once; call flush() before exit.
 */
export function batchedWriter(fd = 2, flushMs = 100): { write(line: string, urgent?: boolean): void; flush(): void } {
  let pending: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return;
    const text = pending.join('\n') + '\n';
    pending = [];
    try {
      writeSync(fd, text);
    } catch {
      // stderr closed (the parent went away): nothing useful left to do with a log line
    }
  };
  return {
    write(line, urgent = false) {
      pending.push(line);
      if (urgent) flush();
      else if (!timer) {
        timer = setTimeout(flush, flushMs);
        timer.unref();
      }
    },
    flush,
  };
}
