// Reading a request, the same for both entries (HTTP and in process): the local answer to
// /v1/models, and the body's `model` and `stream` (scan.ts) for routing and the record.
import type { IncomingHttpHeaders } from 'node:http';
import { bilingual, t } from '../l10n';
import { answerError, type ApiFlavor } from './errors';
import type { Exchange } from './exchange';
import { modelsAnswer, modelsPath } from './models';
import { scanRequestBody } from './scan';

/**
 * GET /v1/models and /v1/models/{id} from the union of the keys' lists, when one is known: any
 * one key's answer shows only its own package's models. True when answered (and recorded).
 */
export function answeredLocally(ex: Exchange, headers: IncomingHttpHeaders): boolean {
  if (ex.record.method !== 'GET') return false;
  const want = modelsPath(ex.route.path);
  const models = want && ex.env.models();
  if (!want || !models) return false;
  const flavor: ApiFlavor = headers['anthropic-version'] !== undefined ? 'anthropic' : ex.route.flavor;
  const local = modelsAnswer(models, want, flavor, ex.acceptLanguage);
  if (local.kind === 'error') {
    answerError(ex.sink, flavor, local.status, local.message, local.code);
    ex.finish(local.status, local.message);
  } else {
    ex.sink.head(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(local.body) });
    ex.sink.end(local.body);
    ex.finish(200);
  }
  return true;
}

/**
 * Reads `model` and `stream` off a JSON body into the record. False when the body's skeleton is
 * broken: then the client has its 400 (only the skeleton is ours to judge; errors deeper in are
 * the gateway's to answer).
 */
export function readBodyFacts(ex: Exchange, contentType: string | undefined, body: Buffer): boolean {
  if (body.length === 0 || !looksLikeJson(contentType, body)) return true;
  const scan = scanRequestBody(body);
  if (!scan.ok) {
    answerError(ex.sink, ex.route.flavor, 400, bilingual('The request body is not valid JSON ({0}, at byte {1}).', ex.acceptLanguage, scan.reason, scan.at), 'invalid_json');
    ex.finish(400, t('malformed JSON'));
    return false;
  }
  if (scan.model !== undefined) {
    ex.record.model = scan.model;
    ex.modelAt = scan.modelAt ?? -1;
    ex.modelEnd = scan.modelEnd ?? -1;
  }
  ex.record.stream = scan.stream;
  return true;
}

function looksLikeJson(contentType: string | undefined, body: Buffer): boolean {
  if (contentType !== undefined) return contentType.includes('json');
  return body[0] === 0x7b /* { */ || body[0] === 0x5b /* [ */;
}
