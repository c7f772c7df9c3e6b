// Issue 19 on loopback with the real parts (fake DaiDai packages, KeyPool, policy, ModelCatalog,
// the RequestRouter): coding assistants' model ids resolve to the ones the account serves (body
// rewritten, x-daidai-model, the record and the log line, /health); a conversation stays on one
// key, moves once when that key fails and stays; different conversations spread; the Responses
// API streams through with its usage read; count_tokens falls back to a local estimate.
import * as assert from 'node:assert/strict';
import { Agent } from 'undici';
import { createFakeDaiDai, DEMO_PACKAGE_KEYS, type FakeDaiDai, type FakeKey } from '../../fake/fakeDaiDai';
import { createGatewayProbe, ModelCatalog } from '../../../src/core/gateway';
import { KeyPool } from '../../../src/core/pool/keyPool';
import { classifyFailure } from '../../../src/core/pool/policy';
import { requestLogLine } from '../../../src/core/present/requests';
import { RequestRouter, type RoutingOptions } from '../../../src/core/routing/router';
import { createUsageMeter } from '../../../src/core/usage/meter';
import { setLanguage } from '../../../src/core/l10n';
import { startApp, type AppHarness } from './helpers/app';
import { httpRequest, parseSse } from './helpers/http';

const CLAUDE_A = DEMO_PACKAGE_KEYS[0]!;
const CLAUDE_B = DEMO_PACKAGE_KEYS[1]!;
const GPT = DEMO_PACKAGE_KEYS[2]!;

interface Setup {
  fake: FakeDaiDai;
  pool: KeyPool;
  app: AppHarness;
  port: number;
  router: RequestRouter;
}

const SESSION = '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';

describe('proxy: coding assistants (model resolution, session affinity, Responses API, count_tokens)', function () {
  const closers: Array<() => Promise<unknown> | unknown> = [];
  before(() => setLanguage('en'));
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  });

  async function setup(keys: readonly FakeKey[], routing: Partial<RoutingOptions> = {}): Promise<Setup> {
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
    await catalog.refresh();
    fake.clearRequests();
    const router = new RequestRouter(routing);
    const app = await startApp(
      { pool, classify: classifyFailure, models: () => (catalog.known ? catalog.union() : undefined), router, usage: createUsageMeter() },
      fake.gatewayUrl,
    );
    closers.push(() => app.close());
    return { fake, pool, app, port: app.port, router };
  }

  /** Claude Code's request: its own model id, its session header and metadata, a Bearer token. */
  function claudeCode(s: Setup, session: string, turns: { role: string; content: string }[], model = 'claude-opus-4-8') {
    return httpRequest(s.port, '/v1/messages?beta=true', {
      headers: { authorization: 'Bearer anything', 'anthropic-version': '2023-06-01', 'x-claude-code-session-id': session, 'anthropic-beta': 'context-1m-2025-08-07' },
      body: {
        model,
        messages: turns,
        system: [{ type: 'text', text: 'You are Claude Code. '.repeat(100), cache_control: { type: 'ephemeral' } }],
        metadata: { user_id: JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '', session_id: session }) },
        max_tokens: 32000,
        stream: true,
      },
    });
  }

  it('resolves Claude Code\'s ids to the account\'s: body rewritten, x-daidai-model, record, log line, /health', async () => {
    const s = await setup([CLAUDE_A, GPT]);
    const res = await claudeCode(s, SESSION, [{ role: 'user', content: 'say hi' }]);
    assert.equal(res.status, 200, res.text);
    assert.equal(s.fake.requests[0]!.model, '[官Max]claude-opus-4-6-20260205', 'the gateway got the served id');
    assert.equal(decodeURIComponent(String(res.headers['x-daidai-model'])), '[官Max]claude-opus-4-6-20260205');
    assert.match(String(res.headers['x-daidai-model']), /^[\x20-\x7e]+$/);
    const events = parseSse(res.text).map((e) => e.event);
    assert.equal(events[events.length - 1], 'message_stop');
    const rec = s.app.records[0]!;
    assert.equal(rec.requestedModel, 'claude-opus-4-8');
    assert.equal(rec.model, '[官Max]claude-opus-4-6-20260205');
    assert.match(requestLogLine(rec), /model=claude-opus-4-8 → \[官Max\]claude-opus-4-6-20260205 stream → 200/);
    // background haiku work and a dated sonnet resolve in their own families
    const haiku = await claudeCode(s, SESSION, [{ role: 'user', content: 'title?' }], 'claude-haiku-4-5');
    assert.equal(haiku.status, 200);
    assert.equal(s.fake.requests[1]!.model, '[官Max]claude-haiku-4-5-20251001');
    const health = (await httpRequest(s.port, '/health')).json<{ routing: { resolved: Record<string, string>; familyFallback: boolean } }>();
    assert.deepEqual(health.routing.resolved, { 'claude-opus-4-8': '[官Max]claude-opus-4-6-20260205', 'claude-haiku-4-5': '[官Max]claude-haiku-4-5-20251001' });
    assert.equal(health.routing.familyFallback, true);
  });

  it('an exact id is sent as it is; an alias wins; with familyFallback off an unlisted id is the gateway\'s to refuse', async () => {
    const s = await setup([CLAUDE_A], { aliases: { 'claude-opus-4-8': 'claude-sonnet-4-6-20260217' } });
    await claudeCode(s, SESSION, [{ role: 'user', content: 'a' }]);
    assert.equal(s.fake.requests[0]!.model, '[官Max]claude-sonnet-4-6-20260217');
    await claudeCode(s, SESSION, [{ role: 'user', content: 'b' }], 'claude-sonnet-4-5-20250929');
    assert.equal(s.fake.requests[1]!.model, 'claude-sonnet-4-5-20250929');
    assert.equal(s.app.records[1]!.requestedModel, undefined);
    const off = await setup([CLAUDE_A], { familyFallback: false });
    const res = await claudeCode(off, SESSION, [{ role: 'user', content: 'c' }]);
    assert.equal(res.status, 404);
    assert.equal(off.fake.requests.length, 1, 'tried once: the gateway decides');
    assert.equal(off.fake.requests[0]!.model, 'claude-opus-4-8');
  });

  it('the Responses API (Codex): resolved, streamed through to response.completed, usage read', async () => {
    const s = await setup([GPT]);
    const res = await httpRequest(s.port, '/v1/responses', {
      headers: { authorization: 'Bearer anything', 'session-id': SESSION, 'thread-id': SESSION },
      body: { model: 'gpt-5.1', stream: true, store: false, prompt_cache_key: SESSION, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'say hi' }] }] },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(s.fake.requests[0]!.model, 'gpt-5');
    const types = parseSse(res.text).map((e) => e.event);
    assert.deepEqual(types.slice(-2), ['response.output_item.done', 'response.completed']);
    const rec = s.app.records[0]!;
    assert.ok(rec.usage && rec.usage.outputTokens === 8, JSON.stringify(rec.usage));
  });

  it('count_tokens: passed through when the gateway answers; a local estimate in Anthropic\'s shape when it cannot', async () => {
    const s = await setup([CLAUDE_A]);
    const body = { model: 'claude-opus-4-8', messages: [{ role: 'user', content: 'x'.repeat(400) }] };
    const headers = { 'x-api-key': 'anything', 'anthropic-version': '2023-06-01' };
    const passed = await httpRequest(s.port, '/v1/messages/count_tokens', { headers, body });
    assert.deepEqual(passed.json(), { input_tokens: 100 });
    assert.equal(passed.headers['x-daidai-estimate'], undefined);
    assert.equal(s.fake.requests[0]!.model, '[官Max]claude-opus-4-6-20260205');
    s.fake.setGatewayFault({ status: 404, body: { error: { message: 'Invalid URL (POST /v1/messages/count_tokens)', type: 'invalid_request_error' } } });
    const local = await httpRequest(s.port, '/v1/messages/count_tokens', { headers, body });
    assert.equal(local.status, 200);
    assert.equal(local.headers['x-daidai-estimate'], 'local');
    const n = local.json<{ input_tokens: number }>().input_tokens;
    assert.ok(n >= 90 && n <= 120, `estimate ${n} for 400 Latin characters`);
    assert.deepEqual(Object.keys(local.json()), ['input_tokens']);
    for (const k of s.pool.snapshot().keys) assert.equal(k.stats.failures, 0, 'no key blamed for the gateway\'s missing route');
  });

  describe('session affinity', () => {
    it('a conversation stays on one key; different conversations spread over the keys that serve the model', async () => {
      const s = await setup([CLAUDE_A, CLAUDE_B, GPT]);
      const turns: { role: string; content: string }[] = [{ role: 'user', content: 'q1' }];
      for (let i = 0; i < 4; i++) {
        assert.equal((await claudeCode(s, SESSION, turns)).status, 200);
        turns.push({ role: 'assistant', content: `a${i}` }, { role: 'user', content: `q${i + 2}` });
      }
      const keysOfSession = new Set(s.fake.requests.map((r) => r.key));
      assert.equal(keysOfSession.size, 1, 'every turn on one key');
      assert.deepEqual(s.app.records.map((r) => r.session), ['new', 'same', 'same', 'same']);
      // the fake's prompt cache: later turns read the history on that key
      const cached = s.app.records.slice(1).map((r) => r.usage?.cacheReadTokens ?? 0);
      assert.ok(cached.every((c) => c > 0), `cache reads ${cached}`);
      // four other conversations: round-robin among the two Claude keys, never the GPT key
      s.fake.clearRequests();
      for (let i = 0; i < 4; i++) await claudeCode(s, `other-${i}`, [{ role: 'user', content: 'hello' }]);
      const used = s.fake.requests.map((r) => r.key);
      assert.ok(used.includes(CLAUDE_A.key) && used.includes(CLAUDE_B.key), 'sessions spread over both Claude keys');
      assert.ok(!used.includes(GPT.key));
    });

    it('the sticky key failing moves the session once, and it stays on its new key', async () => {
      const s = await setup([CLAUDE_A, CLAUDE_B]);
      const turns: { role: string; content: string }[] = [{ role: 'user', content: 'q1' }];
      const turn = async () => {
        const r = await claudeCode(s, SESSION, turns);
        turns.push({ role: 'assistant', content: 'a' }, { role: 'user', content: `q${turns.length}` });
        return r;
      };
      await turn();
      const first = s.fake.requests[0]!.key!;
      const other = first === CLAUDE_A.key ? CLAUDE_B.key : CLAUDE_A.key;
      s.fake.setFault(first, { status: 500, times: 1 });
      assert.equal((await turn()).status, 200);
      for (let i = 0; i < 3; i++) assert.equal((await turn()).status, 200);
      const keys = s.fake.requests.map((r) => r.key);
      assert.deepEqual(keys, [first, first, other, other, other, other], 'failed over once, then stayed on the new key');
      assert.deepEqual(s.app.records.map((r) => r.session), ['new', 'moved', 'same', 'same', 'same']);
      assert.equal(s.router.health().sessionMoves, 1);
    });

    it('without ids, a growing conversation sticks by its system prompt and first message (SillyTavern)', async () => {
      const s = await setup([CLAUDE_A, CLAUDE_B], { sessionAffinity: true });
      const messages: { role: string; content: string }[] = [{ role: 'system', content: 'You are Seraphina.' }, { role: 'user', content: 'Hello' }];
      for (let i = 0; i < 3; i++) {
        const r = await httpRequest(s.port, '/v1/chat/completions', { headers: { authorization: 'Bearer x' }, body: { model: 'claude-sonnet-4-5-20250929', messages, stream: true } });
        assert.equal(r.status, 200);
        messages.push({ role: 'assistant', content: `a${i}` }, { role: 'user', content: `u${i}` });
      }
      assert.equal(new Set(s.fake.requests.map((r) => r.key)).size, 1);
    });

    it('off (daidai.routing.sessionAffinity false): round-robin turn by turn', async () => {
      const s = await setup([CLAUDE_A, CLAUDE_B], { sessionAffinity: false });
      for (let i = 0; i < 4; i++) await claudeCode(s, SESSION, [{ role: 'user', content: `q${i}` }]);
      assert.equal(new Set(s.fake.requests.map((r) => r.key)).size, 2);
      assert.ok(s.app.records.every((r) => r.session === undefined));
    });
  });
});

