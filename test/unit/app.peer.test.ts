// Two windows, one proxy (issue 11 §2): the second Session that finds our own proxy on its port uses
// it instead of failing, and takes the port over once the first one stops.
import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { Session } from '../../src/core/app/session';
import { defaultSettings, type DaiDaiSettings } from '../../src/core/app/settings';
import { createFakeDaiDai, DEMO_USABLE_KEYS } from '../fake/fakeDaiDai';
import type { FakeDaiDai } from '../fake/types';
import { ProxyStartError } from '../../src/core/proxy/server';
import { nullLogger } from '../../src/core/util/log';
import { MemorySecretStorage } from '../helpers/memorySecretStorage';
import { CredentialStore } from '../../src/core/app/credentialStore';
import { waitUntil } from '../helpers/wait';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('app: two windows share one proxy', function () {
  this.timeout(20_000);
  let fake: FakeDaiDai;
  const sessions: Session[] = [];
  const servers: Server[] = [];

  function session(settings: DaiDaiSettings): Session {
    const s = new Session({ logger: nullLogger, credentials: new CredentialStore(new MemorySecretStorage(), nullLogger), settings, peerPollMs: 50 });
    sessions.push(s);
    return s;
  }

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0, '127.0.0.1');
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.dispose();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    await fake.stop();
  });

  it('the second window uses the first one’s proxy, then takes the port over when it stops', async () => {
    const port = await freePort();
    const settings = { ...defaultSettings, proxyPort: port, upstreamBaseUrl: fake.gatewayUrl, refreshMinutes: 0 };
    const first = session(settings);
    await first.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    await first.startProxy();
    assert.equal(first.proxyStatus.state, 'running');

    const second = session(settings);
    await second.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    const status = await second.startProxy();
    assert.equal(status.state, 'stopped', 'the second window does not own the port');
    assert.ok(second.peer, 'the second window found the first one’s proxy');
    assert.equal(second.peer!.port, port);
    assert.equal(second.peer!.health.keys?.total, DEMO_USABLE_KEYS.length);

    await first.stopProxy();
    await waitUntil('the second window to take the port over', () => second.proxyStatus.state === 'running', 5000, 20);
    assert.equal(second.peer, undefined);
    assert.equal(second.proxyStatus.port, port);
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(res.status, 200);
  });

  it('with an access token set, the second window reads the first one’s /health with the same token', async () => {
    const port = await freePort();
    const settings = { ...defaultSettings, proxyPort: port, upstreamBaseUrl: fake.gatewayUrl, refreshMinutes: 0, proxyAccessToken: 'tok-shared-0123456789' };
    const first = session(settings);
    await first.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    await first.startProxy();
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 401, '/health needs the token');

    const second = session(settings);
    await second.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    await second.startProxy();
    assert.ok(second.peer, 'the second window found the first one’s proxy');
    assert.equal(second.peer!.health.keys?.total, DEMO_USABLE_KEYS.length, 'and read its /health');
  });

  it('a proxy of ours with another access token is still known as ours (not "another program")', async () => {
    const port = await freePort();
    const base = { ...defaultSettings, proxyPort: port, upstreamBaseUrl: fake.gatewayUrl, refreshMinutes: 0 };
    const first = session({ ...base, proxyAccessToken: 'tok-first-0123456789' });
    await first.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    await first.startProxy();
    const second = session({ ...base, proxyAccessToken: 'tok-other-0123456789' });
    await second.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
    const status = await second.startProxy();
    assert.equal(status.state, 'stopped');
    assert.ok(second.peer, 'found as ours');
    assert.equal(second.peer!.health.keys, undefined, 'its /health stays its own');
  });

  it('a port held by another program is still the error it was', async () => {
    const blocker = createServer((_req, res) => res.end('not ours'));
    servers.push(blocker);
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const s = session({ ...defaultSettings, proxyPort: port, upstreamBaseUrl: fake.gatewayUrl, refreshMinutes: 0 });
    await s.useKeys([{ key: DEMO_USABLE_KEYS[0] }], 'test');
    await assert.rejects(s.startProxy(), (err: unknown) => err instanceof ProxyStartError && err.code === 'EADDRINUSE' && err.message.includes(String(port)));
    assert.equal(s.peer, undefined);
  });
});
