// Where a client's path goes upstream. Clients mistype the base URL:
// `…/v1/` makes them call `/v1//chat/completions`, and a base without `/v1` makes them call
// `/chat/completions`. All three forms reach the same upstream path.
import { bilingual, t } from '../l10n';
import { flavorOf, ProxyHttpError, type ApiFlavor } from './errors';

/** First path segments of the OpenAI and Anthropic surfaces, accepted without the `/v1` prefix. */
const knownResources = new Set([
  'models',
  'chat',
  'completions',
  'embeddings',
  'messages',
  'responses',
  'moderations',
  'images',
  'audio',
  'files',
  'uploads',
  'batches',
  'fine_tuning',
  'assistants',
  'threads',
  'vector_stores',
  'rerank',
  'realtime',
]);

export interface UpstreamRoute {
  /** Path below the upstream base, with the query: `/chat/completions?x=1`. */
  path: string;
  flavor: ApiFlavor;
  /**
   * Set when the path climbs out of the API (`..`, `.`, backslashes, in any percent-encoding):
   * it must be refused, never forwarded: the gateway would resolve it to its account API
   * (`/api/user/self`, new-api's `/api/usage/token`) with a pool key attached.
   */
  unsafe?: true;
}

/** Maps a client URL to the upstream path, or undefined when it is not an API call. */
export function upstreamRoute(url: string): UpstreamRoute | undefined {
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  if (path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  let rest: string;
  if (path.startsWith('/v1/')) {
    rest = path.slice(3);
  } else {
    const end = path.indexOf('/', 1);
    const first = end === -1 ? path.slice(1) : path.slice(1, end);
    if (!knownResources.has(first)) return undefined;
    rest = path;
  }
  const flavor = flavorOf(rest);
  if (climbsOut(rest)) return { path: rest + query, flavor, unsafe: true };
  return { path: rest + query, flavor };
}

/**
 * Whether a gateway could read the path as something outside it: a `.` or `..` segment once
 * percent-decoded (as often as it takes: a gateway or the proxy in front of it may decode again),
 * or a backslash (some servers take it for a slash). No API path has either.
 */
function climbsOut(path: string): boolean {
  // The common path has no dot, backslash or percent sign at all: nothing to decode.
  if (!/[.%\\]/.test(path)) return false;
  let p = path;
  for (let i = 0; i < 4 && p.includes('%'); i++) {
    let next: string;
    try {
      next = decodeURIComponent(p);
    } catch {
      return true; // a broken escape: no client of ours sends one, and its meaning is the reader's guess
    }
    if (next === p) break;
    p = next;
  }
  if (p.includes('\\')) return true;
  return p.split('/').some((seg) => seg === '.' || seg === '..');
}

/** The 404 for a path that is no API call (`path` as the client sent it, without the query). */
export function unknownPath(path: string, acceptLanguage: string | undefined): ProxyHttpError {
  return new ProxyHttpError(404, bilingual('Unknown path {0}. The API is under /v1 (for example /v1/chat/completions).', acceptLanguage, path.slice(0, 200)), 'not_found');
}

/** The 400 for an API path that climbs out of the API (UpstreamRoute.unsafe). */
export function unsafePath(url: string, acceptLanguage: string | undefined): ProxyHttpError {
  return new ProxyHttpError(400, bilingual('The path {0} leaves the API (a "..", "." or backslash in it): the proxy forwards only API paths under /v1.', acceptLanguage, JSON.stringify(url.slice(0, 200))), 'invalid_path');
}

/** Splits `http://host:port/v1` into the undici origin and the base path. */
export function parseUpstreamBase(base: string): { origin: string; basePath: string } {
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new Error(t('The upstream URL "{0}" is not a valid URL. Set it to the gateway\'s base, e.g. https://api.daidaibird.top/v1.', base));
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new Error(t('The upstream URL must start with http:// or https:// (got {0}).', u.protocol));
  }
  const basePath = u.pathname.replace(/\/+$/, '');
  return { origin: u.origin, basePath };
}
