// The gateway's streamed answer → what VS Code's chat shows: text as it arrives, and tool calls
// assembled from their streamed argument fragments (one part per call, its arguments parsed).
// Pure and incremental: feed() takes the bytes of one read and returns the parts it completed.
import { t } from '../l10n';
import { redactSecrets } from '../util/mask';
import { ChatFailure } from './errors';
import type { ChatOutput, WireFormat } from './types';

/** One SSE event larger than this is not an answer we can hold (the gateway's are a few KB). */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** A tool call's arguments past this are refused rather than held (VS Code would choke on them too). */
export const MAX_TOOL_ARGUMENT_BYTES = 8 * 1024 * 1024;

/** Splits a byte stream into SSE events (`event:` name and joined `data:` lines). */
export class SseDecoder {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  /** The complete events in `chunk` (and in what came before it). */
  feed(chunk: Uint8Array): Array<{ event?: string; data: string }> {
    this.pending += this.decoder.decode(chunk, { stream: true });
    return this.take(false);
  }

  /** What is left when the stream ends (an event without its blank line still counts). */
  end(): Array<{ event?: string; data: string }> {
    this.pending += this.decoder.decode();
    return this.take(true);
  }

  private take(final: boolean): Array<{ event?: string; data: string }> {
    const out: Array<{ event?: string; data: string }> = [];
    for (;;) {
      const m = /\r\n\r\n|\n\n|\r\r/.exec(this.pending);
      if (!m) break;
      const block = this.pending.slice(0, m.index);
      this.pending = this.pending.slice(m.index + m[0].length);
      const ev = parseBlock(block);
      if (ev) out.push(ev);
    }
    if (final && this.pending.trim() !== '') {
      const ev = parseBlock(this.pending);
      this.pending = '';
      if (ev) out.push(ev);
    }
    if (this.pending.length > MAX_EVENT_BYTES) {
      throw new ChatFailure('stream', t('The gateway sent an event larger than {0} MB; the answer was stopped.', MAX_EVENT_BYTES / 1024 / 1024));
    }
    return out;
  }
}

function parseBlock(block: string): { event?: string; data: string } | undefined {
  let event: string | undefined;
  const data: string[] = [];
  for (const raw of block.split(/\r\n|\n|\r/)) {
    if (raw === '' || raw.startsWith(':')) continue;
    const colon = raw.indexOf(':');
    const field = colon === -1 ? raw : raw.slice(0, colon);
    let value = colon === -1 ? '' : raw.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (!data.length) return undefined;
  return event === undefined ? { data: data.join('\n') } : { event, data: data.join('\n') };
}

interface PendingCall {
  id: string;
  name: string;
  args: string;
}

/**
 * Reads one streamed answer of either format. `toolNames` maps wire names back to VS Code's
 * (wire.ts renames what the wire refuses). Throws ChatFailure for an error event in the stream.
 */
export class ChatStreamReader {
  private readonly sse = new SseDecoder();
  /** Tool calls being assembled: Anthropic by content block index, OpenAI by tool_calls index. */
  private readonly calls = new Map<number, PendingCall>();
  private done = false;
  /** Why the model stopped (`end_turn`, `tool_use`, `stop`, `length`…), once it said so. */
  stopReason: string | undefined;

  constructor(
    private readonly wire: WireFormat,
    private readonly toolNames: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** Whether the answer said it was complete (message_stop, [DONE] or a finish reason). */
  get complete(): boolean {
    return this.done || this.stopReason !== undefined;
  }

  feed(chunk: Uint8Array): ChatOutput[] {
    return this.events(this.sse.feed(chunk));
  }

  /** At the end of the body: what the last event completed, and any call left open. */
  end(): ChatOutput[] {
    const out = this.events(this.sse.end());
    for (const index of [...this.calls.keys()].sort((a, b) => a - b)) this.flushCall(index, out);
    return out;
  }

  private events(events: Array<{ event?: string; data: string }>): ChatOutput[] {
    const out: ChatOutput[] = [];
    for (const ev of events) {
      if (ev.data === '[DONE]') {
        this.done = true;
        for (const index of [...this.calls.keys()].sort((a, b) => a - b)) this.flushCall(index, out);
        continue;
      }
      let json: unknown;
      try {
        json = JSON.parse(ev.data);
      } catch {
        continue; // a keep-alive or a gateway's comment in data: not ours to fail on
      }
      if (!json || typeof json !== 'object') continue;
      if (this.wire === 'anthropic') this.anthropic(ev.event, json as Record<string, unknown>, out);
      else this.openai(json as Record<string, unknown>, out);
    }
    return mergeText(out);
  }

  private anthropic(event: string | undefined, j: Record<string, unknown>, out: ChatOutput[]): void {
    const type = typeof j.type === 'string' ? j.type : event;
    switch (type) {
      case 'content_block_start': {
        const block = j.content_block as Record<string, unknown> | undefined;
        const index = typeof j.index === 'number' ? j.index : 0;
        if (block?.type === 'tool_use') {
          const input = block.input;
          // Some gateways send the whole input here and no deltas.
          const args = input && typeof input === 'object' && Object.keys(input).length ? JSON.stringify(input) : '';
          this.calls.set(index, { id: String(block.id ?? ''), name: String(block.name ?? ''), args });
        } else if (block?.type === 'text' && typeof block.text === 'string' && block.text) out.push({ kind: 'text', text: block.text });
        return;
      }
      case 'content_block_delta': {
        const delta = j.delta as Record<string, unknown> | undefined;
        const index = typeof j.index === 'number' ? j.index : 0;
        if (delta?.type === 'text_delta' && typeof delta.text === 'string') out.push({ kind: 'text', text: delta.text });
        else if (delta?.type === 'input_json_delta' && typeof delta.partial_json === 'string') this.appendArgs(index, delta.partial_json);
        return; // thinking and signature deltas are not shown
      }
      case 'content_block_stop':
        this.flushCall(typeof j.index === 'number' ? j.index : 0, out);
        return;
      case 'message_delta': {
        const delta = j.delta as Record<string, unknown> | undefined;
        if (typeof delta?.stop_reason === 'string') this.stopReason = delta.stop_reason;
        return;
      }
      case 'message_stop':
        this.done = true;
        return;
      case 'error':
        throw streamError(j.error);
    }
  }

  private openai(j: Record<string, unknown>, out: ChatOutput[]): void {
    if (j.error) throw streamError(j.error);
    const choices = Array.isArray(j.choices) ? j.choices : [];
    for (const c of choices) {
      const choice = c as Record<string, unknown>;
      if (typeof choice.index === 'number' && choice.index !== 0) continue; // n > 1 is never asked for
      const delta = (choice.delta ?? {}) as Record<string, unknown>;
      if (typeof delta.content === 'string' && delta.content) out.push({ kind: 'text', text: delta.content });
      if (Array.isArray(delta.tool_calls)) {
        for (const tc of delta.tool_calls) {
          const call = tc as Record<string, unknown>;
          const index = typeof call.index === 'number' ? call.index : 0;
          const fn = (call.function ?? {}) as Record<string, unknown>;
          let pending = this.calls.get(index);
          // Some gateways put every call at index 0 (or none), told apart only by a new id.
          if (pending && typeof call.id === 'string' && call.id && pending.id && call.id !== pending.id) {
            this.flushCall(index, out);
            pending = undefined;
          }
          if (!pending) {
            pending = { id: '', name: '', args: '' };
            this.calls.set(index, pending);
          }
          if (typeof call.id === 'string' && call.id) pending.id = call.id;
          if (typeof fn.name === 'string' && fn.name) pending.name += pending.name && pending.name === fn.name ? '' : fn.name;
          if (typeof fn.arguments === 'string') this.appendArgs(index, fn.arguments);
        }
      }
      if (typeof choice.finish_reason === 'string' && choice.finish_reason) {
        this.stopReason = choice.finish_reason;
        for (const index of [...this.calls.keys()].sort((a, b) => a - b)) this.flushCall(index, out);
      }
    }
  }

  private appendArgs(index: number, fragment: string): void {
    const pending = this.calls.get(index);
    if (!pending) return;
    pending.args += fragment;
    if (pending.args.length > MAX_TOOL_ARGUMENT_BYTES) {
      throw new ChatFailure('stream', t('The model sent arguments larger than {0} MB for the tool {1}; the answer was stopped.', MAX_TOOL_ARGUMENT_BYTES / 1024 / 1024, this.toolNames.get(pending.name) ?? pending.name));
    }
  }

  private flushCall(index: number, out: ChatOutput[]): void {
    const call = this.calls.get(index);
    if (!call) return;
    this.calls.delete(index);
    const name = this.toolNames.get(call.name) ?? call.name;
    let input: unknown = {};
    if (call.args.trim() !== '') {
      try {
        input = JSON.parse(call.args);
      } catch {
        throw new ChatFailure('stream', t('The model called the tool {0} with arguments that are not valid JSON.', name));
      }
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new ChatFailure('stream', t('The model called the tool {0} with arguments that are not a JSON object.', name));
    }
    out.push({ kind: 'toolCall', callId: call.id || `call_${index}`, name, input: input as Record<string, unknown> });
  }
}

/** Text parts next to each other in one read become one part: fewer progress reports, same text. */
function mergeText(parts: ChatOutput[]): ChatOutput[] {
  if (parts.length < 2) return parts;
  const out: ChatOutput[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.kind === 'text' && last?.kind === 'text') out[out.length - 1] = { kind: 'text', text: last.text + p.text };
    else out.push(p);
  }
  return out;
}

function streamError(error: unknown): ChatFailure {
  const e = (error ?? {}) as Record<string, unknown>;
  const said = typeof e.message === 'string' ? e.message : typeof error === 'string' ? error : '';
  const one = redactSecrets(said.replace(/\s+/g, ' ').trim()).slice(0, 300);
  return new ChatFailure('stream', one ? t('The gateway broke off the answer: {0}', one) : t('The gateway broke off the answer.'));
}
