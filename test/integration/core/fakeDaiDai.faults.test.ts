// The fake DaiDai's faults for the chaos and outage tests on loopback: nginx HTML pages, hangs
// that end in a reset, fault functions (seeded chaos), the whole-gateway fault, and the route
// table's answers for paths and methods it does not know.

import * as assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import {
  createFakeDaiDai,
  DEMO_USABLE_KEYS,
  replyText,
  seededRandom,
  type FakeDaiDai,
  type Fault,
  type FaultRequest,
} from '../../fake/fakeDaiDai';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const [KEY_A, KEY_B, KEY_C] = DEMO_USABLE_KEYS;

describe('fake DaiDai: faults for chaos and outages (loopback)', () => {
  let fake: FakeDaiDai;
  let agent: Agent;

  async function call(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = 'application/json';
    }
    const res = await request(fake.url + path, { method: method as 'GET', headers, body, dispatcher: agent });
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
  const chat = (text: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: text }], ...extra });
  const chatAs = (key: string, text = 'x', extra: Record<string, unknown> = {}) => call('POST', '/v1/chat/completions', { body: chat(text, extra), headers: bearer(key) });

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0);
    agent = new Agent();
  });

  afterEach(async () => {
    await agent.close();
    await fake.stop();
  });

  describe('HTML error pages', () => {
    it('answers an nginx-style page with content-type text/html, for any status, on both routes', async () => {
      fake.setFault(KEY_A, { status: 502, html: true });
      const bad = await chatAs(KEY_A);
      assert.equal(bad.status, 502);
      assert.match(String(bad.headers['content-type']), /^text\/html/);
      assert.match(bad.text, /^<html>/);
      assert.ok(bad.text.includes('<center><h1>502 Bad Gateway</h1></center>'));
      assert.ok(bad.text.includes('<hr><center>nginx</center>'));
      assert.equal(bad.json, undefined, 'not JSON');

      fake.setFault(KEY_A, { status: 504, html: true, retryAfter: '2' });
      const an = await call('POST', '/v1/messages', { body: { model: 'c', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, headers: { 'x-api-key': KEY_A } });
      assert.equal(an.status, 504);
      assert.match(String(an.headers['content-type']), /^text\/html/);
      assert.ok(an.text.includes('<title>504 Gateway Timeout</title>'));
      assert.equal(an.headers['retry-after'], '2');

      fake.setFault(KEY_A, { html: true, times: 1 });
      assert.equal((await chatAs(KEY_A)).status, 502, 'html without a status is a 502');
      assert.equal((await chatAs(KEY_A)).status, 200);
      assert.equal((await chatAs(KEY_B)).status, 200);
    });

    it('works on platform paths too', async () => {
      fake.setPlatformFault('/api/monitors/status', { status: 503, html: true, times: 1 });
      const r = await call('GET', '/api/monitors/status');
      assert.equal(r.status, 503);
      assert.match(String(r.headers['content-type']), /^text\/html/);
      assert.ok(r.text.includes('503 Service Unavailable'));
    });
  });

  describe('hangMs', () => {
    it('sends no headers, then resets the connection: no answer, not logged as the client going away', async () => {
      fake.setFault(KEY_A, { hangMs: 30, times: 1 });
      await assert.rejects(chatAs(KEY_A, 'hang then reset'), (err: Error & { code?: string }) => {
        assert.match(`${err.code ?? ''} ${err.message}`, /(ECONNRESET|UND_ERR_SOCKET|other side closed|socket)/i);
        return true;
      });
      const entry = await fake.waitForRequest((r) => r.key === KEY_A);
      assert.equal(entry.status, undefined);
      assert.equal(entry.finished, false);
      assert.equal(entry.aborted, false);
      assert.equal((await chatAs(KEY_A)).status, 200, 'times: 1 clears it');
    });

    it('stop() ends a pending hangMs without waiting for it', async () => {
      fake.setFault(KEY_A, { hangMs: 60_000 });
      const pending = chatAs(KEY_A).then(
        () => 'answered',
        () => 'failed',
      );
      await fake.waitForRequest((r) => r.key === KEY_A && r.model === 'gpt-4o-mini');
      await fake.stop();
      assert.equal(await pending, 'failed');
    });
  });

  describe('fault functions', () => {
    it('are asked once per request of that key with seq, model, stream and path', async () => {
      const asked: FaultRequest[] = [];
      fake.setFault(KEY_A, (req) => {
        asked.push(req);
        return req.stream ? { status: 503, retryAfter: '1' } : undefined;
      });
      assert.equal((await chatAs(KEY_A, 'plain')).status, 200);
      const s = await call('POST', '/v1/chat/completions?x=1', { body: chat('streamed', { stream: true }), headers: bearer(KEY_A) });
      assert.equal(s.status, 503);
      assert.equal(s.headers['retry-after'], '1');
      assert.equal((await chatAs(KEY_B)).status, 200);
      assert.equal(asked.length, 2, 'not asked for another key');
      const seqs = fake.requests.filter((r) => r.key === KEY_A).map((r) => r.seq);
      assert.deepEqual(asked, [
        { seq: seqs[0], model: 'gpt-4o-mini', stream: false, path: '/v1/chat/completions' },
        { seq: seqs[1], model: 'gpt-4o-mini', stream: true, path: '/v1/chat/completions?x=1' },
      ]);
      fake.setFault(KEY_A, undefined);
      assert.equal((await chatAs(KEY_A, 'x', { stream: true })).status, 200);
      assert.equal(asked.length, 2);
    });

    it('give the same faults for the same seed (seeded chaos is deterministic)', async () => {
      const run = async (seed: number): Promise<number[]> => {
        const rnd = seededRandom(seed);
        const chaos = (): Fault | undefined => {
          const x = rnd();
          if (x < 0.15) return { status: 502, html: true };
          if (x < 0.3) return { status: 429, retryAfter: '1' };
          return undefined;
        };
        fake.setFault(KEY_A, chaos);
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) statuses.push((await chatAs(KEY_A, `n${i}`)).status);
        fake.clearFaults();
        return statuses;
      };
      const first = await run(42);
      assert.deepEqual(await run(42), first);
      assert.ok(first.includes(200) && first.includes(502) && first.includes(429), first.join(','));
      assert.notDeepEqual(await run(7), first);
    });

    it('seededRandom: the same sequence for the same seed, in [0, 1), string seeds too', () => {
      const a = seededRandom(1);
      const b = seededRandom(1);
      const xs = Array.from({ length: 1000 }, () => a());
      assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
      assert.ok(xs.every((x) => x >= 0 && x < 1));
      assert.ok(new Set(xs).size > 990);
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      assert.ok(mean > 0.4 && mean < 0.6, `mean ${mean}`);
      assert.notDeepEqual(Array.from({ length: 5 }, seededRandom(2)), xs.slice(0, 5));
      assert.deepEqual(Array.from({ length: 5 }, seededRandom('chaos')), Array.from({ length: 5 }, seededRandom('chaos')));
    });
  });

  describe('the whole-gateway fault', () => {
    it('hits every key and requests without one, before any key fault, until cleared', async () => {
      fake.setFault(KEY_A, { status: 429 });
      fake.setGatewayFault({ status: 502, html: true });
      for (const key of [KEY_A, KEY_B, KEY_C, 'sk-not-a-key-of-this-account']) assert.equal((await chatAs(key)).status, 502, 'every key');
      const none = await call('GET', '/v1/models');
      assert.equal(none.status, 502, 'even without a key');
      fake.setGatewayFault(undefined);
      assert.equal((await chatAs(KEY_A)).status, 429, "the key's own fault is back");
      assert.equal((await chatAs(KEY_B)).status, 200);
    });

    it('counts down `times`, takes functions and resets, and clearFaults ends it', async () => {
      fake.setGatewayFault({ status: 503, times: 2 });
      assert.deepEqual([(await chatAs(KEY_A)).status, (await chatAs(KEY_B)).status, (await chatAs(KEY_C)).status], [503, 503, 200]);

      let n = 0;
      fake.setGatewayFault(() => (++n % 2 === 1 ? { resetConnection: true } : undefined));
      await assert.rejects(chatAs(KEY_A));
      assert.equal((await chatAs(KEY_B)).status, 200);
      await assert.rejects(chatAs(KEY_C));
      assert.equal(n, 3);

      fake.setGatewayFault({ hang: true });
      fake.clearFaults();
      const ok = await chatAs(KEY_A, 'after the outage');
      assert.equal(ok.status, 200);
      assert.equal(ok.json.choices[0].message.content, replyText('after the outage'));
    });
  });

  describe('the route table', () => {
    it('answers 405 for a known path with another method and 404 for an unknown one, in the route\'s format', async () => {
      const get = await call('GET', '/v1/chat/completions', { headers: bearer(KEY_A) });
      assert.equal(get.status, 405);
      assert.equal(get.json.error.code, 'method_not_allowed');
      const postModels = await call('POST', '/v1/models', { body: {}, headers: bearer(KEY_A) });
      assert.equal(postModels.status, 405);
      const an = await call('GET', '/v1/messages', { headers: { 'x-api-key': KEY_A } });
      assert.equal(an.status, 405);
      assert.equal(an.json.type, 'error');
      const nf = await call('GET', '/v1/nope', { headers: bearer(KEY_A) });
      assert.equal(nf.status, 404);
      const model = await call('GET', '/v1/models/gpt-4o-mini', { headers: bearer(KEY_A) });
      assert.equal(model.status, 200);
      assert.equal(model.json.id, 'gpt-4o-mini');
      assert.equal((await call('GET', '/v1/models/no-such-model', { headers: bearer(KEY_A) })).status, 404);
    });
  });
});
