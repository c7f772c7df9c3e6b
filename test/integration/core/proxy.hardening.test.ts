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

describe('proxy hardening: the memory of all bodies in flight is bounded (issue 22)', function () {
  this.timeout(30_000);
  const { start, defer } = harnessPerTest();

  /** A client that declares `declared` bytes, sends `sent` of them and stalls; resolves with what it got. */
  function stalledUpload(port: number, path: string, declared: number, sent: number, headers = ''): { socket: net.Socket; answer: Promise<string> } {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('utf8')));
    socket.on('error', () => undefined);
    const answer = new Promise<string>((resolve) => {
      socket.on('data', () => {
        if (text.includes('\r\n\r\n') && /\}\s*$/.test(text)) resolve(text);
      });
      socket.on('close', () => resolve(text));
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n${headers}Content-Length: ${declared}\r\n\r\n`);
    socket.write(Buffer.alloc(sent, 0x20));
    return { socket, answer };
  }

  it('past the budget (twice the body limit) a request is refused with a 503 in its format; small ones pass; the budget comes back when the stalled ones leave', async () => {
    const limit = 1024 * 1024;
    const h = await start({ keys: [DEMO_USABLE_KEYS[0]], proxy: { bodyLimitBytes: limit } });
    const stalled = [0, 1].map(() => stalledUpload(h.port, '/v1/chat/completions', 900_000, 800_000));
    defer(() => stalled.forEach((s) => s.socket.destroy()));
    await new Promise((r) => setTimeout(r, 300));

    const third = stalledUpload(h.port, '/v1/messages', 900_000, 1000, 'anthropic-version: 2023-06-01\r\n');
    defer(() => third.socket.destroy());
    const refused = await third.answer;
    assert.match(refused, /^HTTP\/1\.1 503 /, refused.slice(0, 200));
    assert.match(refused, /retry-after: 2/i);
    const body = JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4));
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'overloaded_error');
    assert.match(body.error.message, /2 MiB/);

    const small = await httpRequest(h.port, '/v1/chat/completions', { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'small' }] } });
    assert.equal(small.status, 200, 'small requests still pass');

    stalled.forEach((s) => s.socket.destroy());
    await new Promise((r) => setTimeout(r, 200));
    const big = await httpRequest(h.port, '/v1/chat/completions', { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'y'.repeat(900_000) }] } });
    assert.equal(big.status, 200, 'the budget came back');
  });

  it('a chunked body past the budget is refused too', async () => {
    const limit = 1024 * 1024;
    const h = await start({ keys: [DEMO_USABLE_KEYS[0]], proxy: { bodyLimitBytes: limit } });
    const stalled = [0, 1].map(() => stalledUpload(h.port, '/v1/chat/completions', 1_000_000, 990_000));
    defer(() => stalled.forEach((s) => s.socket.destroy()));
    await new Promise((r) => setTimeout(r, 300));
    const res = await httpRequest(h.port, '/v1/chat/completions', { chunked: true, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'z'.repeat(200_000) }] } });
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json().error.code, 'proxy_busy');
  });
});
