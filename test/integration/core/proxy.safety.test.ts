// Local safety of the proxy: body limit, malformed JSON, DNS rebinding (Host), cross-site
// browser requests (Origin), CORS when allowed, and the optional access token.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { DEMO_USABLE_KEYS, replyText } from '../../fake/fakeDaiDai';
import { maskKey } from '../../../src/core/util/mask';
import { harnessPerTest, type Harness } from './helpers/harness';
import { httpRequest, type HttpResult } from './helpers/http';

const [K0] = DEMO_USABLE_KEYS;

/** A chat body whose JSON is exactly `bytes` long. */
function chatBodyOfSize(bytes: number): string {
  const base = JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: '' }] });
  const pad = bytes - Buffer.byteLength(base);
  if (pad < 0) throw new Error(`a chat body cannot be ${bytes} bytes`);
  return JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(pad) }] });
}

function assertOpenAiError(res: HttpResult, status: number): { message: string; code?: string } {
  assert.equal(res.status, status, res.text);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  assert.equal(typeof body.error?.message, 'string', `not an OpenAI error: ${res.text}`);
  assert.ok(body.error.message.length > 10);
  return body.error;
}

function assertAnthropicError(res: HttpResult, status: number): { type: string; message: string } {
  assert.equal(res.status, status, res.text);
  const body = res.json();
  assert.equal(body.type, 'error', `not an Anthropic error: ${res.text}`);
  assert.equal(typeof body.error?.type, 'string');
  assert.equal(typeof body.error?.message, 'string');
  return body.error;
}

/**
 * A raw client that does not read while it sends, as a busy uploader: once the proxy resets the
 * connection, the kernel drops whatever answer was waiting unread. Resolves with what it read.
 */
async function sendThenRead(port: number, body: Buffer): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const write = (chunk: Buffer | string) =>
    new Promise<boolean>((resolve) => {
      if (socket.destroyed) return resolve(false);
      socket.write(chunk, (err) => resolve(!err));
    });
  if (await write(head)) {
    for (let at = 0; at < body.length; at += 1024 * 1024) if (!(await write(body.subarray(at, at + 1024 * 1024)))) break;
  }
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await new Promise<void>((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    // A kept-open connection after a complete answer is fine too.
    socket.on('data', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /content-length: (\d+)\r\n/i.exec(text);
      const end = text.indexOf('\r\n\r\n');
      if (m && end !== -1 && text.length >= end + 4 + Number(m[1])) resolve();
    });
    socket.resume();
  });
  socket.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

const messagesHeaders = { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

describe('proxy local safety (loopback, against the fake DaiDai)', function () {
  const { start } = harnessPerTest();

  describe('body limit', () => {
    let h: Harness;
    beforeEach(async () => {
      h = await start({ keys: [K0], proxy: { bodyLimitBytes: 1024 } });
    });

    it('a body past the limit (Content-Length) → 413 in OpenAI format, nothing forwarded', async () => {
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatBodyOfSize(4096) });
      assertOpenAiError(res, 413);
      assert.equal(h.fake.requests.length, 0);
    });

    it('a body past the limit (chunked, no Content-Length) → 413 too', async () => {
      const res = await httpRequest(h.port, '/v1/chat/completions', {
        headers: { 'content-type': 'application/json' },
        body: chatBodyOfSize(4096),
        chunked: true,
      });
      assertOpenAiError(res, 413);
      assert.equal(h.fake.requests.length, 0);
    });

    it('on the Anthropic route → 413 in Anthropic format', async () => {
      const body = JSON.stringify({ model: 'claude-sonnet-4-5-20250929', max_tokens: 8, messages: [{ role: 'user', content: 'y'.repeat(4096) }] });
      const res = await httpRequest(h.port, '/v1/messages', { headers: messagesHeaders, body });
      assertAnthropicError(res, 413);
      assert.equal(h.fake.requests.length, 0);
    });

    it('a chunked body under the limit passes', async () => {
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatBodyOfSize(1000), chunked: true });
      assert.equal(res.status, 200, res.text);
      assert.equal(h.fake.requests.length, 1);
    });

    it('the limit applies live after updateOptions', async () => {
      assert.equal(h.proxy.updateOptions({ bodyLimitBytes: 8192 }).needsRestart, false);
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatBodyOfSize(4096) });
      assert.equal(res.status, 200, res.text);
    });

    it('a body of exactly the limit passes', async () => {
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: chatBodyOfSize(1024) });
      assert.equal(res.status, 200, res.text);
      assert.equal(h.fake.requests.length, 1);
    });
  });

  describe('an oversized body gets its 413 while the client is still sending (no EPIPE without an answer)', () => {
    const big = Buffer.alloc(50 * 1024 * 1024, 0x61);
    big.write('{"model":"gpt-4o","messages":[{"role":"user","content":"', 0);

    it('50 MB against the default 32 MiB limit, five times in a row on OpenAI and Anthropic routes', async () => {
      const h = await start({ keys: [K0] });
      for (let i = 0; i < 5; i++) {
        const anthropic = i % 2 === 1;
        const res = await httpRequest(h.port, anthropic ? '/v1/messages' : '/v1/chat/completions', {
          headers: anthropic ? messagesHeaders : { 'content-type': 'application/json' },
          body: big,
        });
        if (anthropic) assertAnthropicError(res, 413);
        else assertOpenAiError(res, 413);
        assert.match(res.statusMessage, /larger than the proxy's limit/);
        assert.equal(res.headers.connection, 'close');
      }
      assert.equal(h.fake.requests.length, 0);
      assert.equal((await httpRequest(h.port, '/v1/models')).status, 200, 'the proxy kept serving');
    });

    it('a client that reads only after it has sent everything still gets the 413 (a reset would have thrown it away)', async () => {
      const h = await start({ keys: [K0] });
      const answer = await sendThenRead(h.port, big);
      assert.match(answer, /^HTTP\/1\.1 413 /, `got: ${answer.slice(0, 120) || '(nothing)'}`);
      assert.match(answer, /request_too_large/);
    });

    it('50 MB sent chunked (no Content-Length) → 413 as well', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: big, chunked: true });
      assertOpenAiError(res, 413);
      assert.equal(h.fake.requests.length, 0);
    });
  });

  it('a client that gives up half-way through sending its body: nothing forwarded, the proxy keeps serving', async () => {
    const h = await start({ keys: [K0] });
    const req = http.request({
      host: '127.0.0.1',
      port: h.port,
      path: '/v1/chat/completions',
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': '5000' },
    });
    req.on('error', () => {});
    const closed = new Promise<void>((resolve) => req.once('close', () => resolve()));
    // Written and flushed before the hang-up, so the proxy really is mid-body when it comes.
    await new Promise<void>((resolve) => req.write('{"model":"gpt-4o","messages":[', () => resolve()));
    req.destroy();
    await closed;
    const res = await httpRequest(h.port, '/v1/models');
    assert.equal(res.status, 200);
    assert.equal(h.fake.requests.length, 1, 'the half-sent request reached the gateway');
    assert.equal(h.fake.requests[0].path, '/v1/models');
  });

  describe('malformed JSON', () => {
    it('→ 400 in OpenAI format on OpenAI routes; nothing reaches the upstream', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '{"model":"gpt-4o","messages":[' });
      const err = assertOpenAiError(res, 400);
      assert.match(err.message, /JSON/);
      assert.equal(h.fake.requests.length, 0);
    });

    it('→ 400 in Anthropic format on /v1/messages', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/messages?beta=true', { headers: messagesHeaders, body: '{"model": claude}' });
      const err = assertAnthropicError(res, 400);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(h.fake.requests.length, 0);
    });

    it('an error below the top level is the gateway\'s to answer: forwarded, its 400 passed back', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/chat/completions', {
        headers: { 'content-type': 'application/json' },
        body: '{"model":"gpt-4o","messages":[{"role":"user",,"content":"x"}]}',
      });
      assert.equal(res.status, 400, res.text);
      assert.equal(h.fake.requests.length, 1, 'a deep error must reach the gateway');
      assert.equal(h.fake.requests[0].model, undefined);
      assert.match(res.json().error.message, /Malformed JSON/);
      assert.equal(h.keyState(K0).stats.failures, 0);
    });

    it('a body that is JSON but not an object → 400 locally', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: '[{"model":"gpt-4o"}]' });
      const err = assertOpenAiError(res, 400);
      assert.match(err.message, /not a JSON object/);
      assert.equal(h.fake.requests.length, 0);
    });

    it('→ 400 also without a Content-Type when the body looks like JSON', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/embeddings', { body: Buffer.from('{"input": "a",,}') });
      assertOpenAiError(res, 400);
      assert.equal(h.fake.requests.length, 0);
    });
  });

  describe('Host (DNS rebinding)', () => {
    it('a Host that is not a loopback name → 403, nothing forwarded', async () => {
      const h = await start({ keys: [K0] });
      for (const host of ['evil.example', `evil.example:${h.port}`, `127.0.0.1.nip.io:${h.port}`, `localhost.evil.example:${h.port}`, '10.0.0.5']) {
        const res = await httpRequest(h.port, '/v1/models', { headers: { host } });
        assert.equal(res.status, 403, `Host ${host}: ${res.text}`);
        assert.equal(typeof res.json().error.message, 'string');
        const chat = await httpRequest(h.port, '/v1/chat/completions', { headers: { host }, body: { model: 'gpt-4o', messages: [] } });
        assert.equal(chat.status, 403, `Host ${host} (chat)`);
      }
      assert.equal(h.fake.requests.length, 0);
    });

    it('loopback Host forms are served (127.0.0.1, localhost, [::1])', async () => {
      const h = await start({ keys: [K0] });
      for (const host of [`127.0.0.1:${h.port}`, `localhost:${h.port}`, 'localhost', `[::1]:${h.port}`]) {
        const res = await httpRequest(h.port, '/v1/models', { headers: { host } });
        assert.equal(res.status, 200, `Host ${host}: ${res.text}`);
      }
    });
  });

  describe('Origin (browser pages)', () => {
    it('a cross-site Origin → 403, nothing forwarded (no CORS by default)', async () => {
      const h = await start({ keys: [K0] });
      for (const origin of ['https://evil.example', 'null', `http://localhost:${h.port + 1}`]) {
        const res = await httpRequest(h.port, '/v1/chat/completions', {
          headers: { origin, 'content-type': 'text/plain' },
          body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'steal' }] }),
        });
        assert.equal(res.status, 403, `Origin ${origin}: ${res.text}`);
        assert.equal(res.headers['access-control-allow-origin'], undefined);
      }
      const preflight = await httpRequest(h.port, '/v1/chat/completions', {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      assert.equal(preflight.status, 403);
      assert.equal(preflight.headers['access-control-allow-origin'], undefined);
      assert.equal(h.fake.requests.length, 0);
    });

    it('a cross-site fetch without Origin (Sec-Fetch-Site: cross-site) → 403', async () => {
      const h = await start({ keys: [K0] });
      const res = await httpRequest(h.port, '/v1/models', { headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' } });
      assert.equal(res.status, 403);
      assert.equal(h.fake.requests.length, 0);
    });

    it('an allowed origin gets CORS headers, and its OPTIONS preflight a 204', async () => {
      const h = await start({ keys: [K0], proxy: { allowedOrigins: ['https://app.example'] } });
      const preflight = await httpRequest(h.port, '/v1/chat/completions', {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
      assert.match(String(preflight.headers['access-control-allow-methods']), /POST/);
      assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/i);
      assert.equal(h.fake.requests.length, 0, 'a preflight must not reach the gateway');

      const res = await httpRequest(h.port, '/v1/chat/completions', {
        headers: { origin: 'https://app.example', authorization: 'Bearer sk-browser' },
        body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'from the page' }] },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['access-control-allow-origin'], 'https://app.example');
      assert.match(String(res.headers['access-control-expose-headers']), /x-daidai-key/);
      assert.equal(res.json().choices[0].message.content, replyText('from the page'));
      assert.equal(h.fake.requests[0].headers.origin, undefined, 'Origin is not forwarded to the gateway');

      const other = await httpRequest(h.port, '/v1/models', { headers: { origin: 'https://evil.example' } });
      assert.equal(other.status, 403, 'only the listed origin is allowed');
    });
  });

  it('a CORS preflight needs no access token (browsers send none); the real request does', async () => {
    const h = await start({ keys: [K0], proxy: { allowedOrigins: ['https://app.example'], accessToken: 'tok-1234567890abcdef' } });
    const preflight = await httpRequest(h.port, '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.status, 204);
    const without = await httpRequest(h.port, '/v1/models', { headers: { origin: 'https://app.example' } });
    assert.equal(without.status, 401);
    assert.equal(without.headers['access-control-allow-origin'], 'https://app.example', 'the page can read why it was refused');
    const withToken = await httpRequest(h.port, '/v1/models', { headers: { origin: 'https://app.example', authorization: 'Bearer tok-1234567890abcdef' } });
    assert.equal(withToken.status, 200);
  });

  describe('access token', () => {
    const TOKEN = 'local-access-token-5f3a9c1e7b';
    let h: Harness;
    beforeEach(async () => {
      h = await start({ keys: [K0], proxy: { accessToken: TOKEN } });
    });

    it('without it (or with a wrong one) → 401 in the client format, nothing forwarded', async () => {
      assertOpenAiError(await httpRequest(h.port, '/v1/models'), 401);
      assertOpenAiError(await httpRequest(h.port, '/v1/models', { headers: { authorization: 'Bearer not-the-token' } }), 401);
      assertOpenAiError(await httpRequest(h.port, '/v1/models', { headers: { authorization: `Bearer ${TOKEN}x` } }), 401);
      const anthropic = await httpRequest(h.port, '/v1/messages', {
        headers: { 'x-api-key': 'wrong', 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] },
      });
      assertAnthropicError(anthropic, 401);
      assert.equal(h.fake.requests.length, 0);
    });

    it('with it as Bearer or as x-api-key → served, and the token never reaches the upstream', async () => {
      const a = await httpRequest(h.port, '/v1/chat/completions', {
        headers: { authorization: `Bearer ${TOKEN}` },
        body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'token ok' }] },
      });
      assert.equal(a.status, 200, a.text);
      const b = await httpRequest(h.port, '/v1/messages?beta=true', {
        headers: { 'x-api-key': TOKEN, 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 8, messages: [{ role: 'user', content: 'token ok' }] },
      });
      assert.equal(b.status, 200, b.text);
      const c = await httpRequest(h.port, '/v1/messages', {
        headers: { authorization: `Bearer ${TOKEN}`, 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 8, messages: [{ role: 'user', content: 'claude code' }] },
      });
      assert.equal(c.status, 200, c.text);
      const d = await httpRequest(h.port, '/v1/models', { headers: { 'x-api-key': TOKEN } });
      assert.equal(d.status, 200, d.text);
      assert.equal(h.fake.requests.length, 4);
      assert.ok(!JSON.stringify(h.fake.requests).includes(TOKEN), 'the access token reached the gateway');
      for (const r of h.fake.requests) assert.equal(maskKey(r.key ?? ''), maskKey(K0));
    });
  });
});
