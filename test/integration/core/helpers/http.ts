// Plain node:http clients for the tests: one-shot requests, a stream reader that timestamps
// every chunk, and a raw stream a test can hang up on. Every socket is its own (agent: false)
// and closes with its response, so nothing outlives a test.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';

export interface HttpOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  /** An object is sent as JSON (content-type set unless given). */
  body?: string | Buffer | object;
  /** Send the body with Transfer-Encoding: chunked instead of Content-Length. */
  chunked?: boolean;
}

export interface HttpResult {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

function encodeBody(opts: HttpOptions): { headers: http.OutgoingHttpHeaders; payload?: Buffer } {
  const headers: http.OutgoingHttpHeaders = { ...opts.headers };
  if (opts.body === undefined) return { headers };
  let payload: Buffer;
  if (Buffer.isBuffer(opts.body)) payload = opts.body;
  else if (typeof opts.body === 'string') payload = Buffer.from(opts.body);
  else {
    payload = Buffer.from(JSON.stringify(opts.body));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  if (!opts.chunked) headers['content-length'] = String(payload.length);
  return { headers, payload };
}

function send(port: number, path: string, opts: HttpOptions): http.ClientRequest {
  const { headers, payload } = encodeBody(opts);
  const req = http.request({
    host: '127.0.0.1',
    port,
    path,
    method: opts.method ?? (opts.body === undefined ? 'GET' : 'POST'),
    headers,
    agent: false,
  });
  req.on('error', () => {
    // Reported to the caller through its own 'error' listener; this one keeps a late socket
    // error (after the caller settled) from becoming an uncaught exception.
  });
  try {
    if (payload && opts.chunked) {
      // Two writes so the body really goes out in chunks.
      const half = Math.floor(payload.length / 2);
      req.write(payload.subarray(0, half));
      req.end(payload.subarray(half));
    } else {
      req.end(payload);
    }
  } catch (err) {
    req.destroy();
    throw err;
  }
  return req;
}

/** One request, the whole answer buffered. */
export function httpRequest(port: number, path: string, opts: HttpOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = send(port, path, opts);
    req.once('error', reject);
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', reject);
      res.once('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          statusMessage: res.statusMessage ?? '',
          headers: res.headers,
          body,
          text,
          json: () => JSON.parse(text),
        });
      });
    });
  });
}

export interface TimedChunk {
  /** performance.now() when the chunk arrived. */
  at: number;
  data: Buffer;
}

export interface StreamResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** performance.now() when the request was sent. */
  sentAt: number;
  /** performance.now() when the response headers arrived. */
  headersAt: number;
  chunks: TimedChunk[];
  body: Buffer;
  text: string;
  /** 'end': the response completed; 'closed': the connection went away before the end. */
  ending: 'end' | 'closed';
}

/** Reads a (streamed) answer to the end, timestamping every chunk as it arrives. */
export function readStream(port: number, path: string, opts: HttpOptions = {}): Promise<StreamResult> {
  return new Promise((resolve, reject) => {
    const sentAt = performance.now();
    const req = send(port, path, opts);
    req.once('error', reject);
    req.once('response', (res) => {
      const headersAt = performance.now();
      const chunks: TimedChunk[] = [];
      let done = false;
      const finish = (ending: 'end' | 'closed') => {
        if (done) return;
        done = true;
        const body = Buffer.concat(chunks.map((c) => c.data));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, sentAt, headersAt, chunks, body, text: body.toString('utf8'), ending });
      };
      res.on('data', (data: Buffer) => chunks.push({ at: performance.now(), data }));
      res.once('end', () => finish('end'));
      res.once('error', () => finish('closed'));
      res.once('close', () => finish(res.complete ? 'end' : 'closed'));
    });
  });
}

/**
 * A streamed request the test controls: wait for text to show up, then hang up. Call destroy()
 * (also safe after the stream ended) in cleanup.
 */
export class RawStream {
  readonly req: http.ClientRequest;
  readonly response: Promise<http.IncomingMessage>;
  /** Resolves when the connection is gone, either way. */
  readonly closed: Promise<void>;
  private received = '';
  private ended = false;
  private waiters: Array<() => void> = [];

  constructor(port: number, path: string, opts: HttpOptions = {}) {
    this.req = send(port, path, opts);
    this.req.on('error', () => {
      // Expected once the test destroys the socket; failures show through `response`/`text`.
    });
    this.response = new Promise((resolve, reject) => {
      this.req.once('error', reject);
      this.req.once('response', (res) => {
        res.on('data', (c: Buffer) => {
          this.received += c.toString('utf8');
          this.wake();
        });
        res.on('error', () => {});
        res.once('close', () => {
          this.ended = true;
          this.wake();
        });
        resolve(res);
      });
    });
    this.response.catch(() => {});
    this.closed = new Promise((resolve) => this.req.once('close', () => resolve()));
  }

  get text(): string {
    return this.received;
  }

  /** Whether the response has closed (ended or cut). */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Resolves once the received text satisfies `pred`; rejects if the stream closes first or after timeoutMs. */
  waitForText(pred: (text: string) => boolean, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`stream text did not match within ${timeoutMs} ms; got: ${this.received.slice(0, 300)}`));
      }, timeoutMs);
      const check = () => {
        if (pred(this.received)) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          resolve(this.received);
        } else if (this.ended) {
          clearTimeout(timer);
          this.waiters = this.waiters.filter((w) => w !== check);
          reject(new Error(`stream closed before the text matched; got: ${this.received.slice(0, 300)}`));
        }
      };
      this.waiters.push(check);
      check();
    });
  }

  /** Hangs up: the socket is destroyed, as a client's Stop button does. */
  destroy(): void {
    this.req.destroy();
    this.req.socket?.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.slice()) w();
  }
}

export interface SseEvent {
  event?: string;
  data: string;
}

/** Splits an SSE text into events (the `event:` and joined `data:` lines of each block). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (!block.trim()) continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    events.push({ event, data: data.join('\n') });
  }
  return events;
}

/** The text of a streamed OpenAI chat answer (delta.content of every chunk). */
export function openaiStreamText(text: string): string {
  let out = '';
  for (const e of parseSse(text)) {
    if (e.data === '[DONE]' || !e.data) continue;
    const chunk = JSON.parse(e.data) as { choices?: Array<{ delta?: { content?: string } }> };
    for (const c of chunk.choices ?? []) out += c.delta?.content ?? '';
  }
  return out;
}

/** The text of a streamed Anthropic answer (text_delta of every content_block_delta). */
export function anthropicStreamText(text: string): string {
  let out = '';
  for (const e of parseSse(text)) {
    if (e.event !== 'content_block_delta') continue;
    const d = JSON.parse(e.data) as { delta?: { text?: string } };
    out += d.delta?.text ?? '';
  }
  return out;
}
