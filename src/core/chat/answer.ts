// One chat request from VS Code through the proxy's own failover loop, in process: the request
// goes in as a description (path, headers, body), the answer comes back through a response sink
// that turns the gateway's stream into parts as the chunks arrive. Nothing here listens on a
// port or opens a second HTTP client: the loop picks the key, fails over, meters usage and
// records the request exactly as it does for an HTTP client.
import type { OutgoingHttpHeaders } from 'node:http';
import { language, t } from '../l10n';
import { redactSecrets } from '../util/mask';
import { ChatFailure } from './errors';
import { ChatStreamReader } from './stream';
import type { ChatMessage, ChatOutput, ChatTool, ToolMode, WireFormat } from './types';
import { buildWireRequest } from './wire';
import type { ProxyRequest } from '../proxy/inProcess';
import type { ResponseSink } from '../proxy/sink';

/** Where the failover loop writes its answer: the proxy's own sink interface. */
export type AnswerSink = ResponseSink;

/** The proxy's in-process entry (ProxyServer.request): resolves when the loop is done with the request (answered, failed or aborted). */
export type InProcessEntry = (request: ProxyRequest, sink: ResponseSink) => Promise<unknown>;

export interface ChatAnswerInput {
  model: { id: string; wire: WireFormat; maxOutputTokens: number; capabilities: { toolCalling: boolean } };
  messages: readonly ChatMessage[];
  tools?: readonly ChatTool[];
  toolMode?: ToolMode;
  modelOptions?: Readonly<Record<string, unknown>>;
  /** Text and tool calls, as they arrive. A throw here stops the request (VS Code closed the stream). */
  onParts(parts: ChatOutput[]): void;
  /** Aborts the upstream request (VS Code's cancellation token). */
  signal: AbortSignal;
}

/** Error answers are a few hundred bytes; a gateway page is cut here. */
const ERROR_BODY_LIMIT = 64 * 1024;
/** A gateway that answers a stream request with plain JSON: the whole body, up to this. */
const JSON_BODY_LIMIT = 16 * 1024 * 1024;

/** Sends the chat through the loop; resolves when the answer is complete, throws ChatFailure otherwise. */
export async function answerChat(entry: InProcessEntry, input: ChatAnswerInput): Promise<{ stopReason?: string }> {
  const wire = buildWireRequest({
    model: input.model.id,
    wire: input.model.wire,
    messages: input.messages,
    tools: input.tools,
    toolMode: input.toolMode,
    toolCalling: input.model.capabilities.toolCalling,
    maxOutputTokens: input.model.maxOutputTokens,
    modelOptions: input.modelOptions,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'text/event-stream',
    'accept-language': language() === 'zh-cn' ? 'zh-CN' : 'en',
  };
  if (wire.wire === 'anthropic') headers['anthropic-version'] = '2023-06-01';
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (input.signal.aborted) throw new ChatFailure('cancelled', t('The request was cancelled.'));
  input.signal.addEventListener('abort', onAbort, { once: true });
  const sink = new ChatAnswerSink(wire.wire, wire.toolNames, input.model.id, input.onParts, () => controller.abort());
  try {
    const body = Buffer.from(wire.body, 'utf8');
    await entry({ method: 'POST', path: `/v1${wire.path}`, headers, body, model: input.model.id, stream: true, signal: controller.signal, source: 'vscode-chat' }, sink);
  } finally {
    input.signal.removeEventListener('abort', onAbort);
  }
  if (input.signal.aborted) throw new ChatFailure('cancelled', t('The request was cancelled.'));
  return sink.result();
}

/**
 * The sink the loop writes into: a 2xx stream goes through the reader part by part; an error
 * answer is kept (capped) and explained. It never throws into the loop: a failure (a broken
 * event, VS Code's stream closed) is kept, and the upstream aborted.
 */
export class ChatAnswerSink implements AnswerSink {
  private status = 0;
  private sse = false;
  private readonly reader: ChatStreamReader;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private ended = false;
  private failure: ChatFailure | undefined;
  headSent = false;

  constructor(
    private readonly wire: WireFormat,
    private readonly toolNames: ReadonlyMap<string, string>,
    private readonly model: string,
    private readonly onParts: (parts: ChatOutput[]) => void,
    private readonly abort: () => void,
  ) {
    this.reader = new ChatStreamReader(wire, toolNames);
  }

  head(status: number, headers: OutgoingHttpHeaders): void {
    this.headSent = true;
    this.status = status;
    const ct = headers['content-type'];
    this.sse = status >= 200 && status < 300 && typeof ct === 'string' && ct.toLowerCase().startsWith('text/event-stream');
  }

  flushHead(): void {
    // No wire to flush: the first part shows when it arrives.
  }

  write(chunk: Buffer): boolean {
    if (this.failure) return true;
    if (this.sse) {
      this.guard(() => this.emit(this.reader.feed(chunk)));
      return true;
    }
    const limit = this.status >= 200 && this.status < 300 ? JSON_BODY_LIMIT : ERROR_BODY_LIMIT;
    if (this.keptBytes < limit) {
      const take = chunk.length > limit - this.keptBytes ? chunk.subarray(0, limit - this.keptBytes) : chunk;
      this.kept.push(take);
      this.keptBytes += take.length;
    }
    return true;
  }

  onDrain(): void {
    // write() never reports full: parts go to VS Code at once.
  }

  offDrain(): void {}

  end(last?: Buffer | string): void {
    if (last !== undefined && last.length > 0) this.write(typeof last === 'string' ? Buffer.from(last, 'utf8') : last);
    this.ended = true;
    if (this.failure) return;
    if (this.sse) this.guard(() => this.emit(this.reader.end()));
    else if (this.status >= 200 && this.status < 300) this.guard(() => this.emit(partsOfJsonAnswer(this.wire, Buffer.concat(this.kept), this.toolNames)));
    else this.failure = failureOfAnswer(this.status, Buffer.concat(this.kept), this.model);
  }

  fail(message: string): void {
    this.ended = true;
    this.failure ??= new ChatFailure('stream', inUserLanguage(message));
  }

  /** After the loop is done: the outcome, or the failure to throw. */
  result(): { stopReason?: string } {
    if (this.failure) throw this.failure;
    if (!this.headSent || !this.ended) throw new ChatFailure('stream', t('The answer stopped before it was complete.'));
    if (this.sse && !this.reader.complete) throw new ChatFailure('stream', t('The gateway ended the answer before it was complete. Please retry.'));
    return this.reader.stopReason === undefined ? {} : { stopReason: this.reader.stopReason };
  }

  private emit(parts: ChatOutput[]): void {
    if (parts.length) this.onParts(parts);
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.failure = err instanceof ChatFailure ? err : new ChatFailure('stream', redactSecrets(err instanceof Error ? err.message : String(err)));
      this.abort();
    }
  }
}

/** A gateway that ignored `stream: true`: its whole JSON answer as parts. */
export function partsOfJsonAnswer(wire: WireFormat, body: Buffer, toolNames: ReadonlyMap<string, string>): ChatOutput[] {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new ChatFailure('stream', t('The gateway answered with something that is not a chat answer.'));
  }
  const out: ChatOutput[] = [];
  const call = (callId: string, name: string, input: unknown) => {
    const args = typeof input === 'string' ? (input.trim() ? (JSON.parse(input) as unknown) : {}) : input;
    if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ChatFailure('stream', t('The model called the tool {0} with arguments that are not a JSON object.', name));
    out.push({ kind: 'toolCall', callId, name: toolNames.get(name) ?? name, input: args as Record<string, unknown> });
  };
  if (wire === 'anthropic') {
    for (const b of Array.isArray(j.content) ? (j.content as Array<Record<string, unknown>>) : []) {
      if (b.type === 'text' && typeof b.text === 'string') out.push({ kind: 'text', text: b.text });
      else if (b.type === 'tool_use') call(String(b.id ?? ''), String(b.name ?? ''), b.input);
    }
  } else {
    const msg = ((Array.isArray(j.choices) ? j.choices[0] : undefined) as { message?: Record<string, unknown> } | undefined)?.message ?? {};
    if (typeof msg.content === 'string' && msg.content) out.push({ kind: 'text', text: msg.content });
    for (const c of Array.isArray(msg.tool_calls) ? (msg.tool_calls as Array<Record<string, unknown>>) : []) {
      const fn = (c.function ?? {}) as Record<string, unknown>;
      try {
        call(String(c.id ?? ''), String(fn.name ?? ''), fn.arguments);
      } catch (err) {
        if (err instanceof ChatFailure) throw err;
        throw new ChatFailure('stream', t('The model called the tool {0} with arguments that are not valid JSON.', String(fn.name ?? '')));
      }
    }
  }
  return out;
}

/**
 * The proxy's own error answers are bilingual when the user reads Chinese (`English. / 中文。`):
 * the chat shows the user's half only.
 */
export function inUserLanguage(message: string): string {
  const cut = message.lastIndexOf(' / ');
  if (cut <= 0 || !/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/.test(message.slice(cut + 3))) return message;
  return language() === 'zh-cn' ? message.slice(cut + 3) : message.slice(0, cut);
}

/** What an error answer (the proxy's or the gateway's, in either format) means for the chat. */
export function failureOfAnswer(status: number, body: Buffer, model: string): ChatFailure {
  let message = '';
  let code = '';
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { message?: unknown; code?: unknown; type?: unknown } | string; message?: unknown };
    const e = j.error;
    if (e && typeof e === 'object') {
      message = typeof e.message === 'string' ? e.message : '';
      code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : '';
    } else if (typeof e === 'string') message = e;
    else if (typeof j.message === 'string') message = j.message;
  } catch {
    // An HTML page or plain text: the status says enough.
  }
  message = inUserLanguage(redactSecrets(message.replace(/\s+/g, ' ').trim())).slice(0, 600);
  if (status === 404 && (code === 'model_not_found' || /model/i.test(message))) {
    return new ChatFailure('no-key', message || t('No key of your DaiDai account serves {0}.', model));
  }
  if (code === 'no_keys') return new ChatFailure('no-key', message);
  if (['keys_cooling', 'keys_refused', 'rate_limited', 'upstream_error', 'upstream_timeout', 'upstream_unreachable', 'gateway_unreachable'].includes(code)) {
    return new ChatFailure('all-failed', message);
  }
  if (status === 413) return new ChatFailure('bad-request', message || t('The conversation is too large for the proxy. Start a new chat or attach less.'));
  if (status >= 400 && status < 500) {
    return new ChatFailure('refused', message ? t('The DaiDai gateway refused the request (HTTP {0}): {1}', status, message) : t('The DaiDai gateway refused the request (HTTP {0}).', status));
  }
  return new ChatFailure('all-failed', message ? t('The DaiDai gateway failed (HTTP {0}): {1}', status, message) : t('The DaiDai gateway failed (HTTP {0}).', status));
}
