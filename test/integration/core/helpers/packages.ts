// The fake DaiDai's package keys as the model-routing tests use them, the two request shapes
// they send, and the mixed Claude/GPT/Gemini session both the routing and the packages tests run.
import * as assert from 'node:assert/strict';
import { DEMO_PACKAGE_KEYS, DEMO_PACKAGE_MODELS_BY_GROUP, replyText, streamedReplyText } from '../../../fake/fakeDaiDai';
import { anthropicStreamText, httpRequest, openaiStreamText, type HttpResult } from './http';

export const CLAUDE = DEMO_PACKAGE_KEYS[0]; // claude-max group: other models → 503 无可用渠道
export const GPT = DEMO_PACKAGE_KEYS[2]; // gpt group: other models → 503 无可用渠道
export const GEMINI = DEMO_PACKAGE_KEYS[4]; // token model list: other models → 403 无权使用模型
export const CLAUDE_MODEL = DEMO_PACKAGE_MODELS_BY_GROUP['claude-max'][2]; // claude-sonnet-4-5-20250929
export const PREFIXED = DEMO_PACKAGE_MODELS_BY_GROUP['claude-max'][0]; // [官Max]claude-sonnet-4-5-20250929

/** POST /v1/chat/completions with `model`, as an OpenAI client sends it. */
export function chatRequest(port: number, model: string, content = 'hello', extra: object = {}): Promise<HttpResult> {
  return httpRequest(port, '/v1/chat/completions', { headers: { authorization: 'Bearer sk-client' }, body: { model, messages: [{ role: 'user', content }], ...extra } });
}

/** POST /v1/messages with `model`, as an Anthropic client sends it. */
export function messagesRequest(port: number, model: string, content = 'hello', extra: object = {}): Promise<HttpResult> {
  return httpRequest(port, '/v1/messages', {
    headers: { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01' },
    body: { model, max_tokens: 32, messages: [{ role: 'user', content }], ...extra },
  });
}

/**
 * Three rounds of GPT (plain and streamed), Claude (plain and streamed, with the `[官Max]` prefix),
 * an embedding and a Gemini chat. Checks the streamed and Claude texts on the way; returns every
 * answer for the caller to judge.
 */
export async function mixedSession(port: number): Promise<HttpResult[]> {
  const results: HttpResult[] = [];
  for (let round = 0; round < 3; round++) {
    results.push(await chatRequest(port, 'gpt-4o', `plain ${round}`));
    const streamed = await chatRequest(port, 'gpt-4o-mini', `streamed ${round}`, { stream: true });
    assert.equal(openaiStreamText(streamed.text), streamedReplyText(`streamed ${round}`, 8));
    results.push(streamed);
    const m = await messagesRequest(port, CLAUDE_MODEL, `claude ${round}`);
    assert.equal(m.json().content[0].text, replyText(`claude ${round}`), m.text);
    results.push(m);
    const ms = await messagesRequest(port, PREFIXED, `claude stream ${round}`, { stream: true });
    assert.equal(anthropicStreamText(ms.text), streamedReplyText(`claude stream ${round}`, 8));
    results.push(ms);
    results.push(await httpRequest(port, '/v1/embeddings', { headers: { authorization: 'Bearer sk-client' }, body: { model: 'text-embedding-3-small', input: `e ${round}` } }));
    results.push(await chatRequest(port, 'gemini-2.5-pro', `gemini ${round}`));
  }
  return results;
}
