// One upstream attempt through undici's dispatch handler API: chunks go from the upstream socket
// straight into the answer's sink (the client's response on the HTTP path), with no stream object
// in between, and the upstream pauses when the sink cannot keep up. A success answer is written
// through as it arrives; an error answer is held back (capped) so the loop in loop.ts can fail over.
//
// The handler is a class so that an attempt costs one object and its promise, not a dozen
// closures: this runs on every request.
import type { IncomingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { TokenUsage, UsageMeter, UsageTap } from './contracts';
import type { ApiFlavor } from './errors';
import { clientHeaders } from './headers';
import type { ResponseSink } from './sink';

/** Most error bodies are a few hundred bytes; we keep enough to classify and explain them. */
export const ERROR_BODY_LIMIT = 64 * 1024;

export type AttemptOutcome =
  /** No answer: connection refused or reset, timeout before headers… */
  | { kind: 'network'; errorCode: string; /** The most specific code (the socket's, under undici's UND_ERR_SOCKET): the gateway watch's signature. */ signature: string }
  /** An error status; its body (capped) is kept to classify and explain. */
  | { kind: 'error-status'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  /** A success answer went through to the client completely. */
  | { kind: 'done'; status: number; headersAfterMs: number; usage?: TokenUsage }
  /** A success answer started reaching the client, then the upstream broke off. */
  | { kind: 'cut'; status: number; headersAfterMs: number; errorCode: string; sse: boolean; usage?: TokenUsage }
  /** The client went away. */
  | { kind: 'aborted' };

/** What an attempt writes to the client besides the upstream's own headers. */
export interface AttemptLabel {
  keyId: string;
  attempt: number;
  /** For the usage tap. */
  path: string;
  flavor: ApiFlavor;
  /** The model sent upstream (after resolution), for the x-daidai-model header. */
  model?: string;
}

const WAITING = 0;
const COLLECT = 1;
const PIPE = 2;

class ClientGoneError extends Error {
  readonly code = 'CLIENT_GONE';
  constructor() {
    super('the client went away');
    this.name = 'ClientGoneError';
  }
}

export class UpstreamAttempt implements Dispatcher.DispatchHandler {
  readonly outcome: Promise<AttemptOutcome>;
  private resolve!: (o: AttemptOutcome) => void;
  private controller: Dispatcher.DispatchController | undefined;
  private mode = WAITING;
  private status = 0;
  private headersAfterMs = 0;
  private sse = false;
  /** Whether a body chunk has gone to the client (then the headers went with it). */
  private wrote = false;
  private collected: Buffer[] = [];
  private collectedSize = 0;
  private errorHeaders: IncomingHttpHeaders = {};
  private clientAborted = false;
  private settled = false;
  private tap: UsageTap | undefined;
  private onDrain: (() => void) | undefined;
  private readonly t0 = performance.now();

  constructor(
    private readonly sink: ResponseSink,
    private readonly label: AttemptLabel,
    private readonly usage: UsageMeter,
  ) {
    this.outcome = new Promise<AttemptOutcome>((resolve) => (this.resolve = resolve));
  }

  /** Sends the attempt; the outcome settles exactly once. */
  start(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<AttemptOutcome> {
    try {
      dispatcher.dispatch(options, this);
    } catch (err) {
      this.settle(networkOutcome(err));
    }
    return this.outcome;
  }

  /** The client hung up: stop the upstream request at once (it costs the user money). */
  abortByClient(): void {
    this.clientAborted = true;
    if (this.controller && !this.controller.aborted) this.controller.abort(new ClientGoneError());
    this.settle({ kind: 'aborted' });
  }

  private settle(o: AttemptOutcome): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(o);
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.clientAborted) c.abort(new ClientGoneError());
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 200) return; // 1xx: informational, the real answer follows
    this.status = statusCode;
    this.headersAfterMs = performance.now() - this.t0;
    if (statusCode >= 400) {
      this.mode = COLLECT;
      this.errorHeaders = headers;
      return;
    }
    this.mode = PIPE;
    const ct = headers['content-type'];
    const contentType = typeof ct === 'string' ? ct : undefined;
    this.sse = contentType !== undefined && contentType.startsWith('text/event-stream');
    this.sink.head(statusCode, clientHeaders(headers, this.label.keyId, this.label.attempt, this.label.model));
    // A stream's headers go out now, not with its first event: clients show "connected" and
    // start their timers. When the first event came in the same read as the headers (the
    // usual case on a busy gateway), it is written below before this runs and carries the
    // headers with it: one write to the client instead of two.
    if (this.sse) process.nextTick(flushHeadersUnlessWritten, this);
    if (statusCode < 300) {
      try {
        this.tap = this.usage.tap({ path: this.label.path, flavor: this.label.flavor }, contentType);
      } catch {
        this.tap = undefined; // usage is a nicety; it never breaks an answer
      }
    }
  }

  /** @internal Run on the next tick after a stream's headers (see onResponseStart). */
  flushHeadersUnlessWritten(): void {
    if (!this.wrote) this.sink.flushHead();
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.mode === PIPE) {
      this.wrote = true;
      if (!this.sink.write(chunk)) {
        // The client reads slower than the upstream sends: hold the upstream until it drains.
        // (Listened for only then: most answers never need it.)
        c.pause();
        if (!this.onDrain) {
          this.onDrain = () => c.resume();
          this.sink.onDrain(this.onDrain);
        }
      }
      // After the write: the tap only watches, the client never waits for it.
      if (this.tap) {
        try {
          this.tap.write(chunk);
        } catch {
          this.tap = undefined; // usage is a nicety; it never breaks an answer
        }
      }
    } else if (this.mode === COLLECT && this.collectedSize < ERROR_BODY_LIMIT) {
      // Past the limit keep reading (and dropping) so the connection can be reused.
      const room = ERROR_BODY_LIMIT - this.collectedSize;
      const take = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.collected.push(take);
      this.collectedSize += take.length;
    }
  }

  onResponseEnd(): void {
    if (this.mode === PIPE) {
      this.detachDrain();
      this.sink.end();
      this.settle({ kind: 'done', status: this.status, headersAfterMs: this.headersAfterMs, usage: this.endTap() });
    } else {
      const parts = this.collected;
      const body = parts.length === 1 ? parts[0] : Buffer.concat(parts, this.collectedSize);
      this.collected = [];
      this.settle({ kind: 'error-status', status: this.status, headers: this.errorHeaders, body });
    }
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.detachDrain();
    if (this.clientAborted || err instanceof ClientGoneError) {
      this.endTap();
      this.settle({ kind: 'aborted' });
    } else if (this.mode === PIPE) {
      const usage = this.endTap();
      this.settle({ kind: 'cut', status: this.status, headersAfterMs: this.headersAfterMs, errorCode: errorCodeOf(err), sse: this.sse, usage });
    } else {
      // Before an answer, or while reading an error body: either way no answer reached the client.
      this.settle(networkOutcome(err));
    }
  }

  private detachDrain(): void {
    if (this.onDrain) {
      this.sink.offDrain(this.onDrain);
      this.onDrain = undefined;
    }
  }

  private endTap(): TokenUsage | undefined {
    const tap = this.tap;
    if (!tap) return undefined;
    this.tap = undefined;
    try {
      return tap.end();
    } catch {
      return undefined; // usage is a nicety; it never breaks an answer
    }
  }
}

function flushHeadersUnlessWritten(attempt: UpstreamAttempt): void {
  attempt.flushHeadersUnlessWritten();
}

function networkOutcome(err: unknown): AttemptOutcome {
  const errorCode = errorCodeOf(err);
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return { kind: 'network', errorCode, signature: typeof cause === 'string' ? cause : errorCode };
}

export function errorCodeOf(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } } | undefined;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.cause && typeof e.cause.code === 'string') return e.cause.code;
  if (e && e.name === 'AbortError') return 'ABORTED';
  return 'UNKNOWN';
}
