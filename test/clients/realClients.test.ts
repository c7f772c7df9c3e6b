// The real coding assistants through the CLI proxy (issue 19): Claude Code 2.1.197 and Codex CLI
// 0.171.0, the native binaries from npm (installed once into ~/.cache/daidai-clients by
// scripts/clients-setup.sh), run as a user runs them, against the test fake with the package ids
// the real gateway lists. Every process gets a HOME (and CODEX_HOME) of its own; the only network
// is 127.0.0.1. Run by `npm run test:clients` (and .ci/run).
//
// What it shows: `claude -p` with nothing but ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN answers
// (its claude-opus-4-8 resolved to the account's Opus); `codex exec` answers with the config
// Connect a Client gives; a multi-turn session of each stays on one key; different sessions
// spread over the keys; the sticky key failing moves the session once, and it stays there.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { codexConfigToml } from '../../src/core/present/clients';
import { waitUntil } from '../helpers/wait';
import { createFakeDaiDai, DEMO_PACKAGE_KEYS, type FakeDaiDai, type GatewayRequestLog } from '../fake/fakeDaiDai';

const ROOT = [resolve(__dirname, '../../..'), resolve(__dirname, '../..')].find((d) => existsSync(join(d, 'package.json')))!;
const CLI = join(ROOT, 'dist/cli.js');

const CLAUDE_A = DEMO_PACKAGE_KEYS[0]!.key;
const CLAUDE_B = DEMO_PACKAGE_KEYS[1]!.key;
const GPT_C = DEMO_PACKAGE_KEYS[2]!.key;
const GPT_F = DEMO_PACKAGE_KEYS[5]!.key;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to its end with only the given environment (plus PATH), in `cwd`. */
function run(bin: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 180_000): Promise<Ran> {
  return new Promise((resolvePromise) => {
    const child = spawn(bin, args, { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('real clients: Claude Code and Codex CLI through the CLI proxy (loopback)', function () {
  this.timeout(900_000);
  let clients: string;
  let fake: FakeDaiDai;
  let proxy: ChildProcess;
  let proxyLog = '';
  let port = 0;
  let scratch: string;

  before(async function () {
    this.timeout(1_800_000);
    // Installs (or finds) the pinned binaries; its last stdout line is the folder.
    const out = execFileSync(join(ROOT, 'scripts/clients-setup.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_700_000 });
    clients = out.trim().split('\n').pop()!;
    scratch = mkdtempSync(join(tmpdir(), 'daidai-clients-'));
    fake = createFakeDaiDai({ packages: true });
    await fake.start(0, '127.0.0.1');
    proxy = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--state-dir', join(scratch, 'state')], {
      env: { PATH: process.env.PATH ?? '', HOME: scratch, DAIDAI_KEYS: [CLAUDE_A, CLAUDE_B, GPT_C, GPT_F].join(','), LANG: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proxy.stdout!.on('data', (d) => (proxyLog += d));
    proxy.stderr!.on('data', (d) => (proxyLog += d));
    const deadline = Date.now() + 30_000;
    while (port === 0) {
      const m = /DaiDai proxy on http:\/\/127\.0\.0\.1:(\d+)\/v1/.exec(proxyLog);
      if (m) port = Number(m[1]);
      else if (Date.now() > deadline || proxy.exitCode !== null) throw new Error(`the proxy did not start:\n${proxyLog}`);
      else await new Promise((r) => setTimeout(r, 100));
    }
    // Resolution needs the keys' model lists: wait until /health says every key's is known.
    for (;;) {
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { perKey: { models: number | null }[] };
      if (health.perKey.length === 4 && health.perKey.every((k) => k.models !== null)) break;
      if (Date.now() > deadline) throw new Error(`model lists not fetched: ${JSON.stringify(health)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    proxy?.kill('SIGTERM');
    await fake?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Gateway requests of one path since `from` (an index into fake.requests). */
  const turns = (from: number, path: string): GatewayRequestLog[] => fake.requests.slice(from).filter((r) => r.method === 'POST' && r.path.startsWith(path));
  const header = (r: GatewayRequestLog, name: string) => String(r.headers[name] ?? '');

  // ---- Claude Code ----------------------------------------------------------------------------

  function claude(args: string[], home: string): Promise<Ran> {
    // Nothing but the two variables the README and Connect a Client name (and a HOME of its own).
    return run(join(clients, 'node_modules/.bin/claude'), args, { HOME: home, ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`, ANTHROPIC_AUTH_TOKEN: 'anything' }, home);
  }

  function home(name: string): string {
    const dir = join(scratch, name);
    mkdirSync(dir, { recursive: true });
    return dir;
  }

  it('claude -p "say hi" with only ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN answers; its claude-opus-4-8 goes out as the account\'s Opus', async () => {
    const from = fake.requests.length;
    const r = await claude(['-p', 'say hi'], home('cc-hi'));
    assert.equal(r.code, 0, `claude exited ${r.code}: ${r.stderr}\n${proxyLog.slice(-2000)}`);
    assert.match(r.stdout, /Echo: [\s\S]*say hi/);
    const sent = turns(from, '/v1/messages');
    assert.ok(sent.length >= 1, 'Claude Code called /v1/messages');
    assert.equal(sent[sent.length - 1]!.model, '[官Max]claude-opus-4-6-20260205');
    assert.ok([CLAUDE_A, CLAUDE_B].includes(sent[sent.length - 1]!.key!));
    assert.match(header(sent[0]!, 'x-claude-code-session-id'), /^[0-9a-f-]{36}$/);
    // The CLI writes its log in batches: the request line may come a moment after the client has exited.
    await waitUntil('the request line in the proxy log', () => /model=claude-opus-4-8 → \[官Max\]claude-opus-4-6-20260205/.test(proxyLog), 10_000).catch(() => undefined);
    assert.match(proxyLog, /model=claude-opus-4-8 → \[官Max\]claude-opus-4-6-20260205/);
  });

  it('a Claude Code session (--session-id, then --resume) stays on one key; new sessions spread; the sticky key failing moves it once', async () => {
    const dir = home('cc-session');
    const session = randomUUID();
    const from = fake.requests.length;
    for (const [i, prompt] of ['first turn', 'second turn', 'third turn'].entries()) {
      const r = await claude(['-p', ...(i === 0 ? ['--session-id', session] : ['--resume', session]), prompt], dir);
      assert.equal(r.code, 0, `turn ${i + 1}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`Echo: [\\s\\S]*${prompt}`));
    }
    const mine = turns(from, '/v1/messages').filter((t) => header(t, 'x-claude-code-session-id') === session);
    assert.ok(mine.length >= 3, `${mine.length} turns seen`);
    const sticky = mine[0]!.key!;
    assert.deepEqual(new Set(mine.map((t) => t.key)), new Set([sticky]), 'every turn of the session on one key');

    // Three more sessions: round-robin puts new sessions on both Claude keys, never a GPT key.
    const firstKeys = new Set<string>([sticky]);
    for (let i = 0; i < 3; i++) {
      const other = randomUUID();
      const at = fake.requests.length;
      const r = await claude(['-p', '--session-id', other, `hello ${i}`], home(`cc-other-${i}`));
      assert.equal(r.code, 0, r.stderr);
      for (const t of turns(at, '/v1/messages')) firstKeys.add(t.key!);
    }
    assert.deepEqual([...firstKeys].sort(), [CLAUDE_A, CLAUDE_B].sort(), 'sessions spread over both Claude keys');

    // The sticky key fails once: the turn fails over, the session moves, and stays.
    const moveFrom = fake.requests.length;
    fake.setFault(sticky, { status: 500, times: 1 });
    for (const prompt of ['fourth turn', 'fifth turn', 'sixth turn']) {
      const r = await claude(['-p', '--resume', session, prompt], dir);
      assert.equal(r.code, 0, `${prompt}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(prompt));
    }
    const after = turns(moveFrom, '/v1/messages').filter((t) => header(t, 'x-claude-code-session-id') === session);
    const other = sticky === CLAUDE_A ? CLAUDE_B : CLAUDE_A;
    assert.deepEqual(
      after.map((t) => [t.key === sticky ? 'sticky' : t.key === other ? 'other' : t.key, t.status]),
      [['sticky', 500], ...after.slice(1).map(() => ['other', 200])],
      'one failed attempt on the sticky key, then every turn on the other',
    );
    assert.ok(after.length >= 4);
  });

  // ---- Codex CLI --------------------------------------------------------------------------------

  function codexHome(name: string, model: string): { home: string; codexHome: string; work: string } {
    const base = home(name);
    const codexHomeDir = join(base, 'codex');
    const work = join(base, 'work');
    mkdirSync(codexHomeDir, { recursive: true });
    mkdirSync(work, { recursive: true });
    // Exactly what Connect a Client tells a user to write (with the features off, Codex stays offline).
    writeFileSync(join(codexHomeDir, 'config.toml'), codexConfigToml(`http://127.0.0.1:${port}/v1`, model) + '\n');
    return { home: base, codexHome: codexHomeDir, work };
  }

  function codex(args: string[], where: { home: string; codexHome: string; work: string }): Promise<Ran> {
    return run(join(clients, 'node_modules/.bin/codex'), ['exec', '--skip-git-repo-check', ...args], { HOME: where.home, CODEX_HOME: where.codexHome, DAIDAI_API_KEY: 'anything' }, where.work);
  }

  it('codex exec answers over the Responses API with the config Connect a Client gives', async () => {
    const where = codexHome('codex-hi', 'gpt-5.1-codex');
    const from = fake.requests.length;
    const r = await codex(['say hi'], where);
    assert.equal(r.code, 0, `codex exited ${r.code}: ${r.stderr}\n${proxyLog.slice(-2000)}`);
    assert.match(r.stdout, /Echo: say hi/);
    const sent = turns(from, '/v1/responses');
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.model, 'gpt-5-codex', 'gpt-5.1-codex resolved to the served gpt-5-codex');
    assert.equal(sent[0]!.stream, true);
    assert.ok([GPT_C, GPT_F].includes(sent[0]!.key!));
    await waitUntil('the request line in the proxy log', () => /POST \/responses model=gpt-5\.1-codex → gpt-5-codex stream → 200/.test(proxyLog), 10_000).catch(() => undefined);
    assert.match(proxyLog, /POST \/responses model=gpt-5\.1-codex → gpt-5-codex stream → 200/);
  });

  it('a Codex session (exec, then exec resume) stays on one key; another session takes the other key; the sticky key failing moves it once', async () => {
    const where = codexHome('codex-session', 'gpt-5');
    const from = fake.requests.length;
    const first = await codex(['first turn'], where);
    assert.equal(first.code, 0, first.stderr);
    const session = header(turns(from, '/v1/responses')[0]!, 'session-id');
    assert.match(session, /^[0-9a-f-]{36}$/);
    for (const prompt of ['second turn', 'third turn']) {
      const r = await codex(['resume', session, prompt], where);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Echo: ${prompt}`));
    }
    const mine = turns(from, '/v1/responses').filter((t) => header(t, 'session-id') === session);
    assert.equal(mine.length, 3);
    const sticky = mine[0]!.key!;
    assert.deepEqual(new Set(mine.map((t) => t.key)), new Set([sticky]), 'every turn on one key');

    const otherFrom = fake.requests.length;
    const other = await codex(['another session'], codexHome('codex-other', 'gpt-5'));
    assert.equal(other.code, 0, other.stderr);
    assert.notEqual(turns(otherFrom, '/v1/responses')[0]!.key, sticky, 'a new session takes the next key');

    const moveFrom = fake.requests.length;
    fake.setFault(sticky, { status: 500, times: 1 });
    for (const prompt of ['fourth turn', 'fifth turn']) {
      const r = await codex(['resume', session, prompt], where);
      assert.equal(r.code, 0, `${prompt}: ${r.stderr}`);
    }
    const after = turns(moveFrom, '/v1/responses').filter((t) => header(t, 'session-id') === session);
    assert.deepEqual(
      after.map((t) => [t.key === sticky ? 'sticky' : 'other', t.status]),
      [
        ['sticky', 500],
        ['other', 200],
        ['other', 200],
      ],
    );
  });
});
