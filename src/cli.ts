#!/usr/bin/env node
// daidai-proxy: the same core as the extension, without VS Code, for people who run
// SillyTavern on a server. Secrets come from the environment, never from argv (argv shows up
// in `ps` and shell history).
import { readFileSync } from 'node:fs';
import { usage } from './cli/usage';
import { COMMANDS, optionsHelp, parseCommandLine, stringOption as str, UsageError, type Command, type OptionSpec, type ParsedArgs } from './cli/args';
import { PeerProxyRunning, Session, type CredentialsPort } from './core/app/session';
import { defaultSettings, TIMEOUT_BOUNDS, type DaiDaiSettings } from './core/app/settings';
import { networkFromEnv } from './core/net/dispatchers';
import type { DemoDaiDai } from './core/demo/types';
import { looksLikeApiKey, parseKeys } from './core/keysFile';
import type { Knobs } from './core/knobs';
import { cliLanguage, parseLanguage, setLanguage, t } from './core/l10n';
import { defaultStateDir, type StateIdentity } from './core/state';
import { formatYuan } from './core/util/yuan';
import { PlatformError } from './core/platform/client';
import type { PoolKeyInput } from './core/pool/types';
import { ProxyStartError } from './core/proxy/server';
import { parseAliasPairs } from './core/routing/modelResolve';
import { batchedWriter, consoleLogger, type Level, type Logger } from './core/util/log';
import { maskKey, redactSecrets } from './core/util/mask';
import { makeDir } from './core/util/mkdir';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

/** Exit codes, as --help and the README list them. */
export const EXIT_USAGE = 1;
export const EXIT_LOGIN = 2;
export const EXIT_PORT = 3;
export const EXIT_NETWORK = 4;

/** The fake platform's fixed port for `daidai-proxy fake`, so the commands it prints can be written down. */
export const FAKE_PORT = 5300;

const d = defaultSettings;
const LEVELS: readonly Level[] = ['trace', 'debug', 'info', 'warn', 'error'];
const PROXY: readonly Command[] = ['serve', 'demo'];

/** Every option of every command. Adding one is an entry here (and its use below). */
export const OPTIONS: Record<string, OptionSpec> = {
  port: { type: 'string', for: ['serve', 'demo', 'fake'], value: 'N', help: () => t('port (default {0}; for fake {1}; 0 = any free port)', d.proxyPort, FAKE_PORT) },
  host: { type: 'string', for: PROXY, value: 'ADDR', help: () => t('listen address (default {0}); anything else exposes your keys\nto the network: set DAIDAI_ACCESS_TOKEN too', d.proxyHost) },
  'allow-origin': {
    type: 'string',
    for: PROXY,
    multiple: true,
    value: 'ORIGIN',
    help: () => t('a browser origin allowed to call the proxy, e.g. http://localhost:8000\n(repeat it for more; or DAIDAI_ALLOWED_ORIGINS, comma-separated)'),
  },
  'platform-url': { type: 'string', for: ['serve'], value: 'URL', help: () => t('DaiDai account API (default {0})', d.platformBaseUrl) },
  'upstream-url': { type: 'string', for: ['serve'], value: 'URL', help: () => t('model gateway, with /v1 (default {0})', d.upstreamBaseUrl) },
  'keys-file': { type: 'string', for: ['serve', 'usage'], value: 'FILE', help: () => t('plain keys, one per line (instead of logging in)') },
  'max-retries': { type: 'string', for: PROXY, value: 'N', help: () => t('retries on other keys (default {0})', d.maxRetries) },
  'failure-threshold': { type: 'string', for: PROXY, value: 'N', help: () => t('consecutive failures that take a key out (default {0})', d.failureThreshold) },
  'cooldown-wait': { type: 'string', for: PROXY, value: 'S', help: () => t('longest wait, in seconds, for a rate-limited key when no other\nkey can answer (default {0}; 0 = never wait)', d.cooldownWaitSeconds) },
  'model-exclusion-minutes': { type: 'string', for: PROXY, value: 'N', help: () => t('how long a key stays out for a model its group has no channel for\n(default {0})', d.modelExclusionMinutes) },
  'refresh-minutes': { type: 'string', for: PROXY, value: 'N', help: () => t('how often balances are refreshed when logged in (default {0}; 0 = never)', d.refreshMinutes) },
  'low-balance': { type: 'string', for: PROXY, value: 'CNY', help: () => t('warn when a key falls below this balance in ¥ (default {0}; 0 = never)', d.lowBalance) },
  'model-alias': {
    type: 'string',
    for: PROXY,
    multiple: true,
    value: 'FROM=TO',
    help: () => t('send model TO when a client asks for FROM (repeat it for more)'),
  },
  'no-family-fallback': { type: 'boolean', for: PROXY, help: () => t('send an id no key lists as it is, not the newest of its family') },
  'no-session-affinity': { type: 'boolean', for: PROXY, help: () => t('spread every request, instead of keeping a conversation on one key') },
  'session-idle-minutes': { type: 'string', for: PROXY, value: 'N', help: () => t('a conversation idle this long starts over on the next key (default {0})', d.sessionIdleMinutes) },
  'headers-timeout': { type: 'string', for: PROXY, value: 'S', help: () => t('seconds to wait for the gateway to start answering, then the next key (default {0})', d.headersTimeoutSeconds) },
  'body-timeout': { type: 'string', for: PROXY, value: 'S', help: () => t('seconds of gateway silence mid-answer before it ends with an error (default {0})', d.bodyTimeoutSeconds) },
  'log-level': { type: 'string', for: ['serve', 'demo', 'fake'], value: 'LEVEL', help: () => t('trace | debug | info | warn | error (default info)') },
  'state-dir': {
    type: 'string',
    for: ['serve', 'demo', 'usage'],
    value: 'DIR',
    help: () => t('where what the pool learned and the usage history are kept\n(default $XDG_STATE_HOME/daidai-aggregator or ~/.local/state/daidai-aggregator)'),
  },
  'reset-state': { type: 'boolean', for: ['serve'], help: () => t('forget what the pool learned (disabled, revoked, exhausted keys…) and start fresh') },
  since: { type: 'string', for: ['usage'], value: 'PERIOD', help: () => t('usage: the period, 24h, 7d, 30d or a date such as 2026-11-30 (default 24h)') },
  json: { type: 'boolean', for: ['usage'], help: () => t('usage: print JSON') },
  csv: { type: 'boolean', for: ['usage'], help: () => t('usage: print CSV (one row per hour, key and model)') },
  lang: { type: 'string', value: 'en|zh-cn', help: () => t('the language of these messages (default: from LC_ALL, LC_MESSAGES or LANG)') },
  help: { type: 'boolean', short: 'h', help: () => t('this help') },
  version: { type: 'boolean', short: 'v', help: () => t('the version') },
};

/** The CLI's names for what its messages point at: flags and variables, never VS Code settings. */
export const cliKnobs: Knobs = {
  port: '--port',
  host: '--host',
  accessToken: 'DAIDAI_ACCESS_TOKEN',
  allowedOrigins: '--allow-origin (or DAIDAI_ALLOWED_ORIGINS)',
  platformUrl: '--platform-url',
  upstreamUrl: '--upstream-url',
  login: 'DAIDAI_EMAIL + DAIDAI_PASSWORD, DAIDAI_KEYS or --keys-file',
};

/** The help in the current language: a function, since the language is only known once argv is read. */
function help(): string {
  return `daidai-proxy ${VERSION}: ${t('one local OpenAI/Anthropic-compatible URL over all your DaiDai keys.')}

${t('Usage:')}
  daidai-proxy serve [options]   ${t('log in (DAIDAI_EMAIL, DAIDAI_PASSWORD) or use plain keys')}
                                 ${t('(DAIDAI_KEYS=sk-a,sk-b or --keys-file FILE) and serve the proxy')}
  daidai-proxy demo [--port N]   ${t('the embedded fake DaiDai account, to try everything offline')}
  daidai-proxy fake [--port N]   ${t('only the fake DaiDai platform and gateway (port {0}), to try', FAKE_PORT)}
                                 ${t('serve with DAIDAI_KEYS or a login against it')}
  daidai-proxy usage [--since 24h|7d|30d] [--json|--csv] [--state-dir DIR]
                                 ${t('requests, tokens and estimated ¥ by model and by key, from the')}
                                 ${t('usage history serve keeps (works while serve runs)')}

${t('Options:')}
${optionsHelp(OPTIONS)}

${t('Environment:')}
  DAIDAI_EMAIL, DAIDAI_PASSWORD   ${t('account login')}
  DAIDAI_KEYS                     ${t('comma-separated keys (instead of logging in)')}
  DAIDAI_ACCESS_TOKEN             ${t('when set, clients must send it as their API key')}
  DAIDAI_ALLOWED_ORIGINS          ${t('comma-separated browser origins allowed to call the proxy')}
  HTTPS_PROXY, NO_PROXY           ${t('reach the platform and the gateway through this HTTP proxy (127.0.0.1 always direct)')}

${t('Exit codes:')}
  0  ${t('stopped normally (Ctrl-C, SIGTERM)')}
  ${EXIT_USAGE}  ${t('a wrong option, setting or keys file')}
  ${EXIT_LOGIN}  ${t('the platform refused the login')}
  ${EXIT_PORT}  ${t('the port is in use (by another program or another DaiDai proxy)')}
  ${EXIT_NETWORK}  ${t('the DaiDai platform could not be reached')}
`;
}

/** `--lang X` / `--lang=X` read ahead of the parser, so that even its usage errors speak that language. */
function langArg(argv: readonly string[]): string | undefined {
  let found: string | undefined;
  argv.forEach((a, i) => {
    if (a === '--lang') found = argv[i + 1];
    else if (a.startsWith('--lang=')) found = a.slice('--lang='.length);
  });
  return found;
}

type Env = Readonly<Record<string, string | undefined>>;

function numberFlag(args: ParsedArgs, name: string, fallback: number, min: number, max: number, whole = true): number {
  const v = str(args, name);
  if (v === undefined) return fallback;
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || (whole && !Number.isInteger(n)) || n < min || n > max) {
    throw new UsageError(whole ? t('--{0} must be a whole number from {1} to {2} (got "{3}").', name, min, max, v) : t('--{0} must be a number from {1} to {2} (got "{3}").', name, min, max, v));
  }
  return n;
}

function urlFlag(args: ParsedArgs, name: string, fallback: string): string {
  const v = str(args, name) ?? fallback;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(t('--{0} must be an http(s) URL (got "{1}").', name, v));
  }
  return v.replace(/\/+$/, '');
}

/** `http://localhost:8000`: scheme, host and port only, as a browser sends it in Origin. */
function originsOf(values: readonly string[], from: string): string[] {
  const out: string[] = [];
  for (const raw of values) {
    const v = raw.trim();
    if (!v) continue;
    let ok = false;
    try {
      const u = new URL(v);
      ok = (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === v.replace(/\/$/, '');
    } catch {
      ok = false;
    }
    if (!ok) throw new UsageError(t('{0}: "{1}" is not a browser origin. Write it as the browser sends it: scheme, host and port, e.g. http://localhost:8000.', from, v.slice(0, 100)));
    out.push(v.replace(/\/$/, ''));
  }
  return out;
}

interface Running {
  url: string;
  stop(): Promise<void>;
  /** SIGHUP: pick up new orders and balances (or a changed keys file) without a restart. */
  reload(): Promise<void>;
  /** Printed once what the start logged is out, so that it is the last thing on screen. */
  banner?: string;
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

/** The flags and variables as the application service's settings; every default comes from defaultSettings. */
/** `--model-alias FROM=TO`, repeatable. */
function aliasFlags(pairs: readonly string[]): Record<string, string> {
  const r = parseAliasPairs(pairs);
  if (r.bad !== undefined) throw new UsageError(t('--model-alias wants FROM=TO, such as claude-opus-4-8=[官Max]claude-opus-4-6-20260205 (got "{0}").', r.bad.slice(0, 80)));
  return r.aliases;
}

function settingsOf(args: ParsedArgs, env: Env): DaiDaiSettings {
  const origins = [
    ...originsOf((env.DAIDAI_ALLOWED_ORIGINS ?? '').split(','), 'DAIDAI_ALLOWED_ORIGINS'),
    ...originsOf(args.lists.get('allow-origin') ?? [], '--allow-origin'),
  ];
  return {
    ...d,
    proxyPort: numberFlag(args, 'port', d.proxyPort, 0, 65535),
    proxyHost: str(args, 'host') ?? d.proxyHost,
    proxyAccessToken: env.DAIDAI_ACCESS_TOKEN ?? '',
    proxyAllowedOrigins: [...new Set(origins)],
    modelAliases: aliasFlags(args.lists.get('model-alias') ?? []),
    familyFallback: !args.values.has('no-family-fallback'),
    sessionAffinity: !args.values.has('no-session-affinity'),
    sessionIdleMinutes: numberFlag(args, 'session-idle-minutes', d.sessionIdleMinutes, 1, 24 * 60),
    platformBaseUrl: urlFlag(args, 'platform-url', d.platformBaseUrl),
    upstreamBaseUrl: urlFlag(args, 'upstream-url', d.upstreamBaseUrl),
    maxRetries: numberFlag(args, 'max-retries', d.maxRetries, 0, 20),
    failureThreshold: numberFlag(args, 'failure-threshold', d.failureThreshold, 1, 100),
    cooldownWaitSeconds: numberFlag(args, 'cooldown-wait', d.cooldownWaitSeconds, 0, 60, false),
    modelExclusionMinutes: numberFlag(args, 'model-exclusion-minutes', d.modelExclusionMinutes, 1, 24 * 60, false),
    refreshMinutes: numberFlag(args, 'refresh-minutes', d.refreshMinutes, 0, 24 * 60, false),
    lowBalance: numberFlag(args, 'low-balance', d.lowBalance, 0, 1e9, false),
    headersTimeoutSeconds: numberFlag(args, 'headers-timeout', d.headersTimeoutSeconds, ...TIMEOUT_BOUNDS.headers),
    bodyTimeoutSeconds: numberFlag(args, 'body-timeout', d.bodyTimeoutSeconds, ...TIMEOUT_BOUNDS.body),
  };
}

/** Keys that do not look like API keys are refused by position and masked: a typo must not be served silently. */
function checkKeys(keys: PoolKeyInput[], source: string): PoolKeyInput[] {
  keys.forEach((k, i) => {
    if (!looksLikeApiKey(k.key)) throw new UsageError(t('{0}: entry {1} ({2}) is not an API key. DaiDai keys look like sk- and at least 12 more letters or digits.', source, i + 1, maskKey(k.key)));
  });
  return keys;
}

function readKeysFile(path: string): PoolKeyInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(t('Cannot read the keys file {0}: {1}.', path, (err as NodeJS.ErrnoException).code ?? (err as Error).message));
  }
  let keys: PoolKeyInput[];
  try {
    keys = parseKeys(text);
  } catch (err) {
    throw new UsageError(`${path}: ${redactSecrets((err as Error).message)}`);
  }
  if (keys.length === 0) throw new UsageError(t('The keys file {0} holds no key.', path));
  return checkKeys(keys, path);
}

/** Where the keys come from: exactly one of a login, DAIDAI_KEYS or --keys-file; anything else is a clear error. */
type KeySource = { kind: 'account'; email: string; password: string } | { kind: 'keys'; keys: PoolKeyInput[] } | { kind: 'keys-file'; path: string; keys: PoolKeyInput[] };

function keySource(args: ParsedArgs, env: Env): KeySource {
  const email = env.DAIDAI_EMAIL?.trim() || undefined;
  const password = env.DAIDAI_PASSWORD || undefined;
  const keysEnv = env.DAIDAI_KEYS?.trim() || undefined;
  const keysFile = str(args, 'keys-file');
  const given = [email || password ? 'DAIDAI_EMAIL' : undefined, keysEnv ? 'DAIDAI_KEYS' : undefined, keysFile ? '--keys-file' : undefined].filter((x): x is string => !!x);
  if (given.length > 1) throw new UsageError(t('Both {0} and {1} are set: the proxy uses one source of keys. Unset one of them.', given[0], given[1]));
  if (email && !password) throw new UsageError(t('DAIDAI_EMAIL is set but DAIDAI_PASSWORD is not: set both to log in.'));
  if (password && !email) throw new UsageError(t('DAIDAI_PASSWORD is set but DAIDAI_EMAIL is not: set both to log in.'));
  if (email && password) return { kind: 'account', email, password };
  if (keysFile) return { kind: 'keys-file', path: keysFile, keys: readKeysFile(keysFile) };
  if (keysEnv) {
    let keys: PoolKeyInput[];
    try {
      keys = parseKeys(keysEnv);
    } catch (err) {
      throw new UsageError(`DAIDAI_KEYS: ${redactSecrets((err as Error).message)}`);
    }
    if (keys.length === 0) throw new UsageError(t('DAIDAI_KEYS holds no key.'));
    return { kind: 'keys', keys: checkKeys(keys, 'DAIDAI_KEYS') };
  }
  throw new UsageError(t('No keys: set DAIDAI_EMAIL and DAIDAI_PASSWORD to log in, or DAIDAI_KEYS / --keys-file for plain keys.'));
}

async function serve(args: ParsedArgs, env: Env, log: Logger, out: (s: string) => void, demoOf?: () => DemoDaiDai): Promise<Running> {
  const settings = settingsOf(args, env);
  const source: KeySource | undefined = demoOf ? undefined : keySource(args, env);
  if (source && source.kind !== 'account' && str(args, 'platform-url') !== undefined) {
    throw new UsageError(t('--platform-url is for a login (DAIDAI_EMAIL): plain keys never talk to the account API. Leave it out, or log in instead.'));
  }
  // The demo keeps its usage too, so that `usage` shows what was tried (its pool state is the demo's own file).
  const stateDir = str(args, 'state-dir') ?? defaultStateDir(env);
  {
    // Made here, once, so a folder that cannot be made is one clear line before anything starts.
    await makeDir(stateDir).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(t('Cannot create the state folder {0} ({1}). Pass --state-dir with a folder you can write to.', stateDir, err.code ?? err.message));
    });
  }
  const session = new Session({
    logger: log,
    credentials: environmentCredentials(source?.kind === 'account' ? source.email : undefined, source?.kind === 'account' ? source.password : undefined),
    settings,
    version: VERSION,
    createDemo: demoOf,
    peers: 'refuse',
    knobs: cliKnobs,
    stateDir,
    keepDemoUsage: true,
    network: networkFromEnv(env as NodeJS.ProcessEnv),
  });
  try {
    if (!source) {
      await session.tryDemo();
    } else if (source.kind === 'account') {
      await session.login({ email: source.email, password: source.password }, { remember: false, quiet: true });
    } else {
      const name = source.kind === 'keys-file' ? source.path : 'DAIDAI_KEYS';
      const identity: StateIdentity = source.kind === 'keys-file' ? { kind: 'keys-file', path: source.path } : { kind: 'keys' };
      await session.useKeys(source.keys, name, identity);
      out(t('Using {0} key(s) from {1}.', source.keys.length, name));
      out(t('Plain keys: no balances, no prices (¥ in usage needs a login), no new orders on SIGHUP{0}.', source.kind === 'keys-file' ? t(' (SIGHUP re-reads the file)') : ''));
    }
    if (args.values.has('reset-state')) {
      await session.resetKeyStates();
      out(t('Key states reset: every key starts healthy, with nothing remembered.'));
    }
    if (session.mode === 'account') {
      const a = session.accountView;
      out(t('Logged in as {0}: {1} usable key(s), total {2}.', a.email ?? '', a.keys.length, formatYuan(a.totalBalance ?? 0)));
    }
    const status = await session.startProxy();
    if (!demoOf) {
      // One probe, one line: a wrong --upstream-url or a gateway that is down is said now, not at the first request.
      const problem = await session.checkGateway();
      if (problem) log.warn(problem);
    }
    const c = session.pool.snapshot().counts;
    out(t('DaiDai proxy on {0}  ({1}/{2} keys usable)  health: {3}', status.url!, c.usable, c.total, `${status.url!.replace(/\/v1$/, '')}/health`));
    return {
      url: status.url!,
      stop: () => session.dispose(),
      async reload() {
        if (source?.kind === 'keys-file') {
          // A file that cannot be read or holds no key throws here: the keys in use stay.
          const keys = readKeysFile(source.path);
          await session.useKeys(keys, source.path, { kind: 'keys-file', path: source.path });
          out(t('Using {0} key(s) from {1}.', keys.length, source.path));
          return;
        }
        if (source?.kind === 'keys') {
          log.info(t('SIGHUP: DAIDAI_KEYS cannot change while the proxy runs (a process keeps the environment it started with). Restart it with the new keys, or use --keys-file.'));
          return;
        }
        await session.refresh(); // a failure is logged there, once
        const a = session.accountView;
        out(t('Refreshed: {0} usable key(s), total {1}.', a.keys.length, formatYuan(a.totalBalance ?? 0)));
      },
    };
  } catch (err) {
    await session.dispose();
    throw err;
  }
}

async function demo(args: ParsedArgs, env: Env, log: Logger, out: (s: string) => void): Promise<Running> {
  const { createDemoDaiDai, DEMO_ACCOUNT } = await import('./core/demo/demoDaiDai');
  let fake: DemoDaiDai | undefined;
  // The demo account only: a login or keys in the environment are not used (nor refused).
  const { DAIDAI_EMAIL: _e, DAIDAI_PASSWORD: _p, DAIDAI_KEYS: _k, ...demoEnv } = env;
  const running = await serve(args, demoEnv, log, out, () => (fake = createDemoDaiDai({ chunkDelayMs: 40, packages: true })));
  const base = running.url.replace(/\/v1$/, '');
  running.banner = `${t('Fake DaiDai platform (demo account {0}) on {1}', DEMO_ACCOUNT.email, String(fake?.url))}
${t('Point your client at it (any API key works):')}
  SillyTavern  Chat Completion → Custom (OpenAI-compatible), URL ${base}/v1
  curl         curl ${base}/v1/chat/completions -H 'content-type: application/json' \\
                 -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  OpenAI SDK   new OpenAI({ baseURL: '${base}/v1', apiKey: 'anything' })
  Claude Code  ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=anything claude
${t('Press Ctrl-C to stop.')}`;
  return running;
}

/**
 * `daidai-proxy fake`: the fake DaiDai platform and gateway alone, on a fixed port, so that `serve`
 * can be tried with plain keys or a login exactly as against the real one. Its keys and password
 * are fixtures published in the source: they work nowhere else.
 */
async function fake(args: ParsedArgs): Promise<Running> {
  const { createDemoDaiDai, DEMO_ACCOUNT } = await import('./core/demo/demoDaiDai');
  const port = numberFlag(args, 'port', FAKE_PORT, 0, 65535);
  const server = createDemoDaiDai({ chunkDelayMs: 40, packages: true });
  try {
    await server.start(port, '127.0.0.1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new ProxyStartError(t('Port {0} is in use by another program. Change {1} or stop that program.', port, '--port'), 'EADDRINUSE');
    throw err;
  }
  // One usable key of each package (group), so that every model of the fake is served.
  const byGroup = new Map<string, string>();
  for (const k of server.keys()) if ((k.state ?? 'success') === 'success' && !k.hasError && !byGroup.has(k.group ?? 'default')) byGroup.set(k.group ?? 'default', k.key);
  const keys = [...byGroup.values()];
  const banner = `${t('Fake DaiDai platform on {0}, gateway {1}.', server.url, server.gatewayUrl)}
${t('Its keys and password are fixtures from the source code: they work only here. In another terminal, in the project folder:')}

  # ${t('plain keys')}
  DAIDAI_KEYS=${keys.join(',')} \\
    npx daidai-proxy serve --upstream-url ${server.gatewayUrl}

  # ${t('an account (login)')}
  DAIDAI_EMAIL=${DEMO_ACCOUNT.email} DAIDAI_PASSWORD=${DEMO_ACCOUNT.password} \\
    npx daidai-proxy serve --platform-url ${server.url} --upstream-url ${server.gatewayUrl}

${t('Press Ctrl-C to stop.')}`;
  return { url: server.gatewayUrl, stop: () => server.stop(), reload: async () => undefined, banner };
}

export async function main(argv: string[], env: Env = process.env): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const fail = (s: string) => process.stderr.write(`daidai-proxy: ${s}\n`);
  const lang = langArg(argv);
  setLanguage(cliLanguage(env, lang));
  let args: ParsedArgs;
  try {
    if (lang !== undefined && !parseLanguage(lang)) throw new UsageError(t('--lang must be en or zh-cn (got "{0}").', lang));
    args = parseCommandLine(argv, OPTIONS);
  } catch (err) {
    fail((err as Error).message);
    return EXIT_USAGE;
  }
  if (args.values.has('version')) {
    out(VERSION);
    return 0;
  }
  if (args.values.has('help') || !args.command || args.command === 'help') {
    out(help());
    return args.command || args.values.has('help') ? 0 : EXIT_USAGE;
  }
  if (!(COMMANDS as readonly string[]).includes(args.command)) {
    fail(t('Unknown command "{0}". Use serve, demo, fake or usage (see --help).', args.command));
    return EXIT_USAGE;
  }
  const level = (str(args, 'log-level') ?? 'info') as Level;
  if (!LEVELS.includes(level)) {
    fail(t('--log-level must be one of trace, debug, info, warn, error.'));
    return EXIT_USAGE;
  }
  if (args.command === 'usage') {
    try {
      return usage(args, env, out, fail);
    } catch (err) {
      fail(err instanceof UsageError ? err.message : redactSecrets((err as Error)?.message ?? String(err)));
      return EXIT_USAGE;
    }
  }
  const stderr = batchedWriter(2);
  process.once('exit', () => stderr.flush());
  const log = consoleLogger(level, stderr);

  // Signals are listened for before the start: the "proxy on" line can reach a supervisor (or a
  // test) that stops the proxy at once, and a SIGTERM with no listener kills the process outright.
  let running: Running | undefined;
  let stopping: Promise<number> | undefined;
  let signalled: string | undefined;
  const stop = (signal: string): Promise<number> => {
    out(`\n${t('{0}: stopping…', signal)}`);
    return running!.stop().then(
      () => 0,
      () => 1,
    );
  };
  let stopped: (code: number) => void = () => undefined;
  const shutdown = (signal: string) => {
    if (stopping || signalled) process.exit(130); // a second Ctrl-C while stopping: give up at once
    if (!running) {
      signalled = signal; // still starting: stop as soon as it has started
      return;
    }
    stopping = stop(signal);
    void stopping.then((code) => stopped(code));
  };
  const onInt = () => shutdown('SIGINT');
  const onTerm = () => shutdown('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  // The Unix habit for "reload": a server's operator picks up a new order without a restart.
  process.on('SIGHUP', () => {
    if (!running || stopping) return;
    log.info(t('SIGHUP: refreshing keys and balances…'));
    running.reload().catch((err) => {
      // A login's refresh logged its failure already; a keys file's is said here.
      if (err instanceof UsageError) log.warn(t('Refreshing on SIGHUP failed: {0}', redactSecrets(err.message)));
    });
  });

  try {
    if (args.command === 'serve') running = await serve(args, env, log, out);
    else if (args.command === 'demo') running = await demo(args, env, log, out);
    else running = await fake(args);
  } catch (err) {
    stderr.flush(); // what the start logged comes before the reason it stopped
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
      return err.kind === 'network' ? EXIT_NETWORK : EXIT_LOGIN;
    }
    fail(redactSecrets((err as Error)?.message ?? String(err)));
    return EXIT_USAGE;
  }
  // What the start logged goes out first: the banner ("Press Ctrl-C to stop.") is the last thing on screen.
  stderr.flush();
  if (signalled) return stop(signalled);
  if (running.banner) out(running.banner);
  return new Promise<number>((resolve) => {
    stopped = resolve;
  });
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
