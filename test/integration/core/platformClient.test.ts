// PlatformClient and Account against the fake DaiDai on loopback sockets.

import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { Agent } from 'undici';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_KEYS, DEMO_USABLE_KEYS, type FakeDaiDai } from '../../fake/fakeDaiDai';
import { Account } from '../../../src/core/platform/account';
import { PlatformClient, PlatformError } from '../../../src/core/platform/client';
import type { AccountSnapshot } from '../../../src/core/platform/types';
import type { Logger } from '../../../src/core/util/log';

const CREDS = { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password };
const [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F] = DEMO_USABLE_KEYS;
const LOGIN = '/api/users/login';
const ORDERS = '/api/general/orders';

/** A logger that keeps every line, to prove no secret reaches it. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (m: string | Error, ...args: unknown[]) => {
    lines.push(`${level} ${m instanceof Error ? m.message : m} ${args.map((a) => String(a)).join(' ')}`);
  };
  return { lines, trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

async function rejection(p: Promise<unknown>): Promise<PlatformError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PlatformError, `expected a PlatformError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

/** Polls `cond` every 5 ms, at most 400 times. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail('condition not met');
}

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('PlatformClient against the fake DaiDai', () => {
  let fake: FakeDaiDai;
  let agent: Agent;
  let log: ReturnType<typeof recordingLogger>;
  let client: PlatformClient;

  async function restartFake(opts: Parameters<typeof createFakeDaiDai>[0]): Promise<void> {
    await fake.stop();
    fake = createFakeDaiDai(opts);
    await fake.start(0);
    client = new PlatformClient({ baseUrl: fake.url, dispatcher: agent, logger: log });
  }

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0);
    agent = new Agent();
    log = recordingLogger();
    client = new PlatformClient({ baseUrl: fake.url, dispatcher: agent, logger: log });
  });

  afterEach(async () => {
    await client.close();
    await agent.close();
    await fake.stop();
    // Whatever happened in the test, no secret reached the log.
    const all = log.lines.join('\n');
    assert.ok(!all.includes(DEMO_ACCOUNT.password), 'the password reached the log');
    for (const k of DEMO_KEYS) if (k.key) assert.ok(!all.includes(k.key), 'a key reached the log');
    assert.ok(!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(all), 'a token reached the log');
  });

  it('logs in and lists every usable key once, following every page', async () => {
    const user = await client.login(CREDS);
    assert.equal(user.userId, DEMO_ACCOUNT.userId);
    assert.equal(client.signedIn, true);
    const keys = await client.listKeys();
    assert.deepEqual(keys.map((k) => k.key), [...DEMO_USABLE_KEYS]);
    assert.equal(fake.platformCalls[ORDERS], Math.ceil(DEMO_KEYS.length / 2), 'one call per page of 2');

    const byKey = new Map(keys.map((k) => [k.key, k]));
    // Strings and numbers both parse; a missing balance stays missing.
    assert.deepEqual(byKey.get(KEY_A), { key: KEY_A, name: 'Claude 包月 A', package: 'Claude Max 包月', balance: 48.5, used: 11.5, createdAt: '2025-09-01 10:12:00' });
    assert.equal(byKey.get(KEY_B)!.balance, 120);
    assert.equal(byKey.get(KEY_C)!.balance, 12.5);
    assert.equal(byKey.get(KEY_D)!.balance, 0.8);
    assert.equal(byKey.get(KEY_E)!.balance, undefined);
    assert.equal(byKey.get(KEY_F)!.used, 1.05);
    // The renewal order of key A is not a second entry; unpaid, broken and keyless orders are gone.
    assert.equal(keys.filter((k) => k.key === KEY_A).length, 1);
    assert.ok(!keys.some((k) => k.name === '待支付订单' || k.name === '异常订单' || k.name === '发货中订单'));
  });

  it('follows a different page count (page size 3 → 4 pages)', async () => {
    await restartFake({ ordersPageSize: 3 });
    await client.login(CREDS);
    const keys = await client.listKeys();
    assert.equal(keys.length, DEMO_USABLE_KEYS.length);
    assert.equal(fake.platformCalls[ORDERS], 4);
  });

  it('reads one key\'s quota', async () => {
    await client.login(CREDS);
    fake.setBalance(KEY_E, 3.3);
    assert.deepEqual(await client.keyQuota(KEY_E), { balance: 3.3, used: 0 });
  });

  it('signs in again silently once when the token expires (401), and repeats the call', async () => {
    await client.login(CREDS);
    fake.expireTokens();
    const keys = await client.listKeys();
    assert.equal(keys.length, DEMO_USABLE_KEYS.length);
    assert.equal(fake.platformCalls[LOGIN], 2);
    assert.equal(fake.platformCalls[ORDERS], Math.ceil(DEMO_KEYS.length / 2) + 1, 'only the refused page was repeated');
  });

  it('does the same on 403 and after the token lifetime on the fake\'s clock', async () => {
    let now = 5_000_000;
    await restartFake({ tokenTtlMs: 1000, clock: () => now, expiredTokenStatus: 403 });
    await client.login(CREDS);
    now += 1000;
    assert.deepEqual(await client.keyQuota(KEY_B), { balance: 120, used: 0 });
    assert.equal(fake.platformCalls[LOGIN], 2);
  });

  it('shares one renewal among calls that find the token expired at the same time', async () => {
    await client.login(CREDS);
    fake.expireTokens();
    await Promise.all([client.keyQuota(KEY_A), client.keyQuota(KEY_B), client.pricing()]);
    assert.equal(fake.platformCalls[LOGIN], 2);
  });

  it('refuses a wrong password with the platform\'s own message, and no password in it', async () => {
    const password = 'my-Secret-Pass-123';
    const err = await rejection(client.login({ email: DEMO_ACCOUNT.email, password }));
    assert.equal(err.kind, 'refused');
    assert.equal(err.message, '邮箱或密码错误');
    assert.ok(!err.message.includes(password) && !String(err.stack).includes(password));
    assert.equal(client.signedIn, false);
  });

  it('masks a password the platform echoes back', async () => {
    const password = 'echoed-Secret-99';
    fake.setPlatformFault(LOGIN, { status: 200, body: { code: 500, msg: `用户 ${DEMO_ACCOUNT.email} 密码 ${password} 错误` } });
    const err = await rejection(client.login({ email: DEMO_ACCOUNT.email, password }));
    assert.equal(err.kind, 'refused');
    assert.ok(!err.message.includes(password), err.message);
    assert.match(err.message, /密码 \[redacted\] 错误/);
  });

  it('turns a failed silent re-login into an auth error', async () => {
    await client.login(CREDS);
    fake.expireTokens();
    fake.setPlatformFault(LOGIN, { status: 200, body: { code: 400, msg: '邮箱或密码错误' } });
    const err = await rejection(client.listKeys());
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /邮箱或密码错误/);
    assert.match(err.message, /Sign in again/);
    assert.ok(!err.message.includes(DEMO_ACCOUNT.password));
    assert.equal(fake.platformCalls[LOGIN], 2);
  });

  it('gives up after one repeat when the renewed token is refused too', async () => {
    await client.login(CREDS);
    fake.setPlatformFault(ORDERS, { status: 401, body: { code: 401, msg: 'token invalid' } });
    const err = await rejection(client.listKeys());
    assert.equal(err.kind, 'auth');
    assert.equal(fake.platformCalls[LOGIN], 2, 'exactly one silent login');
    assert.equal(fake.platformCalls[ORDERS], 2, 'exactly one repeat');
  });

  it('wants a login before account calls, but not for the monitor', async () => {
    const err = await rejection(client.listKeys());
    assert.equal(err.kind, 'auth');
    assert.equal(fake.platformCalls[ORDERS], undefined, 'nothing was sent without a token');
    const models = await client.monitor();
    assert.ok(models.length > 0);
  });

  it('surfaces a platform refusal (code !== 200) as refused with its message, keys masked', async () => {
    await client.login(CREDS);
    fake.setPlatformFault('/api/general/keyQuota', { status: 200, body: { code: 404, msg: `未找到该密钥 ${KEY_C}` } });
    const err = await rejection(client.keyQuota(KEY_C));
    assert.equal(err.kind, 'refused');
    assert.equal(err.code, 404);
    assert.match(err.message, /^未找到该密钥 sk-/);
    assert.ok(!err.message.includes(KEY_C));
  });

  it('names the host and what to check when the platform cannot be reached', async () => {
    const port = await closedPort();
    const offline = new PlatformClient({ baseUrl: `http://127.0.0.1:${port}`, dispatcher: agent });
    const err = await rejection(offline.login(CREDS));
    assert.equal(err.kind, 'network');
    assert.ok(err.message.includes(`127.0.0.1:${port}`), err.message);
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.message, /daidai\.platform\.baseUrl/);
    assert.ok(!err.message.includes(DEMO_ACCOUNT.password));
  });

  it('times out a platform that never answers', async () => {
    const slow = new PlatformClient({ baseUrl: fake.url, dispatcher: agent, timeoutMs: 300 });
    fake.setPlatformFault('/api/monitors/status', { hang: true });
    const err = await rejection(slow.monitor());
    assert.equal(err.kind, 'network');
    assert.match(err.message, /did not answer/);
  });

  it('stops reading an answer past its size cap (an endless one, and one that declares 2 GB)', async () => {
    let closedEarly = 0;
    const srv = http.createServer((req, res) => {
      res.on('close', () => {
        if (!res.writableFinished) closedEarly++;
      });
      if (req.url === '/declared/api/users/login') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 ** 3) });
        res.write('{"code":200,"msg":"');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"code":200,"msg":"');
      const chunk = 'x'.repeat(64 * 1024);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      for (const base of [`http://127.0.0.1:${port}/endless`, `http://127.0.0.1:${port}/declared`]) {
        const capped = new PlatformClient({ baseUrl: base, dispatcher: agent, timeoutMs: 10_000, maxAnswerBytes: 1024 * 1024 });
        const err = await rejection(capped.login(CREDS));
        assert.equal(err.kind, 'protocol', err.message);
        assert.match(err.message, /more than 1 MiB/);
      }
      await until(() => closedEarly === 2);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it('calls a 5xx "unavailable" and a non-JSON answer a protocol error', async () => {
    fake.setPlatformFault(LOGIN, { status: 502, body: '<html>502 Bad Gateway</html>', times: 1 });
    const down = await rejection(client.login(CREDS));
    assert.equal(down.kind, 'network');
    assert.equal(down.status, 502);
    assert.match(down.message, /unavailable/);

    fake.setPlatformFault(LOGIN, { status: 200, body: '<!doctype html><p>not the API</p>', times: 1 });
    const html = await rejection(client.login(CREDS));
    assert.equal(html.kind, 'protocol');
    assert.match(html.message, /not JSON/);
  });

  it('parses pricing (per call when is_price is "1", else per million)', async () => {
    await client.login(CREDS);
    const prices = await client.pricing();
    const by = new Map(prices.map((p) => [p.model, p]));
    assert.deepEqual(by.get('gpt-4o-image'), { model: 'gpt-4o-image', title: 'GPT-4o 生图 (按次)', perCall: 0.1 });
    assert.deepEqual(by.get('[官Max]claude-sonnet-4-5-20250929'), { model: '[官Max]claude-sonnet-4-5-20250929', title: 'Claude Sonnet 4.5 官方Max', inputPerMillion: 3, outputPerMillion: 15 });
    assert.equal(by.get('claude-3-5-haiku-20241022')!.outputPerMillion, 4);
    assert.equal(by.get('gpt-4o-mini')!.inputPerMillion, 0.15);
  });

  it('parses the monitor: availability = 100 − latest weightedErrorRate', async () => {
    const rows = await client.monitor();
    assert.deepEqual(rows, [
      { modelName: '[官Max]claude-sonnet-4-5-20250929', availability: 98.5 },
      { modelName: '[官Max]claude-opus-4-1-20250805', availability: 87.75 },
      { modelName: 'gpt-4o-mini', availability: 100 },
      { modelName: 'gemini-2.5-pro' },
    ]);
    assert.equal(fake.platformCalls[LOGIN], undefined);
  });

  it('logout forgets the session and the credentials', async () => {
    await client.login(CREDS);
    client.logout();
    assert.equal(client.user, undefined);
    const err = await rejection(client.listKeys());
    assert.equal(err.kind, 'auth');
    assert.equal(fake.platformCalls[LOGIN], 1, 'no silent login with forgotten credentials');
  });
});

describe('Account against the fake DaiDai', () => {
  let fake: FakeDaiDai;
  let agent: Agent;
  let account: Account;
  let now: number;
  let seen: AccountSnapshot[];

  function makeAccount(timeoutMs?: number): Account {
    const a = new Account(new PlatformClient({ baseUrl: fake.url, dispatcher: agent, timeoutMs }), { clock: () => now });
    a.onDidChange((s) => seen.push(s));
    return a;
  }

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0);
    agent = new Agent();
    now = 1_700_000_000_000;
    seen = [];
    account = makeAccount();
  });

  afterEach(async () => {
    account.dispose();
    await agent.close();
    await fake.stop();
  });

  it('signs in, lists the keys, fills missing balances with keyQuota and sums them', async () => {
    const s = await account.signIn(CREDS);
    assert.equal(s, account.snapshot);
    assert.equal(s.signedIn, true);
    assert.equal(s.email, DEMO_ACCOUNT.email);
    assert.equal(s.refreshing, false);
    assert.equal(s.refreshedAt, now);
    assert.equal(s.error, undefined);
    assert.deepEqual(s.keys.map((k) => k.key), [...DEMO_USABLE_KEYS]);
    assert.equal(s.keys.find((k) => k.key === KEY_E)!.balance, 5, 'filled from keyQuota');
    assert.equal(fake.platformCalls['/api/general/keyQuota'], 1, 'only the key without a balance was asked');
    assert.equal(s.totalBalance, 48.5 + 120 + 12.5 + 0.8 + 5 + 30);
    assert.ok(Object.isFrozen(s) && Object.isFrozen(s.keys) && Object.isFrozen(s.keys[0]));
    assert.ok(seen.length >= 2 && seen.at(-1) === s, 'onDidChange fired with the final snapshot');
    assert.ok(seen.some((x) => x.refreshing), 'a refreshing state was announced');
  });

  it('swaps in a new snapshot on refresh and leaves the old one untouched', async () => {
    const before = await account.signIn(CREDS);
    fake.setBalance(KEY_A, 1.25);
    now += 60_000;
    const after = await account.refresh();
    assert.notEqual(after, before);
    assert.equal(before.keys[0].balance, 48.5);
    assert.equal(after.keys[0].balance, 1.25);
    assert.equal(after.refreshedAt, now);
  });

  it('shares one refresh among concurrent callers', async () => {
    await account.signIn(CREDS);
    fake.resetPlatformCalls();
    const [a, b] = await Promise.all([account.refresh(), account.refresh()]);
    assert.equal(a, b);
    assert.equal(fake.platformCalls[ORDERS], Math.ceil(DEMO_KEYS.length / 2));
  });

  it('keeps the keys and records the error when a refresh fails', async () => {
    const good = await account.signIn(CREDS);
    fake.setPlatformFault(ORDERS, { status: 200, body: { code: 500, msg: '系统繁忙，请稍后再试' } });
    await assert.rejects(account.refresh(), PlatformError);
    const s = account.snapshot;
    assert.equal(s.signedIn, true);
    assert.deepEqual(s.keys, good.keys);
    assert.equal(s.error, '系统繁忙，请稍后再试');
    assert.equal(s.errorKind, 'refused');
    assert.equal(s.refreshing, false);
    fake.clearFaults();
    const ok = await account.refresh();
    assert.equal(ok.error, undefined, 'a good refresh clears the error');
  });

  it('rejects a wrong password and stays signed out with the message', async () => {
    await assert.rejects(account.signIn({ email: DEMO_ACCOUNT.email, password: 'wrong-one' }), (e: unknown) => e instanceof PlatformError && e.kind === 'refused');
    const s = account.snapshot;
    assert.equal(s.signedIn, false);
    assert.equal(s.error, '邮箱或密码错误');
    assert.deepEqual(s.keys, []);
    await assert.rejects(account.refresh(), (e: unknown) => e instanceof PlatformError && e.kind === 'auth');
  });

  it('signOut empties the snapshot, and a refresh that finishes later does not bring it back', async () => {
    account.dispose();
    account = makeAccount(400);
    await account.signIn(CREDS);
    fake.setPlatformFault(ORDERS, { hang: true });
    const late = account.refresh();
    await until(() => (fake.platformCalls[ORDERS] ?? 0) > Math.ceil(DEMO_KEYS.length / 2));
    account.signOut();
    assert.equal(account.snapshot.signedIn, false);
    await assert.rejects(late);
    assert.equal(account.snapshot.signedIn, false);
    assert.equal(account.snapshot.error, undefined, 'the stale failure is not shown either');
    assert.deepEqual(account.snapshot.keys, []);
  });
});
