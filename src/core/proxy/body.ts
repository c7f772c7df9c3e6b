// The request body: buffered whole (it is replayed on every attempt), up to the limit; past it
// the client gets its 413 while it is still sending.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bilingual } from '../l10n';
import { prepareError, ProxyHttpError, type ApiFlavor } from './errors';

export const EMPTY = Buffer.alloc(0);

/** After a 413, how much more of the body is read (and dropped) before the connection closes, and for how long. */
export const DRAIN_CAP_BYTES = 64 * 1024 * 1024;
export const DRAIN_TIMEOUT_MS = 5_000;

/** Rejects with a 413 ProxyHttpError past `limit`; the rest of the body is then left unread for {@link answerTooLarge}. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (n === 0) return Promise.resolve(EMPTY);
    if (n > limit) return Promise.reject(tooLarge(limit, req.headers['accept-language']));
  } else if (req.headers['transfer-encoding'] === undefined) {
    return Promise.resolve(EMPTY);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit, req.headers['accept-language']));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      if (!req.complete) onError(new Error('client went away'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

export function tooLarge(limit: number, acceptLanguage?: string): ProxyHttpError {
  const mib = Math.round((limit / (1024 * 1024)) * 10) / 10;
  return new ProxyHttpError(413, bilingual("The request body is larger than the proxy's limit of {0} MiB.", acceptLanguage, mib), 'request_too_large');
}

/**
 * Answers an oversized body so that the client can read the answer: closing at once while it is
 * still sending resets the connection (EPIPE on its side, often before it read anything). So the
 * whole answer is written now, the rest of the body is read and dropped up to a cap or a short
 * timeout, and only then does the response end (and, with `connection: close`, the socket).
 */
export function answerTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  flavor: ApiFlavor,
  err: ProxyHttpError,
  limits: { capBytes: number; timeoutMs: number } = { capBytes: DRAIN_CAP_BYTES, timeoutMs: DRAIN_TIMEOUT_MS },
): void {
  res.setHeader('connection', 'close');
  const body = prepareError(res, flavor, err.status, err.message, err.code, err.headers);
  if (req.complete || req.destroyed) {
    res.end(body);
    return;
  }
  res.write(body);
  let seen = 0;
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', end);
    req.off('close', end);
    req.off('error', end);
    res.end();
  };
  const onData = (c: Buffer) => {
    seen += c.length;
    if (seen > limits.capBytes) end();
  };
  const timer = setTimeout(end, limits.timeoutMs);
  timer.unref?.();
  req.on('data', onData);
  req.on('end', end);
  req.on('close', end);
  req.on('error', end);
  req.resume();
}
