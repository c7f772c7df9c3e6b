// One request on its way through the proxy, whichever entry it came by (HTTP or in process):
// what is known of it (the RequestRecord that ends in the log, the counters and the usage
// history), where its answer goes (a ResponseSink), and whether its client is still there.
// The entries make one, the loop (loop.ts) runs it, finish() records it exactly once.
import { performance } from 'node:perf_hooks';
import type { UpstreamAttempt } from './attempt';
import { answerError } from './errors';
import type { ProxyEnv } from './env';
import type { ErrorAnswer } from './giveUp';
import type { UpstreamRoute } from './routes';
import type { ResponseSink } from './sink';
import type { RequestRecord } from './types';

let requestSeq = 0;

export class Exchange {
  readonly record: RequestRecord;
  private readonly started = performance.now();
  private finished = false;
  /** The client went away (its connection closed, or its AbortSignal fired). */
  gone = false;
  /** The upstream attempt under way: aborted at once when the client leaves (it costs the user money). */
  attempt: UpstreamAttempt | undefined = undefined;
  /** Ends a cool-down wait early when the client leaves. */
  wake: (() => void) | undefined = undefined;
  /** Where the body's `model` string sits ([modelAt, modelEnd), quotes included), when the body was scanned: resolution replaces it there. */
  modelAt = -1;
  modelEnd = -1;

  constructor(
    readonly env: ProxyEnv,
    readonly sink: ResponseSink,
    method: string,
    readonly route: UpstreamRoute,
    /** The client's Accept-Language: the proxy's own messages add Chinese for a Chinese client. */
    readonly acceptLanguage: string | undefined,
    source?: string,
  ) {
    this.record = { id: String(++requestSeq), method, path: route.path, stream: false, status: 0, attempts: 0, durationMs: 0, aborted: false };
    // Only when given, so that the HTTP path's records keep their shape.
    if (source !== undefined) this.record.source = source;
  }

  /** The client hung up: stop whatever is under way. */
  clientGone(): void {
    if (this.gone || this.finished) return;
    this.gone = true;
    this.record.aborted = true;
    this.attempt?.abortByClient();
    this.wake?.();
  }

  /** Records the request as finished with `status` (499: the client went away). Once. */
  finish(status: number, error?: string): void {
    if (this.finished) return;
    this.finished = true;
    const record = this.record;
    record.status = status;
    record.durationMs = Math.round((performance.now() - this.started) * 10) / 10;
    if (error) record.error = error;
    this.env.record(record);
  }

  /** Answers with an error the proxy makes, in the client's format, and records it. */
  answer(a: ErrorAnswer, error: string): void {
    // The header says what the log line says: the attempts this request made, whatever the answer.
    answerError(this.sink, this.route.flavor, a.status, a.message, a.code, { ...a.headers, 'x-daidai-attempts': String(this.record.attempts) });
    this.finish(a.status, error);
  }
}
