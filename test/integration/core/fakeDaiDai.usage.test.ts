// The fake DaiDai's answers carry usage like the real gateways (every answer shape), with token
// counts the exported helpers predict, and a successful request's cost comes off the key's
// balance at the account's own prices: `utilised` is the truth a usage estimate is checked against.

import * as assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import {
  createFakeDaiDai,
  DEMO_ACCOUNT,
  DEMO_PACKAGE_PRICING,
  DEMO_USABLE_KEYS,
  fakeCompletionTokens,
  fakeCostOf,
  fakeEmbeddingTokens,
  fakeInputTokens,
  fakePriceOf,
  fakePromptTokens,
  type FakeDaiDai,
  type FakeDaiDaiOptions,
} from '../../fake/fakeDaiDai';

interface Reply {
  status: number;
  text: string;
  json: any;
}

const [KEY_A, , KEY_C, KEY_D, , KEY_F] = DEMO_USABLE_KEYS;
const money = (n: number) => Math.round(n * 1e9) / 1e9;

function sseData(text: string): Array<{ event?: string; data: string }> {
  return text
    .split('\n\n')
    .filter((b) => b.trim())
    .map((block) => {
      const ev: { event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      return ev;
    });
}

describe('fake DaiDai: usage and cost (loopback)', () => {
  let fake: FakeDaiDai;
  let agent: Agent;

  async function restart(opts: FakeDaiDaiOptions): Promise<void> {
    await fake?.stop();
    fake = createFakeDaiDai(opts);
    await fake.start(0);
  }

  /** Sends `raw` as the body so the test knows the exact bytes the token count comes from. */
  async function post(path: string, raw: string, headers: Record<string, string>): Promise<Reply> {
    const res = await request(fake.url + path, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: raw, dispatcher: agent });
    const text = await res.body.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json };
  }

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const xKey = (key: string) => ({ 'x-api-key': key });
  const chatRaw = (model: string, text: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: text }], ...extra });
  const msgBody = (model: string, text: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 64, system: 'sys prompt', messages: [{ role: 'user', content: [{ type: 'text', text }] }], ...extra });

  beforeEach(async () => {
    agent = new Agent();
    await restart({ packages: true });
  });

  afterEach(async () => {
    await agent.close();
    await fake.stop();
  });

  describe('usage in every answer shape', () => {
    it('OpenAI chat, not streamed: prompt, completion and total tokens', async () => {
      const raw = chatRaw('gpt-4o-mini', '数一数 tokens please');
      const r = await post('/v1/chat/completions', raw, bearer(KEY_C));
      assert.equal(r.status, 200);
      const prompt = fakePromptTokens(raw);
      const completion = fakeCompletionTokens('数一数 tokens please');
      assert.ok(prompt > 1 && completion > 1);
      assert.deepEqual(r.json.usage, { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
    });

    it('OpenAI streams: a final usage chunk only with stream_options.include_usage', async () => {
      const raw = chatRaw('gpt-4o', 'stream usage', { stream: true, stream_options: { include_usage: true } });
      const r = await post('/v1/chat/completions', raw, { ...bearer(KEY_C), 'x-demo-chunks': '4' });
      const events = sseData(r.text);
      assert.equal(events.at(-1)!.data, '[DONE]');
      const last = JSON.parse(events.at(-2)!.data);
      assert.deepEqual(last.choices, []);
      const prompt = fakePromptTokens(raw);
      assert.deepEqual(last.usage, { prompt_tokens: prompt, completion_tokens: 4, total_tokens: prompt + 4 });
      assert.equal(fakeCompletionTokens('stream usage', 4), 4);
      const carrying = events.slice(0, -1).filter((e) => JSON.parse(e.data).usage);
      assert.equal(carrying.length, 1, 'only the last chunk carries usage');

      const plain = sseData((await post('/v1/chat/completions', chatRaw('gpt-4o', 'x', { stream: true }), bearer(KEY_C))).text);
      assert.ok(plain.slice(0, -1).every((e) => JSON.parse(e.data).usage === undefined), 'no usage chunk unless asked');

      const completions = sseData((await post('/v1/completions', JSON.stringify({ model: 'gpt-4o-mini', prompt: 'p', stream: true, stream_options: { include_usage: true } }), bearer(KEY_C))).text);
      assert.equal(JSON.parse(completions.at(-2)!.data).usage.completion_tokens, 8);
    });

    it("usageChunk: 'always' sends the usage chunk without stream_options", async () => {
      await restart({ packages: true, usageChunk: 'always' });
      const raw = chatRaw('gpt-4o-mini', 'always', { stream: true });
      const events = sseData((await post('/v1/chat/completions', raw, { ...bearer(KEY_C), 'x-demo-chunks': '3' })).text);
      const usage = JSON.parse(events.at(-2)!.data).usage;
      assert.deepEqual(usage, { prompt_tokens: fakePromptTokens(raw), completion_tokens: 3, total_tokens: fakePromptTokens(raw) + 3 });
    });

    it('Anthropic: message_start input_tokens, message_delta output_tokens, the JSON body, and count_tokens agree', async () => {
      const body = msgBody('claude-3-5-haiku-20241022', 'anthropic usage 用量', { stream: true });
      const input = fakeInputTokens(body);
      const s = await post('/v1/messages', JSON.stringify(body), { ...xKey(KEY_A), 'x-demo-chunks': '5' });
      const events = sseData(s.text);
      const start = JSON.parse(events.find((e) => e.event === 'message_start')!.data);
      assert.equal(start.message.usage.input_tokens, input);
      const delta = JSON.parse(events.find((e) => e.event === 'message_delta')!.data);
      assert.equal(delta.usage.output_tokens, 5);

      const plainBody = msgBody('claude-3-5-haiku-20241022', 'anthropic usage 用量');
      const j = await post('/v1/messages', JSON.stringify(plainBody), xKey(KEY_A));
      assert.deepEqual(j.json.usage, { input_tokens: input, output_tokens: fakeCompletionTokens('anthropic usage 用量') });
      const count = await post('/v1/messages/count_tokens', JSON.stringify(plainBody), xKey(KEY_A));
      assert.equal(count.json.input_tokens, input);
    });

    it('embeddings: prompt and total tokens over the inputs', async () => {
      const inputs = ['alpha', '向量 beta', 'gamma gamma gamma gamma'];
      const r = await post('/v1/embeddings', JSON.stringify({ model: 'text-embedding-3-small', input: inputs }), bearer(KEY_F));
      const tokens = fakeEmbeddingTokens(inputs);
      assert.ok(tokens >= inputs.length);
      assert.deepEqual(r.json.usage, { prompt_tokens: tokens, total_tokens: tokens });
    });
  });

  describe('cost taken from the balance', () => {
    it('per million tokens: exactly fakeCostOf the answer\'s usage, added to utilised', async () => {
      const before = fake.balanceOf(KEY_C)!;
      const usedBefore = fake.keys().find((k) => k.key === KEY_C)!.used;
      const r = await post('/v1/chat/completions', chatRaw('gpt-4o', 'what does this cost?'), bearer(KEY_C));
      const cost = fakeCostOf('gpt-4o', { inputTokens: r.json.usage.prompt_tokens, outputTokens: r.json.usage.completion_tokens })!;
      assert.ok(cost > 0);
      assert.equal(cost, (r.json.usage.prompt_tokens * 5 + r.json.usage.completion_tokens * 20) / 1e6, 'gpt-4o is ¥5 / ¥20 per million');
      assert.equal(fake.balanceOf(KEY_C), money(before - cost));
      assert.equal(fake.keys().find((k) => k.key === KEY_C)!.used, money(usedBefore + cost));
    });

    it('per call, a prefixed id at its own price, and unpriced models at costPerRequest', async () => {
      await restart({ packages: true, costPerRequest: 0.02 });
      const c0 = fake.balanceOf(KEY_C)!;
      await post('/v1/chat/completions', chatRaw('gpt-4o-image', 'draw'), bearer(KEY_C));
      assert.deepEqual(fakePriceOf('gpt-4o-image'), { perCall: 0.1 });
      assert.equal(fake.balanceOf(KEY_C), money(c0 - 0.1));

      const a0 = fake.balanceOf(KEY_A)!;
      const body = msgBody('[官Max]claude-sonnet-4-5-20250929', 'max price', { stream: true });
      await post('/v1/messages', JSON.stringify(body), { ...xKey(KEY_A), 'x-demo-chunks': '6' });
      const maxCost = (fakeInputTokens(body) * 12 + 6 * 60) / 1e6;
      assert.equal(fake.balanceOf(KEY_A), money(a0 - maxCost));
      assert.notDeepEqual(fakePriceOf('[官Max]claude-sonnet-4-5-20250929'), fakePriceOf('claude-sonnet-4-5-20250929'));
      assert.deepEqual(fakePriceOf('[某渠道]gpt-4o'), fakePriceOf('gpt-4o'), 'a prefixed id without a row costs its bare id');

      fake.setKeys([{ key: KEY_D, name: 'any', balance: 1, used: 0 }]);
      await post('/v1/chat/completions', chatRaw('model-without-a-price', 'x'), bearer(KEY_D));
      assert.equal(fakeCostOf('model-without-a-price', { inputTokens: 10, outputTokens: 10 }), undefined);
      assert.equal(fake.balanceOf(KEY_D), 0.98);
    });

    it('model lists, count_tokens and refusals are free', async () => {
      const a0 = fake.balanceOf(KEY_A);
      await request(`${fake.gatewayUrl}/models`, { headers: bearer(KEY_A), dispatcher: agent }).then((r) => r.body.text());
      await post('/v1/messages/count_tokens', JSON.stringify(msgBody('claude-3-5-haiku-20241022', 'x')), xKey(KEY_A));
      await post('/v1/chat/completions', chatRaw('gpt-4o', 'not my package'), bearer(KEY_A));
      await post('/v1/chat/completions', chatRaw('claude-3-5-haiku-20241022', '[[moderate]]'), bearer(KEY_A));
      assert.equal(fake.balanceOf(KEY_A), a0);
    });

    it("after a mixed session, the account's utilised equals the sum of the answers' costs at the account's prices", async () => {
      const token = (await post('/api/users/login', JSON.stringify({ userEmail: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password }), {})).json.token as string;
      const userData = JSON.stringify({ userId: DEMO_ACCOUNT.userId });
      const quota = async (key: string) => (await post('/api/general/keyQuota', JSON.stringify({ userData, key }), bearer(token))).json.msg as { balance: string; utilised: string };
      const pricing = (await post('/api/commodity/getPricing', JSON.stringify({ userId: DEMO_ACCOUNT.userId }), bearer(token))).json.msg.list;
      assert.deepEqual(pricing, JSON.parse(JSON.stringify(DEMO_PACKAGE_PRICING)));
      const usedBefore = Number((await quota(KEY_D)).utilised);

      let expected = 0;
      for (let i = 0; i < 4; i++) {
        const r = await post('/v1/chat/completions', chatRaw('gpt-4.1', `turn ${i}`), bearer(KEY_D));
        expected += fakeCostOf('gpt-4.1', { inputTokens: r.json.usage.prompt_tokens, outputTokens: r.json.usage.completion_tokens }, pricing)!;
        const m = await post('/v1/messages', JSON.stringify(msgBody('claude-opus-4-1-20250805', `opus ${i}`)), xKey(KEY_D));
        expected += fakeCostOf('claude-opus-4-1-20250805', { inputTokens: m.json.usage.input_tokens, outputTokens: m.json.usage.output_tokens }, pricing)!;
        const e = await post('/v1/embeddings', JSON.stringify({ model: 'text-embedding-3-large', input: [`e${i}`, 'more'] }), bearer(KEY_D));
        expected += fakeCostOf('text-embedding-3-large', { inputTokens: e.json.usage.prompt_tokens, outputTokens: 0 }, pricing)!;
      }
      const q = await quota(KEY_D);
      assert.ok(Math.abs(Number(q.utilised) - usedBefore - expected) < 1e-6, `utilised ${q.utilised} − ${usedBefore} vs ${expected}`);
      assert.notEqual(q.utilised, usedBefore.toFixed(2), 'the quota shows spend smaller than a fen');
    });

    it("without packages a request still costs costPerRequest, whatever the model (today's behaviour)", async () => {
      await restart({});
      const a0 = fake.balanceOf(KEY_A)!;
      await post('/v1/chat/completions', chatRaw('gpt-4o', 'flat'), bearer(KEY_A));
      assert.equal(fake.balanceOf(KEY_A), money(a0 - 0.01));
      await restart({ charge: 'priced' });
      const r = await post('/v1/chat/completions', chatRaw('gpt-4o-mini', 'priced without packages'), bearer(KEY_A));
      const cost = (r.json.usage.prompt_tokens * 0.15 + r.json.usage.completion_tokens * 0.6) / 1e6;
      assert.equal(fake.balanceOf(KEY_A), money(48.5 - cost));
    });
  });
});
