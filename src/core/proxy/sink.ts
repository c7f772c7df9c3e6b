// Where an answer goes. The failover loop writes every answer (the upstream's, passed through as
// it comes, or one the proxy makes) into a ResponseSink and never sees node:http: the HTTP path
// is one adapter (HttpSink over a ServerResponse), VS Code's chat provider another. Streaming
// stays unbuffered: each upstream chunk is one write(), and the upstream pauses while a sink
// says it is full.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export interface ResponseSink {
  /**
   * The answer's status and headers, once, before any chunk. `reason`: the HTTP reason phrase of
   * an answer the proxy makes (SillyTavern shows only that of a non-streamed error).
   */
  head(status: number, headers: OutgoingHttpHeaders, reason?: string): void;
  /** A stream's head is due now, before its first chunk (clients show "connected"). Nothing to do where there is no wire. */
  flushHead(): void;
  /** One chunk of the body, as it came. false: full; the upstream is held until a callback given to onDrain runs. */
  write(chunk: Buffer): boolean;
  /** Called at most once per answer, the first time write() returned false; the callback then runs each time the sink can take more. */
  onDrain(resume: () => void): void;
  offDrain(resume: () => void): void;
  /** The answer is complete; `last` is its last piece (the body of an answer the proxy makes). */
  end(last?: Buffer | string): void;
  /**
   * The answer broke off after its head went out, so failover is over: `message` says why, in the
   * client's language. `event` is the stream's own error event when the answer is SSE (an HTTP
   * sink writes it and ends; without one it cuts the connection, which clients read as an error).
   */
  fail(message: string, event: string | undefined): void;
  /** Whether head() has been called (then an error can no longer be an answer of its own). */
  readonly headSent: boolean;
}

/** The HTTP path's sink: the client's ServerResponse, written directly. */
export class HttpSink implements ResponseSink {
  constructor(readonly res: ServerResponse) {}

  get headSent(): boolean {
    return this.res.headersSent;
  }

  head(status: number, headers: OutgoingHttpHeaders, reason?: string): void {
    if (reason) this.res.writeHead(status, reason, headers);
    else this.res.writeHead(status, headers);
  }

  flushHead(): void {
    const res = this.res;
    if (!res.writableEnded && !res.destroyed) res.flushHeaders();
  }

  write(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onDrain(resume: () => void): void {
    this.res.on('drain', resume);
  }

  offDrain(resume: () => void): void {
    this.res.off('drain', resume);
  }

  end(last?: Buffer | string): void {
    if (last === undefined) this.res.end();
    else this.res.end(last);
  }

  fail(_message: string, event: string | undefined): void {
    if (event !== undefined) this.res.end(event);
    else this.res.destroy();
  }
}
