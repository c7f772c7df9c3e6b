// GET {upstreamBase}/models with one key: the gateway's free call. The model catalog, the
// re-checks and the outage probe all go through it, so it never throws, never logs, and says
// what went wrong in a few words that hold no secret.
import type { Dispatcher } from 'undici';
import { maskKey, redactSecrets } from '../util/mask';
import { networkWords } from './signature';
import type { GatewayModel, GatewayProbe, ProbeResult } from './types';

/** A model list of a few hundred models is ~100 KB; anything far past that is not one. */
export const MODEL_LIST_LIMIT = 4 * 1024 * 1024;
/** Enough of an error body to read the gateway's message. */
const ERROR_BODY_LIMIT = 8 * 1024;
const REASON_MAX = 160;

export interface GatewayProbeOptions {
  /** Largest model list accepted (default 4 MB). */
  maxBytes?: number;
}

export function createGatewayProbe(dispatcher: Dispatcher, upstreamBaseUrl: string, opts: GatewayProbeOptions = {}): GatewayProbe {
  let origin = '';
  let path = '';
  let configError: string | undefined;
  try {
    const url = new URL(upstreamBaseUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    origin = url.origin;
    path = url.pathname.replace(/\/+$/, '') + '/models';
  } catch {
    configError = 'the gateway address is not a valid http(s) URL';
  }
  const maxBytes = opts.maxBytes ?? MODEL_LIST_LIMIT;

  return {
    async models(key: string, timeoutMs: number): Promise<ProbeResult> {
      if (configError) return { ok: false, reason: configError };
      const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
      let res: Dispatcher.ResponseData;
      try {
        res = await dispatcher.request({
          origin,
          path,
          method: 'GET',
          headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          signal,
        });
      } catch (err) {
        return networkFailure(err, signal);
      }
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      let text: string;
      try {
        const read = await readCapped(res.body, ok ? maxBytes : ERROR_BODY_LIMIT);
        if (read.truncated && ok) return { ok: false, status: res.statusCode, reason: `model list larger than ${Math.round(maxBytes / 1024)} KB` };
        text = read.text;
      } catch (err) {
        return networkFailure(err, signal);
      }
      if (!ok) return { ok: false, status: res.statusCode, reason: httpReason(res.statusCode, text, key) };
      const models = parseModelList(text);
      if (!models) return { ok: false, status: res.statusCode, reason: 'the answer is not a model list' };
      return { ok: true, models };
    },
  };
}

/**
 * The OpenAI list shape, `{ "data": [ { "id": … }, … ] }` (a bare array is taken too). Entries
 * without a string id are skipped; a repeated id is kept once, as first described.
 */
export function parseModelList(text: string): GatewayModel[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const data = Array.isArray(json) ? json : json && typeof json === 'object' ? (json as { data?: unknown }).data : undefined;
  if (!Array.isArray(data)) return undefined;
  const seen = new Set<string>();
  const out: GatewayModel[] = [];
  for (const m of data) {
    if (!m || typeof m !== 'object') continue;
    const id = (m as { id?: unknown }).id;
    if (typeof id !== 'string' || id.length === 0 || seen.has(id)) continue;
    seen.add(id);
    out.push({ ...(m as Record<string, unknown>), id });
  }
  return out;
}

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    if (size + buf.length > limit) {
      chunks.push(buf.subarray(0, limit - size));
      // Stop reading: the rest is not worth the memory, and destroying frees the connection slot.
      body.destroy();
      return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
    chunks.push(buf);
    size += buf.length;
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function networkFailure(err: unknown, signal: AbortSignal): ProbeResult {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  let code = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  // Our own deadline fired: say timeout, not "aborted".
  if (signal.aborted || e?.name === 'TimeoutError') code = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? code : 'TIMEOUT';
  code = code ?? 'UNKNOWN';
  return { ok: false, errorCode: code, reason: networkWords(code) };
}

/** `HTTP 401: 无效的令牌` — the gateway's own message when it gave one in JSON, never the key. */
function httpReason(status: number, text: string, key: string): string {
  let message: string | undefined;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : j.error && typeof j.error === 'object' ? j.error.message : j.message;
    if (typeof m === 'string') message = m;
  } catch {
    // An HTML page or plain text: the status says enough.
  }
  if (!message) return `HTTP ${status}`;
  const clean = redactSecrets(message.split(key).join(maskKey(key))).replace(/\s+/g, ' ').trim();
  const short = clean.length > REASON_MAX ? clean.slice(0, REASON_MAX - 1) + '…' : clean;
  return `HTTP ${status}: ${short}`;
}
