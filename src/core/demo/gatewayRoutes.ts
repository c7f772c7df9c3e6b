// The fake gateway's routes as a table: method + path → handler. The server (fakeDaiDai.ts) does
// what every route shares (the request log, faults, the key's checks, the package's model list,
// moderation) and then calls the route's handler with one GatewayCall.

import {
  type ApiFormat,
  anthropicMessageBody,
  anthropicStreamEvents,
  chatCompletionBody,
  chatStreamEvents,
  completionBody,
  completionStreamEvents,
  embeddingVector,
  fakeCompletionTokens,
  fakeEmbeddingTokens,
  fakeInputTokens,
  fakePromptTokens,
  modelObject,
  vectorToBase64,
} from './replies';
import type { FakeUsage } from './pricing';
import { promptCacheOf, promptParts, type FakeCache } from './promptCache';
import { responsesBody, responsesStreamEvents, responsesUserText } from './responsesReplies';

/** How a handler answers; bound to one exchange by the server. */
export interface GatewayReply {
  /** An error in the route's own format. */
  error(status: number, message: string): void;
  /** 200 JSON at once (model lists, count_tokens). */
  json(body: string | Buffer): void;
  /** 200 JSON, slowed or cut halfway when a fault asks for it. */
  answer(body: string): void;
  /** 200 SSE, slowed or cut after N events when a fault asks for it. */
  stream(events: string[]): void;
  /** Takes the answer's cost from the key's balance (and adds it to `utilised`). */
  charge(usage: FakeUsage): void;
}

/** The key a request carried, as the handlers see it. */
export interface GatewayKeyView {
  /** GET /v1/models of this key, serialised once. */
  readonly modelsBody: Buffer;
  /** Whether GET /v1/models/{id} knows the id for this key. */
  lists(id: string): boolean;
}

export interface GatewayCall {
  readonly format: ApiFormat;
  readonly pathname: string;
  /** Parsed JSON body ({} for GET). */
  readonly body: Record<string, unknown>;
  /** The body's bytes as received (token counts come from them). */
  readonly raw: Buffer;
  /** `body.model` when it is a string, else ''. */
  readonly model: string;
  /** The last user message's text (moderated routes; '' elsewhere): read once, for moderation and the echo. */
  readonly userText: string;
  /** Content chunks of a streamed answer. */
  readonly chunks: number;
  /** Whether an OpenAI stream ends with a usage chunk. */
  readonly usageChunk: boolean;
  /** Length of embedding vectors when the request does not ask. */
  readonly embeddingDims: number;
  readonly key: GatewayKeyView;
  readonly reply: GatewayReply;
}

export type GatewayHandler = (call: GatewayCall) => void;

export interface GatewayRouteDef {
  method: 'GET' | 'POST';
  /** Exact path, or with `prefix` every path under it. */
  path: string;
  prefix?: boolean;
  /** The key's package must serve `body.model` (the gateway's token model list and group channels apply). */
  modelScoped?: boolean;
  /** The gateway's moderation reads the last user message first. */
  moderated?: boolean;
  handle: GatewayHandler;
}

const models: GatewayHandler = (c) => c.reply.json(c.key.modelsBody);

const model: GatewayHandler = (c) => {
  const id = decodeURIComponent(c.pathname.slice('/v1/models/'.length));
  if (!c.key.lists(id)) return c.reply.error(404, `The model ${id} does not exist.`);
  c.reply.json(JSON.stringify(modelObject(id)));
};

/** What this key's prompt cache gives the request (and remembers of it). */
function cacheOf(c: GatewayCall, flavor: 'anthropic' | 'openai', total: number): FakeCache | undefined {
  return promptCacheOf(c.key).use(flavor, promptParts(c.body), total, flavor === 'anthropic' && c.raw.includes(CACHE_CONTROL));
}

const CACHE_CONTROL = Buffer.from('"cache_control"');

const chat: GatewayHandler = (c) => {
  const { body, model } = c;
  if (!model || !Array.isArray(body.messages)) return c.reply.error(400, 'model and messages are required.');
  const user = c.userText;
  const prompt = fakePromptTokens(c.raw);
  const cache = cacheOf(c, 'openai', prompt);
  if (body.stream === true) {
    const includeUsage = c.usageChunk || (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    c.reply.charge({ inputTokens: prompt, outputTokens: fakeCompletionTokens(user, c.chunks) });
    return c.reply.stream(chatStreamEvents(model, user, c.chunks, prompt, includeUsage, cache));
  }
  c.reply.charge({ inputTokens: prompt, outputTokens: fakeCompletionTokens(user) });
  c.reply.answer(chatCompletionBody(model, user, prompt, cache));
};

// The Responses API (Codex CLI): input tokens from the body's bytes, as for chat.
const responses: GatewayHandler = (c) => {
  const { body, model } = c;
  if (!model || (body.input === undefined && body.previous_response_id === undefined)) return c.reply.error(400, 'model and input are required.');
  const user = responsesUserText(body.input);
  const input = fakePromptTokens(c.raw);
  const cache = cacheOf(c, 'openai', input);
  if (body.stream === true) {
    c.reply.charge({ inputTokens: input, outputTokens: fakeCompletionTokens(user, c.chunks) });
    return c.reply.stream(responsesStreamEvents(model, user, c.chunks, input, cache));
  }
  c.reply.charge({ inputTokens: input, outputTokens: fakeCompletionTokens(user) });
  c.reply.answer(responsesBody(model, user, input, cache));
};

const completions: GatewayHandler = (c) => {
  const { body, model } = c;
  const prompt = Array.isArray(body.prompt) ? body.prompt.map(String).join('\n') : typeof body.prompt === 'string' ? body.prompt : '';
  if (!model) return c.reply.error(400, 'model is required.');
  const promptTokens = fakePromptTokens(c.raw);
  if (body.stream === true) {
    const includeUsage = c.usageChunk || (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    c.reply.charge({ inputTokens: promptTokens, outputTokens: fakeCompletionTokens(prompt, c.chunks) });
    return c.reply.stream(completionStreamEvents(model, prompt, c.chunks, promptTokens, includeUsage));
  }
  c.reply.charge({ inputTokens: promptTokens, outputTokens: fakeCompletionTokens(prompt) });
  c.reply.answer(completionBody(model, prompt, promptTokens));
};

const embeddings: GatewayHandler = (c) => {
  const { body, model } = c;
  const raw = body.input;
  let inputs: unknown[];
  if (typeof raw === 'string') inputs = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === 'number')) inputs = [raw];
  else if (Array.isArray(raw) && raw.length > 0) inputs = raw;
  else return c.reply.error(400, 'input is required.');
  if (!model) return c.reply.error(400, 'model is required.');
  const base64 = body.encoding_format === 'base64';
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(4096, Math.floor(body.dimensions)) : c.embeddingDims;
  const data = inputs.map((input, index) => {
    const v = embeddingVector(typeof input === 'string' ? input : JSON.stringify(input), dims);
    return { object: 'embedding', index, embedding: base64 ? vectorToBase64(v) : v };
  });
  const tokens = fakeEmbeddingTokens(inputs);
  c.reply.charge({ inputTokens: tokens, outputTokens: 0 });
  c.reply.answer(JSON.stringify({ object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
};

const messages: GatewayHandler = (c) => {
  const { body, model } = c;
  if (!model || !Array.isArray(body.messages)) return c.reply.error(400, 'model and messages are required.');
  const user = c.userText;
  const input = fakeInputTokens(body);
  const cache = cacheOf(c, 'anthropic', input);
  if (body.stream === true) {
    c.reply.charge({ inputTokens: input, outputTokens: fakeCompletionTokens(user, c.chunks) });
    return c.reply.stream(anthropicStreamEvents(model, user, c.chunks, input, cache));
  }
  c.reply.charge({ inputTokens: input, outputTokens: fakeCompletionTokens(user) });
  c.reply.answer(anthropicMessageBody(model, user, input, cache));
};

// Free on the gateway, as on Anthropic's API.
const countTokens: GatewayHandler = (c) => {
  if (!c.model || !Array.isArray(c.body.messages)) return c.reply.error(400, 'model and messages are required.');
  c.reply.json(JSON.stringify({ input_tokens: fakeInputTokens(c.body) }));
};

/** Every route of the fake gateway. */
export const GATEWAY_ROUTES: readonly GatewayRouteDef[] = Object.freeze([
  { method: 'GET', path: '/v1/models', handle: models },
  { method: 'GET', path: '/v1/models/', prefix: true, handle: model },
  { method: 'POST', path: '/v1/chat/completions', modelScoped: true, moderated: true, handle: chat },
  { method: 'POST', path: '/v1/completions', modelScoped: true, handle: completions },
  { method: 'POST', path: '/v1/embeddings', modelScoped: true, handle: embeddings },
  { method: 'POST', path: '/v1/messages', modelScoped: true, moderated: true, handle: messages },
  { method: 'POST', path: '/v1/messages/count_tokens', modelScoped: true, handle: countTokens },
  { method: 'POST', path: '/v1/responses', modelScoped: true, handle: responses },
]);

/** What a path asks for: a route, a known path with another method, or nothing. */
export type RouteMatch = { kind: 'route'; route: GatewayRouteDef } | { kind: 'wrong-method' } | { kind: 'none' };

/** Looks routes up by exact path first (the hot path), then by prefix. */
export class GatewayRouter {
  private readonly exact = new Map<string, GatewayRouteDef[]>();
  private readonly prefixes: GatewayRouteDef[] = [];

  constructor(routes: readonly GatewayRouteDef[]) {
    for (const r of routes) {
      if (r.prefix) this.prefixes.push(r);
      else this.exact.set(r.path, [...(this.exact.get(r.path) ?? []), r]);
    }
  }

  match(method: string, pathname: string): RouteMatch {
    let candidates = this.exact.get(pathname);
    if (!candidates) {
      const p = this.prefixes.filter((r) => pathname.startsWith(r.path) && pathname.length > r.path.length);
      if (p.length > 0) candidates = p;
    }
    if (!candidates) return { kind: 'none' };
    const route = candidates.find((r) => r.method === method);
    return route ? { kind: 'route', route } : { kind: 'wrong-method' };
  }
}
