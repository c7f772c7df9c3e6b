// Local safety checks. A proxy on 127.0.0.1 holding paid keys is a target for web pages the
// user visits: DNS rebinding (a foreign Host) and cross-site requests (a foreign Origin).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined || hostHeader === '') return true; // HTTP/1.0 clients; browsers always send Host
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    host = end === -1 ? host : host.slice(1, end);
  } else {
    const colon = host.lastIndexOf(':');
    if (colon !== -1 && host.indexOf(':') === colon) host = host.slice(0, colon);
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export function normalizeOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/** Whether a browser origin may call us. No CORS at all unless the user lists origins. */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return false;
  const o = normalizeOrigin(origin);
  return allowed.some((a) => a === '*' || normalizeOrigin(a) === o);
}

/** The token a client presented: `Authorization: Bearer X` or `x-api-key: X`. */
export function presentedToken(headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(.*)$/i.exec(auth.trim());
    if (m && m[1]) return m[1].trim();
  }
  const x = headers['x-api-key'];
  if (typeof x === 'string' && x) return x.trim();
  return undefined;
}

/** The error code of a request refused for want of the access token (the peer probe knows us by it). */
export const ACCESS_TOKEN_REFUSED = 'invalid_access_token';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}
