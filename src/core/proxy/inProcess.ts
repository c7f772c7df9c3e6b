// The in-process entry: a request from inside the extension (VS Code's chat provider) runs
// through the very pool and failover loop the port uses, without a socket, an HTTP client or
// the port itself, so it works while the proxy is stopped. The caller describes the request and
// gives a ResponseSink; the answer streams into it unbuffered, exactly as the upstream sends it
// (OpenAI or Anthropic JSON, or SSE), and failover happens only before its first byte.
import type { IncomingHttpHeaders } from 'node:http';
import { t } from '../l10n';
import { EMPTY, tooLarge } from './body';
import type { ProxyEnv } from './env';
import { answerError } from './errors';
import { Exchange } from './exchange';
import { runFailover } from './loop';
import { answeredLocally, readBodyFacts } from './request';
import { unknownPath, unsafePath, upstreamRoute } from './routes';
import type { ResponseSink } from './sink';

/** A request as a client would send it to the port, without the socket. */
export interface ProxyRequest {
  /** 'POST', 'GET'… */
  method: string;
  /** The path a client would call on the port, with any query: '/v1/chat/completions', '/v1/messages'. */
  path: string;
  /**
   * Header names in lower case, as node:http gives them (content-type, anthropic-version,
   * anthropic-beta, accept-language…). Credentials are not needed: the pool's key replaces them.
   * A JSON body without content-type is sent as application/json.
   */
  headers?: IncomingHttpHeaders;
  body?: Buffer;
  /** The body's model and stream when the caller built the body and knows them: with both, the body is not scanned. */
  model?: string;
  stream?: boolean;
  /** Aborts the request: the upstream attempt is cut at once (it costs the user money), a cool-down wait ends. */
  signal?: AbortSignal;
  /** Names the caller in the RequestRecord (log line, counters, usage history): 'vscode-chat'. */
  source?: string;
}

/**
 * Runs `request` through the pool and the failover loop into `sink`. Resolves once the answer
 * has ended or failed (the record fired); does not reject for anything the upstream or the
 * signal does: errors arrive in the sink, in the request's API format, as from the port.
 */
export async function proxyRequest(env: ProxyEnv, request: ProxyRequest, sink: ResponseSink): Promise<void> {
  let headers = request.headers ?? {};
  const acceptLanguage = headers['accept-language'];
  const route = upstreamRoute(request.path);
  if (route === undefined || route.unsafe) {
    const err = route === undefined ? unknownPath(request.path.split('?')[0], acceptLanguage) : unsafePath(request.path, acceptLanguage);
    answerError(sink, route === undefined ? 'openai' : route.flavor, err.status, err.message, err.code);
    return;
  }
  const ex = new Exchange(env, sink, request.method.toUpperCase(), route, acceptLanguage, request.source);
  const signal = request.signal;
  if (signal?.aborted) {
    ex.clientGone();
    ex.finish(499, t('client went away'));
    return;
  }
  const onAbort = () => ex.clientGone();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (answeredLocally(ex, headers)) return;
    const body = request.body ?? EMPTY;
    if (body.length > env.options.bodyLimitBytes) {
      const err = tooLarge(env.options.bodyLimitBytes, acceptLanguage);
      ex.answer({ status: err.status, message: err.message, code: err.code, headers: {} }, err.message);
      return;
    }
    if (request.model === undefined || request.stream === undefined) {
      if (!readBodyFacts(ex, headers['content-type'], body)) return;
    }
    if (request.model !== undefined) ex.record.model = request.model;
    if (request.stream !== undefined) ex.record.stream = request.stream;
    if (body.length > 0 && headers['content-type'] === undefined && (body[0] === 0x7b || body[0] === 0x5b)) {
      headers = { ...headers, 'content-type': 'application/json' };
    }
    await runFailover(ex, headers, body);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
