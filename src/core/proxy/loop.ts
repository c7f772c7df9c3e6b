// The failover loop: one request → up to 1 + maxRetries upstream attempts, each on a different
// key, until one answers. Failover happens only before the first byte reaches the client; after
// that the answer is streamed through as it comes, chunk by chunk. A key that refuses the
// request's *model* is stepped over without using up the retries (the pool then excludes that
// (key, model) pair); the moves are bounded by the number of keys, since no key is tried twice.
// The loop knows no node:http: it reads an Exchange (what the entries read of the request) and
// answers into its sink. One attempt lives in attempt.ts, the answers we make in giveUp.ts.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { gatewaySignature } from '../gateway/signature';
import { bilingual, t } from '../l10n';
import type { PoolLease } from '../pool/types';
import { closestModels } from '../gateway/modelSuggestions';
import { redactSecrets } from '../util/mask';
import { UpstreamAttempt, type AttemptOutcome } from './attempt';
import type { FailureDecision } from './contracts';
import { streamErrorEvent } from './errors';
import type { Exchange } from './exchange';
import { giveUpAnswer, htmlRefusalAnswer, noModelAnswer, outageAnswer, type FailedAttempt } from './giveUp';
import { clientHeaders, upstreamHeaders } from './headers';
import { scanRequestBody, withModel } from './scan';
import { countTokensAnswer } from '../routing/countTokens';

/**
 * Runs the request of `ex` (its record already holds the model and stream read from the body)
 * until it is answered, and records it. Never throws for anything the upstream or the client does.
 */
export async function runFailover(ex: Exchange, headers: IncomingHttpHeaders, body: Buffer): Promise<void> {
  const env = ex.env;
  const opts = env.options;
  const record = ex.record;
  const router = env.router;
  // The model the account serves for the one asked (claude-opus-4-8 → [官Max]claude-opus-4-6-…),
  // written into the body in place of the client's; and the conversation it belongs to.
  const resolution = router.resolve(ex.route.path, record.model, env.models());
  if (resolution !== undefined && resolution.kind !== 'none' && resolution.served !== resolution.requested) {
    const rewritten = replaceModel(ex, body, resolution.served);
    if (rewritten !== undefined) {
      body = rewritten;
      record.requestedModel = resolution.requested;
      record.model = resolution.served;
    }
  }
  const model = record.model;
  const session = router.sessionOf(ex.route.path, headers, body);
  const method = record.method as Dispatcher.HttpMethod;
  const path = env.upstream.basePath + ex.route.path;
  const anthropic = ex.route.flavor === 'anthropic';
  const sendBody = body.length > 0 ? body : method === 'GET' || method === 'HEAD' ? null : body;
  const pool = env.pool;
  const gateway = env.gateway;
  const tried = new Set<string>();
  const failures: FailedAttempt[] = [];
  const maxAttempts = 1 + Math.max(0, opts.maxRetries);
  let counted = 0; // attempts that use up the budget (moves past an excluded model do not)
  let nextUsableAt: number | undefined;
  // Set when no key's list names the model: the request is tried on a key all the same (the
  // gateway decides; a cached list must never refuse what it would serve), and the helpful 404
  // comes only when the gateway refuses the model too.
  let unlisted: { model: string; served: readonly string[] } | undefined;
  const countsTokens = isCountTokens(ex.route.path);
  // While the gateway is down, the request itself is the probe: one attempt, no failover across
  // keys, no key blamed; its success ends the outage at once (finishAnswer → recordSuccess).
  let probed = false;

  while (counted < maxAttempts && !ex.gone) {
    const outage = gateway.outage;
    if (outage && probed) {
      ex.answer(outageAnswer(outage, Date.now(), ex.acceptLanguage), t('gateway unreachable: {0}', outage.reason));
      return;
    }
    const probe = outage !== undefined;
    if (probe) probed = true;
    const prefer = router.preferred(session, model);
    const maxWaitMs = Math.max(0, opts.cooldownWaitMs ?? 0);
    let got = pool.acquire({ model: unlisted ? undefined : model, tried, maxWaitMs, prefer });
    if (got.kind === 'none' && got.noModel) {
      const no = unlisted ?? got.noModel;
      if (unlisted === undefined && router.tryUnlisted(no.model, env.models())) {
        unlisted = no;
        got = pool.acquire({ model: undefined, tried, maxWaitMs });
      }
      if (got.kind === 'none' || unlisted === undefined) {
        answerNoModel(ex, no);
        return;
      }
    }
    if (got.kind === 'none') {
      nextUsableAt = got.nextUsableAt;
      break;
    }
    const lease = got.lease;
    tried.add(lease.id);
    if (got.waitMs > 0) {
      env.logger.debug(`request ${record.id}: waiting ${got.waitMs} ms for ${lease.id} to cool down`);
      await clientWait(ex, got.waitMs);
      if (ex.gone) {
        pool.reportNeutral(lease);
        break;
      }
    }
    const attempt = ++record.attempts;
    record.keyId = lease.id;
    record.tier = got.tier;
    env.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} (tier ${got.tier})`);

    const upstreamAttempt = new UpstreamAttempt(ex.sink, { keyId: lease.id, attempt, path: ex.route.path, flavor: ex.route.flavor, model }, env.usage);
    ex.attempt = upstreamAttempt;
    const outcome = await upstreamAttempt.start(env.dispatcher, {
      origin: env.upstream.origin,
      path,
      method,
      headers: upstreamHeaders(headers, lease.key, anthropic, body.length),
      body: sendBody,
      headersTimeout: opts.headersTimeoutMs,
      bodyTimeout: opts.bodyTimeoutMs,
    });
    ex.attempt = undefined;

    if (outcome.kind === 'aborted' || (ex.gone && outcome.kind !== 'done')) {
      pool.reportNeutral(lease);
      break;
    }
    if (outcome.kind === 'network') {
      if (probe && gateway.outage) {
        pool.reportNeutral(lease); // the gateway is still down: not this key's fault
        continue;
      }
      const decision = env.classify({ errorCode: outcome.errorCode });
      const ticket = pool.reportFailure(lease, decision, model);
      const signature = gatewaySignature({ errorCode: outcome.signature }) ?? gatewaySignature({ errorCode: outcome.errorCode });
      if (signature !== undefined) gateway.recordFailure(lease.id, signature, ticket);
      failures.push({ keyId: lease.id, decision, errorCode: outcome.errorCode });
      counted++;
      env.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
      continue;
    }
    if (outcome.kind === 'error-status') {
      const { status, headers: upstreamHeadersGot } = outcome;
      if (countsTokens && GATEWAY_LACKS_ROUTE.has(status)) {
        // The gateway does not route count_tokens (many resellers' do not): no key's fault.
        pool.reportNeutral(lease);
        answerCountLocally(ex, body);
        return;
      }
      const errorBody = scrubKey(outcome.body, lease.key, lease.id);
      const decision = env.classify({
        status,
        body: errorBody.toString('utf8', 0, Math.min(errorBody.length, 4096)),
        retryAfter: headerValue(upstreamHeadersGot['retry-after']),
        now: Date.now(),
      });
      if (status < 500) gateway.recordSuccess();
      if (decision.action === 'pass-to-client') {
        // The client's (or the prompt's) problem: back to it untouched, no key penalised; but an
        // HTML page from the gateway's front would only show as noise in the SDKs: say it in words.
        pool.reportNeutral(lease);
        if (isHtml(upstreamHeadersGot['content-type'])) {
          ex.answer(htmlRefusalAnswer(status, errorBody, lease.id, attempt), decision.reason);
          return;
        }
        ex.sink.head(status, withLength(clientHeaders(upstreamHeadersGot, lease.id, attempt), errorBody));
        ex.sink.end(errorBody);
        ex.finish(status, decision.reason);
        return;
      }
      if (probe && gateway.outage) {
        pool.reportNeutral(lease); // the gateway's front still fails: not this key's fault
        continue;
      }
      const ticket = pool.reportFailure(lease, decision, model);
      const signature = gatewaySignature({ status, body: errorBody });
      if (signature !== undefined) gateway.recordFailure(lease.id, signature, ticket);
      failures.push({ keyId: lease.id, decision, status, headers: upstreamHeadersGot, body: errorBody });
      if (unlisted && decision.action === 'exclude-model') {
        // The gateway refuses it too: now the 404 that names what the keys do serve.
        router.refusedUnlisted(unlisted.model);
        answerNoModel(ex, unlisted);
        return;
      }
      if (decision.action === 'exclude-model' && model !== undefined) {
        (record.movedOn ??= []).push({ keyId: lease.id, reason: t('{0} not served by {1}, moved on', model, lease.id) });
      } else {
        counted++;
      }
      env.logger.debug(`request ${record.id}: attempt ${attempt} on ${lease.id} failed: ${decision.reason}`);
      continue;
    }

    // The answer was on its way to the client: no more failover, whatever happened next.
    if (outcome.kind === 'done' && session !== undefined && outcome.status < 300) record.session = router.served(session, model, lease.id);
    finishAnswer(ex, outcome, lease);
    return;
  }

  if (ex.gone) {
    ex.finish(499, t('client went away'));
    return;
  }
  const lastReason = failures.length ? failures[failures.length - 1].decision.reason : t('no usable key');
  if (countsTokens) {
    answerCountLocally(ex, body);
    return;
  }
  ex.answer(giveUpAnswer(failures, record.attempts, { model, nextUsableAt, now: Date.now(), acceptLanguage: ex.acceptLanguage, login: env.knobs.login }), lastReason);
}

function finishAnswer(ex: Exchange, outcome: Extract<AttemptOutcome, { kind: 'done' | 'cut' }>, lease: PoolLease): void {
  const env = ex.env;
  const record = ex.record;
  env.gateway.recordSuccess();
  if (outcome.usage) record.usage = outcome.usage;
  if (outcome.kind === 'done') {
    env.pool.reportSuccess(lease, outcome.headersAfterMs);
    ex.finish(outcome.status);
  } else if (ex.gone) {
    env.pool.reportNeutral(lease);
    ex.finish(499, t('client went away'));
  } else {
    const decision: FailureDecision = env.classify({ errorCode: outcome.errorCode });
    env.pool.reportFailure(lease, decision, record.model);
    const message = bilingual('The upstream broke off the answer mid-way ({0}). Please retry.', ex.acceptLanguage, decision.reason);
    ex.sink.fail(message, outcome.sse ? streamErrorEvent(ex.route.flavor, message) : undefined);
    ex.finish(outcome.status, t('cut mid-stream: {0}', decision.reason));
  }
}

/**
 * The body with `model` in place of the client's, where the scan found it (scanned now when the
 * in-process entry was told the model instead); undefined when it cannot be placed.
 */
function replaceModel(ex: Exchange, body: Buffer, model: string): Buffer | undefined {
  let at = ex.modelAt;
  let end = ex.modelEnd;
  if (at < 0) {
    const scan = scanRequestBody(body);
    if (!scan.ok || scan.modelAt === undefined || scan.modelEnd === undefined) return undefined;
    at = scan.modelAt;
    end = scan.modelEnd;
  }
  return withModel(body, at, end, model);
}

/** The local 404 for a model no key serves, naming the closest ids they do. */
function answerNoModel(ex: Exchange, no: { model: string; served: readonly string[] }): void {
  const listed = ex.env.models()?.map((m) => m.id);
  ex.answer(noModelAnswer(no.model, closestModels(no.model, no.served), listed, ex.acceptLanguage), t('no key serves {0}', no.model));
}

/** Statuses by which a gateway says it has no such route. */
const GATEWAY_LACKS_ROUTE = new Set([404, 405, 501]);

function isCountTokens(path: string): boolean {
  return path === '/messages/count_tokens' || path.startsWith('/messages/count_tokens?');
}

/**
 * Anthropic's count_tokens when the gateway cannot answer it: a local estimate in its shape
 * (Claude Code's VS Code extension sends dozens at start-up and shows errors without one).
 */
function answerCountLocally(ex: Exchange, body: Buffer): void {
  const answer = countTokensAnswer(body);
  ex.sink.head(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer), 'x-daidai-estimate': 'local' });
  ex.sink.end(answer);
  ex.finish(200, t('count_tokens estimated locally (the gateway did not answer it)'));
}

/** Waits `ms`, or less when the client leaves (then `ex.gone` is set). */
function clientWait(ex: Exchange, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      ex.wake = undefined;
      resolve();
    }
    ex.wake = done;
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

function isHtml(contentType: string | string[] | undefined): boolean {
  const ct = headerValue(contentType);
  return ct !== undefined && ct.toLowerCase().includes('html');
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
