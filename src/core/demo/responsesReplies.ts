// The fake gateway's answers on the Responses API (`POST /v1/responses`), the only API Codex CLI
// speaks. Deterministic like the other replies: the text is replyText of the last user input, and
// a stream ends with `response.output_item.done` and `response.completed` (with the response id
// and usage), without which Codex reports an error.
import type { FakeCache } from './promptCache';
import { DEMO_CREATED, approxTokens, contentText, demoId, replyText, splitPieces } from './replies';

/** The last user input's text: `input` as a string, or the last user message item's text parts. */
export function responsesUserText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i] as { role?: unknown; content?: unknown } | null;
    if (item && item.role === 'user') return typeof item.content === 'string' ? item.content : contentText(item.content);
  }
  return '';
}

function usage(inputTokens: number, outputTokens: number, cache: FakeCache | undefined): Record<string, unknown> {
  return {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: cache?.read ?? 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
}

function ids(model: string, userText: string, salt: string): { resp: string; msg: string } {
  const id = demoId(model, userText, salt);
  return { resp: `resp_demo_${id}`, msg: `msg_demo_${id}` };
}

function message(id: string, text: string, status: 'in_progress' | 'completed'): Record<string, unknown> {
  return { type: 'message', id, status, role: 'assistant', content: status === 'completed' ? [{ type: 'output_text', text, annotations: [] }] : [] };
}

function response(id: string, model: string, status: string, output: unknown[], usageObj: unknown): Record<string, unknown> {
  return { id, object: 'response', created_at: DEMO_CREATED, status, model, output, usage: usageObj };
}

/** A non-streamed Responses API answer. */
export function responsesBody(model: string, userText: string, inputTokens: number, cache?: FakeCache): string {
  const text = replyText(userText);
  const { resp, msg } = ids(model, userText, '');
  return JSON.stringify(response(resp, model, 'completed', [message(msg, text, 'completed')], usage(inputTokens, approxTokens(text), cache)));
}

/**
 * The streamed events, as OpenAI sends them: response.created, response.in_progress,
 * response.output_item.added, response.content_part.added, `chunks` response.output_text.delta,
 * response.output_text.done, response.content_part.done, response.output_item.done,
 * response.completed (usage at its end, where the usage meter looks).
 */
export function responsesStreamEvents(model: string, userText: string, chunks: number, inputTokens: number, cache?: FakeCache): string[] {
  const pieces = splitPieces(replyText(userText), chunks);
  const text = pieces.join('');
  const { resp, msg } = ids(model, userText, String(chunks));
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`;
  const part = (t: string) => ({ type: 'output_text', text: t, annotations: [] });
  const events = [
    ev('response.created', { response: response(resp, model, 'in_progress', [], null) }),
    ev('response.in_progress', { response: response(resp, model, 'in_progress', [], null) }),
    ev('response.output_item.added', { output_index: 0, item: message(msg, '', 'in_progress') }),
    ev('response.content_part.added', { item_id: msg, output_index: 0, content_index: 0, part: part('') }),
  ];
  for (const p of pieces) events.push(ev('response.output_text.delta', { item_id: msg, output_index: 0, content_index: 0, delta: p }));
  events.push(ev('response.output_text.done', { item_id: msg, output_index: 0, content_index: 0, text }));
  events.push(ev('response.content_part.done', { item_id: msg, output_index: 0, content_index: 0, part: part(text) }));
  events.push(ev('response.output_item.done', { output_index: 0, item: message(msg, text, 'completed') }));
  events.push(ev('response.completed', { response: response(resp, model, 'completed', [message(msg, text, 'completed')], usage(inputTokens, pieces.length, cache)) }));
  return events;
}
