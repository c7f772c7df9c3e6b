// Deterministic answers of the fake gateway. Exported so tests and the benchmark can compute
// the exact content a request must produce, through the proxy or not.

import { fnv1a, mulberry32 } from './fixtures';
import type { FakeCache } from './promptCache';

/** Fixed `created` so identical requests give identical bytes. */
export const DEMO_CREATED = 1735689600;

/** Text of a message's content: a string, or the text parts of a content array. */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      out += (part as { text: string }).text;
    }
  }
  return out;
}

/** The last user message's text of an OpenAI or Anthropic `messages` array ('' when none). */
export function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (m && m.role === 'user') return contentText(m.content);
  }
  return '';
}

/** The answer to a chat whose last user message is `userText`. */
export function replyText(userText: string): string {
  return `Echo: ${userText}`;
}

/**
 * Splits `text` into `n` non-empty pieces at code-point boundaries (so UTF-8 stays whole).
 * A text shorter than `n` code points is padded with '.' first: the streamed text then equals
 * replyText + padding.
 */
export function splitPieces(text: string, n: number): string[] {
  const count = Math.max(1, Math.floor(n));
  const cps = Array.from(text);
  while (cps.length < count) cps.push('.');
  const base = Math.floor(cps.length / count);
  const rem = cps.length % count;
  const out: string[] = new Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const size = base + (i < rem ? 1 : 0);
    out[i] = cps.slice(at, at + size).join('');
    at += size;
  }
  return out;
}

/** The full text a streamed answer with `chunks` content chunks carries. */
export function streamedReplyText(userText: string, chunks: number): string {
  return splitPieces(replyText(userText), chunks).join('');
}

/** A rough token count (UTF-8 bytes / 4), deterministic. */
export function approxTokens(text: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(text) / 4));
}

// ---- token counts the answers carry (deterministic, so tests can know them) ---------------------

/**
 * `prompt_tokens` of an OpenAI chat or completions answer: the request body's bytes / 4, rounded
 * up (at least 1). From the raw bytes as sent: re-serialising a 76 KB Claude Code body on every
 * request would cost more than the answer, and a proxy forwards the bytes unchanged.
 */
export function fakePromptTokens(rawBody: string | Uint8Array): number {
  const bytes = typeof rawBody === 'string' ? Buffer.byteLength(rawBody) : rawBody.byteLength;
  return Math.max(1, Math.ceil(bytes / 4));
}

/** Anthropic `input_tokens` (and count_tokens): the text of `system` and every message, bytes / 4. */
export function fakeInputTokens(body: { system?: unknown; messages?: unknown }): number {
  return approxTokens(anthropicInputText(body));
}

/**
 * Completion tokens of the answer to `userText`: a streamed answer's number of content chunks,
 * a non-streamed answer's reply text bytes / 4.
 */
export function fakeCompletionTokens(userText: string, streamedChunks?: number): number {
  if (streamedChunks !== undefined) return splitPieces(replyText(userText), streamedChunks).length;
  return approxTokens(replyText(userText));
}

/** Embeddings `prompt_tokens`: the sum over the inputs of bytes / 4 (a token array counts as its JSON). */
export function fakeEmbeddingTokens(inputs: readonly unknown[]): number {
  let tokens = 0;
  for (const input of inputs) tokens += approxTokens(typeof input === 'string' ? input : JSON.stringify(input));
  return tokens;
}

/** Short stable id suffix for a request. */
export function demoId(...parts: string[]): string {
  return fnv1a(parts.join('\u0000')).toString(36).padStart(7, '0');
}

/** A deterministic unit vector for one embeddings input. */
export function embeddingVector(input: string, dims: number): number[] {
  const v: number[] = new Array(dims);
  const rnd = mulberry32(fnv1a(input));
  let norm = 0;
  for (let j = 0; j < dims; j++) {
    const x = rnd() * 2 - 1;
    v[j] = x;
    norm += x * x;
  }
  norm = Math.sqrt(norm) || 1;
  // Round through Float32 so the JSON and base64 forms hold the same numbers.
  for (let j = 0; j < dims; j++) v[j] = Math.fround(v[j] / norm);
  return v;
}

/** OpenAI's `encoding_format: "base64"`: little-endian float32s, base64. */
export function vectorToBase64(v: number[]): string {
  return Buffer.from(new Float32Array(v).buffer).toString('base64');
}

// ---- OpenAI chat ----------------------------------------------------------------------

/** OpenAI's usage object; `prompt_tokens_details.cached_tokens` only when the prompt cache was read. */
function openAiUsage(promptTokens: number, completion: number, cache: FakeCache | undefined): Record<string, unknown> {
  const u: Record<string, unknown> = { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  if (cache && cache.read > 0) u.prompt_tokens_details = { cached_tokens: cache.read };
  return u;
}

/** Anthropic's usage object: `input_tokens` without the cache tokens, which come apart (only when there are some). */
function anthropicUsage(inputTokens: number, outputTokens: number, cache: FakeCache | undefined): Record<string, unknown> {
  if (!cache) return { input_tokens: inputTokens, output_tokens: outputTokens };
  return {
    input_tokens: Math.max(0, inputTokens - cache.read - cache.write),
    cache_creation_input_tokens: cache.write,
    cache_read_input_tokens: cache.read,
    output_tokens: outputTokens,
  };
}

export function chatCompletionBody(model: string, userText: string, promptTokens: number, cache?: FakeCache): string {
  const text = replyText(userText);
  const completion = approxTokens(text);
  return JSON.stringify({
    id: `chatcmpl-demo-${demoId(model, userText)}`,
    object: 'chat.completion',
    created: DEMO_CREATED,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
    usage: openAiUsage(promptTokens, completion, cache),
  });
}

/** SSE events of a streamed chat answer: role chunk, `chunks` content chunks, finish chunk, optional usage chunk, [DONE]. */
export function chatStreamEvents(model: string, userText: string, chunks: number, promptTokens: number, includeUsage: boolean, cache?: FakeCache): string[] {
  const id = `chatcmpl-demo-${demoId(model, userText, String(chunks))}`;
  const head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${DEMO_CREATED},"model":${JSON.stringify(model)},"choices":[`;
  const events: string[] = [];
  events.push(`${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`);
  const pieces = splitPieces(replyText(userText), chunks);
  for (const p of pieces) {
    events.push(`${head}{"index":0,"delta":{"content":${JSON.stringify(p)}},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  events.push(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  if (includeUsage) {
    events.push(`${head}],"usage":${JSON.stringify(openAiUsage(promptTokens, pieces.length, cache))}}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}

// ---- OpenAI legacy completions -------------------------------------------------------------

export function completionBody(model: string, prompt: string, promptTokens: number): string {
  const text = replyText(prompt);
  const p = promptTokens;
  const c = approxTokens(text);
  return JSON.stringify({
    id: `cmpl-demo-${demoId(model, prompt)}`,
    object: 'text_completion',
    created: DEMO_CREATED,
    model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c },
  });
}

export function completionStreamEvents(model: string, prompt: string, chunks: number, promptTokens: number, includeUsage: boolean): string[] {
  const id = `cmpl-demo-${demoId(model, prompt, String(chunks))}`;
  const head = `data: {"id":${JSON.stringify(id)},"object":"text_completion","created":${DEMO_CREATED},"model":${JSON.stringify(model)},"choices":[`;
  const pieces = splitPieces(replyText(prompt), chunks);
  const events = pieces.map((p) => `${head}{"index":0,"text":${JSON.stringify(p)},"logprobs":null,"finish_reason":null}]}\n\n`);
  events.push(`${head}{"index":0,"text":"","logprobs":null,"finish_reason":"stop"}]}\n\n`);
  if (includeUsage) {
    const completion = pieces.length;
    events.push(`${head}],"usage":{"prompt_tokens":${promptTokens},"completion_tokens":${completion},"total_tokens":${promptTokens + completion}}}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  return events;
}

// ---- Anthropic messages ---------------------------------------------------------------------

export function anthropicMessageBody(model: string, userText: string, inputTokens: number, cache?: FakeCache): string {
  const text = replyText(userText);
  return JSON.stringify({
    id: `msg_demo_${demoId(model, userText)}`,
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(inputTokens, approxTokens(text), cache),
  });
}

function sse(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}

/** message_start, content_block_start, ping, `chunks` content_block_delta, content_block_stop, message_delta, message_stop. */
export function anthropicStreamEvents(model: string, userText: string, chunks: number, inputTokens: number, cache?: FakeCache): string[] {
  const id = `msg_demo_${demoId(model, userText, String(chunks))}`;
  const pieces = splitPieces(replyText(userText), chunks);
  const events: string[] = [];
  events.push(
    sse(
      'message_start',
      JSON.stringify({
        type: 'message_start',
        message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(inputTokens, 1, cache) },
      }),
    ),
  );
  events.push(sse('content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}'));
  events.push(sse('ping', '{"type":"ping"}'));
  for (const p of pieces) {
    events.push(sse('content_block_delta', `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(p)}}}`));
  }
  events.push(sse('content_block_stop', '{"type":"content_block_stop","index":0}'));
  events.push(sse('message_delta', `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":${pieces.length}}}`));
  events.push(sse('message_stop', '{"type":"message_stop"}'));
  return events;
}

/** All text an Anthropic request sends (system + every message), for count_tokens. */
export function anthropicInputText(body: { system?: unknown; messages?: unknown }): string {
  let text = typeof body.system === 'string' ? body.system : contentText(body.system);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) text += contentText((m as { content?: unknown } | null)?.content);
  }
  return text;
}

// ---- errors ---------------------------------------------------------------------------------

export type ApiFormat = 'openai' | 'anthropic';

const openaiTypes: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'invalid_request'],
  401: ['invalid_request_error', 'invalid_api_key'],
  402: ['insufficient_quota', 'insufficient_quota'],
  403: ['permission_error', 'key_disabled'],
  404: ['invalid_request_error', 'unknown_url'],
  405: ['invalid_request_error', 'method_not_allowed'],
  413: ['invalid_request_error', 'request_too_large'],
  429: ['rate_limit_exceeded', 'rate_limit_exceeded'],
};

const anthropicTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

/** An error body in the route's own format. */
export function errorBody(format: ApiFormat, status: number, message: string): string {
  if (format === 'anthropic') {
    const type = anthropicTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return JSON.stringify({ type: 'error', error: { type, message } });
  }
  const [type, code] = openaiTypes[status] ?? (status >= 500 ? ['server_error', 'server_error'] : ['invalid_request_error', String(status)]);
  return JSON.stringify({ error: { message, type, param: null, code } });
}

// ---- the gateway's own refusals (new-api style) ----------------------------------------------------

/** new-api's request ids: a timestamp and a counter; deterministic for the fake. */
export function gatewayRequestId(seq: number): string {
  return `20251208120000${String(seq).padStart(12, '0')}`;
}

/**
 * A refusal from new-api's auth and distributor middleware (the token's model list, the group's
 * channels). They run before the relay knows the API format, so they come in the OpenAI shape on
 * every route, /v1/messages included (new-api `abortWithOpenAiMessage`).
 */
export function newApiMiddlewareError(message: string, requestId: string, code = ''): string {
  return JSON.stringify({ error: { message: `${message} (request id: ${requestId})`, type: 'new_api_error', code } });
}

/**
 * A refusal from new-api's relay (moderation and the like), in the route's own format: Anthropic
 * routes get `{"type":"error","error":{"type":"new_api_error","message"}}` (new-api's ClaudeError
 * carries no code), OpenAI routes `{"error":{"message","type":"new_api_error","param":"","code"}}`.
 */
export function newApiRelayError(format: ApiFormat, message: string, requestId: string, code: string): string {
  const full = `${message} (request id: ${requestId})`;
  if (format === 'anthropic') return JSON.stringify({ type: 'error', error: { type: 'new_api_error', message: full } });
  return JSON.stringify({ error: { message: full, type: 'new_api_error', param: '', code } });
}

/** 403 when the key's token model list does not hold the model. */
export function modelPermissionMessage(model: string): string {
  return `该令牌无权使用模型：${model}`;
}

/** 503 when the key's group has no channel for the model. */
export function noChannelMessage(group: string, model: string): string {
  return `当前分组 ${group} 下对于模型 ${model} 无可用渠道`;
}

export const MODERATION_MESSAGE = '您的请求包含敏感内容 (sensitive words detected)';

/** Words that make the fake's moderation refuse a prompt (in the last user message). */
export const MODERATED_WORDS: readonly string[] = Object.freeze(['[[moderate]]', '敏感词']);

export function isModerated(userText: string): boolean {
  for (const w of MODERATED_WORDS) if (userText.includes(w)) return true;
  return false;
}

// ---- model lists ------------------------------------------------------------------------------------

/** new-api's fixed `created` for the models it lists. */
export const MODEL_CREATED = 1626777600;

function ownedBy(id: string): string {
  if (id.startsWith('[')) return 'custom';
  if (id.startsWith('claude')) return 'anthropic';
  if (id.startsWith('gemini')) return 'google';
  if (id.startsWith('gpt') || id.startsWith('text-embedding') || id.startsWith('o1') || id.startsWith('o3')) return 'openai';
  return 'custom';
}

/** One model as new-api's GET /v1/models describes it. */
export function modelObject(id: string): Record<string, unknown> {
  return {
    id,
    object: 'model',
    created: MODEL_CREATED,
    owned_by: ownedBy(id),
    permission: [
      {
        id: 'modelperm-LwHkVFn8AcMItP432fKKDIKJ',
        object: 'model_permission',
        created: MODEL_CREATED,
        allow_create_engine: true,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
    root: id,
    parent: null,
  };
}

/** new-api's GET /v1/models body for a key serving `ids`. */
export function modelsListBody(ids: readonly string[]): string {
  return JSON.stringify({ data: ids.map(modelObject), object: 'list', success: true });
}
