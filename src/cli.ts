#!/usr/bin/env node
// daidai-proxy: the same core as the extension, without VS Code, for people who run
// SillyTavern on a server. Secrets come from the environment, never from argv (argv shows up
// in `ps` and shell history).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PeerProxyRunning, Session, type CredentialsPort } from './core/app/session';
import { defaultSettings, TIMEOUT_BOUNDS, type DaiDaiSettings } from './core/app/settings';
import { networkFromEnv } from './core/net/dispatchers';
import type { DemoDaiDai } from './core/demo/types';
import { parseKeys } from './core/keysFile';
import { cliLanguage, parseLanguage, setLanguage, t } from './core/l10n';
import { defaultStateDir, readUsageFileSync, stateFileNames, type StateIdentity } from './core/state';
import { formatUsageTable } from './core/present/usageTable';
import { parseSince, usageCsv, usageReport, UsageHistory, type UsageReport } from './core/usage';
import { formatYuan } from './core/util/yuan';
import { PlatformError } from './core/platform/client';
import type { PoolKeyInput } from './core/pool/types';
import { ProxyStartError } from './core/proxy/server';
import { parseAliasPairs } from './core/routing/modelResolve';
import { batchedWriter, consoleLogger, type Logger } from './core/util/log';
import { redactSecrets } from './core/util/mask';
import { makeDir } from './core/util/mkdir';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export const EXIT_USAGE = 1;
export const EXIT_LOGIN = 2;
export const EXIT_PORT = 3;

/** The help in the current language: a function, since the language is only known once argv is read. */
function help(): string {
  const d = defaultSettings;
  return `daidai-proxy ${VERSION}: ${t('one local OpenAI/Anthropic-compatible URL over all your DaiDai keys.')}

${t('Usage:')}
  daidai-proxy serve [options]   ${t('log in (DAIDAI_EMAIL, DAIDAI_PASSWORD) or use plain keys')}
                                 ${t('(DAIDAI_KEYS=sk-a,sk-b or --keys-file FILE) and serve the proxy')}
  daidai-proxy demo [--port N]   ${t('the embedded fake DaiDai account, to try everything offline')}
  daidai-proxy usage [--since 24h|7d|30d] [--json|--csv] [--state-dir DIR]
                                 ${t('requests, tokens and estimated ¥ by model and by key, from the')}
                                 ${t('usage history serve keeps (works while serve runs)')}

${t('Options:')}
  --port N              ${t('proxy port (default {0}; 0 = any free port)', d.proxyPort)}
  --host ADDR           ${t('listen address (default {0}; anything else exposes your keys', d.proxyHost)}
                        ${t('to the network: set DAIDAI_ACCESS_TOKEN too)')}
  --platform-url URL    ${t('DaiDai account API (default {0})', d.platformBaseUrl)}
  --upstream-url URL    ${t('model gateway, with /v1 (default {0})', d.upstreamBaseUrl)}
  --keys-file FILE      ${t('plain keys, one per line (instead of logging in)')}
  --max-retries N       ${t('retries on other keys (default {0})', d.maxRetries)}
  --failure-threshold N ${t('consecutive failures that take a key out (default {0})', d.failureThreshold)}
  --refresh-minutes N   ${t('how often balances are refreshed when logged in (default {0}; 0 = never)', d.refreshMinutes)}
  --model-alias FROM=TO ${t('send model TO when a client asks for FROM (repeatable)')}
  --no-family-fallback  ${t('send an id no key lists as it is, not the newest of its family')}
  --no-session-affinity ${t('spread every request, instead of keeping a conversation on one key')}
  --session-idle-minutes N ${t('a conversation idle this long starts over on the next key (default {0})', d.sessionIdleMinutes)}
  --headers-timeout S   ${t('seconds to wait for the gateway to start answering, then the next key (default {0})', d.headersTimeoutSeconds)}
  --body-timeout S      ${t('seconds of gateway silence mid-answer before it ends with an error (default {0})', d.bodyTimeoutSeconds)}
  --log-level LEVEL     ${t('trace | debug | info | warn | error (default info)')}
  --state-dir DIR       ${t('where what the pool learned and the usage history are kept')}
                        ${t('(default $XDG_STATE_HOME/daidai-aggregator or ~/.local/state/daidai-aggregator)')}
  --reset-state         ${t('forget what the pool learned (disabled, revoked, exhausted keys…) and start fresh')}
  --lang en|zh-cn       ${t('the language of these messages (default: from LC_ALL, LC_MESSAGES or LANG)')}

${t('Environment:')}
  DAIDAI_EMAIL, DAIDAI_PASSWORD   ${t('account login')}
  DAIDAI_KEYS                     ${t('comma-separated keys (instead of logging in)')}
  DAIDAI_ACCESS_TOKEN             ${t('when set, clients must send it as their API key')}
  HTTPS_PROXY, NO_PROXY           ${t('reach the platform and the gateway through this HTTP proxy (127.0.0.1 always direct)')}
`;
}

/** `--lang X` / `--lang=X` read ahead of parseArgs, so that even its usage errors speak that language. */
function langArg(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--lang') found = argv[i + 1];
    else if (a.startsWith('--lang=')) found = a.slice('--lang='.length);
  });
  return found;
}

interface Args {
  command: string;
  /** A repeatable flag's values are joined by NUL (no value can hold one). */
  flags: Map<string, string>;
}

class UsageError extends Error {}


/** Flags that take no value. */
const BOOLEAN_FLAGS = new Set(['reset-state', 'json', 'csv', 'no-family-fallback', 'no-session-affinity']);
/** Flags that may be given more than once. */
const REPEATABLE_FLAGS = new Set(['model-alias']);

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string>();
  let command = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      flags.set('help', 'true');
    } else if (a === '-v' || a === '--version') {
      flags.set('version', 'true');
    } else if (BOOLEAN_FLAGS.has(a.slice(2))) {
      flags.set(a.slice(2), 'true');
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      let value = eq === -1 ? argv[i + 1] : a.slice(eq + 1);
      if (eq === -1) {
        if (value === undefined || value.startsWith('--')) throw new UsageError(t('--{0} needs a value.', name));
        i++;
      }
      if (['password', 'key', 'keys', 'token', 'access-token'].includes(name)) {
        throw new UsageError(t('--{0} is not accepted on the command line (it would show in ps and shell history). Use the environment: see --help.', name));
      }
      const before = flags.get(name);
      flags.set(name, REPEATABLE_FLAGS.has(name) && before !== undefined ? `${before}\0${value}` : value);
    } else if (!command) {
      command = a;
    } else {
      throw new UsageError(t('Unexpected argument "{0}".', a));
    }
  }
  return { command, flags };
}

const known = new Set([
  'port',
  'host',
  'platform-url',
  'upstream-url',
  'keys-file',
  'max-retries',
  'failure-threshold',
  'refresh-minutes',
  'model-alias',
  'no-family-fallback',
  'no-session-affinity',
  'session-idle-minutes',
  'headers-timeout',
  'body-timeout',
  'log-level',
  'state-dir',
  'reset-state',
  'since',
  'json',
  'csv',
  'lang',
  'help',
  'version',
]);

function intFlag(flags: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(t('--{0} must be a whole number from {1} to {2} (got "{3}").', name, min, max, v));
  return n;
}

function urlFlag(flags: Map<string, string>, name: string, fallback: string): string {
  const v = flags.get(name) ?? fallback;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(t('--{0} must be an http(s) URL (got "{1}").', name, v));
  }
  return v.replace(/\/+$/, '');
}

interface Running {
  url: string;
  stop(): Promise<void>;
  /** SIGHUP: pick up new orders and balances (or a changed keys file) without a restart. */
  reload(): Promise<void>;
}

/** The CLI keeps no login: the environment holds it, and nothing is ever written back. */
function environmentCredentials(email: string | undefined, password: string | undefined): CredentialsPort {
  return {
    get: async () => (email && password ? { email, password } : undefined),
    set: async () => true,
    clear: async () => true,
    onDidChange: () => ({ dispose() {} }),
  };
}

/** The flags as the application service's settings; every default comes from defaultSettings. */
function settingsOf(flags: Map<string, string>): DaiDaiSettings {
  const d = defaultSettings;
  return {
    ...d,
    proxyPort: intFlag(flags, 'port', d.proxyPort, 0, 65535),
    proxyHost: flags.get('host') ?? d.proxyHost,
    proxyAccessToken: process.env.DAIDAI_ACCESS_TOKEN ?? '',
    platformBaseUrl: urlFlag(flags, 'platform-url', d.platformBaseUrl),
    upstreamBaseUrl: urlFlag(flags, 'upstream-url', d.upstreamBaseUrl),
    maxRetries: intFlag(flags, 'max-retries', d.maxRetries, 0, 20),
    failureThreshold: intFlag(flags, 'failure-threshold', d.failureThreshold, 1, 100),
    refreshMinutes: intFlag(flags, 'refresh-minutes', d.refreshMinutes, 0, 24 * 60),
    modelAliases: aliasFlags(flags.get('model-alias')),
    familyFallback: !flags.has('no-family-fallback'),
    sessionAffinity: !flags.has('no-session-affinity'),
    sessionIdleMinutes: intFlag(flags, 'session-idle-minutes', d.sessionIdleMinutes, 1, 24 * 60),
    headersTimeoutSeconds: intFlag(flags, 'headers-timeout', d.headersTimeoutSeconds, ...TIMEOUT_BOUNDS.headers),
    bodyTimeoutSeconds: intFlag(flags, 'body-timeout', d.bodyTimeoutSeconds, ...TIMEOUT_BOUNDS.body),
  };
}

/** `--model-alias from=to`, repeatable. */
function aliasFlags(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  const r = parseAliasPairs(value.split('\0'));
  if (r.bad !== undefined) throw new UsageError(t('--model-alias wants FROM=TO, such as claude-opus-4-8=[官Max]claude-opus-4-6-20260205 (got "{0}").', r.bad.slice(0, 80)));
  return r.aliases;
}

function readKeysFile(path: string): PoolKeyInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(t('Cannot read the keys file {0}: {1}.', path, (err as NodeJS.ErrnoException).code ?? (err as Error).message));
  }
  const keys = parseKeys(text);
  if (keys.length === 0) throw new UsageError(t('The keys file {0} holds no key.', path));
  return keys;
}

async function serve(flags: Map<string, string>, log: Logger, out: (s: string) => void, demoOf?: () => DemoDaiDai): Promise<Running> {
  const settings = settingsOf(flags);
  const email = process.env.DAIDAI_EMAIL;
  const password = process.env.DAIDAI_PASSWORD;
  const keysFile = flags.get('keys-file');
  let plain: PoolKeyInput[] = [];
  if (demoOf) {
    // the demo account below
  } else if (keysFile) {
    plain = readKeysFile(keysFile);
  } else if (process.env.DAIDAI_KEYS) {
    plain = parseKeys(process.env.DAIDAI_KEYS);
  }
  if (!demoOf && plain.length === 0 && !(email && password)) {
    throw new UsageError(t('No keys: set DAIDAI_EMAIL and DAIDAI_PASSWORD to log in, or DAIDAI_KEYS / --keys-file for plain keys.'));
  }

  const stateDir = demoOf ? undefined : flags.get('state-dir') ?? defaultStateDir();
  if (stateDir !== undefined) {
    // Made here, once, so a folder that cannot be made is one clear line before anything starts.
    await makeDir(stateDir).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(t('Cannot create the state folder {0} ({1}). Pass --state-dir with a folder you can write to.', stateDir, err.code ?? err.message));
    });
  }
  const session = new Session({
    logger: log,
    credentials: environmentCredentials(email, password),
    settings,
    version: VERSION,
    createDemo: demoOf,
    peers: 'refuse',
    stateDir,
    network: networkFromEnv(),
  });
  try {
    if (demoOf) {
      await session.tryDemo();
    } else if (plain.length > 0) {
      const identity: StateIdentity = keysFile ? { kind: 'keys-file', path: keysFile } : { kind: 'keys', keys: plain.map((k) => k.key) };
      await session.useKeys(plain, keysFile ?? 'DAIDAI_KEYS', identity);
      out(t('Using {0} key(s) from {1}.', plain.length, keysFile ? keysFile : 'DAIDAI_KEYS'));
    } else {
      await session.login({ email: email!, password: password! }, { remember: false, quiet: true });
    }
    if (flags.has('reset-state')) {
      await session.resetKeyStates();
      out(t('Key states reset: every key starts healthy, with nothing remembered.'));
    }
    if (session.mode !== 'keys') {
      const a = session.accountView;
      out(t('Logged in as {0}: {1} usable key(s), total {2}.', a.email ?? email ?? '', a.keys.length, formatYuan(a.totalBalance ?? 0)));
    }
    const status = await session.startProxy();
    const c = session.pool.snapshot().counts;
    out(t('DaiDai proxy on {0}  ({1}/{2} keys usable)  health: {3}', status.url!, c.usable, c.total, `${status.url!.replace(/\/v1$/, '')}/health`));
    return {
      url: status.url!,
      stop: () => session.dispose(),
      async reload() {
        if (session.mode === 'keys') {
          if (keysFile) {
            // A file that cannot be read or holds no key throws here: the keys in use stay.
            const keys = readKeysFile(keysFile);
            await session.useKeys(keys, keysFile, { kind: 'keys-file', path: keysFile });
            out(t('Using {0} key(s) from {1}.', keys.length, keysFile));
          }
          return;
        }
        await session.refresh();
        const a = session.accountView;
        out(t('Refreshed: {0} usable key(s), total {1}.', a.keys.length, formatYuan(a.totalBalance ?? 0)));
      },
    };
  } catch (err) {
    await session.dispose();
    throw err;
  }
}

/**
 * `daidai-proxy usage`: what the usage history in the state folder says, as a table, JSON or CSV.
 * Reads the file `serve` writes (it flushes about every second), never writes or moves it: a
 * running serve owns it.
 */
function usage(flags: Map<string, string>, out: (s: string) => void): number {
  const dir = flags.get('state-dir') ?? defaultStateDir();
  const now = Date.now();
  let since: number;
  try {
    since = parseSince(flags.get('since') ?? '24h', now);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const keysFile = flags.get('keys-file');
  const identity: StateIdentity | undefined = process.env.DAIDAI_EMAIL
    ? { kind: 'account', email: process.env.DAIDAI_EMAIL }
    : keysFile
      ? { kind: 'keys-file', path: keysFile }
      : process.env.DAIDAI_KEYS
        ? { kind: 'keys', keys: parseKeys(process.env.DAIDAI_KEYS).map((k) => k.key) }
        : undefined;
  let file: string | undefined;
  if (identity) {
    file = join(dir, stateFileNames(identity).usage);
    if (!existsSync(file)) throw new UsageError(t('No usage history for that account in {0} yet: run serve first (or pass --state-dir).', dir));
  } else {
    // Without a login or keys to say whose: the history written last.
    const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^usage-.+\.json$/.test(f)) : [];
    if (found.length === 0) throw new UsageError(t('No usage history in {0} yet: run serve first (or pass --state-dir).', dir));
    found.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
    file = join(dir, found[0]);
    if (found.length > 1) process.stderr.write(`daidai-proxy: ${t('{0} usage histories in {1}; showing the newest ({2}). Set DAIDAI_EMAIL or DAIDAI_KEYS to choose.', found.length, dir, found[0])}\n`);
  }
  let history: UsageHistory;
  try {
    history = UsageHistory.fromData(readUsageFileSync(file), now);
  } catch (err) {
    throw new UsageError(t('The usage history {0} could not be read: {1}.', file, redactSecrets((err as Error).message)));
  }
  if (flags.has('csv')) {
    out(usageCsv(history, since).replace(/\r?\n$/, ''));
    return 0;
  }
  const report = usageReport(history, { since, now });
  if (flags.has('json')) {
    const totals = (x: Pick<UsageReport['total'], 'requests' | 'inputTokens' | 'outputTokens' | 'costCny'>) => ({ requests: x.requests, inputTokens: x.inputTokens, outputTokens: x.outputTokens, costCny: x.costCny });
    out(
      JSON.stringify(
        { since: report.since, total: totals(report.total), byModel: report.byModel.map((m) => ({ model: m.model, ...totals(m) })), byKey: report.byKey.map((k) => ({ key: k.key, ...totals(k) })) },
        null,
        2,
      ),
    );
    return 0;
  }
  out(formatUsageTable(report));
  return 0;
}

async function demo(flags: Map<string, string>, log: Logger, out: (s: string) => void): Promise<Running> {
  const { createDemoDaiDai, DEMO_ACCOUNT } = await import('./core/demo/demoDaiDai');
  delete process.env.DAIDAI_KEYS;
  flags.delete('keys-file');
  let fake: DemoDaiDai | undefined;
  const running = await serve(flags, log, out, () => (fake = createDemoDaiDai({ chunkDelayMs: 40, packages: true })));
  const base = running.url.replace(/\/v1$/, '');
  out(`${t('Fake DaiDai platform (demo account {0}) on {1}', DEMO_ACCOUNT.email, String(fake?.url))}
${t('Point your client at it (any API key works):')}
  SillyTavern  Chat Completion → Custom (OpenAI-compatible), URL ${base}/v1
  curl         curl ${base}/v1/chat/completions -H 'content-type: application/json' \\
                 -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  OpenAI SDK   new OpenAI({ baseURL: '${base}/v1', apiKey: 'anything' })
  Claude Code  ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=anything claude
${t('Press Ctrl-C to stop.')}`);
  return running;
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const fail = (s: string) => process.stderr.write(`daidai-proxy: ${s}\n`);
  const lang = langArg(argv);
  setLanguage(cliLanguage(process.env, lang));
  let args: Args;
  try {
    if (lang !== undefined && !parseLanguage(lang)) throw new UsageError(t('--lang must be en or zh-cn (got "{0}").', lang));
    args = parseArgs(argv);
    for (const k of args.flags.keys()) if (!known.has(k)) throw new UsageError(t('Unknown option --{0}. See --help.', k));
  } catch (err) {
    fail((err as Error).message);
    return EXIT_USAGE;
  }
  if (args.flags.has('version')) {
    out(VERSION);
    return 0;
  }
  if (args.flags.has('help') || !args.command || args.command === 'help') {
    out(help());
    return args.command || args.flags.has('help') ? 0 : EXIT_USAGE;
  }
  const level = (args.flags.get('log-level') ?? 'info') as 'trace' | 'debug' | 'info' | 'warn' | 'error';
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    fail(t('--log-level must be one of trace, debug, info, warn, error.'));
    return EXIT_USAGE;
  }
  if (args.command === 'usage') {
    try {
      return usage(args.flags, out);
    } catch (err) {
      fail(err instanceof UsageError ? err.message : redactSecrets((err as Error)?.message ?? String(err)));
      return EXIT_USAGE;
    }
  }
  const stderr = batchedWriter(2);
  process.once('exit', () => stderr.flush());
  const log = consoleLogger(level, stderr);
  let running: Running;
  try {
    if (args.command === 'serve') running = await serve(args.flags, log, out);
    else if (args.command === 'demo') running = await demo(args.flags, log, out);
    else throw new UsageError(t('Unknown command "{0}". Use serve, demo or usage (see --help).', args.command));
  } catch (err) {
    if (err instanceof UsageError) {
      fail(err.message);
      return EXIT_USAGE;
    }
    if (err instanceof PeerProxyRunning) {
      const { port, url, health } = err.peer;
      const k = health.keys;
      fail(
        k
          ? t('A DaiDai proxy already serves port {0} ({1}, {2}/{3} keys usable): a VS Code window or another daidai-proxy. Use it, stop it, or pick another --port.', port, url, k.usable, k.total)
          : t('A DaiDai proxy already serves port {0} ({1}): a VS Code window or another daidai-proxy. Use it, stop it, or pick another --port.', port, url),
      );
      return EXIT_PORT;
    }
    if (err instanceof ProxyStartError) {
      fail(err.message);
      return err.code === 'EADDRINUSE' ? EXIT_PORT : EXIT_USAGE;
    }
    if (err instanceof PlatformError) {
      const message = redactSecrets(err.message);
      fail(err.kind === 'network' ? t('Cannot reach the DaiDai platform: {0}', message) : t('Login failed: {0}', message));
      return err.kind === 'network' ? EXIT_USAGE : EXIT_LOGIN;
    }
    fail(redactSecrets((err as Error)?.message ?? String(err)));
    return EXIT_USAGE;
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        process.exit(130); // a second Ctrl-C while stopping: give up at once
      }
      stopping = true;
      out(`\n${t('{0}: stopping…', signal)}`);
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    // The Unix habit for "reload": a server's operator picks up a new order without a restart.
    process.on('SIGHUP', () => {
      if (stopping) return;
      log.info(t('SIGHUP: refreshing keys and balances…'));
      running.reload().catch((err) => log.warn(t('Refreshing on SIGHUP failed: {0}', redactSecrets((err as Error)?.message ?? String(err)))));
    });
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
