// Issue 22: the ways out. A real HTTP CONNECT proxy for the account and the gateway (both hosts),
// separate connection pools so that requests hanging at the gateway starve nobody, and the
// upstream timeouts as settings.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { Session } from '../../../src/core/app/session';
import { defaultSettings, type DaiDaiSettings } from '../../../src/core/app/settings';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_USABLE_KEYS, type FakeDaiDai } from '../../fake/fakeDaiDai';
import { bypassesProxy, NetDispatcher, networkFromEnv, networkFromVscode, type NetworkSettings } from '../../../src/core/net/dispatchers';
import { nullLogger } from '../../../src/core/util/log';
import { CredentialStore } from '../../../src/core/app/credentialStore';
import { MemorySecretStorage } from '../../helpers/memorySecretStorage';
import { waitUntil } from '../../helpers/wait';
import { startConnectProxy, type ConnectProxy } from './helpers/connectProxy';
import { startTinyUpstream, type TinyUpstream } from './helpers/upstream';
import { httpRequest } from './helpers/http';
import { harnessPerTest, within } from './helpers/harness';

const chat = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };

describe('network: HTTP proxy, separate pools, timeouts (issue 22)', function () {
  this.timeout(60_000);
  const { defer } = harnessPerTest();

  function session(settings: Partial<DaiDaiSettings>, network?: NetworkSettings): Session {
    const s = new Session({
      logger: nullLogger,
      credentials: new CredentialStore(new MemorySecretStorage(), nullLogger),
      settings: { ...defaultSettings, proxyPort: 0, refreshMinutes: 0, ...settings },
      network,
    });
    defer(() => s.dispose());
    return s;
  }

  async function fakeDaiDai(): Promise<FakeDaiDai> {
    const fake = createFakeDaiDai({ costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    defer(() => fake.stop());
    return fake;
  }

  async function connectProxy(): Promise<ConnectProxy> {
    const p = await startConnectProxy();
    defer(() => p.close());
    return p;
  }

  describe('through a real HTTP CONNECT proxy', () => {
    it('the account login and the gateway both go through the proxy; clients still reach us directly', async () => {
      const fake = await fakeDaiDai();
      const proxy = await connectProxy();
      const s = session(
        { platformBaseUrl: `http://platform.test:${fake.port}`, upstreamBaseUrl: `http://gateway.test:${fake.port}/v1` },
        { proxy: proxy.url, noProxy: [], strictSSL: true },
      );
      await s.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password }, { remember: false });
      assert.ok(s.accountView.keys.length > 0, 'keys came through the proxy');
      assert.ok(proxy.tunnelsTo('platform.test') >= 1, 'the platform was reached through a tunnel');

      const status = await s.startProxy();
      const res = await httpRequest(status.port!, '/v1/chat/completions', { body: chat });
      assert.equal(res.status, 200, res.text);
      assert.ok(proxy.tunnelsTo('gateway.test') >= 1, 'the gateway was reached through a tunnel');
      assert.equal(proxy.tunnelsTo('127.0.0.1'), 0, 'loopback is never proxied');
      assert.equal(proxy.plain, 0);
    });

    it('a change of the proxy settings applies to the next request, without a restart', async () => {
      const fake = await fakeDaiDai();
      const first = await connectProxy();
      const second = await connectProxy();
      const s = session({ upstreamBaseUrl: `http://gateway.test:${fake.port}/v1` }, { proxy: first.url, noProxy: [], strictSSL: true });
      await s.useKeys([{ key: DEMO_USABLE_KEYS[0] }], 'test');
      const { port } = await s.startProxy();
      assert.equal((await httpRequest(port!, '/v1/chat/completions', { body: chat })).status, 200);
      const before = first.tunnelsTo('gateway.test');
      assert.ok(before >= 1);

      s.applyNetwork({ proxy: second.url, noProxy: [], strictSSL: true });
      assert.equal((await httpRequest(port!, '/v1/chat/completions', { body: chat })).status, 200);
      assert.ok(second.tunnelsTo('gateway.test') >= 1, 'the new proxy carries the next request');
      assert.equal(s.proxyStatus.port, port, 'no restart');
    });

    it('NO_PROXY and loopback names go direct; other names through the proxy', () => {
      const d = new NetDispatcher({}, { proxy: 'http://127.0.0.1:9', noProxy: ['.corp.example', 'api.daidaibird.top:8443', 'internal'], strictSSL: true });
      defer(() => d.destroy());
      assert.equal(d.proxied('https://api.daidaibird.top'), true);
      assert.equal(d.proxied('https://api.daidaibird.top:8443'), false);
      assert.equal(d.proxied('https://x.corp.example'), false);
      assert.equal(d.proxied('https://internal'), false);
      assert.equal(d.proxied('http://127.0.0.1:5100'), false);
      assert.equal(d.proxied('http://localhost:5100'), false);
      assert.equal(d.proxied('http://[::1]:5100'), false);
      assert.equal(bypassesProxy('anything.example', 443, ['*']), true);
    });

    it('reads HTTPS_PROXY / NO_PROXY (CLI) and http.proxy / http.noProxy / http.proxyStrictSSL (VS Code)', () => {
      assert.deepEqual(networkFromEnv({ HTTPS_PROXY: 'http://proxy:3128', NO_PROXY: 'a.example, .b.example' }), {
        proxy: 'http://proxy:3128',
        noProxy: ['a.example', '.b.example'],
        strictSSL: true,
      });
      assert.equal(networkFromEnv({ http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2' }).proxy, 'http://lower:1');
      assert.equal(networkFromEnv({}).proxy, '');
      const settings: Record<string, unknown> = { proxy: 'http://corp:8080', noProxy: ['intranet'], proxyStrictSSL: false };
      assert.deepEqual(networkFromVscode((id) => settings[id], { NO_PROXY: 'x.example' }), { proxy: 'http://corp:8080', noProxy: ['intranet', 'x.example'], strictSSL: false });
      assert.equal(networkFromVscode(() => undefined, { HTTPS_PROXY: 'http://env:1' }).proxy, 'http://env:1', 'no http.proxy: the environment, as VS Code does');
      assert.equal(networkFromVscode((id) => (id === 'proxySupport' ? 'off' : 'http://corp:8080'), {}).proxy, '');
    });
  });

  describe('hanging requests starve nobody', () => {
    let hangs: http.ServerResponse[];
    let up: TinyUpstream;
    beforeEach(async () => {
      hangs = [];
      up = await startTinyUpstream((req, res) => {
        if (req.url?.includes('hang')) {
          hangs.push(res); // never answered
          return;
        }
        res.setHeader('content-type', 'application/json');
        if (req.url?.endsWith('/models')) res.end(JSON.stringify({ data: [{ id: 'gpt-4o' }] }));
        else res.end(JSON.stringify({ id: 'ok', choices: [{ message: { content: 'fine' } }] }));
      });
      defer(() => up.close());
    });

    it('a normal request, and a background check, are answered while 260 requests hang at the gateway', async () => {
      const s = session({ upstreamBaseUrl: `${up.url}/v1`, maxRetries: 0 });
      await s.useKeys(DEMO_USABLE_KEYS.map((key) => ({ key })), 'test');
      const { port } = await s.startProxy();
      const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
      defer(() => agent.destroy());
      const clients: http.ClientRequest[] = [];
      defer(() => clients.forEach((c) => c.destroy()));
      for (let i = 0; i < 260; i++) {
        const req = http.request({ host: '127.0.0.1', port, path: '/v1/hang', method: 'POST', agent, headers: { 'content-type': 'application/json' } });
        req.on('error', () => undefined);
        req.end(JSON.stringify(chat));
        clients.push(req);
      }
      await waitUntil('260 requests to hang at the gateway', () => hangs.length >= 260, 30_000, 50);

      const t0 = Date.now();
      const res = await within(httpRequest(port!, '/v1/chat/completions', { body: chat }), 15_000, 'a normal request while 260 hang');
      assert.equal(res.status, 200, res.text);
      const normalMs = Date.now() - t0;
      // The model lists are fetched on the checks' own connections.
      await within(s.resetKeyStates(), 5_000, 'reset');
      await waitUntil('the background model lists', () => (s.models?.length ?? 0) > 0, 15_000, 50);
      console.log(`      (a normal request while 260 hang: ${normalMs} ms)`);
    });
  });

  it('daidai.upstream.headersTimeoutSeconds: a gateway silent before headers is given up after it, not 120 s', async () => {
    const up = await startTinyUpstream(() => undefined); // never answers
    defer(() => up.close());
    const s = session({ upstreamBaseUrl: `${up.url}/v1`, maxRetries: 0, headersTimeoutSeconds: 5 });
    await s.useKeys([{ key: DEMO_USABLE_KEYS[0] }], 'test');
    const { port } = await s.startProxy();
    const res = await within(httpRequest(port!, '/v1/chat/completions', { body: chat }), 20_000, 'the headers timeout');
    assert.ok(res.status >= 500, `${res.status} ${res.text}`);
    assert.equal(up.requests.filter((r) => r.url.endsWith('/chat/completions')).length, 1, 'one attempt');

    // And it applies to a running proxy without a restart.
    await s.applySettings({ ...s.settings, headersTimeoutSeconds: 7, bodyTimeoutSeconds: 9 });
    assert.equal(s.proxy.options.headersTimeoutMs, 7000);
    assert.equal(s.proxy.options.bodyTimeoutMs, 9000);
    assert.equal(s.proxyStatus.port, port);
  });
});
