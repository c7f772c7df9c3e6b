// The CLI as a user runs it: a real child process of dist/cli.js (built by `npm test`).
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { waitUntil } from '../../helpers/wait';
import { join } from 'node:path';
import { startConnectProxy } from './helpers/connectProxy';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_USABLE_KEYS, type FakeDaiDai } from '../../fake/fakeDaiDai';

const CLI = join(__dirname, '..', '..', '..', '..', 'dist', 'cli.js');

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string | undefined> = {}): Run {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  delete clean.DAIDAI_EMAIL;
  delete clean.DAIDAI_PASSWORD;
  delete clean.DAIDAI_KEYS;
  delete clean.DAIDAI_ACCESS_TOKEN;
  for (const v of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy']) delete clean[v];
  // The CLI speaks the locale's language: the English cases must not depend on the machine's.
  delete clean.LC_ALL;
  delete clean.LC_MESSAGES;
  delete clean.LANG;
  // Each run keeps its state in a folder of its own, never in the user's ~/.local/state.
  clean.XDG_STATE_HOME = mkdtempSync(join(tmpdir(), 'daidai-cli-state-'));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function waitForOutput(r: Run, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = r.stdout().match(pattern);
    if (m) return m;
    if (r.child.exitCode !== null) throw new Error(`cli exited ${r.child.exitCode}: ${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} in output:\n${r.stdout()}\n${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

describe('CLI (dist/cli.js)', function () {
  this.timeout(30_000);
  let fake: FakeDaiDai;
  const children: ChildProcess[] = [];
  const servers: Server[] = [];
  const blockerSockets: Socket[] = [];

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0);
  });
  afterEach(async () => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const s of blockerSockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await fake.stop();
  });

  it('demo: serves the fake account through the proxy and stops cleanly on SIGINT', async () => {
    const r = run(['demo', '--port', '0', '--log-level', 'warn']);
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const models = (await (await fetch(`${url}/models`, { headers: { authorization: 'Bearer anything' } })).json()) as { data: Array<{ id: string }> };
    assert.ok(models.data.length > 0);
    const chat = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
      body: JSON.stringify({ model: models.data[0].id, messages: [{ role: 'user', content: 'ping from the cli test' }] }),
    });
    assert.equal(chat.status, 200);
    const body = (await chat.json()) as { choices: Array<{ message: { content: string } }> };
    assert.match(body.choices[0].message.content, /ping from the cli test/);
    assert.match(r.stdout(), /SillyTavern/);
    assert.ok(!r.stdout().includes(DEMO_USABLE_KEYS[0]), 'a demo key was printed in clear');
    r.child.kill('SIGINT');
    assert.equal(await r.exit, 0);
  });

  it('serve: logs in with DAIDAI_EMAIL/DAIDAI_PASSWORD against any platform URL and forwards', async () => {
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl], {
      DAIDAI_EMAIL: DEMO_ACCOUNT.email,
      DAIDAI_PASSWORD: DEMO_ACCOUNT.password,
    });
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    assert.match(r.stdout(), new RegExp(`${DEMO_USABLE_KEYS.length} usable key`));
    for (let i = 0; i < DEMO_USABLE_KEYS.length; i++) {
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${i}` }] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    const used = new Set(fake.requests.map((q) => q.key));
    assert.equal(used.size, DEMO_USABLE_KEYS.length, 'round-robin should have used every key once');
    const all = r.stdout() + r.stderr();
    for (const k of DEMO_USABLE_KEYS) assert.ok(!all.includes(k), 'a key leaked into the CLI output');
    assert.ok(!all.includes(DEMO_ACCOUNT.password));
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('serve behind HTTPS_PROXY: the login and the gateway go through the proxy (tunnels counted), loopback direct', async () => {
    const proxy = await startConnectProxy();
    try {
      const r = run(['serve', '--port', '0', '--platform-url', `http://platform.test:${fake.port}`, '--upstream-url', `http://gateway.test:${fake.port}/v1`], {
        DAIDAI_EMAIL: DEMO_ACCOUNT.email,
        DAIDAI_PASSWORD: DEMO_ACCOUNT.password,
        HTTPS_PROXY: proxy.url,
        HTTP_PROXY: proxy.url,
        NO_PROXY: 'elsewhere.test',
      });
      children.push(r.child);
      const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      assert.ok(proxy.tunnelsTo('platform.test') >= 1, 'the login went through the proxy');
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'through the proxy' }] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.ok(proxy.tunnelsTo('gateway.test') >= 1, 'the gateway was reached through the proxy');
      assert.equal(proxy.tunnelsTo('127.0.0.1'), 0);
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    } finally {
      await proxy.close();
    }
  });

  it('serve: a wrong password is one clear line on stderr and exit code 2', async () => {
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl], {
      DAIDAI_EMAIL: DEMO_ACCOUNT.email,
      DAIDAI_PASSWORD: 'not-the-password-123',
    });
    children.push(r.child);
    assert.equal(await r.exit, 2);
    const lines = r.stderr().trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr()}`);
    assert.match(lines[0], /^daidai-proxy: Login failed: /);
    assert.ok(!r.stderr().includes('not-the-password-123'));
    assert.ok(!/\bat .+:\d+:\d+/.test(r.stderr()), 'no stack trace');
  });

  it('serve: a port in use is one line naming the port and exit code 3', async () => {
    // Answers nothing and hangs up nobody: the CLI's "is it ours?" probe must give up on it.
    const blocker = createServer((socket) => {
      socket.resume();
      blockerSockets.push(socket);
    });
    servers.push(blocker);
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    const r = run(['serve', '--port', String(port), '--upstream-url', fake.gatewayUrl], { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(',') });
    children.push(r.child);
    assert.equal(await r.exit, 3);
    const lines = r.stderr().trim().split('\n');
    assert.equal(lines.length, 1, r.stderr());
    assert.ok(lines[0].includes(String(port)), lines[0]);
    assert.match(lines[0], /in use/);
  });

  it('serve under LANG=zh_CN.UTF-8: a wrong password is one Chinese line on stderr, exit code 2', async () => {
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl], {
      DAIDAI_EMAIL: DEMO_ACCOUNT.email,
      DAIDAI_PASSWORD: 'not-the-password-123',
      LANG: 'zh_CN.UTF-8',
    });
    children.push(r.child);
    assert.equal(await r.exit, 2);
    const lines = r.stderr().trim().split('\n');
    assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr()}`);
    assert.match(lines[0], /^daidai-proxy: 登录失败：/);
    assert.ok(!r.stderr().includes('not-the-password-123'));
  });

  it('serve under LANG=zh_CN.UTF-8: a port in use is one Chinese line naming the port, exit code 3', async () => {
    const blocker = createServer((socket) => {
      socket.resume();
      blockerSockets.push(socket);
    });
    servers.push(blocker);
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    const r = run(['serve', '--port', String(port), '--upstream-url', fake.gatewayUrl], { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(','), LANG: 'zh_CN.UTF-8' });
    children.push(r.child);
    assert.equal(await r.exit, 3);
    const lines = r.stderr().trim().split('\n');
    assert.equal(lines.length, 1, r.stderr());
    assert.equal(lines[0], `daidai-proxy: 端口 ${port} 已被另一个程序占用。请修改 --port，或停止那个程序。`, 'the CLI names its flag, not the VS Code setting');
  });

  it('--lang zh-cn and --lang en override LANG and LC_ALL; an unknown --lang is a usage error (exit 1)', async () => {
    const zh = run(['serve', '--prot', '1', '--lang', 'zh-cn'], { LANG: 'en_US.UTF-8' });
    assert.equal(await zh.exit, 1);
    assert.equal(zh.stderr().trim(), 'daidai-proxy: 未知选项 --prot。见 --help。');
    const en = run(['serve', '--prot', '1', '--lang=en'], { LC_ALL: 'zh_CN.UTF-8', LANG: 'zh_CN.UTF-8' });
    assert.equal(await en.exit, 1);
    assert.equal(en.stderr().trim(), 'daidai-proxy: Unknown option --prot. See --help.');
    const byLocale = run(['serve', '--prot', '1'], { LC_ALL: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' });
    assert.equal(await byLocale.exit, 1);
    assert.match(byLocale.stderr(), /未知选项 --prot/, 'LC_ALL wins over LANG');
    const help = run(['--help', '--lang', 'zh-cn']);
    assert.equal(await help.exit, 0);
    assert.match(help.stdout(), /^daidai-proxy .+: 用一个本地的/);
    assert.match(help.stdout(), /--lang en\|zh-cn/);
    const unknown = run(['serve', '--lang', 'fr']);
    assert.equal(await unknown.exit, 1);
    assert.equal(unknown.stderr().trim(), 'daidai-proxy: --lang must be en or zh-cn (got "fr").');
    const unknownZh = run(['serve', '--lang', 'klingon'], { LANG: 'zh_CN.UTF-8' });
    assert.equal(await unknownZh.exit, 1);
    assert.equal(unknownZh.stderr().trim(), 'daidai-proxy: --lang 只能是 en 或 zh-cn（收到的是“klingon”）。');
  });

  it('serve: a port already served by another DaiDai proxy is one line saying so, exit code 3', async () => {
    const keys = { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(',') };
    const first = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl], keys);
    children.push(first.child);
    const [, port] = await waitForOutput(first, /DaiDai proxy on http:\/\/127\.0\.0\.1:(\d+)\/v1/);
    const second = run(['serve', '--port', port, '--upstream-url', fake.gatewayUrl], keys);
    children.push(second.child);
    assert.equal(await second.exit, 3);
    const lines = second.stderr().trim().split('\n');
    assert.equal(lines.length, 1, second.stderr());
    assert.match(lines[0], new RegExp(`A DaiDai proxy already serves port ${port}`));
    assert.equal(first.child.exitCode, null, 'the first proxy keeps running');
  });

  it('serve: a revoked key stays out after a restart with the same --state-dir; --reset-state forgets it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'daidai-cli-keep-'));
    const [revoked, good] = DEMO_USABLE_KEYS;
    const env = { DAIDAI_KEYS: `${revoked},${good}` };
    const args = ['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--state-dir', stateDir];
    const chat = (url: string, i: number) =>
      fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `r${i}` }] }),
      });
    const chatsOn = (key: string) => fake.requests.filter((q) => q.key === key && q.method === 'POST').length;

    const first = run(args, env);
    children.push(first.child);
    const [, url1] = await waitForOutput(first, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    // The key is revoked on DaiDai once the proxy knows its models: from then on every call is refused.
    await fake.waitForRequest((q) => q.key === revoked && q.path.includes('/models') && q.finished);
    fake.setFault(revoked, { status: 401, body: { error: { message: '无效的令牌', type: 'new_api_error' } } });
    for (let i = 0; i < 3; i++) assert.equal((await chat(url1, i)).status, 200);
    assert.equal(chatsOn(revoked), 1, 'the revoked key was tried once, then taken out');
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    const files = readdirSync(stateDir);
    assert.ok(files.some((f) => f.startsWith('pool-')), `a pool state file in ${files.join(', ')}`);
    for (const f of files) {
      const text = readFileSync(join(stateDir, f), 'utf8');
      for (const k of DEMO_USABLE_KEYS) assert.ok(!text.includes(k), `${f} holds a key in clear`);
    }

    fake.clearRequests();
    const second = run(args, env);
    children.push(second.child);
    const [, url2] = await waitForOutput(second, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    for (let i = 0; i < 4; i++) assert.equal((await chat(url2, i)).status, 200);
    assert.equal(chatsOn(revoked), 0, 'after the restart no request was spent on the revoked key');
    const kept = (await (await fetch(url2.replace(/\/v1$/, '/health'))).json()) as { keys: { disabled: number } };
    assert.equal(kept.keys.disabled, 1, 'the revoked key is still out (its re-check was refused too)');
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0);

    fake.clearRequests();
    const third = run([...args, '--reset-state'], env);
    children.push(third.child);
    const [, url3] = await waitForOutput(third, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    assert.match(third.stdout(), /Key states reset/);
    const health = (await (await fetch(url3.replace(/\/v1$/, '/health'))).json()) as { keys: { disabled: number; total: number } };
    assert.equal(health.keys.total, 2);
    assert.equal(health.keys.disabled, 0, 'after --reset-state nothing is remembered as revoked');
    third.child.kill('SIGTERM');
    assert.equal(await third.exit, 0);
  });

  /**
   * `serve` logged into the packages fake (which charges each request from its price list, as the
   * platform does) with a fresh state folder: what the usage tests read back.
   */
  async function servePackagesAccount(prefix: string) {
    const stateDir = mkdtempSync(join(tmpdir(), prefix));
    const env = { DAIDAI_EMAIL: DEMO_ACCOUNT.email, DAIDAI_PASSWORD: DEMO_ACCOUNT.password };
    await fake.stop();
    fake = createFakeDaiDai({ packages: true });
    await fake.start(0);
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl, '--state-dir', stateDir], env);
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    return { stateDir, env, r, url };
  }

  it('usage --json: the requests, tokens and ¥ of a known session, by model and key, while serve runs', async () => {
    const { stateDir, env, r, url } = await servePackagesAccount('daidai-cli-usage-');
    const usedBefore = fake.keys().reduce((sum, k) => sum + k.used, 0);
    let input = 0;
    let output = 0;
    const keys = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `what did it cost ${i}` }] }),
      });
      assert.equal(res.status, 200);
      keys.add(res.headers.get('x-daidai-key')!.replace('...', '…')); // a header is ASCII: … goes as ...
      const body = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
      input += body.usage.prompt_tokens;
      output += body.usage.completion_tokens;
    }
    const spent = fake.keys().reduce((sum, k) => sum + k.used, 0) - usedBefore;

    type T = { requests: number; inputTokens: number; outputTokens: number; costCny: number | null };
    let report: { since: string; total: T; byModel: Array<T & { model: string }>; byKey: Array<T & { key: string }> } | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 200))) {
      const u = run(['usage', '--json', '--state-dir', stateDir], env);
      if ((await u.exit) !== 0) continue;
      report = JSON.parse(u.stdout());
      if (report!.total.requests === 3) break;
    }
    assert.ok(report, 'usage --json answered');
    assert.equal(report!.total.requests, 3, 'serve flushed the three requests');
    assert.equal(report!.total.inputTokens, input);
    assert.equal(report!.total.outputTokens, output);
    assert.ok(report!.total.costCny !== null && Math.abs(report!.total.costCny - spent) < 1e-6, `estimate ¥${report!.total.costCny} = what the account was charged ¥${spent}`);
    assert.deepEqual(report!.byModel.map((m) => [m.model, m.requests]), [['gpt-4o-mini', 3]]);
    assert.deepEqual(new Set(report!.byKey.map((k) => k.key)), keys, 'by masked key, as the answers named them');
    assert.ok(!Number.isNaN(Date.parse(report!.since)));

    const table = run(['usage', '--since', '7d', '--state-dir', stateDir], env);
    assert.equal(await table.exit, 0);
    assert.match(table.stdout(), /gpt-4o-mini/);
    const csv = run(['usage', '--csv', '--state-dir', stateDir], env);
    assert.equal(await csv.exit, 0);
    assert.match(csv.stdout(), /gpt-4o-mini/);
    const realKeys = fake.keys().filter((x) => x.key.length > 8);
    assert.ok(realKeys.length > 0, 'the fake has keys to look for');
    for (const k of realKeys) assert.ok(!(table.stdout() + csv.stdout()).includes(k.key), 'a key in clear in the report');
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('usage after a Claude Code conversation asking for claude-opus-4-8: the requested and the served model, cache reads and writes, the cache-hit share', async () => {
    const { stateDir, env, r, url } = await servePackagesAccount('daidai-cli-usage-cache-');
    // A long cached system prompt and a growing conversation, as Claude Code sends them.
    const system = [{ type: 'text', text: 'You are Claude Code. '.repeat(300), cache_control: { type: 'ephemeral' } }];
    const messages: { role: string; content: string }[] = [{ role: 'user', content: 'first' }];
    let served = '';
    let input = 0;
    let read = 0;
    let write = 0;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'anything', 'anthropic-version': '2023-06-01', 'x-claude-code-session-id': 'usage-cache-session' },
        body: JSON.stringify({ model: 'claude-opus-4-8', max_tokens: 50, system, messages }),
      });
      assert.equal(res.status, 200);
      served = decodeURIComponent(res.headers.get('x-daidai-model') ?? ''); // a header is ASCII: the id goes percent-encoded
      const u = ((await res.json()) as { usage: { input_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number } }).usage;
      input += u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0);
      read += u.cache_read_input_tokens ?? 0;
      write += u.cache_creation_input_tokens ?? 0;
      messages.push({ role: 'assistant', content: `answer ${i}` }, { role: 'user', content: `next ${i}` });
    }
    assert.ok(served && served !== 'claude-opus-4-8', `resolved to a model the account serves (${served})`);
    assert.ok(read > 0 && write > 0, `the fake's prompt cache was written and read (${write}, ${read})`);

    type Row = { model: string; requests: number; inputTokens: number; cacheReadTokens: number; cacheWriteTokens: number; cacheHitShare: number | null; requestedAs: { model: string; requests: number }[] };
    let row: Row | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 200))) {
      const u = run(['usage', '--json', '--state-dir', stateDir], env);
      if ((await u.exit) !== 0) continue;
      row = (JSON.parse(u.stdout()) as { byModel: Row[] }).byModel.find((m) => m.model === served);
      if (row?.requests === 3) break;
    }
    assert.ok(row, `usage --json lists ${served}`);
    assert.equal(row.requests, 3);
    assert.deepEqual(row.requestedAs, [{ model: 'claude-opus-4-8', requests: 3 }]);
    assert.deepEqual([row.inputTokens, row.cacheReadTokens, row.cacheWriteTokens], [input, read, write]);
    assert.equal(row.cacheHitShare, Math.round((read / input) * 1e4) / 1e4);

    const table = run(['usage', '--state-dir', stateDir], env);
    assert.equal(await table.exit, 0);
    const lines = table.stdout().split('\n');
    const at = lines.findIndex((l) => l.startsWith(served));
    assert.ok(at > 0, table.stdout());
    assert.ok(lines[at]!.includes(`${Math.round((read / input) * 100)}%`), `the cache-hit share in the row: ${lines[at]}`);
    assert.equal(lines[at + 1], '  ↳ requested as claude-opus-4-8 (3)');
    assert.match(lines[0 + lines.findIndex((l) => l.startsWith('By model'))]!, /Cache hit/);
    const csv = run(['usage', '--csv', '--state-dir', stateDir], env);
    assert.equal(await csv.exit, 0);
    assert.match(csv.stdout(), /^hour_start,key,model,requested_model,.*cache_read_tokens,cache_write_tokens,/);
    assert.ok(csv.stdout().includes(`,claude-opus-4-8,3,0,${input},`), csv.stdout());
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('serve over packages: mixed Claude and GPT requests all succeed, no key is blamed, /v1/models is the union', async () => {
    await fake.stop();
    fake = createFakeDaiDai({ packages: true });
    await fake.start(0);
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl, '--state-dir', mkdtempSync(join(tmpdir(), 'daidai-cli-pk-'))], {
      DAIDAI_EMAIL: DEMO_ACCOUNT.email,
      DAIDAI_PASSWORD: DEMO_ACCOUNT.password,
    });
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const base = url.replace(/\/v1$/, '');
    // The model lists are fetched in the background right after the start.
    let ids: string[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((res) => setTimeout(res, 100))) {
      const models = (await (await fetch(`${url}/models`)).json()) as { data: Array<{ id: string }> };
      ids = models.data.map((m) => m.id);
      if (ids.includes('gpt-4o-mini') && ids.some((id) => id.startsWith('claude-'))) break;
    }
    assert.equal(new Set(ids).size, ids.length, 'each model once');
    assert.ok(ids.includes('gpt-4o-mini') && ids.includes('claude-sonnet-4-5-20250929'), ids.join(', '));
    const claude = 'claude-sonnet-4-5-20250929';
    for (let i = 0; i < 6; i++) {
      const gpt = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', stream: i % 2 === 0, messages: [{ role: 'user', content: `g${i}` }] }),
      });
      assert.equal(gpt.status, 200, await gpt.clone().text());
      await gpt.arrayBuffer();
      const msg = await fetch(`${base}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'anything', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: claude, max_tokens: 50, stream: i % 2 === 1, messages: [{ role: 'user', content: `c${i}` }] }),
      });
      assert.equal(msg.status, 200, await msg.clone().text());
      await msg.arrayBuffer();
    }
    const nobody = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-minii', messages: [{ role: 'user', content: 'typo' }] }),
    });
    assert.equal(nobody.status, 404);
    assert.match(((await nobody.json()) as { error: { message: string } }).error.message, /gpt-4o-mini/);
    const before = fake.requests.length;
    const moderated = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'say [[moderate]]' }] }),
    });
    assert.equal(moderated.status, 400);
    assert.equal(fake.requests.length - before, 1, 'a refused prompt is sent once');
    const health = (await (await fetch(`${base}/health`)).json()) as { keys: { usable: number; total: number }; perKey: Array<{ state: string }> };
    assert.equal(health.keys.usable, health.keys.total, 'no key was disabled or cooled for a model it does not serve');
    assert.ok(health.perKey.every((k) => k.state === 'healthy'));
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('serve: SIGHUP picks up a new order without a restart', async () => {
    const r = run(['serve', '--port', '0', '--platform-url', fake.url, '--upstream-url', fake.gatewayUrl, '--state-dir', mkdtempSync(join(tmpdir(), 'daidai-cli-hup-'))], {
      DAIDAI_EMAIL: DEMO_ACCOUNT.email,
      DAIDAI_PASSWORD: DEMO_ACCOUNT.password,
    });
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const health = async () => ((await (await fetch(url.replace(/\/v1$/, '/health'))).json()) as { keys: { total: number } }).keys.total;
    const before = await health();
    fake.setKeys([...fake.keys(), { key: 'sk-NewOrderKey0000000000000000000000000000000001', name: 'new order', balance: 20, used: 0 }]);
    fake.expireTokens(); // the platform's token has expired meanwhile: SIGHUP logs in again first
    r.child.kill('SIGHUP');
    await waitForOutput(r, /Refreshed: \d+ usable key/);
    assert.equal(await health(), before + 1);
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('serve --keys-file: SIGHUP reads the file again; a file emptied by mistake keeps the keys in use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daidai-cli-keysfile-'));
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `# my keys\n${DEMO_USABLE_KEYS[0]}\n${DEMO_USABLE_KEYS[1]}\n`);
    const r = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--keys-file', file, '--state-dir', dir]);
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const total = async () => ((await (await fetch(url.replace(/\/v1$/, '/health'))).json()) as { keys: { total: number } }).keys.total;
    assert.equal(await total(), 2);
    writeFileSync(file, DEMO_USABLE_KEYS.slice(0, 3).join('\n') + '\n');
    r.child.kill('SIGHUP');
    await waitForOutput(r, /Using 3 key\(s\) from/);
    assert.equal(await total(), 3);
    writeFileSync(file, '# nothing here any more\n');
    r.child.kill('SIGHUP');
    await waitUntil('the warning about the empty keys file', () => /Refreshing on SIGHUP failed: .*holds no key/.test(r.stdout() + r.stderr()), 15_000);
    assert.equal(await total(), 3, 'the keys in use were dropped');
    const chat = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still here?' }] }),
    });
    assert.equal(chat.status, 200);
    for (const k of DEMO_USABLE_KEYS) assert.ok(!(r.stdout() + r.stderr()).includes(k), 'a key in clear in the output');
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('refuses secrets on the command line and unknown options, with exit code 1', async () => {
    const r1 = run(['serve', '--password', 'hunter2hunter2']);
    assert.equal(await r1.exit, 1);
    assert.match(r1.stderr(), /not accepted on the command line/);
    assert.ok(!r1.stderr().includes('hunter2hunter2'));
    const r2 = run(['serve', '--prot', '5100']);
    assert.equal(await r2.exit, 1);
    assert.match(r2.stderr(), /Unknown option --prot/);
  });

  /** Runs the CLI to its exit; resolves with its code and its stderr's lines. */
  async function refusal(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; lines: string[]; out: string }> {
    const r = run(args, env);
    const code = await r.exit;
    return { code, lines: r.stderr().trim().split('\n'), out: r.stdout() };
  }

  it('arguments: nonsense is refused with one clear line and exit code 1', async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['serve', '--bogus'], {}, /^daidai-proxy: Unknown option --bogus\. See --help\.$/],
      [['serve', '--port'], {}, /^daidai-proxy: --port needs a value\.$/],
      [['serve', '--json'], {}, /^daidai-proxy: --json is not an option of serve/],
      [['usage', '--json', '--csv'], {}, /^daidai-proxy: --json and --csv cannot be used together/],
      [['usage', '--since', '1000000d'], {}, /^daidai-proxy: --since 1000000d is out of range/],
      [['serve', '--port', '0'], { DAIDAI_KEYS: 'notakey' }, /^daidai-proxy: DAIDAI_KEYS: entry 1 \(…ey\) is not an API key/],
      [['serve', '--port', '0'], { DAIDAI_EMAIL: 'a@b.c', DAIDAI_KEYS: DEMO_USABLE_KEYS[0] }, /^daidai-proxy: Both DAIDAI_EMAIL and DAIDAI_KEYS are set/],
      [['serve', '--port', '0'], { DAIDAI_EMAIL: 'a@b.c' }, /^daidai-proxy: DAIDAI_EMAIL is set but DAIDAI_PASSWORD is not/],
      [['serve', '--port', '0', '--platform-url', 'http://127.0.0.1:9'], { DAIDAI_KEYS: DEMO_USABLE_KEYS[0] }, /^daidai-proxy: --platform-url is for a login/],
      [['serve', '--allow-origin', 'localhost:8000'], { DAIDAI_KEYS: DEMO_USABLE_KEYS[0] }, /^daidai-proxy: --allow-origin: "localhost:8000" is not a browser origin/],
      [['serve', '--cooldown-wait', '61'], { DAIDAI_KEYS: DEMO_USABLE_KEYS[0] }, /^daidai-proxy: --cooldown-wait must be a number from 0 to 60/],
    ];
    await Promise.all(
      cases.map(async ([args, env, pattern]) => {
        const r = await refusal(args, env);
        assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.lines.join('\n')}`);
        assert.equal(r.lines.length, 1, `${args.join(' ')}: one line, got\n${r.lines.join('\n')}`);
        assert.match(r.lines[0], pattern);
      }),
    );
  });

  it('a keys file copied from a request header ("Bearer sk-…") gives the key, not "Bearer"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daidai-cli-bearer-'));
    const file = join(dir, 'keys.txt');
    writeFileSync(file, `Bearer ${DEMO_USABLE_KEYS[0]}\nAuthorization: Bearer ${DEMO_USABLE_KEYS[1]}\n`);
    const r = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--keys-file', file, '--state-dir', dir]);
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    assert.match(r.stdout(), /Using 2 key\(s\)/);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `b${i}` }] }) });
      assert.equal(res.status, 200, await res.text());
    }
    assert.deepEqual(new Set(fake.requests.filter((q) => q.method === 'POST').map((q) => q.key)), new Set(DEMO_USABLE_KEYS.slice(0, 2)));
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);
  });

  it('an unreachable platform is exit code 4 (documented in --help), one line', async () => {
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as { port: number }).port;
    await new Promise((res) => closed.close(res));
    const r = await refusal(['serve', '--port', '0', '--platform-url', `http://127.0.0.1:${port}`], { DAIDAI_EMAIL: DEMO_ACCOUNT.email, DAIDAI_PASSWORD: DEMO_ACCOUNT.password });
    assert.equal(r.code, 4, r.lines.join('\n'));
    assert.equal(r.lines.length, 1, r.lines.join('\n'));
    assert.match(r.lines[0], /^daidai-proxy: Cannot reach the DaiDai platform: .*--platform-url/);
    const help = run(['--help']);
    assert.equal(await help.exit, 0);
    assert.match(help.stdout(), /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 {2}the DaiDai platform could not be reached/);
  });

  it('messages by host: a refused browser origin names --allow-origin, which lets it through; the refusal is logged', async () => {
    const env = { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(',') };
    const r = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--allow-origin', 'http://localhost:8000'], env);
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const ok = await fetch(`${url}/models`, { headers: { origin: 'http://localhost:8000' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://localhost:8000');
    const refused = await fetch(`${url}/models`, { headers: { origin: 'http://evil.example' } });
    assert.equal(refused.status, 403);
    const message = ((await refused.json()) as { error: { message: string } }).error.message;
    assert.match(message, /Add the origin to --allow-origin \(or DAIDAI_ALLOWED_ORIGINS\)/);
    assert.doesNotMatch(message, /daidai\.proxy/);
    await waitUntil('the refusal in the log', () => /\[warn\] Refused GET \/v1\/models from 127\.0\.0\.1: browser origin http:\/\/evil\.example is not allowed/.test(r.stderr()), 5_000);
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);

    const viaEnv = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl], { ...env, DAIDAI_ALLOWED_ORIGINS: 'http://a.test:1, http://b.test:2' });
    children.push(viaEnv.child);
    const [, url2] = await waitForOutput(viaEnv, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    assert.equal((await fetch(`${url2}/models`, { headers: { origin: 'http://b.test:2' } })).status, 200);
    viaEnv.child.kill('SIGTERM');
    assert.equal(await viaEnv.exit, 0);
  });

  it('start-up diagnosis: --upstream-url without /v1 is one clear line before the first request', async () => {
    const r = run(['serve', '--port', '0', '--upstream-url', fake.url], { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(',') });
    children.push(r.child);
    await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const lines = r.stderr().split('\n').filter((l) => /lacks \/v1/.test(l));
    assert.equal(lines.length, 1, r.stderr());
    assert.match(lines[0], new RegExp(`\\[warn\\] The gateway answered HTTP 404 to GET ${fake.url.replace(/[.]/g, '\\.')}/models: --upstream-url probably lacks /v1 \\(try ${fake.url.replace(/[.]/g, '\\.')}/v1\\)`));
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0);

    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as { port: number }).port;
    await new Promise((res) => closed.close(res));
    const down = run(['serve', '--port', '0', '--upstream-url', `http://127.0.0.1:${port}/v1`], { DAIDAI_KEYS: DEMO_USABLE_KEYS.slice(0, 2).join(',') });
    children.push(down.child);
    await waitForOutput(down, /DaiDai proxy on/);
    assert.match(down.stderr(), /\[warn\] The gateway http:\/\/127\.0\.0\.1:\d+\/v1 cannot be reached \(connection refused \(ECONNREFUSED\)\).*Check --upstream-url/);
    down.child.kill('SIGTERM');
    assert.equal(await down.exit, 0);
  });

  it('fake: the fake platform and gateway on a fixed port, and serve with the DAIDAI_KEYS it prints works', async () => {
    const probe = createServer();
    await new Promise<void>((res) => probe.listen(0, '127.0.0.1', res));
    const port = (probe.address() as { port: number }).port;
    await new Promise((res) => probe.close(res));
    const f = run(['fake', '--port', String(port)]);
    children.push(f.child);
    const [, keys] = await waitForOutput(f, /DAIDAI_KEYS=(\S+) \\/);
    assert.match(f.stdout(), new RegExp(`--upstream-url http://127\\.0\\.0\\.1:${port}/v1`));
    assert.match(f.stdout(), /Press Ctrl-C to stop\.\n$/, 'the banner is the last thing printed');
    const s = run(['serve', '--port', '0', '--upstream-url', `http://127.0.0.1:${port}/v1`], { DAIDAI_KEYS: keys });
    children.push(s.child);
    const [, url] = await waitForOutput(s, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    assert.match(s.stdout(), /Plain keys: no balances, no prices/);
    const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello fake' }] }) });
    assert.equal(res.status, 200, await res.clone().text());
    s.child.kill('SIGTERM');
    assert.equal(await s.exit, 0);
    f.child.kill('SIGINT');
    assert.equal(await f.exit, 0);
  });

  it('demo: the banner ("Press Ctrl-C to stop.") is printed after what the start logged', async () => {
    const r = run(['demo', '--port', '0']);
    children.push(r.child);
    await waitForOutput(r, /Press Ctrl-C to stop\./);
    const stderrThen = r.stderr();
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(r.stderr(), stderrThen, 'nothing logged after the banner while idle');
    const lines = (r.stdout() + r.stderr()).split('\n');
    assert.equal(lines.filter((l) => /Signed in to .* as demo@daidai\.local\./.test(l)).length, 1, 'the login is said once');
    assert.equal(lines.filter((l) => /Logged in/.test(l)).length, 0, 'and not again in other words');
    r.child.kill('SIGINT');
    assert.equal(await r.exit, 0);
  });

  it('serve --state-dir where no folder can be made (under /proc): one clear line, exit 1, within seconds', async function () {
    if (process.platform !== 'linux') this.skip();
    const started = Date.now();
    const r = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--state-dir', '/proc/daidai-state/x'], { DAIDAI_KEYS: DEMO_USABLE_KEYS[0] });
    children.push(r.child);
    const code = await Promise.race([r.exit, new Promise<'spinning'>((res) => setTimeout(() => res('spinning'), 10_000))]);
    assert.equal(code, 1, `exit ${code}; stderr: ${r.stderr()}`);
    assert.ok(Date.now() - started < 10_000);
    const lines = r.stderr().trim().split('\n');
    assert.equal(lines.length, 1, r.stderr());
    assert.match(lines[0], /state folder \/proc\/daidai-state\/x \(ENOENT\)/);
    assert.match(lines[0], /--state-dir/);
  });

  it('DAIDAI_KEYS: adding a key keeps the history (per key, not per set); usage --json has failures and unpriced counts; GET /v1/models is no request', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'daidai-cli-keys-history-'));
    const [k1, k2] = DEMO_USABLE_KEYS;
    const chatOnce = async (url: string, n: number) => {
      const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `h${n}` }] }) });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      assert.equal((await fetch(`${url}/models`)).status, 200);
    };
    for (const [i, keys] of [[k1], [k1, k2]].entries()) {
      const r = run(['serve', '--port', '0', '--upstream-url', fake.gatewayUrl, '--state-dir', stateDir], { DAIDAI_KEYS: keys.join(',') });
      children.push(r.child);
      const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      await chatOnce(url, i);
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0);
    }
    const u = run(['usage', '--json', '--state-dir', stateDir], { DAIDAI_KEYS: [k1, k2].join(',') });
    assert.equal(await u.exit, 0, u.stderr());
    const report = JSON.parse(u.stdout()) as { total: { requests: number; failures: number; unpricedRequests: number; costCny: number | null }; byModel: Array<{ model: string }> };
    assert.equal(report.total.requests, 2, 'both runs, though the key set changed; the model lists are not counted');
    assert.equal(report.total.failures, 0);
    assert.equal(report.total.unpricedRequests, 2, 'plain keys have no price list');
    assert.equal(report.total.costCny, null);
    assert.deepEqual(report.byModel.map((m) => m.model), ['gpt-4o-mini']);
  });

  it('demo: keeps its usage, so `usage` right after shows what was tried', async () => {
    const stateHome = mkdtempSync(join(tmpdir(), 'daidai-cli-demo-usage-'));
    const r = run(['demo', '--port', '0'], { XDG_STATE_HOME: stateHome });
    children.push(r.child);
    const [, url] = await waitForOutput(r, /DaiDai proxy on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
    const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'demo usage' }] }) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    r.child.kill('SIGINT');
    assert.equal(await r.exit, 0);
    const u = run(['usage'], { XDG_STATE_HOME: stateHome });
    assert.equal(await u.exit, 0, u.stderr());
    assert.match(u.stdout(), /gpt-4o-mini/);
    assert.doesNotMatch(u.stdout(), /\(no model\)/);
  });

  it('serve without credentials or keys says what to set', async () => {
    const r = run(['serve', '--port', '0']);
    assert.equal(await r.exit, 1);
    assert.match(r.stderr(), /DAIDAI_EMAIL/);
    assert.match(r.stderr(), /DAIDAI_KEYS/);
  });
});
