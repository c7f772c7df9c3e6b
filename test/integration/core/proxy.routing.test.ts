// Routing by model (issue 9 §2) and the request path of issue 10 (tiers, waits, the gateway
// watch, the give-up answer) on loopback, against the fake DaiDai's packages. The pool is the
// contract's test double (helpers/contractPool.ts), so that these tests judge the forwarder alone;
// proxy.packages.test.ts runs the same session with the real pool.
import { waitUntil } from '../../helpers/wait';
import * as assert from 'node:assert/strict';
import {
  createFakeDaiDai,
  DEMO_PACKAGE_KEYS,
  replyText,
  streamedReplyText,
  type FakeDaiDai,
  type FakeKey,
} from '../../fake/fakeDaiDai';
import { Agent } from 'undici';
import { createGatewayProbe, OutageDetector } from '../../../src/core/gateway';
import type { GatewayModel, GatewayWatch, TokenUsage, UsageMeter, UsageTap } from '../../../src/core/proxy/contracts';
import type { ProxyOptions } from '../../../src/core/proxy/types';
import { maskKey } from '../../../src/core/util/mask';
import { RecordingGatewayWatch, startApp, type AppHarness } from './helpers/app';
import { ContractPoolDouble, type DoubleKey } from './helpers/contractPool';
import { delay } from './helpers/harness';
import { chatRequest, CLAUDE, CLAUDE_MODEL, GEMINI, GPT, messagesRequest, mixedSession, PREFIXED } from './helpers/packages';
import { httpRequest, openaiStreamText, RawStream } from './helpers/http';


interface Setup {
  fake: FakeDaiDai;
  pool: ContractPoolDouble;
  app: AppHarness;
  gateway: RecordingGatewayWatch;
  port: number;
}

describe('proxy routing by model and the request path of issue 10 (loopback, fake DaiDai packages)', function () {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  });

  async function setup(
    keys: readonly FakeKey[],
    opts: {
      known?: boolean;
      proxy?: Partial<ProxyOptions>;
      models?: () => GatewayModel[] | undefined;
      usage?: UsageMeter;
      clock?: () => number;
      watch?: (pool: ContractPoolDouble, fake: FakeDaiDai) => GatewayWatch;
    } = {},
  ): Promise<Setup> {
    const fake = createFakeDaiDai({ keys: [...keys], costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    closers.push(() => fake.stop());
    const doubles: DoubleKey[] = keys.map((k) => ({ key: k.key, models: opts.known === false ? undefined : k.models }));
    const pool = new ContractPoolDouble(doubles, opts.clock);
    const gateway = new RecordingGatewayWatch();
    const app = await startApp({ pool, gateway: opts.watch ? opts.watch(pool, fake) : gateway, models: opts.models, usage: opts.usage }, fake.gatewayUrl, opts.proxy);
    closers.push(() => app.close());
    return { fake, pool, app, gateway, port: app.port };
  }

  const chat = (s: Setup, model: string, content?: string, extra?: object) => chatRequest(s.port, model, content, extra);
  const messages = (s: Setup, model: string, content?: string, extra?: object) => messagesRequest(s.port, model, content, extra);
  const pairs = (s: Setup) => s.fake.requests.filter((r) => r.model !== undefined).map((r) => `${maskKey(r.key ?? '')} ${r.model}`);

  describe('a mixed Claude and GPT session over packages', () => {
    for (const known of [true, false]) {
      it(`every request succeeds, no key counted as failing, no (key, model) pair sent twice (lists ${known ? 'known' : 'unknown'})`, async () => {
        const s = await setup([CLAUDE, GPT, GEMINI], { known });
        const results = await mixedSession(s.port);
        for (const r of results) assert.equal(r.status, 200, r.text);
        for (const e of s.pool.entries) {
          assert.equal(e.failures, 0, `${e.lease.id} counted as failing`);
          assert.equal(e.out, undefined);
          assert.equal(e.failing, false);
        }
        const seenPairs = pairs(s).filter((p, i, all) => all.indexOf(p) !== i && s.fake.requests.some((r) => r.status !== 200 && `${maskKey(r.key ?? '')} ${r.model}` === p));
        assert.deepEqual(seenPairs, [], 'a refused (key, model) pair was sent again');
        if (known) {
          assert.ok(s.fake.requests.every((r) => r.status === 200), 'with known lists no request should reach a key that refuses its model');
          assert.ok(s.app.records.every((r) => r.movedOn === undefined));
        } else {
          const moved = s.app.records.flatMap((r) => r.movedOn ?? []);
          assert.ok(moved.length > 0, 'with unknown lists some request must have moved on');
          for (const m of moved) assert.match(m.reason, /^.+ not served by sk-.{4}….{4}, moved on$/);
        }
      });
    }

    it('a refusal of the model moves on without using the retries (maxRetries 0), and names the move', async () => {
      const s = await setup([CLAUDE, GEMINI, GPT], { known: false, proxy: { maxRetries: 0 } });
      const res = await chat(s, 'gpt-4o', 'needs the third key');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().choices[0].message.content, replyText('needs the third key'));
      assert.deepEqual(s.fake.requests.map((r) => [maskKey(r.key ?? ''), r.status]), [
        [maskKey(CLAUDE.key), 503],
        [maskKey(GEMINI.key), 403],
        [maskKey(GPT.key), 200],
      ]);
      const rec = s.app.records[0];
      assert.equal(rec.attempts, 3);
      assert.deepEqual(rec.movedOn, [
        { keyId: maskKey(CLAUDE.key), reason: `gpt-4o not served by ${maskKey(CLAUDE.key)}, moved on` },
        { keyId: maskKey(GEMINI.key), reason: `gpt-4o not served by ${maskKey(GEMINI.key)}, moved on` },
      ]);
      assert.equal(s.pool.entry(CLAUDE.key).excluded.has('gpt-4o'), true);
      assert.equal(s.pool.entry(CLAUDE.key).failures, 0);
      // The pair is now excluded: the next gpt-4o request goes straight to the GPT key.
      s.fake.clearRequests();
      assert.equal((await chat(s, 'gpt-4o', 'again')).status, 200);
      assert.deepEqual(s.fake.requests.map((r) => maskKey(r.key ?? '')), [maskKey(GPT.key)]);
    });

    it('every key refuses the model → 404 in the client\'s format naming the keys, each pair tried once', async () => {
      const s = await setup([CLAUDE, GEMINI], { known: false });
      const res = await chat(s, 'gpt-4o');
      assert.equal(res.status, 404, `${res.text} ${JSON.stringify(s.fake.requests.map((r) => [r.key === CLAUDE.key, r.status]))}`);
      assert.equal(res.json().error.code, 'model_not_found');
      assert.match(res.json().error.message, /gpt-4o/);
      assert.match(res.statusMessage, /No key of this account serves model/);
      assert.equal(s.fake.requests.length, 2);
      assert.equal(res.headers['x-daidai-attempts'], String(s.app.records[0].attempts), 'the header says what the log line says');
      assert.equal(s.app.records[0].attempts, 2);
      const anth = await messages(s, 'gpt-4o');
      assert.equal(anth.status, 404);
      assert.equal(anth.json().type, 'error');
      assert.equal(anth.json().error.type, 'not_found_error');
      assert.equal(s.fake.requests.length, 2, 'an excluded pair was sent again');
    });
  });

  describe('a model no key lists: tried once on a key (the gateway decides), then the local 404', () => {
    /** The union as the gateway monitor gives it: one array until the lists change. */
    const unionOf = (...keys: FakeKey[]) => {
      const union = keys.flatMap((k) => k.models ?? []).map((id) => ({ id }));
      return () => union;
    };

    it('OpenAI format, closest ids first', async () => {
      const s = await setup([CLAUDE, GPT], { models: unionOf(CLAUDE, GPT) });
      const res = await chat(s, 'claude-nope-9');
      assert.equal(res.status, 404, res.text);
      const err = res.json().error;
      assert.equal(err.code, 'model_not_found');
      assert.match(err.message, /^No key of this account serves model "claude-nope-9"\. Models it serves: /);
      const listed = err.message.replace(/^.*Models it serves: /, '').replace(/\.$/, '').split(', ');
      assert.ok(listed[0].includes('claude'), `closest first: ${listed[0]}`);
      assert.match(res.statusMessage, /DaiDai proxy: No key of this account serves model "claude-nope-9"/);
      assert.equal(s.fake.requests.length, 1, 'one key was asked: the gateway refused it too');
      // refused once: the next request is answered at once
      assert.equal((await chat(s, 'claude-nope-9')).status, 404);
      assert.equal(s.fake.requests.length, 1);
    });

    it('Anthropic format on /v1/messages', async () => {
      const s = await setup([GPT], { models: unionOf(GPT) });
      const res = await messages(s, 'claude-opus-9');
      assert.equal(res.status, 404);
      assert.equal(res.json().type, 'error');
      assert.equal(res.json().error.type, 'not_found_error');
      assert.match(res.json().error.message, /No key of this account serves model "claude-opus-9"/);
      assert.equal(s.fake.requests.length, 1);
    });
  });

  describe('/v1/models from the union of the keys\' lists', () => {
    const union: GatewayModel[] = [
      { id: PREFIXED, object: 'model', owned_by: 'custom', created: 1 },
      { id: 'gpt-4o', object: 'model', owned_by: 'openai', created: 2 },
      { id: PREFIXED, object: 'model', owned_by: 'duplicate', created: 3 },
      { id: 'gemini-2.5-pro', object: 'model', owned_by: 'vertex-ai', created: 4, supported_endpoint_types: ['openai'] },
    ];

    for (const path of ['/v1/models', '/models', '/v1/models?limit=5']) {
      it(`GET ${path} → each id once, in order, as described; nothing forwarded`, async () => {
        const s = await setup([CLAUDE, GPT], { models: () => union });
        const res = await httpRequest(s.port, path, { headers: { authorization: 'Bearer sk-client' } });
        assert.equal(res.status, 200, res.text);
        const body = res.json();
        assert.equal(body.object, 'list');
        assert.deepEqual(body.data, [union[0], union[1], union[3]]);
        assert.equal(s.fake.requests.length, 0);
      });
    }

    it('GET /v1/models/{id} → that model; percent-encoded ids too', async () => {
      const s = await setup([CLAUDE], { models: () => union });
      const res = await httpRequest(s.port, `/v1/models/${encodeURIComponent(PREFIXED)}`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.json(), union[0]);
      assert.deepEqual((await httpRequest(s.port, '/v1/models/gpt-4o')).json(), union[1]);
    });

    it('an unknown id → 404 in the client\'s format', async () => {
      const s = await setup([CLAUDE], { models: () => union });
      const openai = await httpRequest(s.port, '/v1/models/gpt-9');
      assert.equal(openai.status, 404);
      assert.equal(openai.json().error.code, 'model_not_found');
      const anthropic = await httpRequest(s.port, '/v1/models/gpt-9', { headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-client' } });
      assert.equal(anthropic.status, 404);
      assert.equal(anthropic.json().type, 'error');
      assert.equal(anthropic.json().error.type, 'not_found_error');
      assert.equal(s.fake.requests.length, 0);
    });

    it('Anthropic clients get the paging fields too', async () => {
      const s = await setup([CLAUDE], { models: () => union });
      const res = await httpRequest(s.port, '/v1/models', { headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-client' } });
      const body = res.json();
      assert.equal(body.has_more, false);
      assert.equal(body.first_id, PREFIXED);
      assert.equal(body.last_id, 'gemini-2.5-pro');
    });

    it('no list known yet (models() undefined) → forwarded as today', async () => {
      const s = await setup([GPT], { models: () => undefined });
      const res = await httpRequest(s.port, '/v1/models');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json().data.map((m: GatewayModel) => m.id), GPT.models);
      assert.equal(s.fake.requests.length, 1);
    });
  });

  it('a moderation refusal goes back once, as it came, and every key stays healthy', async () => {
    const s = await setup([CLAUDE, GPT, DEMO_PACKAGE_KEYS[3]]);
    const res = await chat(s, 'gpt-4o', 'please [[moderate]] this');
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().error.code, 'sensitive_words_detected');
    assert.equal(s.fake.requests.length, 1, 'the prompt was re-sent on another key');
    const direct = await httpRequest(s.fake.port, '/v1/chat/completions', {
      headers: { authorization: `Bearer ${s.fake.requests[0].key}` },
      body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'please [[moderate]] this' }] },
    });
    const withoutId = (m: string) => m.replace(/\s*\(request id: \d+\)/, '');
    assert.equal(withoutId(res.json().error.message), withoutId(JSON.parse(direct.text).error.message));
    assert.match(res.json().error.message, /sensitive words detected/);
    for (const e of s.pool.entries) {
      assert.equal(e.failures, 0);
      assert.equal(e.out, undefined);
    }
  });

  describe('cooling keys (tier 3): wait while the client is connected', () => {
    it('a cool-down that ends within the wait: the request waits for it and is served by that key', async () => {
      const s = await setup([GPT], { proxy: { cooldownWaitMs: 2000 } });
      s.pool.entry(GPT.key).coolingUntil = Date.now() + 150;
      const res = await chat(s, 'gpt-4o', 'worth the wait');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.json().choices[0].message.content, replyText('worth the wait'));
      assert.equal(s.app.records[0].tier, 'cooling');
      assert.equal(s.pool.acquires[0].maxWaitMs, 2000);
      assert.ok(s.fake.requests[0].startedAt >= s.pool.entry(GPT.key).coolingUntil, 'sent before the cool-down ended');
    });

    it('one that does not: no wait, 503 with Retry-After saying when the next key is back', async () => {
      const s = await setup([GPT], { proxy: { cooldownWaitMs: 500 } });
      s.pool.entry(GPT.key).coolingUntil = Date.now() + 30_000;
      const res = await chat(s, 'gpt-4o');
      assert.equal(res.status, 503, res.text);
      assert.equal(res.json().error.code, 'keys_cooling');
      const after = Number(res.headers['retry-after']);
      assert.ok(after >= 29 && after <= 30, `retry-after ${after}`);
      assert.equal(s.fake.requests.length, 0);
    });

    it('the client leaves during the wait: nothing is sent', async () => {
      const s = await setup([GPT], { proxy: { cooldownWaitMs: 5000 } });
      s.pool.entry(GPT.key).coolingUntil = Date.now() + 600;
      const raw = new RawStream(s.port, '/v1/chat/completions', { headers: { authorization: 'Bearer sk-client' }, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'bye' }] } });
      await waitUntil('the request reached the pool', () => s.pool.acquires.length > 0, 3000);
      raw.destroy();
      await waitUntil('the request was recorded', () => s.app.records.length === 1, 3000);
      assert.equal(s.app.records[0].status, 499);
      assert.equal(s.app.records[0].attempts, 0);
      assert.equal(s.pool.entry(GPT.key).neutral, 1, 'the waited-for key was handed back');
      await delay(800); // past the cool-down: an attempt that was still due would have gone out by now
      assert.equal(s.fake.requests.length, 0, 'sent after the client left');
    });

    it('keys taken out by failures are the last resort (tier 2) and the tier is recorded', async () => {
      const s = await setup([GPT]);
      s.pool.entry(GPT.key).failing = true;
      const res = await chat(s, 'gpt-4o');
      assert.equal(res.status, 200);
      assert.equal(s.app.records[0].tier, 'failing');
      assert.equal(s.pool.entry(GPT.key).failing, false, 'a success puts the key back');
    });
  });

  describe('the gateway watch', () => {
    it('network errors and HTML 502s are reported with their signature and ticket; JSON refusals and answers are signs of life', async () => {
      const K3 = DEMO_PACKAGE_KEYS[3];
      const s = await setup([GPT, K3, DEMO_PACKAGE_KEYS[5]]);
      s.fake.setFault(GPT.key, { resetConnection: true, times: 1 });
      s.fake.setFault(K3.key, { status: 502, html: true, times: 1 });
      const res = await chat(s, 'gpt-4o');
      assert.equal(res.status, 200, res.text);
      assert.equal(s.gateway.failures.length, 2);
      assert.equal(s.gateway.failures[0].keyId, maskKey(GPT.key));
      assert.match(s.gateway.failures[0].signature, /^(ECONNRESET|UND_ERR_SOCKET)$/, 'a reset is signed by its error code');
      assert.equal(s.gateway.failures[0].ticket?.keyId, maskKey(GPT.key));
      assert.match(s.gateway.failures[1].signature, /^HTTP 502:[0-9a-f]{12}$/);
      assert.equal(s.gateway.successes, 1);
      // The same page from another key has the same signature.
      s.fake.setFault(DEMO_PACKAGE_KEYS[5].key, { status: 502, html: true, times: 1 });
      s.fake.setFault(GPT.key, { status: 502, html: true, times: 1 });
      await chat(s, 'gpt-4o');
      const sigs = s.gateway.failures.slice(2).map((f) => f.signature);
      assert.ok(sigs.length >= 1);
      for (const sig of sigs) assert.equal(sig, s.gateway.failures[1].signature);
      // A JSON 503 from the gateway itself (no channel for the model) is no outage sign.
      const before = s.gateway.failures.length;
      s.fake.setFault(K3.key, { status: 503, body: { error: { message: '当前分组 x 下对于模型 gpt-4o 无可用渠道', type: 'new_api_error' } }, times: 1 });
      s.fake.setFault(GPT.key, { status: 503, body: { error: { message: '当前分组 x 下对于模型 gpt-4o 无可用渠道', type: 'new_api_error' } }, times: 1 });
      s.fake.setFault(DEMO_PACKAGE_KEYS[5].key, { status: 503, body: { error: { message: '当前分组 x 下对于模型 gpt-4o 无可用渠道', type: 'new_api_error' } }, times: 1 });
      await chat(s, 'gpt-4o');
      assert.equal(s.gateway.failures.length, before);
    });

    it('with the real outage detector: the same reset on every key declares the outage, the keys are forgiven; a request during it is the probe (one attempt, no blame); the background probe ends it', async () => {
      const agent = new Agent();
      closers.push(() => agent.close());
      let detector: OutageDetector | undefined;
      const s = await setup([GPT, DEMO_PACKAGE_KEYS[3], DEMO_PACKAGE_KEYS[5]], {
        watch: (pool, fake) => (detector = new OutageDetector(pool, createGatewayProbe(agent, fake.gatewayUrl), { probeFirstMs: 300, probeMaxMs: 600 })),
      });
      closers.push(async () => detector?.dispose());
      s.fake.setGatewayFault({ resetConnection: true });
      const first = await chat(s, 'gpt-4o', 'during the outage');
      assert.equal(first.status, 502, first.text);
      assert.equal(first.json().error.code, 'gateway_unreachable');
      assert.match(first.json().error.message, /unreachable \(connection .* on 2 keys, since \d\d:\d\d:\d\d UTC/);
      assert.ok(detector!.outage);
      for (const e of s.pool.entries) assert.equal(e.failures, 0, `${e.lease.id} still blamed for the outage`);
      assert.equal(s.pool.forgiven.length, 2);
      const during = await messages(s, CLAUDE_MODEL);
      assert.equal(during.status, 502);
      assert.equal(during.json().type, 'error');
      assert.match(during.json().error.message, /unreachable/);
      assert.equal(s.fake.requests.filter((r) => r.path.startsWith('/v1/messages')).length, 1, 'one attempt: the request is the probe, no failover');
      for (const e of s.pool.entries) assert.equal(e.failures, 0, `${e.lease.id} blamed for a failed probe`);
      s.fake.setGatewayFault(undefined);
      await waitUntil('the probe ended the outage', () => detector!.outage === undefined, 5000);
      const after = await chat(s, 'gpt-4o', 'back');
      assert.equal(after.status, 200, after.text);
      assert.equal(after.json().choices[0].message.content, replyText('back'));
    });

    it('while an outage is set and the gateway still fails: one attempt, then the outage answer in each format, saying why and since when', async () => {
      const s = await setup([GPT, CLAUDE]);
      const since = Date.UTC(2026, 0, 2, 3, 4, 5);
      s.gateway.outage = { reason: 'connection refused (ECONNREFUSED) on 3 keys', since };
      s.fake.setGatewayFault({ resetConnection: true });
      const openai = await chat(s, 'gpt-4o');
      assert.equal(openai.status, 502, openai.text);
      assert.equal(openai.json().error.code, 'gateway_unreachable');
      assert.match(openai.json().error.message, /gateway is unreachable \(connection refused \(ECONNREFUSED\) on 3 keys, since 03:04:05 UTC/);
      assert.match(openai.statusMessage, /gateway is unreachable/);
      const anthropic = await messages(s, CLAUDE_MODEL);
      assert.equal(anthropic.status, 502);
      assert.equal(anthropic.json().type, 'error');
      assert.match(anthropic.json().error.message, /unreachable/);
      s.gateway.outage = { reason: 'timeouts before headers on 2 keys', since };
      assert.equal((await chat(s, 'gpt-4o')).status, 504);
      assert.equal(s.fake.requests.length, 3, 'one attempt per request');
      for (const e of s.pool.entries) assert.equal(e.failures, 0, 'no key blamed');
      s.fake.setGatewayFault(undefined);
      s.gateway.outage = undefined;
      assert.equal((await chat(s, 'gpt-4o')).status, 200);
    });

    it('the first request after the gateway recovers is served and ends the outage at once (no wait for the background probe)', async () => {
      const agent = new Agent();
      closers.push(() => agent.close());
      let detector: OutageDetector | undefined;
      const s = await setup([GPT, DEMO_PACKAGE_KEYS[3], DEMO_PACKAGE_KEYS[5]], {
        // The background probe would not come for a minute: only the requests can end it.
        watch: (pool, fake) => (detector = new OutageDetector(pool, createGatewayProbe(agent, fake.gatewayUrl), { probeFirstMs: 60_000, probeMaxMs: 60_000 })),
      });
      closers.push(async () => detector?.dispose());
      s.fake.setGatewayFault({ status: 503, html: true });
      const first = await chat(s, 'gpt-4o', 'blip');
      assert.ok(first.status >= 500, first.text);
      assert.ok(detector!.outage, 'the outage was declared');
      s.fake.setGatewayFault(undefined);
      for (let i = 0; i < 3; i++) {
        const res = await chat(s, 'gpt-4o', `regenerate ${i}`);
        assert.equal(res.status, 200, `request ${i} after the recovery: ${res.text}`);
        assert.equal(detector!.outage, undefined, 'the first success ended the outage');
      }
    });
  });

  describe('the usage tap', () => {
    class RecordingMeter implements UsageMeter {
      readonly taps: { route: { path: string; flavor: string }; contentType?: string; chunks: Buffer[] }[] = [];
      tap(route: { path: string; flavor: 'openai' | 'anthropic' }, contentType: string | undefined): UsageTap {
        const entry = { route, contentType, chunks: [] as Buffer[] };
        this.taps.push(entry);
        return {
          write: (c) => entry.chunks.push(c),
          end: (): TokenUsage => ({ inputTokens: entry.chunks.length, outputTokens: Buffer.concat(entry.chunks).length }),
        };
      }
    }

    it('sees every byte the client gets, in order, and its result lands in the record', async () => {
      const meter = new RecordingMeter();
      const s = await setup([GPT, CLAUDE], { usage: meter });
      const streamed = await chat(s, 'gpt-4o', 'count me', { stream: true });
      const plain = await messages(s, CLAUDE_MODEL, 'me too');
      assert.equal(meter.taps.length, 2);
      assert.ok(Buffer.concat(meter.taps[0].chunks).equals(streamed.body), 'the tap saw other bytes than the client');
      assert.ok(Buffer.concat(meter.taps[1].chunks).equals(plain.body));
      assert.deepEqual(meter.taps[0].route, { path: '/chat/completions', flavor: 'openai' });
      assert.match(meter.taps[0].contentType ?? '', /^text\/event-stream/);
      assert.deepEqual(meter.taps[1].route, { path: '/messages', flavor: 'anthropic' });
      assert.deepEqual(s.app.records[0].usage, { inputTokens: meter.taps[0].chunks.length, outputTokens: streamed.body.length });
      assert.deepEqual(s.app.records[1].usage, { inputTokens: meter.taps[1].chunks.length, outputTokens: plain.body.length });
    });

    it('no tap for error answers, and the request body reaches the gateway unchanged (no stream_options added)', async () => {
      const meter = new RecordingMeter();
      const s = await setup([GPT], { usage: meter });
      s.fake.setFault(GPT.key, { status: 400, body: { error: { message: 'bad', type: 'invalid_request_error' } }, times: 1 });
      assert.equal((await chat(s, 'gpt-4o')).status, 400);
      assert.equal(meter.taps.length, 0);
      const body = JSON.stringify({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: 'x' }] });
      await httpRequest(s.port, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body });
      assert.equal(s.fake.requests[1].headers['content-length'], String(Buffer.byteLength(body)));
      assert.equal(s.app.records[1].usage?.outputTokens !== undefined, true);
    });

    it('a throwing meter never breaks the answer', async () => {
      const s = await setup([GPT], {
        usage: { tap: () => ({ write: () => { throw new Error('boom'); }, end: () => { throw new Error('boom'); } }) },
      });
      const res = await chat(s, 'gpt-4o', 'still fine', { stream: true });
      assert.equal(res.status, 200);
      assert.equal(openaiStreamText(res.text), streamedReplyText('still fine', 8));
      const t = await setup([GPT], { usage: { tap: () => { throw new Error('boom'); } } });
      const plain = await chat(t, 'gpt-4o', 'fine too');
      assert.equal(plain.status, 200);
      assert.equal(plain.json().choices[0].message.content, replyText('fine too'));
      assert.equal(t.app.records[0].usage, undefined);
    });
  });
});
