// "Is it our proxy?": asked before binding when the port is taken (issue 11 §2), so that a
// second VS Code window (or a second `daidai-proxy serve`) shows the proxy another one runs
// instead of reporting the port as used by another program.
import { Agent, request, type Dispatcher } from 'undici';
import { HEALTH_NAME, type HealthReport } from './health';
import { ACCESS_TOKEN_REFUSED } from './safety';
import { connectHost } from '../util/hosts';

/** What our /health says, as far as the probe can tell; every field but `name` may be missing in another version. */
export type PeerHealth = Partial<HealthReport> & {
  name: 'daidai-aggregator';
  version?: string;
  /** emailHash of the account the proxy serves, when it serves one. */
  account?: string;
  [k: string]: unknown;
};

export type PeerProbe =
  /** One of ours answers on the port. */
  | { kind: 'daidai'; health: PeerHealth }
  /** Something else holds the port (answers otherwise, or not in time). */
  | { kind: 'other' }
  /** Nothing listens there. */
  | { kind: 'none' };

export interface ProbePeerOptions {
  /** Whole probe, connection to body. */
  timeoutMs?: number;
  /** Injected by tests; otherwise a one-off Agent of our own (never the global dispatcher). */
  dispatcher?: Dispatcher;
  /** The access token from the same settings (daidai.proxy.accessToken): with one set, /health needs it too. */
  token?: string;
}


/** Our /health is a few hundred bytes; anything much larger is not it. */
const maxBodyBytes = 64 * 1024;

/** Connection failures that mean nobody is listening, so the port can be bound. */
const nobodyThere = new Set(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** GET http://host:port/health. Never rejects. */
export async function probePeer(host: string, port: number, options: ProbePeerOptions = {}): Promise<PeerProbe> {
  const timeoutMs = options.timeoutMs ?? 1000;
  const ownAgent = options.dispatcher ? undefined : new Agent({ connections: 1, pipelining: 0, connect: { timeout: timeoutMs } });
  const dispatcher = options.dispatcher ?? ownAgent!;
  try {
    const res = await request(`http://${connectHost(host)}:${port}/health`, {
      method: 'GET',
      dispatcher,
      headers: options.token ? { accept: 'application/json', authorization: `Bearer ${options.token}` } : { accept: 'application/json' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await readCapped(res.body, maxBodyBytes);
    if (text === undefined) return { kind: 'other' };
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'other' };
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && (parsed as { name?: unknown }).name === HEALTH_NAME) {
      return { kind: 'daidai', health: parsed as PeerHealth };
    }
    // Ours, with another access token than ours (a CLI started with its own): it keeps its
    // /health to itself, but its refusal still says whose it is.
    if (res.statusCode === 401 && (parsed as { error?: { code?: unknown } } | null)?.error?.code === ACCESS_TOKEN_REFUSED) {
      return { kind: 'daidai', health: { name: HEALTH_NAME } };
    }
    return { kind: 'other' };
  } catch (err) {
    return nobodyThere.has(errorCode(err) ?? '') ? { kind: 'none' } : { kind: 'other' };
  } finally {
    if (ownAgent) void ownAgent.destroy().catch(() => undefined);
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > cap) {
      body.destroy();
      return undefined;
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorCode(err: unknown): string | undefined {
  // undici sometimes wraps the socket's error
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 3; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  }
  return undefined;
}
