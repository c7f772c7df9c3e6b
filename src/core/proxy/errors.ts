// Errors the proxy itself makes, in the calling client's own API format, so that an OpenAI
// SDK, SillyTavern or Claude Code shows the message instead of a parse failure.
import { STATUS_CODES, type ServerResponse } from 'node:http';
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

/**
 * What each proxy-made error is, in plain ASCII and without data: the reason phrase when the
 * message itself cannot be one (it carries a Chinese model id or the gateway's Chinese words,
 * which a reason phrase would lose letter by letter: `[官Max]x` read as `[Max]x`).
 */
const PHRASES: Readonly<Record<string, string>> = {
  model_not_found: 'No key of this account serves the model asked for; the response body lists the models it serves',
  keys_refused: "Every key tried was refused by the gateway; the response body says why",
  keys_revoked: 'Every key tried was refused as invalid or revoked; replace the keys (details in the response body)',
  keys_cooling: 'Every key is resting; retry after Retry-After seconds',
  no_keys: 'The proxy has no usable API key (details in the response body)',
  rate_limited: 'The gateway rate-limited every key tried; retry later',
  upstream_error: 'The gateway answered with errors on every key tried (details in the response body)',
  upstream_unreachable: 'The gateway could not be reached (details in the response body)',
  upstream_timeout: 'The gateway did not answer in time (details in the response body)',
  gateway_unreachable: 'The DaiDai gateway is unreachable; the proxy sends requests again as soon as it answers',
  upstream_html_error: 'The gateway refused the request with an HTML page (details in the response body)',
  invalid_json: 'The request body is not valid JSON (details in the response body)',
};

const MAX_PHRASE = 200;

/** What follows a message's leading ASCII sentences when the rest could not be a reason phrase. */
const TAILS: Readonly<Record<string, string>> = {
  model_not_found: 'The response body lists the models it serves.',
};

/**
 * The HTTP reason phrase: one line of printable ASCII that says something true. The message's
 * English when it is ASCII through and through (an ellipsis becomes three dots), cut at a list
 * separator when long (so no id is cut in two). Otherwise its leading ASCII sentences and a
 * pointer to the body, or the code's own sentence: never a text with letters dropped.
 * SillyTavern 1.19 shows a user only this.
 */
export function reasonPhrase(message: string, code?: string, status?: number): string {
  const english = englishPart(message).replace(/\u2026/g, '...').replace(/\s+/g, ' ').trim();
  const firstOther = english.search(/[^\x20-\x7e]/);
  if (firstOther === -1) return shorten(english);
  const lead = english.slice(0, firstOther);
  const end = lead.lastIndexOf('. ');
  if (end > 0) return shorten(`${lead.slice(0, end + 1)} ${(code !== undefined && TAILS[code]) || 'Details in the response body.'}`);
  const known = code !== undefined ? PHRASES[code] : undefined;
  if (known) return known;
  const words = status !== undefined ? STATUS_CODES[status] : undefined;
  return words ? `${words} (details in the response body)` : 'Details in the response body';
}

function shorten(ascii: string): string {
  if (ascii.length <= MAX_PHRASE) return ascii;
  const head = ascii.slice(0, MAX_PHRASE - 3);
  const cut = Math.max(head.lastIndexOf(', '), head.lastIndexOf('; '));
  return (cut > MAX_PHRASE / 2 ? head.slice(0, cut) : head) + '...';
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
  const phrase = `DaiDai proxy: ${reasonPhrase(message, code, status)}`;
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
  sink.head(status, headers, `DaiDai proxy: ${reasonPhrase(message, code, status)}`);
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
