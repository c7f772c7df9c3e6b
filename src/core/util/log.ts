// The logger the core writes to. Shaped like vscode.LogOutputChannel so the extension can
// pass its channel straight in; the CLI passes a console logger. Callers never pass secrets:
// keys go through maskKey first, and free text from the network through redactSecrets.

export interface Logger {
  trace(message: string, ...args: unknown[]): void;
  debug(message: string, ...args: unknown[]): void;
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string | Error, ...args: unknown[]): void;
}

export const nullLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
};

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const order: Level[] = ['trace', 'debug', 'info', 'warn', 'error'];

/** A logger for the CLI: one line per message on stderr, at or above `level`. */
export function consoleLogger(level: Level = 'info', write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = order.indexOf(level);
  const at = (lvl: Level) => (message: string | Error, ...args: unknown[]) => {
    if (order.indexOf(lvl) < min) return;
    const text = message instanceof Error ? message.message : message;
    const extra = args.length ? ' ' + args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : JSON.stringify(a))).join(' ') : '';
    write(`${new Date().toISOString()} [${lvl}] ${text}${extra}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
