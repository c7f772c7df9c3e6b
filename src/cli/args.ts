// The CLI's commands and options, as one table: the parser, --help and the messages that name a
// flag all read it, so adding an option is one entry. Node's own util.parseArgs splits argv;
// what it lets through (an unknown option, a value missing, a flag of another command) is
// refused here with a line that says what to do.
import { parseArgs } from 'node:util';
import { t } from '../core/l10n';

export type Command = 'serve' | 'demo' | 'usage' | 'fake';
export const COMMANDS: readonly Command[] = ['serve', 'demo', 'usage', 'fake'];

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Commands that take it; absent: all of them. */
  for?: readonly Command[];
  /** May be given more than once (each value kept). */
  multiple?: boolean;
  short?: string;
  /** What the value is, for --help (`N`, `URL`…). */
  value?: string;
  /** Its line(s) in --help, in the current language (a function: the language is set after the table is built). */
  help: () => string;
}

/** Options that would carry a secret: refused on the command line (argv shows in `ps` and shell history). */
export const SECRET_OPTIONS = new Set(['password', 'key', 'keys', 'token', 'access-token', 'api-key']);

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ParsedArgs {
  command?: string;
  /** Last value of each single option, `true` for a flag. */
  values: Map<string, string | true>;
  /** Every value of a `multiple` option. */
  lists: Map<string, string[]>;
}

/**
 * Splits argv by `options`; throws UsageError for an unknown option (or a secret one), an option
 * without its value, a value given to a flag, an option of another command, or an extra argument.
 */
/** A string option's value, or undefined when it was not given (or is a flag). */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const v = args.values.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function parseCommandLine(argv: readonly string[], options: Readonly<Record<string, OptionSpec>>): ParsedArgs {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(options)) config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  // Non-strict, with tokens: parseArgs' own errors are English and name no fix, so the checks are ours.
  const { tokens } = parseArgs({ args: [...argv], options: config, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const values = new Map<string, string | true>();
  const lists = new Map<string, string[]>();
  const seen: Array<{ name: string; raw: string }> = [];
  for (const tok of tokens) {
    if (tok.kind === 'positional') {
      positionals.push(tok.value);
      continue;
    }
    if (tok.kind !== 'option') continue; // the `--` terminator
    const raw = tok.rawName;
    const spec = options[tok.name];
    if (SECRET_OPTIONS.has(tok.name)) {
      throw new UsageError(t('--{0} is not accepted on the command line (it would show in ps and shell history). Use the environment: see --help.', tok.name));
    }
    if (!spec) throw new UsageError(t('Unknown option {0}. See --help.', raw.startsWith('--') ? raw : raw.slice(0, 2)));
    if (spec.type === 'boolean') {
      if (tok.value !== undefined) throw new UsageError(t('{0} takes no value (got "{1}").', raw, tok.value));
      values.set(tok.name, true);
    } else {
      // `--port --host x` gives --port the value "--host": an option was meant, the value is missing.
      if (tok.value === undefined || (!tok.inlineValue && tok.value.startsWith('-') && !/^-\d/.test(tok.value))) {
        throw new UsageError(t('{0} needs a value.', raw));
      }
      values.set(tok.name, tok.value);
      if (spec.multiple) lists.set(tok.name, [...(lists.get(tok.name) ?? []), tok.value]);
    }
    seen.push({ name: tok.name, raw });
  }
  const [command, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(t('Unexpected argument "{0}".', extra[0]));
  if (command !== undefined && (COMMANDS as readonly string[]).includes(command)) {
    for (const s of seen) {
      const spec = options[s.name]!;
      if (spec.for && !spec.for.includes(command as Command)) {
        throw new UsageError(t('{0} is not an option of {1} (it is one of {2}). See --help.', s.raw, command, spec.for.join(', ')));
      }
    }
  }
  return { command, values, lists };
}

/** The options part of --help: one entry per option, its help lines aligned. */
export function optionsHelp(options: Readonly<Record<string, OptionSpec>>, only?: (name: string, spec: OptionSpec) => boolean): string {
  const lines: string[] = [];
  const width = 24;
  for (const [name, spec] of Object.entries(options)) {
    if (only && !only(name, spec)) continue;
    const head = `  ${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    const text = spec.help().split('\n');
    lines.push(head.length < width ? head.padEnd(width) + text[0] : `${head}\n${' '.repeat(width)}${text[0]}`);
    for (const more of text.slice(1)) lines.push(' '.repeat(width) + more);
  }
  return lines.join('\n');
}
