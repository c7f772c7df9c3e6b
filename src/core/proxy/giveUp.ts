// What the client gets when the proxy answers for the gateway: every attempt failed, no key
// serves the model, or the gateway is down. Always the client's own error format (the OpenAI
// and Anthropic SDKs show our message, not the gateway's nginx page), with the gateway's status
// kept where it tells the client's own backoff what to do (429 with Retry-After, 502/503/504).
import type { IncomingHttpHeaders } from 'node:http';
import { bilingual } from '../l10n';
import { redactSecrets } from '../util/mask';
import type { FailureDecision } from './contracts';
import { asciiKeyId } from './headers';

/** One failed attempt, as the give-up answer explains it. */
export interface FailedAttempt {
  keyId: string;
  decision: FailureDecision;
  /** The upstream's own answer when it gave one. */
  status?: number;
  headers?: IncomingHttpHeaders;
  /** Capped and already free of the key. */
  body?: Buffer;
  errorCode?: string;
}

export interface ErrorAnswer {
  status: number;
  message: string;
  code: string;
  headers: Record<string, string>;
}

const KEPT_STATUSES = new Set([429, 502, 503, 504]);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** Pure: the answer after `failures` (in attempt order), when no further key may be tried. */
export function giveUpAnswer(
  failures: readonly FailedAttempt[],
  attempts: number,
  context: {
    model?: string;
    nextUsableAt?: number;
    now: number;
    /** The request's Accept-Language, for the Chinese after the English. */
    acceptLanguage?: string;
    /** How the host gives the proxy keys (Knobs.login), for the answer when there is none. */
    login?: string;
  },
): ErrorAnswer {
  const al = context.acceptLanguage;
  const headers: Record<string, string> = { 'x-daidai-attempts': String(attempts) };
  if (failures.length === 0) {
    if (context.nextUsableAt !== undefined && context.nextUsableAt > context.now) {
      const seconds = Math.max(1, Math.ceil((context.nextUsableAt - context.now) / 1000));
      headers['retry-after'] = String(seconds);
      return {
        status: 503,
        message: bilingual('Every key of this account is resting (rate limited or out of rotation); the next one is back in about {0} s. Retry then.', al, seconds),
        code: 'keys_cooling',
        headers,
      };
    }
    return {
      status: 503,
      message: bilingual('No usable API key: give the DaiDai proxy keys ({0}) and check that they have balance.', al, context.login ?? 'DaiDai: Login'),
      code: 'no_keys',
      headers,
    };
  }
  const keysTried = new Set(failures.map((f) => f.keyId)).size;
  const summary = failures.map(describeFailure).join('; ');
  const last = failures[failures.length - 1];

  if (context.model !== undefined && failures.every((f) => f.decision.action === 'exclude-model')) {
    return {
      status: 404,
      message: bilingual('No key of this account serves model "{0}": {1}.', al, context.model, summary),
      code: 'model_not_found',
      headers,
    };
  }
  if (last.decision.action === 'exhausted' || last.decision.action === 'disable-key') {
    // Revoked or invalid keys (401) come back neither by waiting nor by topping up: a status that
    // clients do not retry, and advice that fits. Balance advice only when a key ran dry.
    if (!failures.some((f) => f.decision.action === 'exhausted')) {
      return {
        status: 403,
        message: bilingual('Every key tried was refused by the gateway as invalid or revoked ({0}). Replace the keys with working ones in DaiDai; retrying will not help.', al, summary),
        code: 'keys_revoked',
        headers,
      };
    }
    return {
      status: 503,
      message: bilingual("Every key tried was refused by the gateway ({0}). Check the keys' balances in DaiDai.", al, summary),
      code: 'keys_refused',
      headers,
    };
  }
  if (last.status !== undefined) {
    const status = KEPT_STATUSES.has(last.status) ? last.status : 502;
    if (last.status === 429) {
      const retryAfter = headerValue(last.headers?.['retry-after']);
      if (retryAfter !== undefined) headers['retry-after'] = retryAfter;
      return { status, message: bilingual('The gateway rate-limited every key tried ({0} attempt(s) on {1} key(s): {2}). Retry later.', al, attempts, keysTried, summary), code: 'rate_limited', headers };
    }
    return { status, message: bilingual('The gateway answered with errors after {0} attempt(s) on {1} key(s) ({2}).', al, attempts, keysTried, summary), code: 'upstream_error', headers };
  }
  const timedOut = failures.every((f) => f.errorCode !== undefined && TIMEOUTS.has(f.errorCode));
  return {
    status: timedOut ? 504 : 502,
    message: bilingual('The gateway could not be reached or did not answer after {0} attempt(s) on {1} key(s) ({2}).', al, attempts, keysTried, summary),
    code: timedOut ? 'upstream_timeout' : 'upstream_unreachable',
    headers,
  };
}

/** Pure: the fail-fast answer while the gateway is considered down. */
export function outageAnswer(outage: { reason: string; since: number }, now: number, acceptLanguage?: string): ErrorAnswer {
  const timedOut = /time[ds]? ?out|timed out/i.test(outage.reason);
  const since = new Date(outage.since).toISOString().slice(11, 19);
  const minutes = Math.floor(Math.max(0, now - outage.since) / 60_000);
  const reason = redactSecrets(outage.reason);
  return {
    status: timedOut ? 504 : 502,
    message:
      minutes >= 1
        ? bilingual('The DaiDai gateway is unreachable ({0}, since {1} UTC, {2} min ago). The proxy keeps checking it and sends requests again as soon as it answers.', acceptLanguage, reason, since, minutes)
        : bilingual('The DaiDai gateway is unreachable ({0}, since {1} UTC). The proxy keeps checking it and sends requests again as soon as it answers.', acceptLanguage, reason, since),
    code: 'gateway_unreachable',
    headers: { 'x-daidai-attempts': '0' },
  };
}

/** Pure: the local 404 for a model no key serves, naming the closest ids first. */
export function noModelAnswer(model: string, closest: readonly string[], all: readonly string[] | undefined, acceptLanguage?: string): ErrorAnswer {
  const shown: string[] = [];
  const seen = new Set<string>();
  for (const id of closest) {
    if (seen.has(id)) continue;
    seen.add(id);
    shown.push(id);
  }
  let more = 0;
  for (const id of all ?? []) {
    if (seen.has(id)) continue;
    seen.add(id);
    if (shown.length < 12) shown.push(id);
    else more++;
  }
  const list = shown.join(', ');
  return {
    status: 404,
    message: !shown.length
      ? bilingual('No key of this account serves model "{0}". Models it serves: none known yet.', acceptLanguage, model)
      : more
        ? bilingual('No key of this account serves model "{0}". Models it serves: {1}, and {2} more.', acceptLanguage, model, list, more)
        : bilingual('No key of this account serves model "{0}". Models it serves: {1}.', acceptLanguage, model, list),
    code: 'model_not_found',
    headers: { 'x-daidai-attempts': '0' },
  };
}

/** Pure: a refusal the client is to see (4xx) that came as an HTML page: its status, in words. */
export function htmlRefusalAnswer(status: number, page: Buffer, keyId: string, attempts: number): ErrorAnswer {
  const title = pageTitle(page);
  return {
    status,
    message: `The gateway refused the request with HTTP ${status}${title ? ` (${title})` : ''} as an HTML page from its front (key ${keyId}).`,
    code: 'upstream_html_error',
    headers: { 'x-daidai-key': asciiKeyId(keyId), 'x-daidai-attempts': String(attempts) },
  };
}

/** The text of an HTML page's <title> (or first <h1>), short and plain. */
function pageTitle(page: Buffer): string | undefined {
  const head = page.toString('utf8', 0, Math.min(page.length, 4096));
  const m = /<title[^>]*>([^<]{1,200})<\/title>/i.exec(head) ?? /<h1[^>]*>([^<]{1,200})<\/h1>/i.exec(head);
  const text = m?.[1].replace(/\s+/g, ' ').trim();
  return text ? redactSecrets(text) : undefined;
}

/** `sk-ab…yz: HTTP 503 "无可用渠道"`: masked key, our reason, and the gateway's own words when it gave JSON. */
function describeFailure(f: FailedAttempt): string {
  const said = f.body ? gatewayMessage(f.body) : undefined;
  return said ? `${f.keyId}: ${f.decision.reason} "${said}"` : `${f.keyId}: ${f.decision.reason}`;
}

/** The message of a JSON error body (`error.message`, `message`, or a string `error`); never HTML. */
export function gatewayMessage(body: Buffer): string | undefined {
  let i = 0;
  while (i < body.length && (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09)) i++;
  if (body[i] !== 0x7b /* { */) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const o = parsed as { error?: unknown; message?: unknown };
  let text: unknown;
  if (o.error && typeof o.error === 'object') text = (o.error as { message?: unknown }).message;
  else if (typeof o.error === 'string') text = o.error;
  if (typeof text !== 'string') text = o.message;
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const one = redactSecrets(text.replace(/\s+/g, ' ').trim());
  return one.length > 160 ? one.slice(0, 157) + '...' : one;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
