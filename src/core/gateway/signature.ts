// What "the same failure" means for outage detection: a short signature per failed attempt.
// The forwarder may compute it with gatewaySignature(); the detector compares signatures only.
import { createHash } from 'node:crypto';

/** Network failures that say nothing about a key: the gateway (or the way to it) is not there. */
export const GATEWAY_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

const WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection broken',
  ENOTFOUND: 'host not found (DNS)',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connect timeout',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout before headers',
  UND_ERR_BODY_TIMEOUT: 'timeout in body',
  TIMEOUT: 'timeout',
};

/** Short words for a network error code (`connection refused (ECONNREFUSED)`). */
export function networkWords(code: string): string {
  const safe = code.replace(/[^A-Za-z0-9_]/g, '').slice(0, 40) || 'UNKNOWN';
  const w = WORDS[safe];
  return w ? `${w} (${safe})` : `network error (${safe})`;
}

/**
 * Network codes that are one way of failing: when the gateway goes away, keep-alive sockets
 * break (ECONNRESET, UND_ERR_SOCKET) while new ones are refused, and both mean the same thing.
 */
const FAMILIES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection',
  ECONNRESET: 'connection',
  ECONNABORTED: 'connection',
  EPIPE: 'connection',
  UND_ERR_SOCKET: 'connection',
  UND_ERR_CLOSED: 'connection',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
};

/**
 * What the outage detector compares: network codes by family (refused and reset alike), an
 * error page by its exact signature (status and body hash).
 */
export function failureFamily(signature: string): string {
  return FAMILIES[signature] ?? signature;
}

/** Bytes of an error page hashed: enough to tell nginx's 502 page from a different one. */
export const SIGNATURE_BODY_BYTES = 512;

/**
 * The signature of a gateway-shaped failure, or undefined when the failure is about something
 * else. Gateway-shaped: a network error in GATEWAY_NETWORK_CODES (the code is the signature), or
 * a 502/503/504 whose body is not the gateway's own JSON error (`HTTP 502:<hash of the first 512
 * bytes>`): a JSON `{"error":…}` 503 such as 无可用渠道 comes from the gateway application, which
 * is up, and is about a group or a model.
 */
export function gatewaySignature(input: { status?: number; errorCode?: string; body?: string | Buffer }): string | undefined {
  if (input.status === undefined) {
    return input.errorCode && GATEWAY_NETWORK_CODES.has(input.errorCode) ? input.errorCode : undefined;
  }
  if (input.status !== 502 && input.status !== 503 && input.status !== 504) return undefined;
  const raw = input.body === undefined ? Buffer.alloc(0) : typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body;
  const head = raw.subarray(0, SIGNATURE_BODY_BYTES);
  if (looksLikeGatewayJson(head)) return undefined;
  return `HTTP ${input.status}:${createHash('sha256').update(head).digest('hex').slice(0, 12)}`;
}

function looksLikeGatewayJson(head: Buffer): boolean {
  const text = head.toString('utf8').trimStart();
  if (!text.startsWith('{')) return false;
  // Truncated JSON cannot be parsed; the opening field is enough to tell.
  return /^\{\s*"(error|type)"\s*:/.test(text);
}

/** A signature in words for logs and /health (`HTTP 502 page from the gateway's front`). */
export function describeSignature(signature: string): string {
  const m = /^HTTP (\d{3}):/.exec(signature);
  if (m) return `HTTP ${m[1]} page from the gateway's front`;
  return networkWords(signature);
}
