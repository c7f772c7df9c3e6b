// The in-process entry (ProxyServer.request): a request from inside the extension (VS Code's
// chat provider) through the very pool and failover loop the port uses, into a ResponseSink,
// with no socket on our side, also while the proxy is stopped.
import * as assert from 'node:assert/strict';
import type { OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { KeyPool } from '../../../src/core/pool/keyPool';
import { ProxyServer } from '../../../src/core/proxy/server';
import type { ResponseSink } from '../../../src/core/proxy/sink';
import type { RequestRecord } from '../../../src/core/proxy/types';
import { createFakeDaiDai, DEMO_USABLE_KEYS, streamedReplyText } from '../../fake/fakeDaiDai';
import { waitUntil } from '../../helpers/wait';
import { harnessPerTest, within } from './helpers/harness';
import { httpRequest, openaiStreamText, parseSse, readStream } from './helpers/http';
import { startFloodUpstream } from './helpers/upstream';

const [K0, K1, K2] = DEMO_USABLE_KEYS;

/** A sink that keeps everything it is given, with the time each chunk came. */
class RecordingSink implements ResponseSink {
  status = 0;
  headers: OutgoingHttpHeaders = {};
  reason: string | undefined;
  headSent = false;
  flushes = 0;
  readonly chunks: { at: number; data: Buffer }[] = [];
  ended = false;
  failed: { message: string; event: string | undefined } | undefined;
  /** While true, write() says the sink is full. */
  full = false;
  drainCallbacks = 0;
  private resume: (() => void) | undefined;
  private settle!: () => void;
  /** Resolves at end() or fail(). */
  readonly done = new Promise<void>((resolve) => (this.settle = resolve));

  head(status: number, headers: OutgoingHttpHeaders, reason?: string): void {
    assert.equal(this.headSent, false, 'head() twice');
    this.status = status;
    this.headers = headers;
    this.reason = reason;
    this.headSent = true;
  }
  flushHead(): void {
    this.flushes++;
  }
  write(chunk: Buffer): boolean {
    assert.ok(this.headSent, 'a chunk before the head');
    this.chunks.push({ at: performance.now(), data: Buffer.from(chunk) });
    return !this.full;
  }
  onDrain(resume: () => void): void {
    this.drainCallbacks++;
    this.resume = resume;
  }
  offDrain(resume: () => void): void {
    if (this.resume === resume) this.resume = undefined;
  }
  /** The consumer can take more again. */
  drain(): void {
    this.full = false;
    this.resume?.();
  }
  end(last?: Buffer | string): void {
    if (last !== undefined) this.chunks.push({ at: performance.now(), data: Buffer.from(last) });
    this.ended = true;
    this.settle();
  }
  fail(message: string, event: string | undefined): void {
    this.failed = { message, event };
    this.settle();
  }
  get body(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.data));
  }
  get text(): string {
    return this.body.toString('utf8');
  }
}

const chatBody = (content: string, stream = true) => Buffer.from(JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content }] }));
const json = { 'content-type': 'application/json' };

describe('in-process entry (ProxyServer.request into a ResponseSink)', function () {
  const { start, defer } = harnessPerTest();

  it('streams an answer into the sink as it comes, byte for byte what the gateway sends, with the proxy never started', async () => {
    const fake = createFakeDaiDai({ costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    defer(() => fake.stop());
    const pool = new KeyPool({});
    defer(() => pool.dispose());
    pool.setKeys([{ key: K0, name: 'k0' }]);
    const proxy = new ProxyServer({ pool, options: { upstreamBaseUrl: fake.gatewayUrl } });
    defer(() => proxy.dispose());
    const records: RequestRecord[] = [];
    proxy.onDidRequest((r) => records.push({ ...r }));

    const sink = new RecordingSink();
    const headers = { ...json, 'x-demo-chunks': '10', 'x-demo-chunk-delay-ms': '60' };
    const sentAt = performance.now();
    await within(proxy.request({ method: 'POST', path: '/v1/chat/completions', headers, body: chatBody('in process'), source: 'vscode-chat' }, sink), 10_000, 'the in-process answer');
    assert.equal(proxy.status.state, 'stopped');
    assert.equal(sink.status, 200);
    assert.ok(sink.ended && !sink.failed);
    assert.match(String(sink.headers['content-type']), /^text\/event-stream/);
    assert.equal(sink.headers['x-daidai-attempts'], '1');
    // Unbuffered: the chunks came spread over the stream, the first long before the end.
    assert.ok(sink.chunks.length >= 6, `${sink.chunks.length} chunk(s): the stream was buffered`);
    const total = sink.chunks[sink.chunks.length - 1].at - sentAt;
    assert.ok(sink.chunks[0].at - sentAt < total / 4, `first chunk at ${(sink.chunks[0].at - sentAt).toFixed(0)} of ${total.toFixed(0)} ms`);
    assert.ok(sink.flushes <= 1);
    assert.equal(openaiStreamText(sink.text), streamedReplyText('in process', 10));
    const direct = await readStream(fake.port, '/v1/chat/completions', { headers: { ...headers, authorization: `Bearer ${K0}` }, body: JSON.parse(chatBody('in process').toString()) });
    assert.ok(sink.body.equals(direct.body), 'the sink got other bytes than the gateway sends');

    assert.equal(records.length, 1);
    assert.equal(records[0].source, 'vscode-chat');
    assert.equal(records[0].model, 'gpt-4o');
    assert.equal(records[0].stream, true);
    assert.equal(records[0].status, 200);
    // The gateway got the pool's key and the JSON content type, never a client credential.
    const seen = fake.requests[0];
    assert.equal(seen.key, K0);
    assert.equal(seen.headers['content-type'], 'application/json');
  });

  it('shares the pool and the failover with the port: a failing key is stepped over before the first byte, the rotation goes on across both entries', async () => {
    const h = await start({ keys: [K0, K1, K2] });
    h.fake.setFault(K0, { status: 500, times: 1 });
    const records: RequestRecord[] = [];
    h.proxy.onDidRequest((r) => records.push({ ...r }));

    const sink = new RecordingSink();
    await within(h.proxy.request({ method: 'POST', path: '/v1/chat/completions', headers: json, body: chatBody('fail over', false), source: 'vscode-chat' }, sink), 10_000, 'answer');
    assert.equal(sink.status, 200);
    assert.equal(sink.headers['x-daidai-attempts'], '2');
    assert.equal(JSON.parse(sink.text).object, 'chat.completion');
    assert.equal(h.keyState(K0).stats.failures, 1, 'the failure was the pool’s to count');
    assert.deepEqual(records.map((r) => [r.source, r.attempts, r.status]), [['vscode-chat', 2, 200]]);

    // The next key in the shared rotation serves the port's next request.
    h.fake.clearRequests();
    const viaPort = await httpRequest(h.port, '/v1/chat/completions', { headers: { authorization: 'Bearer sk-client' }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'port' }] } });
    assert.equal(viaPort.status, 200);
    assert.equal(h.fake.requests[0].key, K2, 'the port did not continue the rotation the in-process request moved');
    assert.equal(records[1].source, undefined);
  });

  it('an AbortSignal mid-stream stops the upstream at once and blames no key', async () => {
    const h = await start({ keys: [K0] });
    const records: RequestRecord[] = [];
    h.proxy.onDidRequest((r) => records.push({ ...r }));
    const controller = new AbortController();
    const sink = new RecordingSink();
    const headers = { ...json, 'x-demo-chunks': '20', 'x-demo-chunk-delay-ms': '200' };
    const started = performance.now();
    const running = h.proxy.request({ method: 'POST', path: '/v1/chat/completions', headers, body: chatBody('stop me'), signal: controller.signal }, sink);
    await waitUntil('the first chunk', () => sink.chunks.length > 0, 5_000);
    controller.abort();
    await within(running, 3_000, 'the request to end after the abort');
    assert.ok(performance.now() - started < 3_000, 'ran on after the abort');
    assert.equal(sink.ended, false);
    assert.equal(records.length, 1);
    assert.equal(records[0].aborted, true);
    assert.equal(records[0].status, 499);
    assert.equal(h.keyState(K0).stats.failures, 0);
    assert.equal(h.fake.requests.length, 1);

    // An already aborted signal sends nothing.
    const again = new RecordingSink();
    await h.proxy.request({ method: 'POST', path: '/v1/chat/completions', headers: json, body: chatBody('never'), signal: AbortSignal.abort() }, again);
    assert.equal(h.fake.requests.length, 1, 'an aborted request reached the gateway');
    assert.equal(again.headSent, false);
    assert.equal(records[1].status, 499);
  });

  it('errors come into the sink in the request’s own API format: every key refused on /v1/messages', async () => {
    const h = await start({ keys: [K0, K1] });
    h.fake.setFault(K0, { status: 401 });
    h.fake.setFault(K1, { status: 401 });
    const sink = new RecordingSink();
    const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5-20250929', max_tokens: 16, messages: [{ role: 'user', content: 'x' }] }));
    await h.proxy.request({ method: 'POST', path: '/v1/messages', headers: { ...json, 'anthropic-version': '2023-06-01' }, body }, sink);
    assert.equal(sink.status, 403, 'every key revoked: 403 keys_revoked (not retried)');
    assert.ok(sink.reason?.startsWith('DaiDai proxy: '), `reason phrase ${sink.reason}`);
    const parsed = JSON.parse(sink.text);
    assert.equal(parsed.type, 'error');
    assert.equal(typeof parsed.error.message, 'string');
    assert.ok(!sink.text.includes(K0) && !sink.text.includes(K1), 'a key in the error');
  });

  it('a cut mid-stream reaches the sink as fail() with the stream’s own error event, after the chunks that came', async () => {
    const h = await start({ keys: [K0, K1] });
    h.fake.setFault(K0, { cutAfterChunks: 3 });
    const sink = new RecordingSink();
    const body = Buffer.from(JSON.stringify({ model: 'claude-sonnet-4-5-20250929', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'cut' }] }));
    await within(h.proxy.request({ method: 'POST', path: '/v1/messages', headers: { ...json, 'anthropic-version': '2023-06-01' }, body, model: 'claude-sonnet-4-5-20250929', stream: true }, sink), 10_000, 'cut');
    assert.equal(sink.status, 200);
    assert.ok(sink.failed, 'no fail()');
    assert.equal(sink.ended, false);
    assert.ok(sink.failed.message.length > 0);
    assert.equal(parseSse(sink.failed.event ?? '')[0]?.event, 'error');
    assert.ok(sink.text.includes('event: message_start'), 'the chunks before the cut');
    assert.equal(h.fake.requests.length, 1, 'failed over after the first byte');
  });

  it('a full sink holds the upstream back until it drains, then gets every byte', async () => {
    const total = 48 * 1024 * 1024;
    const up = await startFloodUpstream(total);
    defer(() => up.close());
    const h = await start({ keys: [K0], proxy: { upstreamBaseUrl: `${up.url}/v1` } });
    const sink = new RecordingSink();
    sink.full = true;
    const running = h.proxy.request({ method: 'GET', path: '/v1/files/big/content' }, sink);
    await waitUntil('the first chunk', () => sink.chunks.length > 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.ok(up.sent() < total / 4, `${(up.sent() / 1048576).toFixed(1)} MB left the upstream while the sink was full`);
    assert.equal(sink.drainCallbacks, 1);
    sink.drain();
    await within(running, 20_000, 'the whole body');
    assert.ok(sink.ended);
    assert.equal(sink.body.length, total);
  });

  it('refuses unknown and climbing paths into the sink without asking the gateway', async () => {
    const h = await start({ keys: [K0] });
    const unknown = new RecordingSink();
    await h.proxy.request({ method: 'GET', path: '/admin/stuff' }, unknown);
    assert.equal(unknown.status, 404);
    assert.equal(JSON.parse(unknown.text).error.code, 'not_found');
    const climbing = new RecordingSink();
    await h.proxy.request({ method: 'GET', path: '/v1/%2e%2e/api/user/self' }, climbing);
    assert.equal(climbing.status, 400);
    assert.equal(JSON.parse(climbing.text).error.code, 'invalid_path');
    assert.equal(h.fake.requests.length, 0);
  });
});
