// forwardWithFailover: one client request → up to 1 + maxRetries upstream attempts, each on a
// different key, until one answers. Failover happens only before the first byte reaches the
// client; after that the response is streamed through as it comes, chunk by chunk. A key that
// refuses the request's *model* is stepped over without using up the retries (the pool then
// excludes that (key, model) pair); the moves are bounded by the number of keys, since no key
// is tried twice. The single attempt lives in attempt.ts, the answers we make in giveUp.ts.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { bilingual, t } from '../l10n';
import type { Dispatcher } from 'undici';
import { gatewaySignature } from '../gateway/signature';
import type { PoolLease } from '../pool/types';
import { closestModels } from '../present/modelSuggestions';
import { redactSecrets } from '../util/mask';
import type { Logger } from '../util/log';
import { UpstreamAttempt, errorCodeOf, type AttemptOutcome } from './attempt';
import { answerTooLarge, readBody } from './body';
import type { Classify, FailureDecision, ForwardPool, GatewayModel, GatewayWatch, UsageMeter } from './contracts';
import { ProxyHttpError, sendError, streamErrorEvent, type ApiFlavor } from './errors';
import { giveUpAnswer, htmlRefusalAnswer, noModelAnswer, outageAnswer, type ErrorAnswer, type FailedAttempt } from './giveUp';
import { clientHeaders, upstreamHeaders } from './headers';
import { modelsAnswer, modelsPath } from './models';
import type { UpstreamRoute } from './routes';
import { scanRequestBody } from './scan';
import type { ProxyOptions, RequestRecord } from './types';

export { errorCodeOf };
/** What the forwarder needs of the pool (server.ts adds the snapshot for /health). */
export type { ForwardPool as PoolPort };

export interface ForwardDeps {
  pool: ForwardPool;
  dispatcher: Dispatcher;
  upstream: { origin: string; basePath: string };
  options: () => ProxyOptions;
  classify: Classify;
  logger: Logger;
  onRecord?: (record: RequestRecord) => void;
  /** The union of the keys' model lists; undefined while none is known (then /v1/models is forwarded). */
  models?: () => GatewayModel[] | undefined;
  /** The outage detector: told about every gateway-shaped failure and every sign of life. */
  gateway?: GatewayWatch;
  /** Reads token usage off 2xx answers on their way to the client. */
  usage?: UsageMeter;
}

let requestSeq = 0;

/** Lets the client's hang-up abort whichever upstream attempt (or cool-down wait) is under way. */
interface ClientWatch {
  gone: boolean;
  attempt: UpstreamAttempt | undefined;
  wake: (() => void) | undefined;
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
  const answer = (a: ErrorAnswer, error: string) => {
    sendError(res, flavor, a.status, a.message, a.code, a.headers);
    finish(a.status, error);
  };

  if (deps.models && record.method === 'GET') {
    const want = modelsPath(route.path);
    const models = want && deps.models();
    if (want && models) {
      const clientFlavor: ApiFlavor = req.headers['anthropic-version'] !== undefined ? 'anthropic' : flavor;
      const local = modelsAnswer(models, want, clientFlavor, req.headers['accept-language']);
      if (local.kind === 'error') {
        sendError(res, clientFlavor, local.status, local.message, local.code);
        finish(local.status, local.message);
      } else {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(local.body) });
        res.end(local.body);
        finish(200);
      }
      return;
    }
  }

  const watch: ClientWatch = { gone: false, attempt: undefined, wake: undefined };
  res.once('close', () => {
    if (!res.writableFinished) {
      watch.gone = true;
      record.aborted = true;
      watch.attempt?.abortByClient();
      watch.wake?.();
    }
  });

  let body: Buffer;
  try {
    body = await readBody(req, opts.bodyLimitBytes);
  } catch (err) {
    if (err instanceof ProxyHttpError) {
      answerTooLarge(req, res, flavor, err);
      finish(err.status, err.message);
      return;
    }
    finish(499, t('client went away while sending the body'));
    return;
  }

  if (body.length > 0 && looksLikeJson(req.headers['content-type'], body)) {
    const scan = scanRequestBody(body);
    if (!scan.ok) {
      // Only the skeleton is ours to judge; errors deeper in are the gateway's to answer.
      sendError(res, flavor, 400, bilingual('The request body is not valid JSON ({0}, at byte {1}).', req.headers['accept-language'], scan.reason, scan.at), 'invalid_json');
      finish(400, t('malformed JSON'));
      return;
    }
    if (scan.model !== undefined) record.model = scan.model;
    record.stream = scan.stream;
  }

  const model = record.model;
  const method = (req.method ?? 'GET') as Dispatcher.HttpMethod;
  const path = deps.upstream.basePath + route.path;
  const anthropic = flavor === 'anthropic';
  const sendBody = body.length > 0 ? body : method === 'GET' || method === 'HEAD' ? null : body;
  const tried = new Set<string>();
  const failures: FailedAttempt[] = [];
  const maxAttempts = 1 + Math.max(0, opts.maxRetries);
  const gateway = deps.gateway;
  let counted = 0; // attempts that use up the budget (moves past an excluded model do not)
  let nextUsableAt: number | undefined;

  while (counted < maxAttempts && !watch.gone) {
    if (gateway?.outage) {
      answer(outageAnswer(gateway.outage, Date.now(), req.headers['accept-language']), t('gateway unreachable: {0}', gateway.outage.reason));
      return;
    }
    const got = deps.pool.acquire({ model, tried, maxWaitMs: Math.max(0, opts.cooldownWaitMs ?? 0) });
    if (got.kind === 'none') {
      if (got.noModel) {
        answer(noModelAnswer(got.noModel.model, closestModels(got.noModel.model, got.noModel.served), deps.models?.()?.map((m) => m.id), req.headers['accept-language']), t('no key serves {0}', got.noModel.model));
        return;
      }
      nextUsableAt = got.nextUsableAt;
      break;
    }
    const lease = got.lease;
    tried.add(lease.id);
    if (got.waitMs > 0) {
      deps.logger.debug(`request ${record.id}: waiting ${got.waitMs} ms for ${lease.id} to cool down`);
      await clientWait(watch, got.waitMs);
      if (watch.gone) {
        deps.pool.reportNeutral(lease);
        break;
      }
    }
    const attempt = ++record.attempts;
    record.keyId = lease.id;
    record.tier = got.tier;
    deps.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} (tier ${got.tier})`);

    const t0 = performance.now();
    const upstreamAttempt = new UpstreamAttempt(res, { keyId: lease.id, attempt, path: route.path, flavor }, deps.usage);
    watch.attempt = upstreamAttempt;
    const outcome = await upstreamAttempt.start(deps.dispatcher, {
      origin: deps.upstream.origin,
      path,
      method,
      headers: upstreamHeaders(req.headers, lease.key, anthropic, body.length),
      body: sendBody,
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: opts.bodyTimeoutMs,
    });
    watch.attempt = undefined;

    if (outcome.kind === 'aborted' || (watch.gone && outcome.kind !== 'done')) {
      deps.pool.reportNeutral(lease);
      break;
    }
    if (outcome.kind === 'network') {
      const decision = deps.classify({ errorCode: outcome.errorCode });
      const ticket = deps.pool.reportFailure(lease, decision, model);
      const signature = gatewaySignature({ errorCode: outcome.signature }) ?? gatewaySignature({ errorCode: outcome.errorCode });
      if (signature !== undefined) gateway?.recordFailure(lease.id, signature, ticket);
      failures.push({ keyId: lease.id, decision, errorCode: outcome.errorCode });
      counted++;
      deps.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
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
      if (status < 500) gateway?.recordSuccess();
      if (decision.action === 'pass-to-client') {
        // The client's (or the prompt's) problem: back to it untouched, no key penalised; but an
        // HTML page from the gateway's front would only show as noise in the SDKs: say it in words.
        deps.pool.reportNeutral(lease);
        if (isHtml(headers['content-type'])) {
          answer(htmlRefusalAnswer(status, errorBody, lease.id, attempt), decision.reason);
          return;
        }
        res.writeHead(status, withLength(clientHeaders(headers, lease.id, attempt), errorBody));
        res.end(errorBody);
        finish(status, decision.reason);
        return;
      }
      const ticket = deps.pool.reportFailure(lease, decision, model);
      const signature = gatewaySignature({ status, body: errorBody });
      if (signature !== undefined) gateway?.recordFailure(lease.id, signature, ticket);
      failures.push({ keyId: lease.id, decision, status, headers, body: errorBody });
      if (decision.action === 'exclude-model' && model !== undefined) {
        (record.movedOn ??= []).push({ keyId: lease.id, reason: t('{0} not served by {1}, moved on', model, lease.id) });
      } else {
        counted++;
      }
      deps.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
      continue;
    }

    // The answer was on its way to the client: no more failover, whatever happened next.
    finishAnswer(outcome, lease, t0, record, deps, res, flavor, watch.gone, finish);
    return;
  }

  if (watch.gone) {
    finish(499, t('client went away'));
    return;
  }
  const lastReason = failures.length ? failures[failures.length - 1].decision.reason : t('no usable key');
  answer(giveUpAnswer(failures, record.attempts, { model, nextUsableAt, now: Date.now(), acceptLanguage: req.headers['accept-language'] }), lastReason);
}

function finishAnswer(
  outcome: Extract<AttemptOutcome, { kind: 'done' | 'cut' }>,
  lease: PoolLease,
  t0: number,
  record: RequestRecord,
  deps: ForwardDeps,
  res: ServerResponse,
  flavor: ApiFlavor,
  clientGone: boolean,
  finish: (status: number, error?: string) => void,
): void {
  deps.gateway?.recordSuccess();
  if (outcome.usage) record.usage = outcome.usage;
  if (outcome.kind === 'done') {
    deps.pool.reportSuccess(lease, outcome.headersAfterMs);
    finish(outcome.status);
  } else if (clientGone) {
    deps.pool.reportNeutral(lease);
    finish(499, t('client went away'));
  } else {
    const decision: FailureDecision = deps.classify({ errorCode: outcome.errorCode });
    deps.pool.reportFailure(lease, decision, record.model);
    const message = bilingual('The upstream broke off the answer mid-way ({0}). Please retry.', res.req?.headers['accept-language'], decision.reason);
    if (outcome.sse) res.end(streamErrorEvent(flavor, message));
    else res.destroy();
    finish(outcome.status, t('cut mid-stream: {0}', decision.reason));
  }
}

/** Waits `ms`, or less when the client leaves (then `watch.gone` is set). */
function clientWait(watch: ClientWatch, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      watch.wake = undefined;
      resolve();
    }
    watch.wake = done;
  });
}

/**
 * A gateway may echo the key it was sent in an error body ("invalid key sk-…"). The client
 * never sent that key and must not see it: replace it with its masked id.
 */
function scrubKey(body: Buffer, key: string, keyId: string): Buffer {
  const whole = key.length >= 8 && body.indexOf(key) !== -1;
  // A key echoed cut short or escaped is not the pool key to the letter: mask anything key-like.
  if (!whole && body.indexOf('sk-') === -1) return body;
  const text = body.toString('utf8');
  return Buffer.from(redactSecrets(whole ? text.split(key).join(keyId) : text), 'utf8');
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

function isHtml(contentType: string | string[] | undefined): boolean {
  const ct = headerValue(contentType);
  return ct !== undefined && ct.toLowerCase().includes('html');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

