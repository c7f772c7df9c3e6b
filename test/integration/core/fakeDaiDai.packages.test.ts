// The fake DaiDai's packages on loopback: each key serves its package's models and the gateway
// refuses the others the way new-api does (both forms, both routes), moderation, the pricing and
// the monitor that go with them.

import * as assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import {
  createFakeDaiDai,
  DEMO_ACCOUNT,
  DEMO_KEYS,
  DEMO_PACKAGE_KEYS,
  DEMO_PACKAGE_MODELS,
  DEMO_PACKAGE_MODELS_BY_GROUP,
  DEMO_USABLE_KEYS,
  replyText,
  type FakeDaiDai,
  type FakeDaiDaiOptions,
} from '../../fake/fakeDaiDai';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

const [KEY_A, KEY_B, KEY_C, KEY_D, KEY_E, KEY_F] = DEMO_USABLE_KEYS;
const REQUEST_ID = /\(request id: \d+\)$/;

describe('fake DaiDai: packages (loopback)', () => {
  let fake: FakeDaiDai;
  let agent: Agent;

  async function restart(opts: FakeDaiDaiOptions = { packages: true }): Promise<void> {
    await fake?.stop();
    fake = createFakeDaiDai(opts);
    await fake.start(0);
  }

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
  const xKey = (key: string) => ({ 'x-api-key': key, 'anthropic-version': '2023-06-01' });
  const chat = (model: string, text = 'hi', extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: text }], ...extra });
  const msg = (model: string, text = 'hi', extra: Record<string, unknown> = {}) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra });
  const modelIds = async (key: string) => ((await call('GET', '/v1/models', { headers: bearer(key) })).json.data as Array<{ id: string }>).map((m) => m.id);

  beforeEach(async () => {
    agent = new Agent();
    await restart();
  });

  afterEach(async () => {
    await agent.close();
    await fake.stop();
  });

  describe('the demo account with packages', () => {
    it('keeps the keys, balances (¥216.80 in all) and unusable orders of the demo account', () => {
      const keys = fake.keys();
      assert.equal(keys.length, DEMO_KEYS.length);
      const usable = keys.filter((k) => k.key && (k.state ?? 'success') === 'success' && !k.hasError).map((k) => k.key);
      assert.deepEqual([...new Set(usable)], [...DEMO_USABLE_KEYS]);
      assert.equal(DEMO_USABLE_KEYS.length, 6);
      const total = DEMO_USABLE_KEYS.reduce((sum, k) => sum + fake.balanceOf(k)!, 0);
      assert.equal(total.toFixed(2), '216.80');
      for (const k of DEMO_USABLE_KEYS) assert.equal(fake.balanceOf(k), DEMO_KEYS.find((o) => o.key === k)!.balance);
      assert.ok(keys.some((k) => k.state === 'pending') && keys.some((k) => k.hasError) && keys.some((k) => !k.key));
      assert.equal(keys.filter((k) => k.key === KEY_A).length, 2, 'the renewal order of key A stays');
    });

    it("lists each key's own models in new-api's shape", async () => {
      const claude = [...DEMO_PACKAGE_MODELS_BY_GROUP['claude-max']];
      const gpt = [...DEMO_PACKAGE_MODELS_BY_GROUP.gpt];
      assert.deepEqual(await modelIds(KEY_A), claude);
      assert.deepEqual(await modelIds(KEY_B), claude);
      assert.deepEqual(await modelIds(KEY_C), gpt);
      assert.deepEqual(await modelIds(KEY_D), [...DEMO_PACKAGE_MODELS]);
      assert.deepEqual(await modelIds(KEY_E), [...DEMO_PACKAGE_MODELS_BY_GROUP.gemini]);
      assert.deepEqual(await modelIds(KEY_F), gpt);
      assert.ok(claude.includes('[官Max]claude-sonnet-4-5-20250929') && claude.includes('claude-sonnet-4-5-20250929'));

      const r = await call('GET', '/v1/models', { headers: bearer(KEY_A) });
      assert.equal(r.json.object, 'list');
      assert.equal(r.json.success, true);
      const sonnet = r.json.data.find((m: any) => m.id === 'claude-sonnet-4-5-20250929');
      assert.equal(sonnet.object, 'model');
      assert.equal(sonnet.owned_by, 'anthropic');
      assert.equal(sonnet.root, 'claude-sonnet-4-5-20250929');
      assert.equal(sonnet.parent, null);
      assert.equal(typeof sonnet.created, 'number');
      assert.equal(sonnet.permission[0].object, 'model_permission');
      assert.equal(r.json.data.find((m: any) => m.id.startsWith('[官Max]')).owned_by, 'custom');
      const c = await call('GET', '/v1/models', { headers: bearer(KEY_C) });
      assert.equal(c.json.data.find((m: any) => m.id === 'gpt-4o-mini').owned_by, 'openai');
    });

    it('GET /v1/models/{id} knows only the key\'s own models', async () => {
      const ok = await call('GET', `/v1/models/${encodeURIComponent('[官Max]claude-sonnet-4-5-20250929')}`, { headers: bearer(KEY_A) });
      assert.equal(ok.status, 200);
      assert.equal(ok.json.id, '[官Max]claude-sonnet-4-5-20250929');
      assert.equal(ok.json.object, 'model');
      const other = await call('GET', '/v1/models/gpt-4o-mini', { headers: bearer(KEY_A) });
      assert.equal(other.status, 404);
      assert.equal((await call('GET', '/v1/models/gpt-4o-mini', { headers: bearer(KEY_C) })).status, 200);
    });

    it("serves the README's curl example (gpt-4o-mini, streamed) on some key, and each package's models on its keys", async () => {
      const servers = DEMO_USABLE_KEYS.filter((k) => DEMO_PACKAGE_KEYS.find((o) => o.key === k)!.models!.includes('gpt-4o-mini'));
      assert.deepEqual(servers, [KEY_C, KEY_D, KEY_F]);
      const s = await call('POST', '/v1/chat/completions', { body: chat('gpt-4o-mini', 'hi', { stream: true }), headers: bearer(KEY_C) });
      assert.equal(s.status, 200);
      assert.ok(s.text.endsWith('data: [DONE]\n\n'));
      const m = await call('POST', '/v1/messages', { body: msg('[官Max]claude-sonnet-4-5-20250929', 'claude'), headers: xKey(KEY_B) });
      assert.equal(m.status, 200);
      assert.equal(m.json.content[0].text, replyText('claude'));
      const e = await call('POST', '/v1/embeddings', { body: { model: 'text-embedding-3-small', input: 'v' }, headers: bearer(KEY_F) });
      assert.equal(e.status, 200);
      const g = await call('POST', '/v1/chat/completions', { body: chat('gemini-2.5-flash'), headers: bearer(KEY_E) });
      assert.equal(g.status, 200);
      const all = await call('POST', '/v1/messages', { body: msg('claude-opus-4-1-20250805'), headers: xKey(KEY_D) });
      assert.equal(all.status, 200, 'the all-models key serves Claude too');
    });
  });

  describe('refusing a model outside the package', () => {
    it("group without a channel: 503 new_api_error model_not_found naming the group, in the OpenAI shape on both routes", async () => {
      const before = fake.balanceOf(KEY_A);
      const oa = await call('POST', '/v1/chat/completions', { body: chat('gpt-4o-mini'), headers: bearer(KEY_A) });
      assert.equal(oa.status, 503);
      assert.equal(oa.json.error.type, 'new_api_error');
      assert.equal(oa.json.error.code, 'model_not_found');
      assert.match(oa.json.error.message, /^当前分组 claude-max 下对于模型 gpt-4o-mini 无可用渠道 \(request id: \d+\)$/);

      // new-api's distributor refuses before the relay knows the format: OpenAI shape on /v1/messages too.
      const an = await call('POST', '/v1/messages', { body: msg('claude-sonnet-4-5-20250929'), headers: xKey(KEY_C) });
      assert.equal(an.status, 503);
      assert.equal(an.json.type, undefined);
      assert.equal(an.json.error.type, 'new_api_error');
      assert.equal(an.json.error.code, 'model_not_found');
      assert.match(an.json.error.message, /^当前分组 gpt 下对于模型 claude-sonnet-4-5-20250929 无可用渠道 /);
      assert.match(an.json.error.message, REQUEST_ID);

      for (const [path, body] of [
        ['/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }],
        ['/v1/completions', { model: 'gpt-4o-mini', prompt: 'x' }],
        ['/v1/messages/count_tokens', msg('gpt-4o')],
      ] as const) {
        const r = await call('POST', path, { body, headers: bearer(KEY_B) });
        assert.equal(r.status, 503, path);
        assert.equal(r.json.error.code, 'model_not_found', path);
      }
      assert.equal(fake.balanceOf(KEY_A), before, 'a refused request is not charged');
    });

    it('token model list: 403 该令牌无权使用模型 on both routes', async () => {
      const before = fake.balanceOf(KEY_E);
      const oa = await call('POST', '/v1/chat/completions', { body: chat('gpt-4o'), headers: bearer(KEY_E) });
      assert.equal(oa.status, 403);
      assert.equal(oa.json.error.type, 'new_api_error');
      assert.match(oa.json.error.message, /^该令牌无权使用模型：gpt-4o \(request id: \d+\)$/);
      assert.notEqual(oa.json.error.code, 'model_not_found');

      const an = await call('POST', '/v1/messages?beta=true', { body: msg('[官Max]claude-sonnet-4-5-20250929', 'x', { stream: true }), headers: xKey(KEY_E) });
      assert.equal(an.status, 403);
      assert.match(String(an.headers['content-type']), /^application\/json/);
      assert.match(an.json.error.message, /^该令牌无权使用模型：\[官Max\]claude-sonnet-4-5-20250929 \(request id: \d+\)$/);
      assert.equal(fake.balanceOf(KEY_E), before);
    });

    it('compares model ids exactly: a prefixed id is not its bare id', async () => {
      fake.setKeys([{ key: KEY_A, name: 'only bare', balance: 5, used: 0, models: ['claude-sonnet-4-5-20250929'], group: 'claude-basic', refusal: 'no-channel' }]);
      assert.equal((await call('POST', '/v1/messages', { body: msg('claude-sonnet-4-5-20250929'), headers: xKey(KEY_A) })).status, 200);
      const r = await call('POST', '/v1/messages', { body: msg('[官Max]claude-sonnet-4-5-20250929'), headers: xKey(KEY_A) });
      assert.equal(r.status, 503);
      assert.match(r.json.error.message, /当前分组 claude-basic 下对于模型 \[官Max\]claude-sonnet-4-5-20250929 无可用渠道/);
    });

    it('tests can set any key\'s models, group and refusal; the request log names the model', async () => {
      fake.setKeys([
        { key: KEY_A, name: 'p', balance: 5, used: 0, models: ['m-1'], refusal: 'permission' },
        { key: KEY_B, name: 'q', balance: 5, used: 0, models: ['m-2'], group: 'vip' },
        { key: KEY_C, name: 'r', balance: 5, used: 0 },
      ]);
      assert.deepEqual(await modelIds(KEY_A), ['m-1']);
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('m-2'), headers: bearer(KEY_A) })).status, 403);
      const b = await call('POST', '/v1/chat/completions', { body: chat('m-1'), headers: bearer(KEY_B) });
      assert.equal(b.status, 503);
      assert.match(b.json.error.message, /当前分组 vip 下对于模型 m-1/);
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('m-1'), headers: bearer(KEY_C) })).status, 200, 'a key without a list serves anything');
      assert.deepEqual(
        fake.requests.filter((r) => r.path === '/v1/chat/completions').map((r) => [r.model, r.status]),
        [['m-2', 403], ['m-1', 503], ['m-1', 200]],
      );
    });

    it('without packages every key serves every model, as before', async () => {
      await restart({});
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('gpt-4o-mini'), headers: bearer(KEY_A) })).status, 200);
      assert.equal((await call('POST', '/v1/chat/completions', { body: chat('some-model-nobody-lists'), headers: bearer(KEY_B) })).status, 200);
      assert.deepEqual(await modelIds(KEY_A), await modelIds(KEY_E));
    });
  });

  describe('moderation', () => {
    it('refuses [[moderate]] on a chat with 400 sensitive_words_detected, whatever the key and its package, without charging', async () => {
      for (const key of [KEY_A, KEY_C, KEY_D, KEY_E, KEY_F]) {
        const before = fake.balanceOf(key);
        const r = await call('POST', '/v1/chat/completions', { body: chat('gpt-4o-mini', 'please [[moderate]] this'), headers: bearer(key) });
        assert.equal(r.status, 400);
        assert.equal(r.json.error.type, 'new_api_error');
        assert.equal(r.json.error.code, 'sensitive_words_detected');
        assert.match(r.json.error.message, /^您的请求包含敏感内容 \(sensitive words detected\) \(request id: \d+\)$/);
        assert.equal(fake.balanceOf(key), before);
      }
    });

    it("answers 敏感词 on /v1/messages in new-api's Claude shape (type error, new_api_error)", async () => {
      const r = await call('POST', '/v1/messages', { body: msg('claude-3-5-haiku-20241022', '这里有敏感词', { stream: true }), headers: xKey(KEY_A) });
      assert.equal(r.status, 400);
      assert.equal(r.json.type, 'error');
      assert.equal(r.json.error.type, 'new_api_error');
      assert.match(r.json.error.message, /sensitive words detected/);
      assert.match(r.json.error.message, REQUEST_ID);
    });

    it('reads only the last user message, and works without packages too', async () => {
      await restart({});
      const earlier = {
        model: 'gpt-4o',
        messages: [
          { role: 'user', content: '敏感词 earlier' },
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: [{ type: 'text', text: 'clean now' }] },
        ],
      };
      assert.equal((await call('POST', '/v1/chat/completions', { body: earlier, headers: bearer(KEY_B) })).status, 200);
      const last = { ...earlier, messages: [...earlier.messages, { role: 'user', content: [{ type: 'text', text: 'x [[moderate]]' }] }] };
      const r = await call('POST', '/v1/chat/completions', { body: last, headers: bearer(KEY_B) });
      assert.equal(r.status, 400);
      assert.equal(r.json.error.code, 'sensitive_words_detected');
    });
  });

  describe('pricing and the monitor with packages', () => {
    async function login(): Promise<string> {
      const r = await call('POST', '/api/users/login', { body: { userEmail: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password } });
      return r.json.token as string;
    }

    it('prices every package model, with and without channel prefixes, one of them per call', async () => {
      const token = await login();
      const p = await call('POST', '/api/commodity/getPricing', { body: { userId: DEMO_ACCOUNT.userId }, headers: bearer(token) });
      assert.equal(p.json.code, 200);
      const rows = p.json.msg.list as Array<Record<string, unknown>>;
      const names = new Set(rows.map((r) => r.all_name));
      for (const m of DEMO_PACKAGE_MODELS) assert.ok(names.has(m), `${m} has a price`);
      assert.ok(rows.some((r) => String(r.all_name).startsWith('[')) && rows.some((r) => !String(r.all_name).startsWith('[')));
      const perCall = rows.filter((r) => r.is_price === '1');
      assert.ok(perCall.length >= 1);
      for (const r of rows.filter((r) => String(r.is_price) !== '1')) assert.ok(Number(r.input_price) > 0, `${r.all_name} has an input price`);
    });

    it('lists every package model in the monitor with history, one under 95 % availability', async () => {
      const m = await call('GET', '/api/monitors/status');
      assert.equal(m.status, 200);
      const names = (m.json as Array<{ modelName: string }>).map((r) => r.modelName);
      for (const id of DEMO_PACKAGE_MODELS) assert.ok(names.includes(id), `${id} is monitored`);
      const availability = (m.json as Array<{ history: Array<{ weightedErrorRate: unknown }> }>).map((r) => 100 - Number(r.history[0].weightedErrorRate));
      assert.ok(availability.every((a) => Number.isFinite(a)));
      assert.ok(availability.some((a) => a < 95));
      assert.ok(availability.some((a) => a >= 95));
    });
  });
});
