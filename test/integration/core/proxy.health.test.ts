// /health and the secrecy of what the proxy reports: no key (pool key or client key) in /health,
// in a log line or in a request record.
import { waitUntil } from '../../helpers/wait';
import * as assert from 'node:assert/strict';
import { DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import type { RequestRecord } from '../../../src/core/proxy/types';
import { maskKey } from '../../../src/core/util/mask';
import { harnessPerTest, type Harness } from './helpers/harness';
import { httpRequest, RawStream, readStream } from './helpers/http';
import { capturingLogger } from './helpers/logger';

/** Pieces of a key long enough to identify it: any of them in a text means the key leaked. */
function fragments(secret: string): string[] {
  const body = secret.startsWith('sk-') ? secret.slice(3) : secret;
  const out = [secret];
  for (let i = 0; i + 12 <= body.length; i += 6) out.push(body.slice(i, i + 12));
  return out;
}

function assertNoSecret(text: string, secrets: readonly string[], where: string): void {
  for (const s of secrets) {
    for (const f of fragments(s)) {
      assert.ok(!text.includes(f), `${where} contains (part of) a secret: …${f}… in\n${text.slice(Math.max(0, text.indexOf(f) - 200), text.indexOf(f) + 200)}`);
    }
  }
}

async function health(h: Harness): Promise<{ res: Awaited<ReturnType<typeof httpRequest>>; body: any }> {
  const res = await httpRequest(h.port, '/health');
  assert.equal(res.status, 200);
  return { res, body: res.json() };
}

const chat = (h: Harness, content = 'hi', headers: Record<string, string> = {}) =>
  httpRequest(h.port, '/v1/chat/completions', { headers: { authorization: 'Bearer sk-client', ...headers }, body: { model: 'gpt-4o', messages: [{ role: 'user', content }] } });

describe('proxy /health and secrecy (loopback, against the fake DaiDai)', function () {
  const { start, defer } = harnessPerTest();

  describe('GET /health', () => {
    it('status ok with every key usable; counts; masked next key; request totals', async () => {
      const h = await start();
      const first = await health(h);
      assert.match(String(first.res.headers['content-type']), /application\/json/);
      assert.equal(first.res.headers['cache-control'], 'no-store');
      assert.equal(first.body.status, 'ok');
      assert.equal(first.body.keys.total, h.keys.length);
      assert.equal(first.body.keys.usable, h.keys.length);
      assert.equal(first.body.keys.healthy, h.keys.length);
      assert.equal(first.body.nextKey, maskKey(h.keys[0]));
      assert.equal(typeof first.body.uptimeSeconds, 'number');
      assert.ok(first.body.uptimeSeconds >= 0);

      for (let i = 0; i < 3; i++) assert.equal((await chat(h)).status, 200);
      const after = await health(h);
      assert.equal(after.body.nextKey, maskKey(h.keys[3]), 'next key follows the rotation');
      assert.equal(after.body.requests.requests, 3);
      assert.equal(after.body.requests.successes, 3);
      assert.equal(after.body.requests.failures, 0);
      assert.equal(h.fake.requests.length, 3, '/health itself never calls the gateway');
    });

    it('status degraded when some keys are out, with counts by state', async () => {
      const h = await start({ keys: DEMO_USABLE_KEYS.slice(0, 4) });
      h.fake.setFault(h.keys[0], { status: 401 });
      h.fake.setFault(h.keys[1], { status: 402 });
      h.fake.setFault(h.keys[2], { status: 429, retryAfter: '60' });
      assert.equal((await chat(h)).status, 200);
      const { body } = await health(h);
      assert.equal(body.status, 'degraded');
      assert.deepEqual(
        { total: body.keys.total, healthy: body.keys.healthy, cooling: body.keys.cooling, disabled: body.keys.disabled, exhausted: body.keys.exhausted, usable: body.keys.usable },
        { total: 4, healthy: 1, cooling: 1, disabled: 1, exhausted: 1, usable: 1 },
      );
      assert.equal(body.nextKey, maskKey(h.keys[3]));
    });

    it('status no-keys with an empty pool', async () => {
      const h = await start({ keys: [] });
      const { body } = await health(h);
      assert.equal(body.status, 'no-keys');
      assert.equal(body.keys.total, 0);
      assert.equal(body.nextKey, undefined);
    });

    it('status down when no key is usable', async () => {
      const h = await start({ keys: DEMO_USABLE_KEYS.slice(0, 2) });
      for (const k of h.keys) h.pool.setManualDisabled(maskKey(k), true);
      const { body } = await health(h);
      assert.equal(body.status, 'down');
      assert.equal(body.keys.usable, 0);
    });

    it('never shows a key in clear, whatever the state of the pool', async () => {
      const h = await start();
      h.fake.setFault(h.keys[0], { status: 401, body: { error: { message: `Invalid key ${h.keys[0]}` } } });
      h.fake.setFault(h.keys[1], { status: 500, body: `upstream broke for ${h.keys[1]}` });
      await chat(h);
      await chat(h);
      const { res } = await health(h);
      assertNoSecret(res.text, h.keys, '/health');
      const { body } = await health(h);
      assert.ok(h.keys.some((k) => maskKey(k) === body.nextKey), `nextKey ${body.nextKey} is a masked pool key`);
      assert.ok(h.keys.some((k) => maskKey(k) === body.lastKey), `lastKey ${body.lastKey} is a masked pool key`);
      assertNoSecret(JSON.stringify(body), h.keys, 'JSON.stringify(/health)');
      assertNoSecret(JSON.stringify(h.pool.snapshot()), h.keys, 'pool snapshot');
    });
  });

  describe('request records (onDidRequest)', () => {
    it('describe each request: method, path, model, stream, status, masked key, attempts, aborted', async () => {
      const h = await start({ keys: DEMO_USABLE_KEYS.slice(0, 2) });
      const records: RequestRecord[] = [];
      const sub = h.proxy.onDidRequest((r) => records.push(r));
      defer(() => sub.dispose());
      h.fake.setFault(h.keys[0], { status: 500, times: 1 });
      await readStream(h.port, '/v1/messages?beta=true', {
        headers: { authorization: 'Bearer sk-client', 'anthropic-version': '2023-06-01' },
        body: { model: '[官Max]claude-sonnet-4-5-20250929', max_tokens: 8, stream: true, messages: [{ role: 'user', content: 'rec' }] },
      });
      await httpRequest(h.port, '/v1/models');
      await waitUntil('two request records', () => records.length >= 2, 3000);
      const [stream, models] = records;
      assert.equal(stream.method, 'POST');
      assert.match(stream.path, /^\/messages/);
      assert.equal(stream.model, '[官Max]claude-sonnet-4-5-20250929');
      assert.equal(stream.stream, true);
      assert.equal(stream.status, 200);
      assert.equal(stream.attempts, 2);
      assert.equal(stream.keyId, maskKey(h.keys[1]));
      assert.equal(stream.aborted, false);
      assert.ok(stream.durationMs >= 0);
      assert.equal(models.method, 'GET');
      assert.equal(models.path, '/models');
      assert.equal(models.stream, false);
      assert.equal(models.attempts, 1);
      assert.notEqual(stream.id, models.id);
    });
  });

  describe('no secret in logs or request records', () => {
    it('a mix of successes, failovers, refusals, cuts and aborts logs no pool key and no client key', async function () {
      this.timeout(20_000);
      const logger = capturingLogger();
      const ACCESS = 'sk-local-access-token-9d8c7b6a5f4e';
      const keys = DEMO_USABLE_KEYS.slice(0, 6);
      const h = await start({ keys, logger, proxy: { accessToken: ACCESS, headersTimeoutMs: 300, maxRetries: 6 } });
      const records: RequestRecord[] = [];
      const sub = h.proxy.onDidRequest((r) => records.push(r));
      defer(() => sub.dispose());
      const auth = { authorization: `Bearer ${ACCESS}` };

      // Errors whose bodies echo the key back, as some gateways do.
      h.fake.setFault(keys[0], { status: 500, body: `{"error":{"message":"server error for key ${keys[0]}"}}`, times: 1 });
      h.fake.setFault(keys[1], { status: 401, body: { error: { message: `invalid api key ${keys[1]}` } }, times: 1 });
      h.fake.setFault(keys[2], { status: 402, times: 1 });
      h.fake.setFault(keys[3], { status: 429, retryAfter: '1', times: 1 });
      h.fake.setFault(keys[4], { hang: true, times: 1 });
      assert.equal((await chat(h, 'through the storm', auth)).status, 200);
      assert.equal((await chat(h, 'plain', auth)).status, 200);

      const nextKey = () => h.keys.find((k) => maskKey(k) === h.pool.snapshot().nextKeyId)!;
      h.fake.setFault(nextKey(), { resetConnection: true, times: 1 });
      assert.equal((await chat(h, 'after reset', auth)).status, 200);

      h.fake.setFault(nextKey(), { cutAfterChunks: 2, times: 1 });
      const cut = await readStream(h.port, '/v1/chat/completions', {
        headers: auth,
        body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'cut' }] },
      });
      assert.match(cut.text, /error/);

      const s = new RawStream(h.port, '/v1/chat/completions', {
        headers: { ...auth, 'x-demo-chunks': '40', 'x-demo-chunk-delay-ms': '50' },
        body: { model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'abort' }] },
      });
      defer(() => s.destroy());
      await s.waitForText((t) => t.includes('chunk'));
      s.destroy();
      await h.fake.waitForRequest((r) => r.aborted && r.path === '/v1/chat/completions' && !r.finished && r.stream === true, 3000);

      await httpRequest(h.port, '/v1/chat/completions', { headers: { ...auth, 'content-type': 'application/json' }, body: '{"broken":' });
      await httpRequest(h.port, '/v1/models', { headers: { authorization: 'Bearer sk-wrong-token-0000000000000' } });
      await httpRequest(h.port, '/v1/models', { headers: { 'x-api-key': ACCESS } });

      await waitUntil('request records', () => records.length >= 7, 3000);
      await h.proxy.stop();

      const secrets = [...keys, ACCESS, 'sk-wrong-token-0000000000000'];
      assert.ok(logger.lines.length > 0, 'nothing was logged: the test would prove nothing');
      assert.ok(logger.lines.some((l) => keys.some((k) => l.includes(maskKey(k)))), 'no log line names a (masked) key: the test would prove little');
      for (const line of logger.lines) assertNoSecret(line, secrets, 'log line');
      assert.ok(records.length >= 7);
      for (const r of records) assertNoSecret(JSON.stringify(r), secrets, 'request record');
      assert.ok(records.some((r) => r.aborted), 'the abort shows in the records');
      assert.ok(records.some((r) => r.attempts > 1), 'failovers show in the records');
      assert.ok(records.some((r) => r.error?.includes('mid-stream')), 'the cut shows in the records');
    });
  });
});
