#!/usr/bin/env node
// daidai-proxy: the same core as the extension, without VS Code, for people who run
// SillyTavern on a server. Secrets come from the environment, never from argv (argv shows up
// in `ps` and shell history).
import { readFileSync } from 'node:fs';
import { parseKeys } from './core/keysFile';
import { Account } from './core/platform/account';
import { PlatformClient, PlatformError } from './core/platform/client';
import { KeyPool } from './core/pool/keyPool';
import type { PoolKeyInput } from './core/pool/types';
import { ProxyServer, ProxyStartError } from './core/proxy/server';
import { defaultProxyOptions } from './core/proxy/types';
import { batchedWriter, consoleLogger, type Logger } from './core/util/log';
import { redactSecrets } from './core/util/mask';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

export const EXIT_USAGE = 1;
export const EXIT_LOGIN = 2;
export const EXIT_PORT = 3;

const HELP = `daidai-proxy ${VERSION}: one local OpenAI/Anthropic-compatible URL over all your DaiDai keys.

Usage:
  daidai-proxy serve [options]   log in (DAIDAI_EMAIL, DAIDAI_PASSWORD) or use plain keys
                                 (DAIDAI_KEYS=sk-a,sk-b or --keys-file FILE) and serve the proxy
  daidai-proxy demo [--port N]   the embedded fake DaiDai account, to try everything offline

Options:
  --port N              proxy port (default 5100; 0 = any free port)
  --host ADDR           listen address (default 127.0.0.1; anything else exposes your keys
                        to the network: set DAIDAI_ACCESS_TOKEN too)
  --platform-url URL    DaiDai account API (default https://user.daidaibird.top)
  --upstream-url URL    model gateway, with /v1 (default https://api.daidaibird.top/v1)
  --keys-file FILE      plain keys, one per line (instead of logging in)
  --max-retries N       retries on other keys (default 3)
  --failure-threshold N consecutive failures that take a key out (default 3)
  --refresh-minutes N   how often balances are refreshed when logged in (default 5; 0 = never)
  --log-level LEVEL     trace | debug | info | warn | error (default info)

Environment:
  DAIDAI_EMAIL, DAIDAI_PASSWORD   account login
  DAIDAI_KEYS                     comma-separated keys (instead of logging in)
  DAIDAI_ACCESS_TOKEN             when set, clients must send it as their API key
`;

interface Args {
  command: string;
  flags: Map<string, string>;
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string>();
  let command = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      flags.set('help', 'true');
    } else if (a === '-v' || a === '--version') {
      flags.set('version', 'true');
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq === -1 ? a.slice(2) : a.slice(2, eq);
      let value = eq === -1 ? argv[i + 1] : a.slice(eq + 1);
      if (eq === -1) {
        if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value.`);
        i++;
      }
      if (['password', 'key', 'keys', 'token', 'access-token'].includes(name)) {
        throw new UsageError(`--${name} is not accepted on the command line (it would show in ps and shell history). Use the environment: see --help.`);
      }
      flags.set(name, value);
    } else if (!command) {
      command = a;
    } else {
      throw new UsageError(`Unexpected argument "${a}".`);
    }
  }
  return { command, flags };
}

const known = new Set(['port', 'host', 'platform-url', 'upstream-url', 'keys-file', 'max-retries', 'failure-threshold', 'refresh-minutes', 'log-level', 'help', 'version']);

function intFlag(flags: Map<string, string>, name: string, fallback: number, min: number, max: number): number {
  const v = flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max} (got "${v}").`);
  return n;
}

function urlFlag(flags: Map<string, string>, name: string, fallback: string): string {
  const v = flags.get(name) ?? fallback;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new UsageError(`--${name} must be an http(s) URL (got "${v}").`);
  }
  return v.replace(/\/+$/, '');
}

interface Running {
  url: string;
  stop(): Promise<void>;
}

async function serve(flags: Map<string, string>, log: Logger, out: (s: string) => void): Promise<Running> {
  const logsRequests = ['trace', 'debug', 'info'].includes(flags.get('log-level') ?? 'info');
  const port = intFlag(flags, 'port', defaultProxyOptions.port, 0, 65535);
  const host = flags.get('host') ?? defaultProxyOptions.host;
  const platformUrl = urlFlag(flags, 'platform-url', 'https://user.daidaibird.top');
  const upstreamUrl = urlFlag(flags, 'upstream-url', defaultProxyOptions.upstreamBaseUrl);
  const refreshMinutes = intFlag(flags, 'refresh-minutes', 5, 0, 24 * 60);
  const pool = new KeyPool({ failureThreshold: intFlag(flags, 'failure-threshold', 3, 1, 100), logger: log });

  const email = process.env.DAIDAI_EMAIL;
  const password = process.env.DAIDAI_PASSWORD;
  let plain: PoolKeyInput[] = [];
  const keysFile = flags.get('keys-file');
  if (keysFile) {
    let text: string;
    try {
      text = readFileSync(keysFile, 'utf8');
    } catch (err) {
      throw new UsageError(`Cannot read the keys file ${keysFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`);
    }
    plain = parseKeys(text);
    if (plain.length === 0) throw new UsageError(`The keys file ${keysFile} holds no key.`);
  } else if (process.env.DAIDAI_KEYS) {
    plain = parseKeys(process.env.DAIDAI_KEYS);
  }

  let account: Account | undefined;
  let timer: NodeJS.Timeout | undefined;
  if (plain.length > 0) {
    pool.setKeys(plain);
    out(`Using ${plain.length} key(s) from ${keysFile ? keysFile : 'DAIDAI_KEYS'}.`);
  } else if (email && password) {
    const client = new PlatformClient({ baseUrl: platformUrl, logger: log });
    account = new Account(client);
    account.onDidChange((s) => pool.setKeys(s.keys.map((k) => ({ key: k.key, name: k.name, balance: k.balance, used: k.used }))));
    await account.signIn({ email, password });
    const s = account.snapshot;
    out(`Logged in as ${s.email ?? email}: ${s.keys.length} usable key(s), total ¥${(s.totalBalance ?? 0).toFixed(2)}.`);
    if (refreshMinutes > 0) {
      timer = setInterval(() => {
        account!.refresh().catch((err) => log.warn(`balance refresh failed: ${redactSecrets((err as Error).message)}`));
      }, refreshMinutes * 60_000);
      timer.unref();
    }
  } else {
    throw new UsageError('No keys: set DAIDAI_EMAIL and DAIDAI_PASSWORD to log in, or DAIDAI_KEYS / --keys-file for plain keys.');
  }

  const proxy = new ProxyServer({
    pool,
    logger: log,
    version: VERSION,
    options: {
      port,
      host,
      upstreamBaseUrl: upstreamUrl,
      maxRetries: intFlag(flags, 'max-retries', 3, 0, 20),
      accessToken: process.env.DAIDAI_ACCESS_TOKEN ?? '',
    },
  });
  // Formatting a line per request costs an allocation on the hot path: only when it is shown.
  if (logsRequests) proxy.onDidRequest((r) =>
    log.info(
      `${r.method} ${r.path.split('?')[0]}${r.model ? ' ' + r.model : ''}${r.stream ? ' (stream)' : ''} → ${r.aborted ? 'client left' : r.status} via ${r.keyId ?? '-'} in ${r.attempts} attempt(s), ${r.durationMs} ms${r.error ? ' — ' + r.error : ''}`,
    ),
  );
  const status = await proxy.start();
  const c = pool.snapshot().counts;
  out(`DaiDai proxy on ${status.url}  (${c.usable}/${c.total} keys usable)  health: ${status.url!.replace(/\/v1$/, '')}/health`);
  return {
    url: status.url!,
    async stop() {
      if (timer) clearInterval(timer);
      await proxy.dispose();
      account?.dispose();
      pool.dispose();
    },
  };
}

async function demo(flags: Map<string, string>, log: Logger, out: (s: string) => void): Promise<Running> {
  const { createFakeDaiDai, DEMO_ACCOUNT } = await import('./core/demo/fakeDaiDai');
  const fake = createFakeDaiDai({ chunkDelayMs: 40, packages: true });
  await fake.start(0);
  process.env.DAIDAI_EMAIL = DEMO_ACCOUNT.email;
  process.env.DAIDAI_PASSWORD = DEMO_ACCOUNT.password;
  delete process.env.DAIDAI_KEYS;
  flags.set('platform-url', fake.url);
  flags.set('upstream-url', fake.gatewayUrl);
  flags.delete('keys-file');
  out(`Fake DaiDai platform (demo account ${DEMO_ACCOUNT.email}) on ${fake.url}`);
  let running: Running;
  try {
    running = await serve(flags, log, out);
  } catch (err) {
    await fake.stop();
    throw err;
  }
  const base = running.url.replace(/\/v1$/, '');
  out(`
Point your client at it (any API key works):
  SillyTavern  Chat Completion → Custom (OpenAI-compatible), URL ${base}/v1
  curl         curl ${base}/v1/chat/completions -H 'content-type: application/json' \\
                 -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}'
  OpenAI SDK   new OpenAI({ baseURL: '${base}/v1', apiKey: 'anything' })
  Claude Code  ANTHROPIC_BASE_URL=${base} ANTHROPIC_AUTH_TOKEN=anything claude
Press Ctrl-C to stop.`);
  return {
    url: running.url,
    async stop() {
      await running.stop();
      await fake.stop();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => process.stdout.write(s + '\n');
  const fail = (s: string) => process.stderr.write(`daidai-proxy: ${s}\n`);
  let args: Args;
  try {
    args = parseArgs(argv);
    for (const k of args.flags.keys()) if (!known.has(k)) throw new UsageError(`Unknown option --${k}. See --help.`);
  } catch (err) {
    fail((err as Error).message);
    return EXIT_USAGE;
  }
  if (args.flags.has('version')) {
    out(VERSION);
    return 0;
  }
  if (args.flags.has('help') || !args.command || args.command === 'help') {
    out(HELP);
    return args.command || args.flags.has('help') ? 0 : EXIT_USAGE;
  }
  const level = (args.flags.get('log-level') ?? 'info') as 'trace' | 'debug' | 'info' | 'warn' | 'error';
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    fail(`--log-level must be one of trace, debug, info, warn, error.`);
    return EXIT_USAGE;
  }
  const stderr = batchedWriter(2);
  process.once('exit', () => stderr.flush());
  const log = consoleLogger(level, stderr.write);
  let running: Running;
  try {
    if (args.command === 'serve') running = await serve(args.flags, log, out);
    else if (args.command === 'demo') running = await demo(args.flags, log, out);
    else throw new UsageError(`Unknown command "${args.command}". Use serve or demo (see --help).`);
  } catch (err) {
    if (err instanceof UsageError) {
      fail(err.message);
      return EXIT_USAGE;
    }
    if (err instanceof ProxyStartError) {
      fail(err.message);
      return err.code === 'EADDRINUSE' ? EXIT_PORT : EXIT_USAGE;
    }
    if (err instanceof PlatformError) {
      const what = err.kind === 'network' ? 'Cannot reach the DaiDai platform' : 'Login failed';
      fail(`${what}: ${redactSecrets(err.message)}`);
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
      out(`\n${signal}: stopping…`);
      running.stop().then(
        () => resolve(0),
        () => resolve(1),
      );
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
