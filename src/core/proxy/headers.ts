// Header rewriting between client and upstream. Runs on every request: plain loops, no regex.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1): never forwarded in either direction. */
const hopByHop = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
];

const dropToUpstream = new Set([
  ...hopByHop,
  'host',
  'content-length',
  'expect',
  // The client's own credentials never reach the upstream: the pool's key replaces them.
  'authorization',
  'x-api-key',
  'api-key',
  // Browser and local context the gateway has no business seeing.
  'cookie',
  'origin',
  'referer',
  'accept-encoding',
]);

const dropToClient = new Set([...hopByHop, 'set-cookie']);

export function upstreamHeaders(
  client: IncomingHttpHeaders,
  key: string,
  anthropic: boolean,
  bodyLength: number,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const connectionListed = listedInConnection(client.connection);
  for (const name in client) {
    if (dropToUpstream.has(name) || (connectionListed && connectionListed.has(name))) continue;
    const v = client[name];
    if (v !== undefined) out[name] = v;
  }
  // Compression between us and the gateway would only make us unable to read error bodies
  // and would delay SSE chunks; the client-facing side is loopback anyway.
  out['accept-encoding'] = 'identity';
  if (anthropic) {
    out['x-api-key'] = key;
    // Claude Code with ANTHROPIC_AUTH_TOKEN sends only Authorization: Bearer; the gateway
    // then expects the key there too.
    if (client.authorization !== undefined) out['authorization'] = `Bearer ${key}`;
  } else {
    out['authorization'] = `Bearer ${key}`;
  }
  if (bodyLength > 0) out['content-length'] = String(bodyLength);
  return out;
}

export function clientHeaders(upstream: IncomingHttpHeaders, keyId: string, attempts: number, model?: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const connectionListed = listedInConnection(upstream.connection);
  for (const name in upstream) {
    if (dropToClient.has(name) || (connectionListed && connectionListed.has(name))) continue;
    const v = upstream[name];
    if (v !== undefined) out[name] = v;
  }
  out['x-daidai-key'] = asciiKeyId(keyId);
  out['x-daidai-attempts'] = String(attempts);
  if (model !== undefined) out['x-daidai-model'] = modelHeader(model);
  return out;
}

const modelHeaders = new Map<string, string>();

/**
 * The model sent upstream as a header value: ids carry UTF-8 channel prefixes (`[官Max]…`), which
 * a header cannot; those bytes (and `%`) are percent-encoded, so decodeURIComponent gives the id
 * back. Kept per id: one per model, asked on every answer.
 */
export function modelHeader(model: string): string {
  let v = modelHeaders.get(model);
  if (v === undefined) {
    v = model.slice(0, 256).replace(/[^\x20-\x24\x26-\x7e]+/g, (s) => {
      let out = '';
      for (const byte of Buffer.from(s, 'utf8')) out += `%${byte < 16 ? '0' : ''}${byte.toString(16).toUpperCase()}`;
      return out;
    });
    if (modelHeaders.size >= 1024) modelHeaders.clear();
    modelHeaders.set(model, v);
  }
  return v;
}

function listedInConnection(value: string | string[] | undefined): Set<string> | undefined {
  if (!value) return undefined;
  // What nearly every client and gateway sends: nothing listed beyond the connection's own state.
  if (value === 'keep-alive' || value === 'close' || value === 'Keep-Alive') return undefined;
  const text = Array.isArray(value) ? value.join(',') : value;
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s && s !== 'close' && s !== 'keep-alive');
  return names.length ? new Set(names) : undefined;
}

/** Header values and reason phrases must be printable ASCII: an ellipsis becomes three dots, the rest goes. */
export function printableAscii(text: string): string {
  return text.replace(/\u2026/g, '...').replace(/[^\x20-\x7e]/g, '');
}

const asciiIds = new Map<string, string>();

/** A masked key id as a header value. (Kept per id: one per key, asked on every answer.) */
export function asciiKeyId(keyId: string): string {
  let v = asciiIds.get(keyId);
  if (v === undefined) {
    v = printableAscii(keyId);
    if (asciiIds.size >= 1024) asciiIds.clear();
    asciiIds.set(keyId, v);
  }
  return v;
}
