// A Logger (the shape of src/core/util/log.ts) that keeps every line, for asserting what the
// proxy and the pool write.
import type { Logger } from '../../../../src/core/util/log';

export interface CapturingLogger extends Logger {
  readonly lines: string[];
}

function render(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}\n${value.stack ?? ''}`;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  const at =
    (level: string) =>
    (message: string | Error, ...args: unknown[]) => {
      lines.push([level, render(message), ...args.map(render)].join(' '));
    };
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
