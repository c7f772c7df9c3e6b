// The fake DaiDai as coding assistants meet it (issue 19): the package ids the real gateway lists
// (channel prefixes, dates, a -thinking variant, the gpt-5 family), the Responses API that Codex
// speaks (streamed events ending with response.output_item.done and response.completed), Anthropic
// count_tokens, and a prompt cache per key whose reads show in the answers' usage.
import * as assert from 'node:assert/strict';
import { createFakeDaiDai, DEMO_PACKAGE_KEYS, DEMO_PACKAGE_PRICING, replyText, streamedReplyText, type FakeDaiDai } from '../../fake/fakeDaiDai';
import { createUsageMeter } from '../../../src/core/usage/meter';
import { httpRequest, parseSse } from './helpers/http';

const CLAUDE_A = DEMO_PACKAGE_KEYS[0]!.key;
const CLAUDE_B = DEMO_PACKAGE_KEYS[1]!.key;
const GPT = DEMO_PACKAGE_KEYS[2]!.key;

describe('fake DaiDai: what coding assistants need', () => {
  let fake: FakeDaiDai;
  let port: number;

  before(async () => {
    fake = createFakeDaiDai({ packages: true });
    port = await fake.start(0);
  });
  after(() => fake.stop());

  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  it('lists the package ids as the real gateway does (prefixes, dates, -thinking, gpt-5), each priced', async () => {
    const claude = (await httpRequest(port, '/v1/models', { headers: bearer(CLAUDE_A) })).json<{ data: { id: string }[] }>().data.map((m) => m.id);
    for (const id of ['[官Max]claude-opus-4-6-20260205', '[官Max]claude-opus-4-6-20260205-thinking', '[官Max]claude-sonnet-4-6-20260217', '[官Max]claude-haiku-4-5-20251001']) {
      assert.ok(claude.includes(id), id);
      assert.ok(DEMO_PACKAGE_PRICING.some((p) => p.all_name === id), `${id} priced`);
    }
    assert.ok(!claude.includes('claude-opus-4-8'), 'no coding assistant id is listed as such');
    const gpt = (await httpRequest(port, '/v1/models', { headers: bearer(GPT) })).json<{ data: { id: string }[] }>().data.map((m) => m.id);
    for (const id of ['gpt-5', 'gpt-5-mini', 'gpt-5-codex']) assert.ok(gpt.includes(id), id);
    // and refuses the assistants' own ids as new-api does
    const refused = await httpRequest(port, '/v1/messages', { method: 'POST', headers: bearer(CLAUDE_A), body: { model: 'claude-opus-4-8', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } });
    assert.equal(refused.status, 503);
  });

  it('streams the Responses API as Codex needs: ending with response.output_item.done and response.completed (id, usage)', async () => {
    const r = await httpRequest(port, '/v1/responses', {
      method: 'POST',
      headers: { ...bearer(GPT), 'x-demo-chunks': '4' },
      body: { model: 'gpt-5-codex', stream: true, store: false, input: [{ type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'be brief' }] }, { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'say hi' }] }] },
    });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /text\/event-stream/);
    const events = parseSse(r.text);
    const types = events.map((e) => e.event);
    assert.deepEqual(types.slice(-2), ['response.output_item.done', 'response.completed']);
    assert.equal(types[0], 'response.created');
    assert.equal(types.filter((t) => t === 'response.output_text.delta').length, 4);
    const datas = events.map((e) => JSON.parse(e.data) as { type: string; sequence_number: number; delta?: string; response?: { id: string; status: string; usage: { input_tokens: number; output_tokens: number; total_tokens: number } } });
    datas.forEach((d, i) => assert.equal(d.type, types[i]));
    datas.forEach((d, i) => assert.equal(d.sequence_number, i));
    assert.equal(datas.filter((d) => d.type === 'response.output_text.delta').map((d) => d.delta).join(''), streamedReplyText('say hi', 4));
    const done = datas[datas.length - 1]!.response!;
    assert.match(done.id, /^resp_demo_/);
    assert.equal(done.status, 'completed');
    assert.equal(done.usage.output_tokens, 4);
    assert.equal(done.usage.total_tokens, done.usage.input_tokens + 4);
    // the proxy's usage meter reads it from response.completed
    const tap = createUsageMeter().tap({ path: '/v1/responses', flavor: 'openai' }, 'text/event-stream')!;
    tap.write(r.body);
    assert.deepEqual(tap.end(), { inputTokens: done.usage.input_tokens, outputTokens: 4 });
  });

  it('answers the Responses API without streaming, and refuses a model outside the package', async () => {
    const r = await httpRequest(port, '/v1/responses', { method: 'POST', headers: bearer(GPT), body: { model: 'gpt-5', input: 'hello' } });
    assert.equal(r.status, 200);
    const body = r.json<{ object: string; status: string; output: { content: { text: string }[] }[]; usage: { input_tokens: number } }>();
    assert.equal(body.object, 'response');
    assert.equal(body.output[0]!.content[0]!.text, replyText('hello'));
    const refused = await httpRequest(port, '/v1/responses', { method: 'POST', headers: bearer(GPT), body: { model: 'claude-opus-4-1-20250805', input: 'hello' } });
    assert.equal(refused.status, 503);
  });

  it('counts tokens in Anthropic\'s shape', async () => {
    const r = await httpRequest(port, '/v1/messages/count_tokens', { method: 'POST', headers: { 'x-api-key': CLAUDE_A, 'anthropic-version': '2023-06-01' }, body: { model: '[官Max]claude-sonnet-4-6-20260217', messages: [{ role: 'user', content: 'x'.repeat(400) }] } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { input_tokens: 100 });
  });

  it('reads a conversation\'s history from the prompt cache of the key that saw it, not of another key', async () => {
    const sys = [{ type: 'text', text: 'You are Claude Code. '.repeat(300), cache_control: { type: 'ephemeral' } }];
    const turn1 = [{ role: 'user', content: 'first question' }];
    const turn2 = [...turn1, { role: 'assistant', content: 'first answer' }, { role: 'user', content: 'second question' }];
    const ask = (key: string, messages: unknown[]) =>
      httpRequest(port, '/v1/messages', { method: 'POST', headers: { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, body: { model: '[官Max]claude-sonnet-4-6-20260217', max_tokens: 100, system: sys, messages } });
    type U = { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
    const first = (await ask(CLAUDE_A, turn1)).json<{ usage: U }>().usage;
    assert.equal(first.cache_read_input_tokens, 0);
    assert.ok(first.cache_creation_input_tokens! > 1000, 'the first turn writes the cache');
    const same = (await ask(CLAUDE_A, turn2)).json<{ usage: U }>().usage;
    assert.ok(same.cache_read_input_tokens! > 1000, 'the second turn on the same key reads it');
    const other = (await ask(CLAUDE_B, turn2)).json<{ usage: U }>().usage;
    assert.equal(other.cache_read_input_tokens, 0, 'another key has no cache of it');
    // the meter reads the cache tokens apart from the uncached input
    const tap = createUsageMeter().tap({ path: '/v1/messages', flavor: 'anthropic' }, 'application/json')!;
    tap.write(Buffer.from(JSON.stringify({ usage: same })));
    assert.deepEqual(tap.end(), { inputTokens: same.input_tokens, cacheReadTokens: same.cache_read_input_tokens, cacheWriteTokens: same.cache_creation_input_tokens, outputTokens: same.output_tokens });
  });

  it('reports OpenAI cached_tokens for a long prefix seen before on the same key (chat and Responses)', async () => {
    const history = [{ role: 'system', content: 'You are a helpful assistant. '.repeat(400) }, { role: 'user', content: 'one' }];
    const chat = (messages: unknown[]) => httpRequest(port, '/v1/chat/completions', { method: 'POST', headers: bearer(GPT), body: { model: 'gpt-4o', messages } });
    type U = { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
    assert.equal((await chat(history)).json<{ usage: U }>().usage.prompt_tokens_details, undefined);
    const second = (await chat([...history, { role: 'assistant', content: 'a' }, { role: 'user', content: 'two' }])).json<{ usage: U }>().usage;
    assert.ok(second.prompt_tokens_details!.cached_tokens >= 1024);
    assert.ok(second.prompt_tokens_details!.cached_tokens <= second.prompt_tokens);
    const input = [{ role: 'developer', content: 'rules '.repeat(1000) }, { role: 'user', content: 'q1' }];
    const resp = (items: unknown[]) => httpRequest(port, '/v1/responses', { method: 'POST', headers: bearer(GPT), body: { model: 'gpt-5', input: items } });
    await resp(input);
    const again = (await resp([...input, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }])).json<{ usage: { input_tokens_details: { cached_tokens: number } } }>();
    assert.ok(again.usage.input_tokens_details.cached_tokens >= 1024);
  });
});
