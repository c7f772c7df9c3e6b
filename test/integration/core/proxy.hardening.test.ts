// Issue 22: paths that climb out of the API, GET / built from our own address, and the access
// token on every path.
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import { startTinyUpstream } from './helpers/upstream';
import { harnessPerTest } from './helpers/harness';
import { httpRequest } from './helpers/http';

const [K0] = DEMO_USABLE_KEYS;

/** Sends the request line exactly as given (node:http and fetch would normalise the path). */
function rawGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${extra}Connection: close\r\n\r\n`);
  });
}

describe('proxy hardening (issue 22)', function () {
  const { start, defer } = harnessPerTest();

  describe('paths that leave the API are refused, never forwarded with a key', () => {
    const attacks = [
      '/v1/../../api/user/self',
      '/v1/../api/user/self',
      '/v1/%2e%2e/%2e%2e/api/user/self',
      '/v1/%2E%2E/%2e%2E/api/usage/token',
      '/v1/%252e%252e/%252e%252e/api/log/token',
      '/v1/..%2f..%2fapi/user/self',
      '/v1/chat\\..\\..\\api\\user\\self',
      '/v1/chat%5c..%5c..%5capi/user/self',
      '/v1/./../../api/user/self',
      '/v1/models/./../../../api/user/self',
      '/chat/../../api/user/self',
      '/v1/messages/../../api/user/self?x=1',
    ];

    it('every form answers 400 in the client format, and the gateway sees nothing', async () => {
      const up = await startTinyUpstream((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"success":true,"data":{"username":"victim","quota":123456}}');
      });
      defer(() => up.close());
      const h = await start({ keys: [K0], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
      for (const path of attacks) {
        const res = await rawGet(h.port, path);
        assert.equal(res.status, 400, `${path} → ${res.status} ${res.body}`);
        assert.ok(!res.body.includes('victim'), `${path} reached the gateway's account API`);
        const body = JSON.parse(res.body);
        if (path.startsWith('/v1/messages')) {
          assert.equal(body.type, 'error', path);
        } else {
          assert.equal(body.error.code, 'invalid_path', path);
        }
      }
      assert.deepEqual(up.requests.map((r) => r.url), [], 'nothing reached the gateway');
    });

    it('ordinary paths with dots or escapes still go through', async () => {
      const up = await startTinyUpstream((_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('{"id":"ok"}');
      });
      defer(() => up.close());
      const h = await start({ keys: [K0], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
      for (const path of ['/v1/models/gpt-4.1', '/v1/models/deepseek-ai%2FDeepSeek-V3.1', '/v1/files/file-abc..txt', '/v1/models?after=a..b']) {
        const res = await rawGet(h.port, path);
        assert.equal(res.status, 200, `${path} → ${res.status} ${res.body}`);
      }
      assert.deepEqual(up.requests.map((r) => r.url), ['/v1/models/gpt-4.1', '/v1/models/deepseek-ai%2FDeepSeek-V3.1', '/v1/files/file-abc..txt', '/v1/models?after=a..b']);
    });
  });

  it('GET / names the address the proxy listens on, whatever Origin the request carries', async () => {
    const h = await start({ keys: [K0], proxy: { allowedOrigins: ['null'] } });
    for (const origin of [undefined, 'null']) {
      const res = await httpRequest(h.port, '/', { headers: origin ? { origin } : {} });
      assert.equal(res.status, 200, res.text);
      const body = res.json();
      assert.equal(body.openaiBaseUrl, `http://127.0.0.1:${h.port}/v1`, `Origin ${origin}`);
      assert.equal(body.anthropicBaseUrl, `http://127.0.0.1:${h.port}`);
      assert.equal(body.health, `http://127.0.0.1:${h.port}/health`);
    }
  });

  describe('with an access token, every path needs it', () => {
    const TOKEN = 'local-access-token-5f3a9c1e7b';

    it('/health, / and HEAD / answer 401 without it and serve with it', async () => {
      const h = await start({ keys: [K0], proxy: { accessToken: TOKEN } });
      for (const [method, path] of [['GET', '/health'], ['GET', '/'], ['HEAD', '/'], ['GET', '/nowhere']] as const) {
        const without = await httpRequest(h.port, path, { method });
        assert.equal(without.status, 401, `${method} ${path} without the token → ${without.status}`);
        if (method === 'GET') {
          assert.ok(!without.text.includes(h.keyState(K0).id), 'no key id without the token');
          assert.equal(without.json().error.code, 'invalid_access_token');
        }
        const wrong = await httpRequest(h.port, path, { method, headers: { authorization: 'Bearer nope' } });
        assert.equal(wrong.status, 401, `${method} ${path} with a wrong token`);
      }
      const health = await httpRequest(h.port, '/health', { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(health.status, 200);
      assert.equal(health.json().name, 'daidai-aggregator');
      assert.equal((await httpRequest(h.port, '/', { headers: { 'x-api-key': TOKEN } })).status, 200);
      assert.equal((await httpRequest(h.port, '/', { method: 'HEAD', headers: { 'x-api-key': TOKEN } })).status, 200);
    });

    it('without a token set, /health and / stay open', async () => {
      const h = await start({ keys: [K0] });
      assert.equal((await httpRequest(h.port, '/health')).status, 200);
      assert.equal((await httpRequest(h.port, '/')).status, 200);
    });
  });
});
