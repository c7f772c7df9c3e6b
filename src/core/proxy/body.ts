// The request body: buffered whole (it is replayed on every attempt), up to the limit; past it
// the client gets its 413 while it is still sending.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bilingual } from '../l10n';
import type { BodyBudget } from './bodyBudget';
import { prepareError, ProxyHttpError, type ApiFlavor } from './errors';

export const EMPTY = Buffer.alloc(0);

/** After a 413, how much more of the body is read (and dropped) before the connection closes, and for how long. */
export const DRAIN_CAP_BYTES = 64 * 1024 * 1024;
export const DRAIN_TIMEOUT_MS = 5_000;

/** All request bodies in flight together: twice the limit of one, so one largest body never waits for another. */
export function bodyBudgetOf(env: { readonly options: { bodyLimitBytes: number }; readonly bodyBudget: BodyBudget }): BodyBudget {
  const bytes = 2 * env.options.bodyLimitBytes;
  if (env.bodyBudget.size !== bytes) env.bodyBudget.resize(bytes);
  return env.bodyBudget;
}

/** How long a request waits for room in the body budget before its 503. */
export const BODY_BUDGET_WAIT_MS = 5_000;

/**
 * The shared budget a body is counted against: `held.release` must run when its answer is over
 * (the caller hangs it on the response's close, with whatever else it does then), and `until`'s
 * close ends a wait for room.
 */
export interface BodyHold {
  held: HeldBytes;
  until: ServerResponse;
  waitMs?: number;
}

/** A body's bytes held in the budget, given back once when its answer is over. */
export class HeldBytes {
  bytes = 0;
  constructor(readonly budget: BodyBudget) {}
  readonly release = (): void => {
    const n = this.bytes;
    this.bytes = 0;
    this.budget.release(n);
  };
}

export function readBody(req: IncomingMessage, limit: number, hold?: BodyHold): Promise<Buffer> {
  const declared = req.headers['content-length'];
  let expected = -1;
  if (declared !== undefined) {
    const n = Number(declared);
    if (n === 0) return Promise.resolve(EMPTY);
    if (n > limit) return Promise.reject(tooLarge(limit, req.headers['accept-language']));
    if (Number.isSafeInteger(n) && n > 0) expected = n;
  } else if (req.headers['transfer-encoding'] === undefined) {
    return Promise.resolve(EMPTY);
  }
  if (!hold) return collect(req, limit, expected, undefined);
  // Counted from now until the answer is over. No async wrapper on the usual path (the body
  // fits at once): a promise and two ticks fewer.
  const counted = hold.held;
  if (expected <= 0 || counted.budget.tryTake(expected)) {
    if (expected > 0) counted.bytes = expected;
    return collect(req, limit, expected, counted);
  }
  return counted.budget.take(expected, hold.waitMs ?? BODY_BUDGET_WAIT_MS, { onCancel: (fn) => hold.until.once('close', fn) }).then((ok) => {
    if (!ok) throw busy(counted.budget, req.headers['accept-language']);
    counted.bytes = expected;
    return collect(req, limit, expected, counted);
  });
}

/**
 * Reads the body. With a declared length it goes into one buffer of that size (no list of chunks
 * joined at the end: half the peak memory of a large body); a chunked body is counted against the
 * budget as it comes (`counted`), and refused past it (no length to wait for).
 */
function collect(req: IncomingMessage, limit: number, expected: number, counted: HeldBytes | undefined): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    let whole: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    let first: Buffer | undefined;
    let size = 0;
    const onData = (c: Buffer) => {
      if (size + c.length > limit) {
        cleanup();
        req.pause();
        reject(tooLarge(limit, req.headers['accept-language']));
        return;
      }
      if (counted !== undefined && expected < 0) {
        if (!counted.budget.tryTake(c.length)) {
          cleanup();
          req.pause();
          reject(busy(counted.budget, req.headers['accept-language']));
          return;
        }
        counted.bytes += c.length;
      }
      if (first === undefined) {
        first = c;
      } else if (expected > 0) {
        if (whole === undefined) {
          whole = Buffer.allocUnsafeSlow(expected);
          first.copy(whole, 0);
        }
        c.copy(whole, size);
      } else {
        (chunks ??= [first]).push(c);
      }
      size += c.length;
    };
    const onEnd = () => {
      cleanup();
      if (first === undefined) resolve(EMPTY);
      else if (whole !== undefined) resolve(size === whole.length ? whole : whole.subarray(0, size));
      else if (chunks === undefined) resolve(first);
      else resolve(Buffer.concat(chunks, size));
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

/** Past the budget of all bodies in flight: a 503 the client may retry. */
function busy(budget: BodyBudget, acceptLanguage?: string): ProxyHttpError {
  const mib = Math.round(budget.size / (1024 * 1024));
  return new ProxyHttpError(
    503,
    bilingual('The proxy already holds {0} MiB of request bodies in flight (its memory budget). Retry in a moment.', acceptLanguage, mib),
    'proxy_busy',
    { 'retry-after': '2' },
  );
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
