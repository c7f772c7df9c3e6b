// Issue 9 on loopback with the real parts: the fake DaiDai's packages, the KeyPool with its
// policy, and the gateway's ModelCatalog filling the keys' model lists, wired into createApp
// as server.ts is to wire them.
import * as assert from 'node:assert/strict';
import { Agent } from 'undici';
import { createFakeDaiDai, DEMO_PACKAGE_KEYS, replyText, type FakeDaiDai, type FakeKey } from '../../fake/fakeDaiDai';
import { createGatewayProbe, ModelCatalog } from '../../../src/core/gateway';
import { KeyPool } from '../../../src/core/pool/keyPool';
import { classifyFailure } from '../../../src/core/pool/policy';
import type { ProxyOptions } from '../../../src/core/proxy/types';
import { setLanguage } from '../../../src/core/l10n';
import { maskKey } from '../../../src/core/util/mask';
import { startApp, type AppHarness } from './helpers/app';
import { chatRequest, CLAUDE, CLAUDE_MODEL, GEMINI, GPT, messagesRequest, mixedSession as mixedSessionAt, PREFIXED } from './helpers/packages';
import { httpRequest } from './helpers/http';


interface Setup {
  fake: FakeDaiDai;
  pool: KeyPool;
  catalog: ModelCatalog;
  app: AppHarness;
  port: number;
}

describe('proxy over packages with the real pool, policy and model catalog (loopback)', function () {
  const closers: Array<() => Promise<unknown> | unknown> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });

  async function setup(keys: readonly FakeKey[], opts: { fetchLists?: boolean; proxy?: Partial<ProxyOptions> } = {}): Promise<Setup> {
    const fake = createFakeDaiDai({ keys: [...keys], costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    closers.push(() => fake.stop());
    const pool = new KeyPool();
    closers.push(() => pool.dispose());
    pool.setKeys(keys.map((k) => ({ key: k.key, name: k.name })));
    const agent = new Agent();
    closers.push(() => agent.close());
    const catalog = new ModelCatalog(pool, createGatewayProbe(agent, fake.gatewayUrl));
    closers.push(() => catalog.dispose());
    if (opts.fetchLists !== false) {
      await catalog.refresh();
      fake.clearRequests();
    }
    const app = await startApp(
      { pool, classify: classifyFailure, models: () => (catalog.known ? catalog.union() : undefined) },
      fake.gatewayUrl,
      opts.proxy,
    );
    closers.push(() => app.close());
    return { fake, pool, catalog, app, port: app.port };
  }

  const chat = (s: Setup, model: string, content?: string, extra?: object) => chatRequest(s.port, model, content, extra);
  const messages = (s: Setup, model: string, content?: string, extra?: object) => messagesRequest(s.port, model, content, extra);

  function assertAllHealthy(s: Setup): void {
    for (const k of s.pool.snapshot().keys) {
      assert.equal(k.state, 'healthy', `${k.id} is ${k.state} (${k.reason})`);
      assert.equal(k.consecutiveFailures, 0, `${k.id} counted as failing`);
      assert.equal(k.stats.failures, 0, `${k.id} has failures`);
    }
  }

  /** Every (key, model) pair the gateway refused, with how often it was sent. */
  function refusedPairs(s: Setup): Map<string, number> {
    const refused = new Set(s.fake.requests.filter((r) => r.status === 403 || r.status === 503).map((r) => `${r.key} ${r.model}`));
    const counts = new Map<string, number>();
    for (const r of s.fake.requests) {
      const p = `${r.key} ${r.model}`;
      if (refused.has(p)) counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    return counts;
  }

  const mixedSession = (s: Setup) => mixedSessionAt(s.port);

  it('a mixed Claude/GPT/Gemini session, lists fetched: every request succeeds on a key that serves it, nothing refused, every key healthy', async () => {
    const s = await setup([CLAUDE, GPT, GEMINI]);
    for (const r of await mixedSession(s)) assert.equal(r.status, 200, r.text);
    assert.ok(s.fake.requests.every((r) => r.status === 200), 'a request reached a key that does not serve its model');
    assertAllHealthy(s);
    assert.ok(s.app.records.every((r) => r.movedOn === undefined && r.attempts === 1));
  });

  it('the same session before any list is known: refusals move on, each refused pair sent once, no key blamed', async () => {
    const s = await setup([CLAUDE, GPT, GEMINI], { fetchLists: false });
    for (const r of await mixedSession(s)) assert.equal(r.status, 200, r.text);
    for (const [pair, n] of refusedPairs(s)) assert.equal(n, 1, `${maskKey(pair.split(' ')[0])} ${pair.split(' ')[1]} sent ${n} times`);
    assert.ok(refusedPairs(s).size > 0, 'no refusal happened: the test lost its point');
    for (const k of s.pool.snapshot().keys) {
      assert.equal(k.state, 'healthy', `${k.id} is ${k.state}`);
      assert.equal(k.consecutiveFailures, 0);
      assert.equal(k.stats.failures, 0, `${k.id}: a model it does not serve counted as a failure`);
    }
    const moved = s.app.records.flatMap((r) => r.movedOn ?? []);
    assert.ok(moved.length > 0);
    for (const m of moved) assert.match(m.reason, / not served by sk-.{4}….{4}, moved on$/);
    assert.ok(s.pool.snapshot().excludedPairs > 0);
  });

  it('a refusal of the model does not use up the retries (maxRetries 0)', async () => {
    const s = await setup([CLAUDE, GEMINI, GPT], { fetchLists: false, proxy: { maxRetries: 0 } });
    const res = await chat(s, 'gpt-4o', 'third key');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().choices[0].message.content, replyText('third key'));
    assert.deepEqual(
      s.fake.requests.map((r) => [maskKey(r.key ?? ''), r.status]),
      [
        [maskKey(CLAUDE.key), 503],
        [maskKey(GEMINI.key), 403],
        [maskKey(GPT.key), 200],
      ],
    );
    assert.deepEqual(
      s.app.records[0].movedOn?.map((m) => m.reason),
      [`gpt-4o not served by ${maskKey(CLAUDE.key)}, moved on`, `gpt-4o not served by ${maskKey(GEMINI.key)}, moved on`],
    );
  });

  it('a model no key serves → the local 404 naming the closest models after one refused attempt, in both formats', async () => {
    const s = await setup([CLAUDE, GPT]);
    const openai = await chat(s, 'gpt-4o-maxi');
    assert.equal(openai.status, 404, openai.text);
    assert.equal(openai.json().error.code, 'model_not_found');
    assert.match(openai.json().error.message, /^No key of this account serves model "gpt-4o-maxi"\. Models it serves: gpt-4o/);
    // (claude-opus-9 would resolve to the newest Opus: an id of no family the keys serve)
    const anthropic = await messages(s, 'claude-nope-9');
    assert.equal(anthropic.status, 404);
    assert.equal(anthropic.json().error.type, 'not_found_error');
    assert.match(anthropic.json().error.message, /No key of this account serves model "claude-nope-9"\. Models it serves: .*claude/);
    assert.equal(s.fake.requests.length, 2, 'each unlisted model was tried once, and refused');
    assert.ok(s.fake.requests.every((r) => r.status === 503));
  });

  it('a proxy-made error: English, then the Chinese when Accept-Language prefers it or the proxy speaks Chinese, in both formats; the reason phrase stays English', async () => {
    const s = await setup([CLAUDE, GPT]);
    const zh = { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' };
    const english = /^No key of this account serves model "gpt-4o-maxi"\. Models it serves: gpt-4o[^/]*\.$/;
    const bilingualMessage = /^No key of this account serves model "gpt-4o-maxi"\. Models it serves: gpt-4o.* \/ 此账号没有密钥提供模型“gpt-4o-maxi”。可用的模型：gpt-4o/;

    const openai = await httpRequest(s.port, '/v1/chat/completions', {
      headers: { authorization: 'Bearer sk-client', ...zh },
      body: { model: 'gpt-4o-maxi', messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(openai.status, 404, openai.text);
    assert.equal(openai.json().error.code, 'model_not_found');
    assert.match(openai.json().error.message, bilingualMessage);
    assert.match(openai.statusMessage, /^DaiDai proxy: No key of this account serves model "gpt-4o-maxi"\./);
    assert.match(openai.statusMessage, /^[\x20-\x7e]+$/, 'the reason phrase is ASCII');
    assert.ok(!openai.statusMessage.includes(' / '), openai.statusMessage);

    const anthropic = await httpRequest(s.port, '/v1/messages', {
      headers: { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01', ...zh },
      body: { model: 'claude-nope-9', max_tokens: 32, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(anthropic.status, 404);
    assert.equal(anthropic.json().type, 'error');
    assert.match(anthropic.json().error.message, / \/ 此账号没有密钥提供模型“claude-nope-9”。/);

    // English first in Accept-Language, or none: English only.
    for (const headers of [{ 'accept-language': 'en-US,zh-CN;q=0.5' }, {}]) {
      const r = await httpRequest(s.port, '/v1/chat/completions', {
        headers: { authorization: 'Bearer sk-client', ...headers },
        body: { model: 'gpt-4o-maxi', messages: [{ role: 'user', content: 'hi' }] },
      });
      assert.match(r.json().error.message, english);
    }

    // A proxy whose own language is Chinese adds the Chinese without being asked.
    setLanguage('zh-cn');
    try {
      const r = await httpRequest(s.port, '/nope', { headers: { authorization: 'Bearer sk-client' } });
      assert.equal(r.status, 404);
      assert.equal(r.json().error.message, 'Unknown path /nope. The API is under /v1 (for example /v1/chat/completions). / 未知路径 /nope。API 位于 /v1 下（例如 /v1/chat/completions）。');
      assert.equal(r.statusMessage, 'DaiDai proxy: Unknown path /nope. The API is under /v1 (for example /v1/chat/completions).');
    } finally {
      setLanguage('en');
    }
    assert.equal(s.fake.requests.length, 2, 'each unlisted model was tried once; after the refusal the 404 is local');
  });

  it('GET /v1/models is the union of the keys\' lists, each id once; /v1/models/{id} answers one, an unknown one 404s', async () => {
    const s = await setup([CLAUDE, GPT, DEMO_PACKAGE_KEYS[1]]);
    const res = await httpRequest(s.port, '/v1/models');
    assert.equal(res.status, 200);
    const ids: string[] = res.json().data.map((m: { id: string }) => m.id);
    assert.deepEqual([...ids].sort(), [...new Set([...(CLAUDE.models ?? []), ...(GPT.models ?? [])])].sort());
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual((await httpRequest(s.port, '/models')).json(), res.json());
    const one = await httpRequest(s.port, `/v1/models/${encodeURIComponent(PREFIXED)}`);
    assert.equal(one.json().id, PREFIXED);
    assert.equal((await httpRequest(s.port, '/v1/models/nope')).status, 404);
    assert.equal(s.fake.requests.length, 0, '/v1/models must not reach the gateway once lists are known');
  });

  it('a moderation refusal reaches the client unchanged after one attempt, and every key stays healthy', async () => {
    const s = await setup([GPT, DEMO_PACKAGE_KEYS[3], DEMO_PACKAGE_KEYS[5]]);
    for (const route of ['chat', 'messages'] as const) {
      s.fake.clearRequests();
      const res = route === 'chat' ? await chat(s, 'gpt-4o', '请 [[moderate]]') : await messages(s, CLAUDE_MODEL, 'say [[moderate]]');
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, /sensitive words detected/);
      assert.equal(s.fake.requests.length, 1, `${route}: the prompt was sent to another key`);
      assert.equal(res.headers['x-daidai-attempts'], '1');
    }
    assertAllHealthy(s);
  });

  it('a request that succeeds on its last attempt on a key taken out by failures earlier (tier 2)', async () => {
    const keys = [GPT, DEMO_PACKAGE_KEYS[3], DEMO_PACKAGE_KEYS[5]];
    const s = await setup(keys, { proxy: { maxRetries: 2 } });
    s.pool.setFailureThreshold(1);
    s.fake.setFault(GPT.key, { status: 500, times: 1 });
    assert.equal((await chat(s, 'gpt-4o', 'takes it out')).status, 200);
    assert.equal(s.pool.snapshot().keys.find((k) => k.id === maskKey(GPT.key))?.state, 'disabled');
    s.fake.clearRequests();
    s.fake.setFault(keys[1].key, { status: 502, times: 1 });
    s.fake.setFault(keys[2].key, { status: 502, times: 1 });
    const res = await chat(s, 'gpt-4o', 'last chance');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().choices[0].message.content, replyText('last chance'));
    const seen = s.fake.requests.map((r) => maskKey(r.key ?? ''));
    assert.deepEqual([...seen.slice(0, 2)].sort(), [keys[1].key, keys[2].key].map(maskKey).sort(), 'the usable keys first');
    assert.equal(seen[2], maskKey(GPT.key), 'the key out by failures last');
    const rec = s.app.records[s.app.records.length - 1];
    assert.equal(rec.attempts, 3);
    // 'failing' (the last resort), or 'usable' when the pool's reset (no key usable at all) put it back first.
    assert.ok(rec.tier === 'failing' || rec.tier === 'usable', `tier ${rec.tier}`);
    assert.equal(s.pool.snapshot().keys.find((k) => k.id === maskKey(GPT.key))?.state, 'healthy', 'a success puts the key back');
  });

  it('a key cooling after a 429 whose cool-down ends within the wait: the next request waits for it', async () => {
    const s = await setup([GPT], { proxy: { cooldownWaitMs: 3000, maxRetries: 0 } });
    s.fake.setFault(GPT.key, { status: 429, retryAfter: '1', times: 1 });
    const limited = await chat(s, 'gpt-4o', 'first');
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.headers['retry-after'], '1');
    assert.equal(s.pool.snapshot().keys[0].state, 'cooling');
    const waited = await chat(s, 'gpt-4o', 'second');
    assert.equal(waited.status, 200, waited.text);
    assert.equal(waited.json().choices[0].message.content, replyText('second'));
    assert.equal(s.app.records[1].tier, 'cooling');
    assert.equal(s.fake.requests.length, 2);
  });

  it('one whose cool-down does not end within the wait: 503 at once with Retry-After, nothing sent', async () => {
    const s = await setup([GPT], { proxy: { cooldownWaitMs: 500, maxRetries: 0 } });
    s.fake.setFault(GPT.key, { status: 429, retryAfter: '20', times: 1 });
    assert.equal((await chat(s, 'gpt-4o')).status, 429);
    const res = await chat(s, 'gpt-4o');
    assert.equal(res.status, 503, res.text);
    const after = Number(res.headers['retry-after']);
    assert.ok(after >= 18 && after <= 20, `retry-after ${after}`);
    assert.match(res.json().error.message, /resting/);
    assert.equal(s.fake.requests.length, 1);
  });
});
