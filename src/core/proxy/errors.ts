// Errors the proxy itself makes, in the calling client's own API format, so that an OpenAI
// SDK, SillyTavern or Claude Code shows the message instead of a parse failure.
import type { ServerResponse } from 'node:http';
import { printableAscii } from './headers';
import type { ResponseSink } from './sink';

export type ApiFlavor = 'openai' | 'anthropic';

/** Anthropic's Messages API lives under /v1/messages; everything else speaks OpenAI. */
export function flavorOf(upstreamPath: string): ApiFlavor {
  return upstreamPath.startsWith('/messages') ? 'anthropic' : 'openai';
}

const anthropicTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  502: 'api_error',
  503: 'overloaded_error',
  504: 'api_error',
};

export function errorBody(flavor: ApiFlavor, status: number, message: string, code: string): string {
  if (flavor === 'anthropic') {
    return JSON.stringify({ type: 'error', error: { type: anthropicTypes[status] ?? 'api_error', message } });
  }
  const type = status === 401 || status === 403 ? 'authentication_error' : status >= 500 ? 'proxy_error' : 'invalid_request_error';
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/**
 * bilingual() puts the Chinese after ` / `: a reason phrase cannot carry it (Node refuses
 * non-latin1 there, and clients show bytes), so the phrase keeps the English before it.
 */
function englishPart(message: string): string {
  const cut = message.lastIndexOf(' / ');
  return cut > 0 && /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/.test(message.slice(cut + 3)) ? message.slice(0, cut) : message;
}

/** The HTTP reason phrase must be a single line of printable ASCII (a masked key's ellipsis becomes three dots). */
export function reasonPhrase(message: string): string {
  const ascii = printableAscii(englishPart(message)).trim();
  return ascii.length > 200 ? ascii.slice(0, 197) + '...' : ascii;
}

/**
 * Sets status, reason phrase and headers of a proxy-made error; returns the body to write. The
 * explanation goes both in the body and in the reason phrase: SillyTavern 1.19 shows only the
 * reason phrase of a non-streamed error.
 */
export function prepareError(
  res: ServerResponse,
  flavor: ApiFlavor,
  status: number,
  message: string,
  code: string,
  extraHeaders?: Record<string, string>,
): string {
  const body = errorBody(flavor, status, message, code);
  const phrase = reasonPhrase(`DaiDai proxy: ${message}`);
  res.statusCode = status;
  if (phrase) res.statusMessage = phrase;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  if (extraHeaders) for (const k in extraHeaders) res.setHeader(k, extraHeaders[k]);
  return body;
}

/** Answers with a proxy-made error in the client's own format (or cuts the answer once its head went out). */
export function answerError(
  sink: ResponseSink,
  flavor: ApiFlavor,
  status: number,
  message: string,
  code: string,
  extraHeaders?: Record<string, string>,
): void {
  if (sink.headSent) {
    sink.fail(message, undefined);
    return;
  }
  const body = errorBody(flavor, status, message, code);
  const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) };
  if (extraHeaders) for (const k in extraHeaders) headers[k] = extraHeaders[k];
  sink.head(status, headers, reasonPhrase(`DaiDai proxy: ${message}`));
  sink.end(body);
}

/** The event that ends a stream the upstream broke mid-way: an error the client can show, never a fake [DONE]. */
export function streamErrorEvent(flavor: ApiFlavor, message: string): string {
  if (flavor === 'anthropic') {
    return `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'api_error', message } })}\n\n`;
  }
  return `data: ${JSON.stringify({ error: { message, type: 'proxy_error', param: null, code: 'stream_interrupted' } })}\n\n`;
}

/** An error whose message is fit for the client (no secret) and that carries its HTTP status. */
export class ProxyHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ProxyHttpError';
  }
}
