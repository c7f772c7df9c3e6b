// ProxyServer's life: start on a free port, a clear EADDRINUSE, stop() that closes streaming and
// keep-alive sockets at once and frees the port, and start again.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import { ProxyServer } from '../../../src/core/proxy/server';
import type { ProxyStatus } from '../../../src/core/proxy/types';
import { harnessPerTest, within } from './helpers/harness';
import { httpRequest, RawStream } from './helpers/http';

const [K0, K1] = DEMO_USABLE_KEYS;

/** Resolves with the connect error code, or 'connected' (the socket is closed at once). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
}

const slowStream = (content: string) => ({
  headers: { authorization: 'Bearer sk-client', 'x-demo-chunks': '100', 'x-demo-chunk-delay-ms': '100' },
  body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content }] },
});

describe('ProxyServer life (loopback)', function () {
  const { start, defer } = harnessPerTest();

  it('start() on port 0 resolves with the bound port, and serves there', async () => {
    const h = await start({ keys: [K0] });
    const status = h.proxy.status;
    assert.equal(status.state, 'running');
    assert.ok(typeof status.port === 'number' && status.port > 0 && status.port < 65536);
    assert.equal(status.url, `http://127.0.0.1:${status.port}/v1`);
    const res = await httpRequest(status.port, '/v1/models');
    assert.equal(res.status, 200);
  });

  it('a second server on the same port rejects with EADDRINUSE and a message naming the port', async () => {
    const h = await start({ keys: [K0] });
    const second = new ProxyServer({ pool: h.pool, options: { host: '127.0.0.1', port: h.port, upstreamBaseUrl: h.fake.gatewayUrl } });
    defer(() => second.dispose());
    const err = await second.start().then(
      () => assert.fail('the second start() resolved'),
      (e: Error & { code?: string }) => e,
    );
    assert.equal(err.code, 'EADDRINUSE');
    assert.ok(err.message.includes(String(h.port)), `message does not name port ${h.port}: ${err.message}`);
    assert.match(err.message, /change|stop/i, 'the message says what to do');
    assert.equal(second.status.state, 'stopped');
    assert.ok(second.status.error?.includes(String(h.port)));
    // The first one is untouched.
    assert.equal((await httpRequest(h.port, '/v1/models')).status, 200);
  });

  it('stop() closes an open SSE stream at once, aborts its upstream request, and the port refuses afterwards', async () => {
    const h = await start({ keys: [K0, K1] });
    const s = new RawStream(h.port, '/v1/chat/completions', slowStream('stop while streaming'));
    defer(() => s.destroy());
    await s.waitForText((t) => t.includes('chat.completion.chunk'));
    // 100 chunks 100 ms apart would keep a naive close() waiting ~10 s.
    await within(h.proxy.stop(), 3000, 'stop() with an open stream');
    assert.equal(h.proxy.status.state, 'stopped');
    await within(s.closed, 3000, 'client stream end');
    assert.ok(!s.text.includes('[DONE]'), 'the stream cannot have completed');
    await h.fake.waitForRequest((r) => r.key === K0 && r.aborted, 3000);
    assert.equal(await tryConnect(h.port), 'ECONNREFUSED');
    assert.equal(h.keyState(K0).stats.failures, 0, 'stopping is not the key\'s fault');
  });

  it('stop() while a request waits for upstream headers: resolves promptly and drops the upstream request', async () => {
    const h = await start({ keys: [K0, K1], proxy: { headersTimeoutMs: 60_000 } });
    h.fake.setFault(K0, { hang: true });
    const s = new RawStream(h.port, '/v1/chat/completions', slowStream('waiting on a hung gateway'));
    defer(() => s.destroy());
    await h.fake.waitForRequest((r) => r.key === K0, 3000);
    await within(h.proxy.stop(), 3000, 'stop() with a request waiting for headers');
    await within(s.closed, 3000, 'client connection close');
    await h.fake.waitForRequest((r) => r.key === K0 && r.aborted, 3000);
    assert.equal(h.fake.requests.length, 1, 'no other key was tried while stopping');
  });

  it('stop() closes idle keep-alive sockets promptly', async () => {
    const h = await start({ keys: [K0] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    defer(() => agent.destroy());
    // Wrapped in an object: resolving with a bare promise would wait for it.
    const { socketClosed } = await new Promise<{ socketClosed: Promise<void> }>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: h.port, path: '/v1/models', agent }, (res) => {
        const socketClosed = new Promise<void>((done) => req.socket!.once('close', () => done()));
        res.resume();
        res.once('end', () => setImmediate(() => resolve({ socketClosed })));
      });
      req.once('error', reject);
    });
    assert.equal(agent.freeSockets[Object.keys(agent.freeSockets)[0]]?.length, 1, 'the socket should be idle in the agent');
    await within(h.proxy.stop(), 3000, 'stop() with an idle keep-alive socket');
    await within(socketClosed, 3000, 'keep-alive socket close');
  });

  it('start again after stop works, on the same port too', async () => {
    const h = await start({ keys: [K0] });
    const port = h.port;
    await h.proxy.stop();
    assert.equal(await tryConnect(port), 'ECONNREFUSED');
    h.proxy.updateOptions({ port });
    const again = await h.proxy.start();
    assert.equal(again.state, 'running');
    assert.equal(again.port, port);
    const res = await httpRequest(port, '/v1/models');
    assert.equal(res.status, 200, res.text);
    assert.equal(h.fake.requests.length, 1);
  });

  it('reports its life through onDidChangeStatus; stop() is idempotent', async () => {
    const h = await start({ keys: [K0] });
    const seen: ProxyStatus['state'][] = [];
    const sub = h.proxy.onDidChangeStatus((s) => seen.push(s.state));
    defer(() => sub.dispose());
    await Promise.all([h.proxy.stop(), h.proxy.stop()]);
    await h.proxy.stop();
    await h.proxy.start();
    assert.deepEqual(seen, ['stopping', 'stopped', 'starting', 'running']);
  });

  it('updateOptions: maxRetries applies to the next request without a restart; a port change asks for one', async () => {
    const h = await start({ keys: DEMO_USABLE_KEYS.slice(0, 3) });
    for (const k of h.keys) h.fake.setFault(k, { status: 503 });
    assert.deepEqual(h.proxy.updateOptions({ maxRetries: 0 }), { needsRestart: false });
    const res = await httpRequest(h.port, '/v1/models');
    assert.equal(res.status, 503);
    assert.equal(h.fake.requests.length, 1);
    assert.deepEqual(h.proxy.updateOptions({ port: h.port + 1 }), { needsRestart: true });
  });

  it('stop() of a server never started resolves', async () => {
    const h = await start({ keys: [K0] });
    const idle = new ProxyServer({ pool: h.pool, options: { port: 0, upstreamBaseUrl: h.fake.gatewayUrl } });
    await within(idle.stop(), 1000, 'stop() of an idle server');
    assert.equal(idle.status.state, 'stopped');
    await idle.dispose();
  });
});
