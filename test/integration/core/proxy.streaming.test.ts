// Streaming through the proxy: key rotation, chunks passed as they come, streams cut by the
// upstream or abandoned by the client, and many streams at once.
import { waitUntil } from '../../helpers/wait';
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import { DEMO_USABLE_KEYS, streamedReplyText } from '../../fake/fakeDaiDai';
import type { RequestRecord } from '../../../src/core/proxy/types';
import { delay, harnessPerTest, within, type Harness } from './helpers/harness';
import { startFloodUpstream, startTinyUpstream } from './helpers/upstream';
import { anthropicStreamText, httpRequest, openaiStreamText, parseSse, RawStream, readStream, type HttpOptions } from './helpers/http';

const [K0, K1] = DEMO_USABLE_KEYS;

function chatStream(content: string, headers: Record<string, string> = {}): HttpOptions {
  return {
    headers: { authorization: 'Bearer sk-client', ...headers },
    body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content }] },
  };
}

function messagesStream(content: string, headers: Record<string, string> = {}): HttpOptions {
  return {
    headers: { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01', ...headers },
    body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, stream: true, messages: [{ role: 'user', content }] },
  };
}

/** Counts gateway requests per key. */
function perKey(h: Harness): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of h.fake.requests) m.set(r.key ?? '', (m.get(r.key ?? '') ?? 0) + 1);
  return m;
}

describe('proxy streaming (loopback, against the fake DaiDai)', function () {
  const { start, defer } = harnessPerTest();

  describe('round-robin', () => {
    it('N sequential requests spread evenly over the keys', async () => {
      const h = await start();
      const n = h.keys.length * 4;
      for (let i = 0; i < n; i++) {
        const res = await httpRequest(h.port, '/v1/models');
        assert.equal(res.status, 200);
      }
      const counts = perKey(h);
      assert.equal(counts.size, h.keys.length);
      for (const k of h.keys) assert.equal(counts.get(k), 4, `key ${h.keys.indexOf(k)} served ${counts.get(k)}`);
    });

    it('N concurrent requests spread evenly over the keys', async () => {
      const h = await start();
      const n = h.keys.length * 5;
      const results = await Promise.all(Array.from({ length: n }, (_, i) => readStream(h.port, '/v1/chat/completions', chatStream(`rr ${i}`))));
      for (const r of results) assert.equal(r.status, 200);
      const counts = perKey(h);
      for (const k of h.keys) assert.equal(counts.get(k), 5);
    });
  });

  describe('chunks pass through as they come', () => {
    it('OpenAI: with 10 chunks 100 ms apart, headers and the first chunk arrive long before the stream ends', async () => {
      const h = await start({ keys: [K0] });
      const opts = chatStream('timing', { 'x-demo-chunks': '10', 'x-demo-chunk-delay-ms': '100' });
      const r = await readStream(h.port, '/v1/chat/completions', opts);
      assert.equal(r.status, 200);
      assert.equal(r.ending, 'end');
      assert.ok(r.chunks.length >= 6, `only ${r.chunks.length} chunk(s) reached the client: the stream was buffered`);
      const total = r.chunks[r.chunks.length - 1].at - r.sentAt;
      const first = r.chunks[0].at - r.sentAt;
      const headers = r.headersAt - r.sentAt;
      assert.ok(first < total / 4, `first chunk at ${first.toFixed(0)} of ${total.toFixed(0)} ms`);
      assert.ok(headers < total / 4, `headers at ${headers.toFixed(0)} of ${total.toFixed(0)} ms`);
      // The chunks arrive spread over the stream, not in a burst at the end.
      const midway = r.chunks.filter((c) => c.at - r.sentAt < total / 2).length;
      assert.ok(midway >= 3, `${midway} chunk(s) arrived in the first half`);
      assert.equal(openaiStreamText(r.text), streamedReplyText('timing', 10));

      // Same bytes as the gateway streams for that key directly.
      const direct = await readStream(h.fake.port, '/v1/chat/completions', { ...opts, headers: { ...opts.headers, authorization: `Bearer ${K0}` } });
      assert.ok(r.body.equals(direct.body), 'streamed content differs from the direct answer');
      assert.equal(r.headers['content-type'], direct.headers['content-type']);
    });

    it('Anthropic: the same holds for /v1/messages event streams', async () => {
      const h = await start({ keys: [K0] });
      const opts = messagesStream('timing', { 'x-demo-chunks': '10', 'x-demo-chunk-delay-ms': '60' });
      const r = await readStream(h.port, '/v1/messages', opts);
      assert.equal(r.status, 200);
      const total = r.chunks[r.chunks.length - 1].at - r.sentAt;
      assert.ok(r.chunks[0].at - r.sentAt < total / 4, 'first event held back');
      assert.equal(anthropicStreamText(r.text), streamedReplyText('timing', 10));
      const direct = await readStream(h.fake.port, '/v1/messages', { ...opts, headers: { ...opts.headers, 'x-api-key': K0 } });
      assert.ok(r.body.equals(direct.body), 'streamed content differs from the direct answer');
    });

    it('headers reach the client at once, before the upstream sends its first event', async () => {
      let release: () => void = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      defer(() => release());
      const up = await startTinyUpstream((req, res) => {
        req.resume();
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        void released.then(() => res.end('data: {"n":1}\n\ndata: [DONE]\n\n'));
      });
      defer(() => up.close());
      const h = await start({ keys: [K0], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
      const s = new RawStream(h.port, '/v1/chat/completions', chatStream('held'));
      defer(() => s.destroy());
      // The upstream sends nothing more until the client has its headers: no flush, no headers.
      const res = await within(s.response, 3000, 'response headers while the upstream is quiet');
      assert.equal(res.statusCode, 200);
      assert.equal(s.text, '');
      release();
      await s.waitForText((t) => t.endsWith('data: [DONE]\n\n'));
      assert.equal(up.requests[0].url, '/v1/chat/completions');
    });

    it('a client that stops reading holds the upstream back (nothing piles up in the proxy), and then gets every byte', async () => {
      const total = 64 * 1024 * 1024;
      const up = await startFloodUpstream(total);
      defer(() => up.close());
      const h = await start({ keys: [K0], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
      const received = await new Promise<{ bytes: number; sentWhilePaused: number }>((resolve, reject) => {
        const req = http.request({ port: h.port, host: '127.0.0.1', path: '/v1/files/big/content', method: 'GET', headers: { authorization: 'Bearer sk-client' } }, (res) => {
          res.pause(); // a client that does not read for a while
          let sentWhilePaused = 0;
          setTimeout(() => {
            sentWhilePaused = up.sent();
            let bytes = 0;
            res.on('data', (c: Buffer) => (bytes += c.length));
            res.on('end', () => resolve({ bytes, sentWhilePaused }));
            res.resume();
          }, 700);
        });
        req.on('error', reject);
        req.end();
      });
      // Only socket buffers' worth left the upstream while the client did not read. Those are the
      // kernel's: Linux grows a loopback receive buffer up to tcp_rmem's max (32 MB here), and two
      // sockets lie between upstream and client, so up to a quarter of the flood was seen in them
      // (12.1 MB once, on a quiet machine). Without backpressure all of it would pass in 700 ms.
      assert.ok(received.sentWhilePaused < total / 2, `${(received.sentWhilePaused / 1048576).toFixed(1)} MB left the upstream while the client was not reading`);
      assert.ok(up.blocked() > 0, 'the upstream was never held back');
      assert.equal(received.bytes, total);
    });

    it('no compression toward the client even when it asks for it (SillyTavern sends Accept-Encoding)', async () => {
      const h = await start({ keys: [K0] });
      const r = await readStream(h.port, '/v1/chat/completions', chatStream('gz', { 'accept-encoding': 'gzip, deflate, br' }));
      assert.equal(r.headers['content-encoding'], undefined);
      assert.equal(openaiStreamText(r.text), streamedReplyText('gz', 8));
      assert.equal(h.fake.requests[0].headers['accept-encoding'], 'identity');
    });
  });

  describe('the upstream cuts the stream mid-way', () => {
    it('OpenAI: the client stream ends with data: {"error":…}, no [DONE], no hang, no failover after the first byte', async () => {
      const h = await start({ keys: [K0, K1] });
      h.fake.setFault(K0, { cutAfterChunks: 3, chunkDelayMs: 20 });
      const r = await within(readStream(h.port, '/v1/chat/completions', chatStream('cut me', { 'x-demo-chunks': '8' })), 10_000, 'cut stream');
      assert.equal(r.status, 200);
      assert.ok(!r.text.includes('[DONE]'), 'a fake [DONE] after a cut');
      const events = parseSse(r.text);
      assert.equal(events.length, 4, `3 upstream events and one error, got ${events.length}`);
      const last = JSON.parse(events[events.length - 1].data);
      assert.equal(typeof last.error?.message, 'string');
      assert.ok(last.error.message.length > 0);
      for (const e of events.slice(0, -1)) assert.equal(JSON.parse(e.data).object, 'chat.completion.chunk');
      assert.equal(h.fake.requests.length, 1, 'the proxy failed over after bytes reached the client');
      assert.equal(h.keyState(K0).stats.failures, 1);
    });

    it('Anthropic: the client stream ends with event: error', async () => {
      const h = await start({ keys: [K0, K1] });
      h.fake.setFault(K0, { cutAfterChunks: 4 });
      const r = await within(readStream(h.port, '/v1/messages', messagesStream('cut me')), 10_000, 'cut stream');
      assert.equal(r.status, 200);
      const events = parseSse(r.text);
      const last = events[events.length - 1];
      assert.equal(last.event, 'error');
      const data = JSON.parse(last.data);
      assert.equal(data.type, 'error');
      assert.equal(typeof data.error?.message, 'string');
      assert.ok(!events.some((e) => e.event === 'message_stop'));
      assert.equal(events.length, 5);
      assert.equal(h.fake.requests.length, 1);
    });
  });

  describe('the upstream fails in other ways after the headers', () => {
    it('a non-streamed answer cut half-way: the client connection is closed, not left hanging', async () => {
      const h = await start({ keys: [K0, K1] });
      h.fake.setFault(K0, { cutAfterChunks: 1 });
      const r = await within(
        readStream(h.port, '/v1/chat/completions', { headers: { authorization: 'Bearer sk-client' }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'half' }] } }),
        10_000,
        'cut non-streamed answer',
      );
      assert.equal(r.ending, 'closed', `the client saw a complete answer: ${r.text}`);
      assert.equal(h.fake.requests.length, 1, 'no failover once the answer had started');
    });

    it('a stream that goes silent past bodyTimeoutMs ends with an error event instead of hanging', async () => {
      const h = await start({ keys: [K0], proxy: { bodyTimeoutMs: 300 } });
      h.fake.setFault(K0, { chunkDelayMs: 8000 });
      const r = await within(readStream(h.port, '/v1/chat/completions', chatStream('silence')), 8000, 'silent stream');
      assert.equal(r.status, 200);
      const events = parseSse(r.text);
      assert.ok(events.length >= 2, r.text);
      assert.equal(typeof JSON.parse(events[events.length - 1].data).error?.message, 'string');
      assert.ok(!r.text.includes('[DONE]'));
    });
  });

  describe('the client hangs up', () => {
    it('mid-stream: the upstream request is aborted at once and the key is not penalised', async () => {
      const h = await start({ keys: [K0, K1] });
      const records: RequestRecord[] = [];
      const sub = h.proxy.onDidRequest((r) => records.push(r));
      defer(() => sub.dispose());
      const s = new RawStream(h.port, '/v1/chat/completions', chatStream('stop button', { 'x-demo-chunks': '50', 'x-demo-chunk-delay-ms': '100' }));
      defer(() => s.destroy());
      await s.waitForText((t) => t.includes('chat.completion.chunk'));
      s.destroy();
      const entry = await h.fake.waitForRequest((r) => r.key === K0 && r.aborted, 3000);
      assert.equal(entry.finished, false);
      assert.equal(h.fake.requests.length, 1, 'no other key was tried for a client that left');
      await waitUntil('request record', () => records.length > 0, 3000);
      assert.equal(records[0].aborted, true);
      const k0 = h.keyState(K0);
      assert.equal(k0.state, 'healthy');
      assert.equal(k0.stats.failures, 0);
      assert.equal(k0.consecutiveFailures, 0);
    });

    it('while the upstream is still thinking (before headers): aborted too, no retry, no penalty', async () => {
      const h = await start({ keys: [K0, K1], proxy: { headersTimeoutMs: 30_000 } });
      h.fake.setFault(K0, { hang: true });
      const s = new RawStream(h.port, '/v1/messages', messagesStream('waiting'));
      defer(() => s.destroy());
      await h.fake.waitForRequest((r) => r.key === K0, 3000);
      s.destroy();
      await h.fake.waitForRequest((r) => r.key === K0 && r.aborted, 3000);
      // Give a wrongly-retrying proxy the chance to reach the next key before looking.
      await delay(200);
      assert.equal(h.fake.requests.length, 1);
      const k0 = h.keyState(K0);
      assert.equal(k0.stats.failures, 0);
      assert.equal(k0.consecutiveFailures, 0);
      assert.equal(k0.state, 'healthy');
    });
  });

  describe('many at once', () => {
    it('100 concurrent streams each get exactly their own reply', async function () {
      this.timeout(30_000);
      const h = await start();
      const n = 100;
      const runs = Array.from({ length: n }, (_, i) => {
        const chunks = 1 + (i % 9);
        const text = `stream #${i} — 第${i}号 ✓`;
        const anthropic = i % 2 === 1;
        const opts = (anthropic ? messagesStream : chatStream)(text, { 'x-demo-chunks': String(chunks), 'x-demo-chunk-delay-ms': '5' });
        return readStream(h.port, anthropic ? '/v1/messages' : '/v1/chat/completions', opts).then((r) => ({ r, i, chunks, text, anthropic }));
      });
      const results = await within(Promise.all(runs), 25_000, '100 streams');
      for (const { r, i, chunks, text, anthropic } of results) {
        assert.equal(r.status, 200, `stream ${i}: ${r.text.slice(0, 200)}`);
        assert.equal(r.ending, 'end', `stream ${i} was cut`);
        const got = anthropic ? anthropicStreamText(r.text) : openaiStreamText(r.text);
        assert.equal(got, streamedReplyText(text, chunks), `stream ${i} carries someone else's content`);
        if (anthropic) assert.equal(parseSse(r.text).at(-1)?.event, 'message_stop');
        else assert.ok(r.text.endsWith('data: [DONE]\n\n'), `stream ${i} has no [DONE]`);
      }
      assert.equal(h.fake.requests.length, n);
      assert.ok(h.fake.requests.every((e) => e.finished && !e.aborted));
      assert.equal(h.pool.snapshot().totals.successes, n);
    });
  });
});
