// forwardWithFailover: one client request → up to 1 + maxRetries upstream attempts, each on a
// different key, until one answers. Failover happens only before the first byte reaches the
// client; after that the response is streamed through as it comes, chunk by chunk.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { decisionRetries, type FailureDecision, type FailureInput, type PoolPort as PoolContract } from '../pool/types';
import type { Logger } from '../util/log';
import { ProxyHttpError, sendError, streamErrorEvent, type ApiFlavor } from './errors';
import { clientHeaders, upstreamHeaders } from './headers';
import type { UpstreamRoute } from './routes';
import type { ProxyOptions, RequestRecord } from './types';

/** What the forwarder needs of the key pool. */
export type PoolPort = Pick<PoolContract, 'acquire' | 'reportSuccess' | 'reportFailure' | 'reportNeutral'>;

export interface ForwardDeps {
  pool: PoolPort;
  dispatcher: Dispatcher;
  upstream: { origin: string; basePath: string };
  options: () => ProxyOptions;
  classify: (input: FailureInput) => FailureDecision;
  logger: Logger;
  onRecord?: (record: RequestRecord) => void;
}

/** Most error bodies are a few hundred bytes; we keep enough to classify and replay them. */
const ERROR_BODY_LIMIT = 64 * 1024;

let requestSeq = 0;

interface Attempted {
  keyId: string;
  reason: string;
  decision: FailureDecision;
  /** The upstream's own answer when it gave one. */
  status?: number;
  headers?: IncomingHttpHeaders;
  body?: Buffer;
  errorCode?: string;
}

export async function forwardWithFailover(
  req: IncomingMessage,
  res: ServerResponse,
  route: UpstreamRoute,
  deps: ForwardDeps,
): Promise<void> {
  const started = performance.now();
  const opts = deps.options();
  const flavor = route.flavor;
  const record: RequestRecord = {
    id: String(++requestSeq),
    method: req.method ?? 'GET',
    path: route.path,
    stream: false,
    status: 0,
    attempts: 0,
    durationMs: 0,
    aborted: false,
  };
  const finish = (status: number, error?: string) => {
    record.status = status;
    record.durationMs = Math.round((performance.now() - started) * 10) / 10;
    if (error) record.error = error;
    deps.onRecord?.(record);
  };

  // A client that hangs up stops the upstream request at once: it costs the user money.
  const abortHooks: AbortHooks = { current: undefined };
  let clientGone = false;
  res.once('close', () => {
    if (!res.writableFinished) {
      clientGone = true;
      record.aborted = true;
      abortHooks.current?.();
    }
  });

  let body: Buffer;
  try {
    body = await readBody(req, opts.bodyLimitBytes);
  } catch (err) {
    if (err instanceof ProxyHttpError) {
      res.setHeader('connection', 'close'); // the rest of an oversized body stays unread
      sendError(res, flavor, err.status, err.message, err.code);
      finish(err.status, err.message);
      return;
    }
    finish(499, 'client went away while sending the body');
    return;
  }

  if (body.length > 0 && looksLikeJson(req.headers['content-type'], body)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      const message = `The request body is not valid JSON (${(err as Error).message}).`;
      sendError(res, flavor, 400, message, 'invalid_json');
      finish(400, 'malformed JSON');
      return;
    }
    if (parsed && typeof parsed === 'object') {
      const p = parsed as { model?: unknown; stream?: unknown };
      if (typeof p.model === 'string') record.model = p.model;
      record.stream = p.stream === true;
    }
  }

  const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
  const path = deps.upstream.basePath + route.path;
  const anthropic = flavor === 'anthropic';
  const tried = new Set<string>();
  const failures: Attempted[] = [];
  const maxAttempts = 1 + Math.max(0, opts.maxRetries);

  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (clientGone) break;
    const got = deps.pool.acquire({ tried, model: record.model, maxWaitMs: 0 });
    if (got.kind !== 'key') break;
    const lease = got.lease;
    tried.add(lease.id);
    record.attempts = attempt;
    record.keyId = lease.id;

    const outcome = await attemptOnce(deps.dispatcher, {
      origin: deps.upstream.origin,
      path,
      method,
      headers: upstreamHeaders(req.headers, lease.key, anthropic, body.length),
      body: body.length > 0 ? body : method === 'GET' || method === 'HEAD' ? null : body,
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: opts.bodyTimeoutMs,
    }, res, (status, headers) => clientHeaders(headers, lease.id, attempt), abortHooks);

    if (outcome.kind === 'aborted' || (clientGone && outcome.kind !== 'done')) {
      deps.pool.reportNeutral(lease);
      break;
    }
    if (outcome.kind === 'network') {
      const decision = deps.classify({ errorCode: outcome.errorCode });
      deps.pool.reportFailure(lease, decision, record.model);
      failures.push({ keyId: lease.id, reason: decision.reason, decision, errorCode: outcome.errorCode });
      deps.logger.debug(`attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
      continue;
    }
    if (outcome.kind === 'error-status') {
      const { status, headers } = outcome;
      const errorBody = scrubKey(outcome.body, lease.key, lease.id);
      const decision = deps.classify({
        status,
        body: errorBody.toString('utf8', 0, Math.min(errorBody.length, 4096)),
        retryAfter: headerValue(headers['retry-after']),
        now: Date.now(),
      });
      if (!decisionRetries(decision)) {
        // The client's own mistake (400, 404, 422…): back to it untouched, no key penalised.
        deps.pool.reportNeutral(lease);
        res.writeHead(status, withLength(clientHeaders(headers, lease.id, attempt), errorBody));
        res.end(errorBody);
        finish(status, decision.reason);
        return;
      }
      deps.pool.reportFailure(lease, decision, record.model);
      failures.push({ keyId: lease.id, reason: decision.reason, decision, status, headers, body: errorBody });
      deps.logger.debug(`attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
      continue;
    }

    // The answer was on its way to the client: no more failover, whatever happened next.
    if (outcome.kind === 'done') {
      deps.pool.reportSuccess(lease, outcome.headersAfterMs);
      finish(outcome.status);
    } else if (clientGone) {
      deps.pool.reportNeutral(lease);
      finish(499, 'client went away');
    } else {
      const decision = deps.classify({ errorCode: outcome.errorCode });
      deps.pool.reportFailure(lease, decision, record.model);
      const message = `The upstream broke off the answer mid-way (${decision.reason}). Please retry.`;
      if (outcome.sse) res.end(streamErrorEvent(flavor, message));
      else res.destroy();
      finish(outcome.status, `cut mid-stream: ${decision.reason}`);
    }
    return;
  }

  if (clientGone) {
    finish(499, 'client went away');
    return;
  }
  giveUp(res, flavor, failures, tried.size, record.attempts);
  finish(res.statusCode, failures.length ? failures[failures.length - 1].reason : 'no usable key');
}

/** Every attempt failed (or there was no key): tell the client why, in its own format. */
function giveUp(res: ServerResponse, flavor: ApiFlavor, failures: Attempted[], keysTried: number, attempts: number): void {
  const extra = { 'x-daidai-attempts': String(attempts) };
  if (failures.length === 0) {
    sendError(
      res,
      flavor,
      503,
      'No usable API key. Log in to DaiDai (or set DAIDAI_KEYS) and check that your keys have balance.',
      'no_keys',
      extra,
    );
    return;
  }
  const last = failures[failures.length - 1];
  const summary = failures.map((f) => `${f.keyId}: ${f.reason}`).join('; ');
  // Rate limits and gateway errors are the upstream's own answer: pass the last one on as it
  // came (Retry-After included), so the client's own backoff works.
  if (last.status !== undefined && (last.status === 429 || last.status >= 500) && last.decision.action !== 'exhausted') {
    const headers = withLength(clientHeaders(last.headers ?? {}, last.keyId, attempts), last.body ?? EMPTY);
    res.writeHead(last.status, headers);
    res.end(last.body);
    return;
  }
  if (last.decision.action === 'exhausted' || last.decision.action === 'disable-key') {
    sendError(
      res,
      flavor,
      503,
      `Every key tried was refused by the gateway (${summary}). Check the keys' balances in DaiDai.`,
      'keys_refused',
      extra,
    );
    return;
  }
  const timedOut = failures.every((f) => f.errorCode === 'UND_ERR_HEADERS_TIMEOUT');
  sendError(
    res,
    flavor,
    timedOut ? 504 : 502,
    `The gateway could not be reached or did not answer after ${attempts} attempt(s) on ${keysTried} key(s) (${summary}).`,
    timedOut ? 'upstream_timeout' : 'upstream_unreachable',
    extra,
  );
}

/** Lets the client's hang-up abort whichever upstream attempt is under way. */
interface AbortHooks {
  current: (() => void) | undefined;
}

type AttemptOutcome =
  /** No answer: connection refused or reset, timeout before headers… */
  | { kind: 'network'; errorCode: string }
  /** An error status; its body (capped) is kept to classify and maybe replay. */
  | { kind: 'error-status'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  /** A success answer went through to the client completely. */
  | { kind: 'done'; status: number; headersAfterMs: number }
  /** A success answer started reaching the client, then the upstream broke off. */
  | { kind: 'cut'; status: number; headersAfterMs: number; errorCode: string; sse: boolean }
  /** The client went away. */
  | { kind: 'aborted' };

/**
 * One upstream attempt through undici's dispatch handler API: chunks go from the upstream
 * socket straight into the client's response, with no stream object in between, and the
 * upstream pauses when the client cannot keep up. A success answer is written through as it
 * arrives; an error answer is held back (capped) so the caller can fail over.
 */
function attemptOnce(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  res: ServerResponse,
  responseHeaders: (status: number, headers: IncomingHttpHeaders) => OutgoingHttpHeaders,
  abortHooks: AbortHooks,
): Promise<AttemptOutcome> {
  const t0 = performance.now();
  return new Promise<AttemptOutcome>((resolve) => {
    let controller: Dispatcher.DispatchController | undefined;
    let mode: 'waiting' | 'collect' | 'pipe' = 'waiting';
    let status = 0;
    let headersAfterMs = 0;
    let sse = false;
    let collected: Buffer[] = [];
    let collectedSize = 0;
    let errorHeaders: IncomingHttpHeaders = {};
    let clientAborted = false;
    let settled = false;
    const settle = (o: AttemptOutcome) => {
      if (settled) return;
      settled = true;
      abortHooks.current = undefined;
      resolve(o);
    };
    const onDrain = () => controller?.resume();
    abortHooks.current = () => {
      clientAborted = true;
      if (controller && !controller.aborted) controller.abort(new ClientGoneError());
      settle({ kind: 'aborted' });
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (clientAborted) c.abort(new ClientGoneError());
      },
      onResponseStart(c, statusCode, headers) {
        if (statusCode < 200) return; // 1xx: informational, the real answer follows
        status = statusCode;
        headersAfterMs = performance.now() - t0;
        if (statusCode >= 400) {
          mode = 'collect';
          errorHeaders = headers;
          return;
        }
        mode = 'pipe';
        const ct = headers['content-type'];
        sse = typeof ct === 'string' && ct.startsWith('text/event-stream');
        res.writeHead(statusCode, responseHeaders(statusCode, headers));
        if (sse) {
          // Headers now, not with the first event: clients show "connected" and start their timers.
          res.flushHeaders();
        }
        res.on('drain', onDrain);
      },
      onResponseData(c, chunk) {
        if (mode === 'pipe') {
          if (!res.write(chunk)) c.pause();
        } else if (mode === 'collect' && collectedSize < ERROR_BODY_LIMIT) {
          // Past the limit keep reading (and dropping) so the connection can be reused.
          const take = chunk.length > ERROR_BODY_LIMIT - collectedSize ? chunk.subarray(0, ERROR_BODY_LIMIT - collectedSize) : chunk;
          collected.push(take);
          collectedSize += take.length;
        }
      },
      onResponseEnd() {
        if (mode === 'pipe') {
          res.off('drain', onDrain);
          res.end();
          settle({ kind: 'done', status, headersAfterMs });
        } else {
          const body = collected.length === 1 ? collected[0] : Buffer.concat(collected, collectedSize);
          collected = [];
          settle({ kind: 'error-status', status, headers: errorHeaders, body });
        }
      },
      onResponseError(_c, err) {
        res.off('drain', onDrain);
        if (clientAborted || err instanceof ClientGoneError) {
          settle({ kind: 'aborted' });
        } else if (mode === 'pipe') {
          settle({ kind: 'cut', status, headersAfterMs, errorCode: errorCodeOf(err), sse });
        } else {
          // Before an answer, or while reading an error body: either way the key gets the blame.
          settle({ kind: 'network', errorCode: errorCodeOf(err) });
        }
      },
    };
    try {
      dispatcher.dispatch(options, handler);
    } catch (err) {
      settle({ kind: 'network', errorCode: errorCodeOf(err) });
    }
  });
}

class ClientGoneError extends Error {
  readonly code = 'CLIENT_GONE';
  constructor() {
    super('the client went away');
    this.name = 'ClientGoneError';
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (n === 0) return Promise.resolve(EMPTY);
    if (n > limit) return Promise.reject(tooLarge(limit));
  } else if (req.headers['transfer-encoding'] === undefined) {
    return Promise.resolve(EMPTY);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        req.resume(); // drain without keeping
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (!req.complete) onError(new Error('client went away'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const EMPTY = Buffer.alloc(0);

function tooLarge(limit: number): ProxyHttpError {
  const mib = Math.round((limit / (1024 * 1024)) * 10) / 10;
  return new ProxyHttpError(413, `The request body is larger than the proxy's limit of ${mib} MiB.`, 'request_too_large');
}

/**
 * A gateway may echo the key it was sent in an error body ("invalid key sk-…"). The client
 * never sent that key and must not see it: replace it with its masked id.
 */
function scrubKey(body: Buffer, key: string, keyId: string): Buffer {
  if (key.length < 8 || body.indexOf(key) === -1) return body;
  return Buffer.from(body.toString('utf8').split(key).join(keyId), 'utf8');
}

/** Error bodies are sent whole (possibly scrubbed): their length is ours to state. */
function withLength(headers: ReturnType<typeof clientHeaders>, body: Buffer): ReturnType<typeof clientHeaders> {
  delete headers['content-length'];
  headers['content-length'] = String(body.length);
  return headers;
}

function looksLikeJson(contentType: string | undefined, body: Buffer): boolean {
  if (contentType !== undefined) return contentType.includes('json');
  return body[0] === 0x7b /* { */ || body[0] === 0x5b /* [ */;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function errorCodeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.cause && typeof e.cause.code === 'string') return e.cause.code;
  if (e && e.name === 'AbortError') return 'ABORTED';
  return 'UNKNOWN';
}
