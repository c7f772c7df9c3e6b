// The fake DaiDai on real loopback sockets: the platform API, the gateway's answers in both
// formats, per-key faults and the request log. Tests, the demo and the benchmark rely on these.

import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { Agent, request } from 'undici';
import OpenAI from 'openai';
import {
  createFakeDaiDai,
  DEMO_ACCOUNT,
  DEMO_KEYS,
  DEMO_MODELS,
  DEMO_USABLE_KEYS,
  embeddingVector,
  replyText,
  streamedReplyText,
  type FakeDaiDai,
} from '../../fake/fakeDaiDai';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

interface SseEvent {
  event?: string;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    const ev: SseEvent = { data: '' };
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) ev.event = line.slice(7);
      else if (line.startsWith('data: ')) ev.data += line.slice(6);
    }
    out.push(ev);
  }
  return out;
}

const [KEY_A, KEY_B, KEY_C] = DEMO_USABLE_KEYS;
const UNPAID = DEMO_KEYS.find((k) => k.state === 'pending')!.key;
const BROKEN = DEMO_KEYS.find((k) => k.hasError)!.key;

describe('fake DaiDai (loopback)', () => {
  let fake: FakeDaiDai;
  let agent: Agent;

  async function call(method: string, path: string, opts: { body?: unknown; raw?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | undefined = opts.raw;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await request(fake.url + path, { method: method as 'GET', headers, body, dispatcher: agent, signal: opts.signal });
    const text = await res.body.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  }

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const chat = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }], ...extra });

  async function login(): Promise<string> {
    const r = await call('POST', '/api/users/login', { body: { userEmail: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password } });
    assert.equal(r.json.code, 200);
    return r.json.token as string;
  }

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0);
    agent = new Agent();
  });

  afterEach(async () => {
    await agent.close();
    await fake.stop();
  });

  describe('platform API', () => {
    it('logs in with the demo account and refuses a wrong password with HTTP 200 and the platform message', async () => {
      const ok = await call('POST', '/api/users/login', { body: { userEmail: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password } });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.code, 200);
      assert.match(ok.json.token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal(ok.json.msg.userId, DEMO_ACCOUNT.userId);

      const bad = await call('POST', '/api/users/login', { body: { userEmail: DEMO_ACCOUNT.email, password: 'nope' } });
      assert.equal(bad.status, 200);
      assert.notEqual(bad.json.code, 200);
      assert.equal(bad.json.msg, '邮箱或密码错误');
      assert.equal(bad.json.token, undefined);
      assert.deepEqual(fake.platformCalls, { '/api/users/login': 2 });
    });

    it('pages the orders, wants userData as a JSON string and a valid token', async () => {
      const token = await login();
      const userData = JSON.stringify({ userId: DEMO_ACCOUNT.userId });
      const seen: any[] = [];
      let totalPages = 0;
      for (let page = 1; page <= 20; page++) {
        const r = await call('POST', '/api/general/orders', { body: { userData, page, pageSize: 50 }, headers: bearer(token) });
        assert.equal(r.json.code, 200);
        totalPages = r.json.totalPages;
        assert.ok(r.json.msg.length <= 2, 'default page size is 2 so paging is exercised');
        seen.push(...r.json.msg);
        if (page >= totalPages) break;
      }
      assert.equal(totalPages, Math.ceil(DEMO_KEYS.length / 2));
      assert.equal(seen.length, DEMO_KEYS.length);
      // Both key field names, both number forms, a missing balance, and the unusable orders are there.
      assert.ok(seen.some((o) => typeof o.key === 'string') && seen.some((o) => typeof o.api_key === 'string'));
      assert.ok(seen.some((o) => typeof o.balance === 'string') && seen.some((o) => typeof o.balance === 'number'));
      assert.ok(seen.some((o) => o.balance === undefined));
      assert.ok(seen.some((o) => o.state !== 'success') && seen.some((o) => o.hasError === true));
      assert.equal(seen.filter((o) => (o.key ?? o.api_key) === KEY_A).length, 2, 'key A sits in two orders');

      const objectUserData = await call('POST', '/api/general/orders', { body: { userData: { userId: DEMO_ACCOUNT.userId }, page: 1 }, headers: bearer(token) });
      assert.equal(objectUserData.status, 200);
      assert.notEqual(objectUserData.json.code, 200);

      const noToken = await call('POST', '/api/general/orders', { body: { userData, page: 1 } });
      assert.equal(noToken.status, 401);

      fake.expireTokens();
      const expired = await call('POST', '/api/general/orders', { body: { userData, page: 1 }, headers: bearer(token) });
      assert.equal(expired.status, 401);
    });

    it('expires tokens after tokenTtlMs on its clock, and can answer 403 instead', async () => {
      await fake.stop();
      let now = 1_000_000;
      fake = createFakeDaiDai({ tokenTtlMs: 60_000, clock: () => now, expiredTokenStatus: 403 });
      await fake.start(0);
      const token = await login();
      const body = { userData: JSON.stringify({ userId: DEMO_ACCOUNT.userId }), page: 1 };
      assert.equal((await call('POST', '/api/general/orders', { body, headers: bearer(token) })).json.code, 200);
      now += 60_000;
      const r = await call('POST', '/api/general/orders', { body, headers: bearer(token) });
      assert.equal(r.status, 403);
    });

    it('answers keyQuota, pricing and the monitor (the monitor without login)', async () => {
      const token = await login();
      const userData = JSON.stringify({ userId: DEMO_ACCOUNT.userId });
      fake.setBalance(KEY_C, 7.25);
      const q = await call('POST', '/api/general/keyQuota', { body: { userData, key: KEY_C }, headers: bearer(token) });
      assert.deepEqual(q.json, { code: 200, msg: { balance: '7.25', utilised: '3.20' } });
      const unknown = await call('POST', '/api/general/keyQuota', { body: { userData, key: 'sk-not-ours' }, headers: bearer(token) });
      assert.notEqual(unknown.json.code, 200);

      const p = await call('POST', '/api/commodity/getPricing', { body: { userId: DEMO_ACCOUNT.userId }, headers: bearer(token) });
      assert.equal(p.json.code, 200);
      assert.ok(p.json.msg.list.some((r: any) => r.is_price === '1'));

      const m = await call('GET', '/api/monitors/status');
      assert.equal(m.status, 200);
      assert.ok(Array.isArray(m.json));
      assert.equal(m.json[0].modelName, '[官Max]claude-sonnet-4-5-20250929');
    });

    it('applies a platform fault to its path only, and counts calls by path', async () => {
      fake.setPlatformFault('/api/monitors/status', { status: 502, body: '<html>Bad gateway</html>', times: 1 });
      const first = await call('GET', '/api/monitors/status');
      assert.equal(first.status, 502);
      assert.equal(first.text, '<html>Bad gateway</html>');
      assert.equal((await call('GET', '/api/monitors/status')).status, 200, 'times: 1 clears the fault');
      await login();
      assert.deepEqual(fake.platformCalls, { '/api/monitors/status': 2, '/api/users/login': 1 });
      fake.resetPlatformCalls();
      assert.deepEqual(fake.platformCalls, {});
    });
  });

  describe('gateway: OpenAI routes', () => {
    it('lists models with UTF-8 channel prefixes', async () => {
      const r = await call('GET', '/v1/models', { headers: bearer(KEY_A) });
      assert.equal(r.status, 200);
      assert.equal(r.json.object, 'list');
      assert.deepEqual(r.json.data.map((m: any) => m.id), DEMO_MODELS);
      assert.ok(r.json.data.some((m: any) => m.id.startsWith('[官Max]')));
    });

    it('answers a chat with the echo of the last user message, and charges the key', async () => {
      const before = fake.balanceOf(KEY_A)!;
      const r = await call('POST', '/v1/chat/completions', { body: chat('你好，世界'), headers: bearer(KEY_A) });
      assert.equal(r.status, 200);
      assert.equal(r.json.object, 'chat.completion');
      assert.equal(r.json.choices[0].message.content, replyText('你好，世界'));
      assert.equal(r.json.choices[0].finish_reason, 'stop');
      assert.ok(r.json.usage.total_tokens > 0);
      assert.equal(fake.balanceOf(KEY_A), Math.round((before - 0.01) * 1e6) / 1e6);
      // Identical requests give identical bytes (ids derive from the request).
      const again = await call('POST', '/v1/chat/completions', { body: chat('你好，世界'), headers: bearer(KEY_B) });
      assert.equal(again.text, r.text);
    });

    it('streams role chunk, N content chunks, finish chunk, usage chunk and [DONE]', async () => {
      const r = await call('POST', '/v1/chat/completions', {
        body: chat('stream me 流式', { stream: true, stream_options: { include_usage: true } }),
        headers: { ...bearer(KEY_A), 'x-demo-chunks': '5' },
      });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), /^text\/event-stream/);
      const events = parseSse(r.text);
      assert.equal(events.at(-1)!.data, '[DONE]');
      const chunks = events.slice(0, -1).map((e) => JSON.parse(e.data));
      assert.equal(chunks.length, 1 + 5 + 1 + 1);
      assert.equal(chunks[0].choices[0].delta.role, 'assistant');
      const content = chunks.slice(1, 6).map((c) => c.choices[0].delta.content);
      assert.ok(content.every((c: string) => c.length > 0));
      assert.equal(content.join(''), streamedReplyText('stream me 流式', 5));
      assert.equal(chunks[6].choices[0].finish_reason, 'stop');
      assert.deepEqual(chunks[7].choices, []);
      assert.equal(chunks[7].usage.completion_tokens, 5);

      const noUsage = parseSse((await call('POST', '/v1/chat/completions', { body: chat('x', { stream: true }), headers: bearer(KEY_A) })).text);
      assert.equal(noUsage.length, 1 + 8 + 1 + 1, 'default 8 chunks, no usage chunk unless asked');
    });

    it('answers completions and deterministic embeddings (float and base64)', async () => {
      const c = await call('POST', '/v1/completions', { body: { model: 'gpt-4o-mini', prompt: 'once upon' }, headers: bearer(KEY_A) });
      assert.equal(c.json.choices[0].text, replyText('once upon'));

      const e = await call('POST', '/v1/embeddings', { body: { model: 'text-embedding-3-small', input: ['alpha', 'beta'] }, headers: bearer(KEY_A) });
      assert.equal(e.status, 200);
      assert.equal(e.json.data.length, 2);
      assert.deepEqual(e.json.data[0].embedding, embeddingVector('alpha', 16));
      assert.notDeepEqual(e.json.data[0].embedding, e.json.data[1].embedding);
      const norm = Math.sqrt(e.json.data[0].embedding.reduce((s: number, x: number) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-5);

      const b = await call('POST', '/v1/embeddings', { body: { model: 'text-embedding-3-small', input: 'alpha', encoding_format: 'base64' }, headers: bearer(KEY_A) });
      const buf = Buffer.from(b.json.data[0].embedding, 'base64');
      const floats = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
      assert.deepEqual(floats, embeddingVector('alpha', 16));
    });

    it('is understood by the official openai SDK (models, chat, stream, embeddings)', async () => {
      const client = new OpenAI({ baseURL: fake.gatewayUrl, apiKey: KEY_B, maxRetries: 0 });
      const models = await client.models.list();
      assert.ok(models.data.some((m) => m.id === 'gpt-4o-mini'));
      const done = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'sdk' }] });
      assert.equal(done.choices[0].message.content, replyText('sdk'));
      const stream = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'sdk stream' }], stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      assert.equal(text, streamedReplyText('sdk stream', 8));
      const emb = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'sdk' });
      assert.deepEqual(emb.data[0].embedding, embeddingVector('sdk', 16));
      assert.ok(fake.requests.every((r) => r.key === KEY_B && r.status === 200));
    });
  });

  describe('gateway: Anthropic routes', () => {
    const msg = (text: string, extra: Record<string, unknown> = {}) => ({ model: '[官Max]claude-sonnet-4-5-20250929', max_tokens: 64, messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra });

    it('answers /v1/messages as JSON with x-api-key, and streams the event sequence with ?beta=true and a Bearer key', async () => {
      const r = await call('POST', '/v1/messages', { body: msg('claude 你好'), headers: { 'x-api-key': KEY_A, 'anthropic-version': '2023-06-01' } });
      assert.equal(r.status, 200);
      assert.equal(r.json.type, 'message');
      assert.equal(r.json.content[0].text, replyText('claude 你好'));
      assert.equal(r.json.stop_reason, 'end_turn');

      const s = await call('POST', '/v1/messages?beta=true', { body: msg('claude stream', { stream: true }), headers: { ...bearer(KEY_B), 'x-demo-chunks': '3' } });
      assert.equal(s.status, 200);
      const events = parseSse(s.text);
      assert.deepEqual(
        events.map((e) => e.event),
        ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
      );
      for (const e of events) assert.equal(JSON.parse(e.data).type, e.event);
      const text = events.filter((e) => e.event === 'content_block_delta').map((e) => JSON.parse(e.data).delta.text).join('');
      assert.equal(text, streamedReplyText('claude stream', 3));
      const logged = fake.requests.at(-1)!;
      assert.equal(logged.path, '/v1/messages?beta=true');
      assert.equal(logged.key, KEY_B);
      assert.equal(logged.stream, true);
    });

    it('counts tokens without charging', async () => {
      const before = fake.balanceOf(KEY_A);
      const r = await call('POST', '/v1/messages/count_tokens', { body: msg('count these words please'), headers: { 'x-api-key': KEY_A } });
      assert.equal(r.status, 200);
      assert.ok(Number.isInteger(r.json.input_tokens) && r.json.input_tokens > 0);
      assert.equal(fake.balanceOf(KEY_A), before);
    });
  });

  describe('gateway: refusals in the route\'s own format', () => {
    it('401 for an unknown or missing key, 403 for an unusable order, 402 when the balance is gone', async () => {
      const unknown = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer('sk-unknown-key-000000000000') });
      assert.equal(unknown.status, 401);
      assert.equal(typeof unknown.json.error.message, 'string');
      assert.equal(unknown.json.error.code, 'invalid_api_key');

      const missing = await call('POST', '/v1/messages', { body: { model: 'c', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] } });
      assert.equal(missing.status, 401);
      assert.equal(missing.json.type, 'error');
      assert.equal(missing.json.error.type, 'authentication_error');

      for (const k of [UNPAID, BROKEN]) {
        const r = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(k) });
        assert.equal(r.status, 403);
      }

      fake.setBalance(KEY_C, 0);
      const oa = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_C) });
      assert.equal(oa.status, 402);
      assert.match(oa.json.error.message, /quota exhausted/);
      assert.match(oa.json.error.message, /余额不足/);
      const an = await call('POST', '/v1/messages', { body: { model: 'c', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-api-key': KEY_C } });
      assert.equal(an.status, 402);
      assert.equal(an.json.type, 'error');
      assert.match(an.json.error.message, /余额不足/);
      assert.equal(fake.balanceOf(KEY_C), 0, 'refused requests are not charged');
    });

    it('400 for malformed JSON and 404 for an unknown /v1 path', async () => {
      const oa = await call('POST', '/v1/chat/completions', { raw: '{"model":', headers: { ...bearer(KEY_A), 'content-type': 'application/json' } });
      assert.equal(oa.status, 400);
      assert.equal(oa.json.error.type, 'invalid_request_error');
      const an = await call('POST', '/v1/messages', { raw: 'not json', headers: { 'x-api-key': KEY_A, 'content-type': 'application/json' } });
      assert.equal(an.status, 400);
      assert.equal(an.json.type, 'error');
      assert.equal(an.json.error.type, 'invalid_request_error');
      const nf = await call('POST', '/v1/images/nope', { body: {}, headers: bearer(KEY_A) });
      assert.equal(nf.status, 404);
      assert.equal(typeof nf.json.error.message, 'string');
    });
  });

  describe('faults', () => {
    it('applies a status fault with Retry-After to that key only, and counts down `times`', async () => {
      fake.setFault(KEY_A, { status: 429, retryAfter: '7', times: 2 });
      for (let i = 0; i < 2; i++) {
        const r = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) });
        assert.equal(r.status, 429);
        assert.equal(r.headers['retry-after'], '7');
        assert.equal(r.json.error.type, 'rate_limit_exceeded');
        const other = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_B) });
        assert.equal(other.status, 200, 'another key is not affected');
      }
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) })).status, 200, 'the fault cleared itself after 2');
    });

    it('sends a fault body as given, in Anthropic format by default on /v1/messages', async () => {
      fake.setFault(KEY_A, { status: 529 });
      const r = await call('POST', '/v1/messages', { body: { model: 'c', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-api-key': KEY_A } });
      assert.equal(r.status, 529);
      assert.equal(r.json.error.type, 'overloaded_error');
      fake.setFault(KEY_A, { status: 500, body: { custom: true } });
      const c = await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) });
      assert.deepEqual(c.json, { custom: true });
      fake.clearFaults();
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) })).status, 200);
    });

    it('resets the connection for a resetConnection fault', async () => {
      fake.setFault(KEY_A, { resetConnection: true });
      await assert.rejects(call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) }));
      const entry = await fake.waitForRequest((r) => r.key === KEY_A);
      assert.equal(entry.finished, false);
      assert.equal(entry.aborted, false, 'our own reset is not the client going away');
    });

    it('cuts a stream after N events', async () => {
      fake.setFault(KEY_A, { cutAfterChunks: 3 });
      const res = await request(fake.gatewayUrl + '/chat/completions', {
        method: 'POST',
        headers: { ...bearer(KEY_A), 'content-type': 'application/json' },
        body: JSON.stringify(chat('cut me', { stream: true })),
        dispatcher: agent,
      });
      assert.equal(res.statusCode, 200);
      let received = '';
      await assert.rejects(
        (async () => {
          for await (const c of res.body) received += c.toString();
        })(),
      );
      const events = parseSse(received);
      assert.equal(events.length, 3);
      assert.ok(!received.includes('[DONE]'));
      const entry = fake.requests.at(-1)!;
      assert.equal(entry.finished, false);
    });

    for (const variant of ['header', 'fault'] as const) {
      it(`delays chunks (${variant}): the first event arrives while the stream is still open`, async () => {
        const headers: Record<string, string> = { ...bearer(KEY_A), 'content-type': 'application/json', 'x-demo-chunks': '3' };
        if (variant === 'header') headers['x-demo-chunk-delay-ms'] = '100';
        else fake.setFault(KEY_A, { chunkDelayMs: 100 });
        const res = await request(fake.gatewayUrl + '/chat/completions', { method: 'POST', headers, body: JSON.stringify(chat('slow', { stream: true })), dispatcher: agent });
        const it = res.body[Symbol.asyncIterator]();
        const first = await it.next();
        assert.match(String(first.value), /"role":"assistant"/);
        assert.ok(!String(first.value).includes('[DONE]'));
        assert.equal(fake.requests.at(-1)!.finished, false, 'the rest is still on its way');
        let rest = String(first.value);
        for (let r = await it.next(); !r.done; r = await it.next()) rest += String(r.value);
        assert.equal(parseSse(rest).at(-1)!.data, '[DONE]');
        await fake.waitForRequest((r) => r.finished);
      });
    }

    it('hangs before headers, records the client going away, and stop() closes the hung socket', async () => {
      fake.setFault(KEY_A, { hang: true });
      const ac = new AbortController();
      const pending = call('POST', '/v1/chat/completions', { body: chat('hang'), headers: bearer(KEY_A), signal: ac.signal });
      await fake.waitForRequest((r) => r.key === KEY_A && r.model === 'gpt-4o-mini');
      ac.abort();
      await assert.rejects(pending);
      const aborted = await fake.waitForRequest((r) => r.key === KEY_A && r.aborted);
      assert.equal(aborted.status, undefined);
      assert.equal(aborted.finished, false);

      // A second hung request, this time through a raw socket that never gives up: stop() must end it.
      const sock = net.connect(fake.port, '127.0.0.1');
      const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()));
      sock.on('error', () => undefined);
      const body = JSON.stringify(chat('hang 2'));
      sock.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY_A}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      await fake.waitForRequest((r) => r.key === KEY_A && !r.aborted);
      await fake.stop();
      await closed;
    });
  });

  describe('request log', () => {
    it('records key, path with query, model, stream, status and headers; waitForRequest sees new entries', async () => {
      const waiting = fake.waitForRequest((r) => r.path.startsWith('/v1/embeddings') && r.finished);
      await call('POST', '/v1/chat/completions?x=1', { body: chat('a', { stream: true }), headers: { ...bearer(KEY_A), 'x-custom': 'yes' } });
      await call('POST', '/v1/embeddings', { body: { model: 'text-embedding-3-small', input: 'a' }, headers: { 'x-api-key': KEY_C } });
      const emb = await waiting;
      assert.equal(emb.key, KEY_C);
      const [first] = fake.requests;
      assert.equal(first.key, KEY_A);
      assert.equal(first.path, '/v1/chat/completions?x=1');
      assert.equal(first.model, 'gpt-4o-mini');
      assert.equal(first.stream, true);
      assert.equal(first.status, 200);
      assert.equal(first.finished, true);
      assert.equal(first.headers['x-custom'], 'yes');
      assert.ok(first.seq < emb.seq);
      fake.clearRequests();
      assert.equal(fake.requests.length, 0);
      await assert.rejects(fake.waitForRequest(() => false, 50), /No matching gateway request/);
    });

    it('keeps platform calls out of the gateway log', async () => {
      await login();
      assert.equal(fake.requests.length, 0);
    });
  });

  it('keys() reports live balances and setKeys replaces the orders', async () => {
    await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) });
    const a = fake.keys().find((k) => k.key === KEY_A)!;
    assert.equal(a.balance, 48.49);
    assert.equal(a.used, 11.51);
    fake.setKeys([{ key: KEY_B, name: 'only B', balance: 1, used: 0 }]);
    assert.equal(fake.keys().length, 1);
    assert.equal((await call('POST', '/v1/chat/completions', { body: chat('x'), headers: bearer(KEY_A) })).status, 401);
  });
});
