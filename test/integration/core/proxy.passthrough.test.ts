// The proxy as a transparent pipe: every endpoint answers exactly what the gateway answers for
// the same key, with the client's credentials replaced by the pool's key on the way up.
import * as assert from 'node:assert/strict';
import OpenAI from 'openai';
import { DEMO_MODELS, DEMO_USABLE_KEYS, embeddingVector, replyText, streamedReplyText } from '../../fake/fakeDaiDai';
import { maskKey } from '../../../src/core/util/mask';
import { harnessPerTest, type Harness } from './helpers/harness';
import * as http from 'node:http';
import { httpRequest, openaiStreamText, type HttpOptions, type HttpResult } from './helpers/http';
import { startTinyUpstream } from './helpers/upstream';
import { within } from './helpers/harness';

const KEY = DEMO_USABLE_KEYS[0];
/** What a client sends as its own "API key": it must never reach the gateway. */
const CLIENT_BEARER = 'sk-client-bearer-0123456789abcdefghij';
const CLIENT_X_API_KEY = 'sk-client-xapikey-0123456789abcdefghij';

interface Endpoint {
  name: string;
  path: string;
  anthropic: boolean;
  opts: HttpOptions;
}

const user = (content: string) => [{ role: 'user', content }];

const endpoints: Endpoint[] = [
  { name: 'GET /v1/models', path: '/v1/models', anthropic: false, opts: { method: 'GET' } },
  {
    name: 'POST /v1/chat/completions',
    path: '/v1/chat/completions',
    anthropic: false,
    opts: { body: { model: '[官Max]claude-sonnet-4-5-20250929', messages: user('你好, proxy') } },
  },
  {
    name: 'POST /v1/chat/completions (stream)',
    path: '/v1/chat/completions',
    anthropic: false,
    opts: {
      headers: { 'x-demo-chunks': '7' },
      body: { model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: user('stream me, please') },
    },
  },
  { name: 'POST /v1/completions', path: '/v1/completions', anthropic: false, opts: { body: { model: 'gpt-4o-mini', prompt: 'Say hi' } } },
  {
    name: 'POST /v1/embeddings',
    path: '/v1/embeddings',
    anthropic: false,
    opts: { body: { model: 'text-embedding-3-small', input: ['one', 'two', '三'] } },
  },
  {
    name: 'POST /v1/messages',
    path: '/v1/messages',
    anthropic: true,
    opts: { headers: { 'anthropic-version': '2023-06-01' }, body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, messages: user('Hello Claude') } },
  },
  {
    name: 'POST /v1/messages (stream)',
    path: '/v1/messages',
    anthropic: true,
    opts: {
      headers: { 'anthropic-version': '2023-06-01', 'x-demo-chunks': '5' },
      body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, stream: true, messages: user('Stream, Claude') },
    },
  },
  {
    name: 'POST /v1/messages/count_tokens',
    path: '/v1/messages/count_tokens',
    anthropic: true,
    opts: { headers: { 'anthropic-version': '2023-06-01' }, body: { model: 'claude-sonnet-4-5-20250929', system: 'Be brief.', messages: user('Count these tokens') } },
  },
];

/** The same request with a credential header set (and any other credential header removed). */
function withAuth(opts: HttpOptions, auth: Record<string, string>): HttpOptions {
  return { ...opts, headers: { ...opts.headers, ...auth } };
}

describe('proxy pass-through (loopback, against the fake DaiDai)', function () {
  const { start, defer } = harnessPerTest();

  describe('each endpoint answers byte-for-byte what the gateway answers for the same key', () => {
    for (const ep of endpoints) {
      it(ep.name, async () => {
        const h = await start({ keys: [KEY] });
        const direct = await httpRequest(
          h.fake.port,
          ep.path,
          withAuth(ep.opts, ep.anthropic ? { 'x-api-key': KEY } : { authorization: `Bearer ${KEY}` }),
        );
        assert.equal(direct.status, 200, `direct call failed: ${direct.text}`);
        const proxied = await httpRequest(
          h.port,
          ep.path,
          withAuth(ep.opts, ep.anthropic ? { 'x-api-key': CLIENT_X_API_KEY } : { authorization: `Bearer ${CLIENT_BEARER}` }),
        );
        assert.equal(proxied.status, direct.status);
        assert.equal(proxied.headers['content-type'], direct.headers['content-type']);
        assert.ok(proxied.body.length > 0);
        assert.ok(proxied.body.equals(direct.body), `bodies differ:\nproxy:  ${proxied.text.slice(0, 400)}\ndirect: ${direct.text.slice(0, 400)}`);

        const log = h.fake.requests;
        assert.equal(log.length, 2, 'one direct and one proxied request');
        assert.equal(maskKey(log[1].key ?? ''), maskKey(KEY), 'the proxied request carried the pool key');
        assert.equal(log[1].path, ep.path);
        assert.equal(log[1].method, ep.opts.method ?? 'POST');
      });
    }
  });

  describe('credentials', () => {
    it('Anthropic /v1/messages with x-api-key: upstream gets x-api-key = pool key and no Authorization', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/messages', {
        headers: { 'x-api-key': CLIENT_X_API_KEY, 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-3-5-haiku-20241022', max_tokens: 16, messages: user('hi') },
      });
      assert.equal(res.status, 200, res.text);
      const up = h.fake.requests[0].headers;
      assert.equal(up['x-api-key'], KEY);
      assert.equal(up.authorization, undefined);
      assert.equal(up['anthropic-version'], '2023-06-01', 'other headers are forwarded');
      assert.equal(res.json().content[0].text, replyText('hi'));
    });

    it('Claude Code: POST /v1/messages?beta=true with only Authorization: Bearer → upstream gets x-api-key AND Authorization with the pool key', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/messages?beta=true', {
        headers: { authorization: `Bearer ${CLIENT_BEARER}`, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'claude-code-20250219' },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 16, stream: true, messages: user('from claude code') },
      });
      assert.equal(res.status, 200, res.text);
      assert.match(String(res.headers['content-type']), /^text\/event-stream/);
      const entry = h.fake.requests[0];
      assert.equal(entry.path, '/v1/messages?beta=true');
      assert.equal(entry.headers['x-api-key'], KEY);
      assert.equal(entry.headers.authorization, `Bearer ${KEY}`);
      assert.equal(entry.headers['anthropic-beta'], 'claude-code-20250219');
    });

    it("OpenAI routes: the client's Authorization and x-api-key are replaced by Authorization: Bearer <pool key>", async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/chat/completions', {
        headers: { authorization: `Bearer ${CLIENT_BEARER}`, 'x-api-key': CLIENT_X_API_KEY, 'api-key': CLIENT_X_API_KEY },
        body: { model: 'gpt-4o', messages: user('hi') },
      });
      assert.equal(res.status, 200, res.text);
      const up = h.fake.requests[0].headers;
      assert.equal(up.authorization, `Bearer ${KEY}`);
      assert.equal(up['x-api-key'], undefined);
      assert.equal(up['api-key'], undefined);
    });

    it("the client's keys never reach the upstream, on any endpoint: the fake's log shows only pool keys", async () => {
      const h = await start({ keys: DEMO_USABLE_KEYS.slice(0, 3) });
      for (const ep of endpoints) {
        const res = await httpRequest(
          h.port,
          ep.path,
          withAuth(ep.opts, { authorization: `Bearer ${CLIENT_BEARER}`, 'x-api-key': CLIENT_X_API_KEY }),
        );
        assert.equal(res.status, 200, `${ep.name}: ${res.text}`);
      }
      // SillyTavern with an empty key field.
      for (const empty of ['Bearer', 'Bearer undefined']) {
        const res = await httpRequest(h.port, '/v1/models', { headers: { authorization: empty } });
        assert.equal(res.status, 200, `${empty}: ${res.text}`);
      }
      const log = h.fake.requests;
      assert.equal(log.length, endpoints.length + 2);
      const serialized = JSON.stringify(log);
      assert.ok(!serialized.includes(CLIENT_BEARER), 'client Bearer reached the upstream');
      assert.ok(!serialized.includes(CLIENT_X_API_KEY), 'client x-api-key reached the upstream');
      assert.ok(!serialized.includes('undefined"'), 'the client\'s "Bearer undefined" reached the upstream');
      for (const entry of log) assert.ok(h.keys.includes(entry.key ?? ''), `request ${entry.path} carried ${entry.key}`);
    });
  });

  describe('paths, query and headers', () => {
    it('keeps the query string intact', async () => {
      const h = await start({ keys: [KEY] });
      const query = '?a=1&b=%E4%BD%A0%E5%A5%BD&c=&d=x%2By&e=1&e=2';
      const res = await httpRequest(h.port, `/v1/models${query}`);
      assert.equal(res.status, 200, res.text);
      assert.equal(h.fake.requests[0].path, `/v1/models${query}`);
    });

    it('strips hop-by-hop headers (and those named in Connection) on the way up, keeps end-to-end ones', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/chat/completions', {
        headers: {
          connection: 'keep-alive, x-hop-secret',
          'keep-alive': 'timeout=5',
          'x-hop-secret': 'must-not-pass',
          te: 'trailers',
          'proxy-authorization': 'Basic dXNlcjpwYXNz',
          'proxy-connection': 'keep-alive',
          'x-end-to-end': 'kept',
          'openai-organization': 'org-test',
        },
        body: { model: 'gpt-4o', messages: user('hop') },
      });
      assert.equal(res.status, 200, res.text);
      const up = h.fake.requests[0].headers;
      for (const name of ['keep-alive', 'x-hop-secret', 'te', 'proxy-authorization', 'proxy-connection']) {
        assert.equal(up[name], undefined, `${name} reached the upstream`);
      }
      assert.ok(!String(up.connection ?? '').includes('x-hop-secret'), 'the client Connection header was forwarded');
      assert.equal(up['x-end-to-end'], 'kept');
      assert.equal(up['openai-organization'], 'org-test');
      assert.equal(up.host, `127.0.0.1:${h.fake.port}`, 'Host is the upstream one, not the client one');
    });

    it('strips hop-by-hop headers of the answer on the way back', async () => {
      const up = await startTinyUpstream((req, res) => {
        req.resume();
        res.setHeader('connection', 'x-upstream-hop');
        res.setHeader('x-upstream-hop', 'must-not-pass');
        res.setHeader('proxy-authenticate', 'Basic realm="upstream"');
        res.setHeader('x-request-id', 'req-123');
        res.setHeader('content-type', 'application/json');
        res.end('{"object":"list","data":[]}');
      });
      defer(() => up.close());
      const h = await start({ keys: [KEY], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
      const res = await httpRequest(h.port, '/v1/models');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, '{"object":"list","data":[]}');
      assert.equal(res.headers['x-upstream-hop'], undefined);
      assert.equal(res.headers['proxy-authenticate'], undefined);
      assert.ok(!String(res.headers.connection ?? '').includes('x-upstream-hop'));
      assert.equal(res.headers['x-request-id'], 'req-123', 'end-to-end headers come back');
    });

    it('a large (~100 KB) Claude Code request streams through unchanged', async () => {
      const h = await start({ keys: [KEY] });
      const system = Array.from({ length: 2000 }, (_, i) => `Rule ${i}: stay on task, 用中文也可以.`).join('\n');
      const body = { model: 'claude-sonnet-4-5-20250929', max_tokens: 1024, stream: true, system, messages: user('big one') };
      assert.ok(Buffer.byteLength(JSON.stringify(body)) > 76_000);
      const direct = await httpRequest(h.fake.port, '/v1/messages?beta=true', { headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' }, body });
      const proxied = await httpRequest(h.port, '/v1/messages?beta=true', { headers: { authorization: `Bearer ${CLIENT_BEARER}`, 'anthropic-version': '2023-06-01' }, body });
      assert.equal(proxied.status, 200, proxied.text);
      assert.ok(proxied.body.equals(direct.body), 'the answer differs, so the request body did');
      assert.equal(h.fake.requests[1].headers['content-length'], String(Buffer.byteLength(JSON.stringify(body))));
    });

    it('a chunked request body (no Content-Length) is forwarded whole', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/chat/completions', { body: { model: 'gpt-4o', messages: user('sent in chunks') }, chunked: true });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().choices[0].message.content, replyText('sent in chunks'));
    });

    it('Expect: 100-continue (curl with a body over 1 KB) gets its 100 and then the answer', async () => {
      const h = await start({ keys: [KEY] });
      const payload = JSON.stringify({ model: 'gpt-4o', messages: user('c'.repeat(2000)) });
      const res = await within(
        new Promise<HttpResult>((resolve, reject) => {
          const req = http.request({
            host: '127.0.0.1',
            port: h.port,
            path: '/v1/chat/completions',
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), expect: '100-continue' },
          });
          defer(() => req.destroy());
          req.once('continue', () => req.end(payload));
          req.once('error', reject);
          req.once('response', (r) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.once('end', () => {
              const body = Buffer.concat(chunks);
              resolve({ status: r.statusCode ?? 0, statusMessage: r.statusMessage ?? '', headers: r.headers, body, text: body.toString(), json: () => JSON.parse(body.toString()) });
            });
          });
        }),
        5000,
        'Expect: 100-continue request',
      );
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().choices[0].message.content, replyText('c'.repeat(2000)));
      assert.equal(h.fake.requests[0].headers.expect, undefined, 'Expect is hop-by-hop');
    });

    it('answers carry x-daidai-key (masked, never the key) and x-daidai-attempts', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/v1/models', { headers: { authorization: `Bearer ${CLIENT_BEARER}` } });
      assert.equal(res.status, 200);
      const shown = String(res.headers['x-daidai-key']);
      assert.equal(shown, maskKey(KEY).replace('…', '...'));
      assert.ok(!shown.includes(KEY.slice(3, 20)), 'x-daidai-key shows the key in clear');
      assert.ok(shown.length < KEY.length);
      assert.equal(res.headers['x-daidai-attempts'], '1');
    });

    for (const [typed, upstreamPath] of [
      ['/v1//chat/completions', '/v1/chat/completions'],
      ['/chat/completions', '/v1/chat/completions'],
      ['/v1//models', '/v1/models'],
      ['/models', '/v1/models'],
      ['/v1/models/', '/v1/models'],
    ] as const) {
      it(`accepts the mistyped base URL form ${typed}`, async () => {
        const h = await start({ keys: [KEY] });
        const chat = upstreamPath.endsWith('/chat/completions');
        const res = await httpRequest(
          h.port,
          typed,
          chat ? { headers: { authorization: 'Bearer' }, body: { model: 'gpt-4o', messages: user('typo') } } : { headers: { authorization: 'Bearer' } },
        );
        assert.equal(res.status, 200, res.text);
        if (chat) assert.equal(res.json().choices[0].message.content, replyText('typo'));
        else assert.deepEqual(res.json().data.map((m: { id: string }) => m.id), [...DEMO_MODELS]);
        assert.equal(h.fake.requests.length, 1);
        assert.equal(h.fake.requests[0].path, upstreamPath);
      });
    }

    it('Claude Code with a trailing slash in ANTHROPIC_BASE_URL (//v1/messages?beta=true) works', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '//v1/messages?beta=true', {
        headers: { authorization: `Bearer ${CLIENT_BEARER}`, 'anthropic-version': '2023-06-01' },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 8, messages: user('slash') },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().content[0].text, replyText('slash'));
      assert.equal(h.fake.requests[0].path, '/v1/messages?beta=true');
      assert.equal(h.fake.requests[0].headers['x-api-key'], KEY);
    });

    it('HEAD / answers 200 without touching the upstream (Claude Code probes it)', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/', { method: 'HEAD' });
      assert.equal(res.status, 200);
      assert.equal(h.fake.requests.length, 0);
    });

    it('a path outside the API is a 404 in OpenAI format, not forwarded', async () => {
      const h = await start({ keys: [KEY] });
      const res = await httpRequest(h.port, '/not-an-api/thing');
      assert.equal(res.status, 404);
      assert.equal(typeof res.json().error.message, 'string');
      assert.equal(h.fake.requests.length, 0);
    });
  });

  describe('the official openai npm client (v6) with any API key', () => {
    let h: Harness;
    let client: OpenAI;
    beforeEach(async () => {
      h = await start();
      client = new OpenAI({ baseURL: h.v1, apiKey: 'any-key-at-all', maxRetries: 0, timeout: 10_000 });
    });

    it('models.list', async () => {
      const ids: string[] = [];
      for await (const m of await client.models.list()) ids.push(m.id);
      assert.deepEqual(ids, [...DEMO_MODELS]);
    });

    it('chat.completions.create', async () => {
      const r = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'SDK says hi' }] });
      assert.equal(r.choices[0].message.content, replyText('SDK says hi'));
    });

    it('chat.completions.create with stream: true', async () => {
      const stream = await client.chat.completions.create(
        { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'SDK streams' }] },
        { headers: { 'x-demo-chunks': '6' } },
      );
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      assert.equal(text, streamedReplyText('SDK streams', 6));
      assert.ok(chunks >= 6);
    });

    it('embeddings.create', async () => {
      const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
      assert.equal(r.data.length, 2);
      assert.deepEqual(r.data[0].embedding, embeddingVector('alpha', 16));
      assert.deepEqual(r.data[1].embedding, embeddingVector('beta', 16));
    });

    it('the SDK key never reaches the upstream', async () => {
      await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
      assert.ok(!JSON.stringify(h.fake.requests).includes('any-key-at-all'));
      assert.ok(h.keys.includes(h.fake.requests[0].key ?? ''));
    });
  });

  it('stream text through the proxy equals the deterministic reply (sanity of the helpers)', async () => {
    const h = await start({ keys: [KEY] });
    const res = await httpRequest(h.port, '/v1/chat/completions', {
      headers: { 'x-demo-chunks': '4' },
      body: { model: 'gpt-4o', stream: true, messages: user('abc') },
    });
    assert.equal(openaiStreamText(res.text), streamedReplyText('abc', 4));
  });
});
