// A fixed-response OpenAI-shaped upstream for the benchmark, run in its own process. It answers
// every POST /v1/chat/completions with precomputed bytes (non-streaming JSON, or an SSE stream
// whose length and pacing follow the fake's x-demo-chunks / x-demo-chunk-delay-ms headers), so
// that it costs as little CPU as a Node server can and never becomes the bottleneck. Unlike the
// fake, a stream without delay still comes as one packet per event, as a model's tokens do. It counts
// requests by the key they carried, which is how the bench checks that a proxy spreads its keys.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startUpstreamControl, type UpstreamCounter } from './upstreamIpc';

const CREATED = 1735689600;
const ID = 'chatcmpl-bench-0000001';
const MAX_CHUNKS = 1000;
/** Events of an undelayed stream sent per write (see below); BENCH_EVENTS_PER_WRITE. */
const EVENTS_PER_WRITE = Math.max(1, Number(process.env.BENCH_EVENTS_PER_WRITE) || 5);

function chatBody(model: string): Buffer {
  const text = 'Hello from the benchmark upstream. '.repeat(8).trim();
  return Buffer.from(
    JSON.stringify({
      id: ID,
      object: 'chat.completion',
      created: CREATED,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 250, completion_tokens: 70, total_tokens: 320 },
    }),
  );
}

/** Role chunk, `n` content chunks, finish chunk, usage chunk, [DONE]: the fake's shape. */
function streamEvents(model: string, n: number): Buffer[] {
  const head = `data: {"id":"${ID}","object":"chat.completion.chunk","created":${CREATED},"model":${JSON.stringify(model)},"choices":[`;
  const out = [`${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
  for (let i = 0; i < n; i++) {
    out.push(`${head}{"index":0,"delta":{"content":"token ${i} "},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  out.push(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  out.push(`${head}],"usage":{"prompt_tokens":250,"completion_tokens":${n},"total_tokens":${250 + n}}}\n\n`);
  out.push('data: [DONE]\n\n');
  return out.map((s) => Buffer.from(s));
}

const MODEL = 'gpt-4o-mini';
const jsonBody = chatBody(MODEL);
const streams = new Map<number, Buffer[]>();
function streamFor(n: number): Buffer[] {
  let s = streams.get(n);
  if (!s) {
    s = streamEvents(MODEL, n);
    streams.set(n, s);
  }
  return s;
}

function intHeader(v: string | string[] | undefined, fallback: number, max: number): number {
  const n = typeof v === 'string' ? Number.parseInt(v, 10) : NaN;
  return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
}

const counter: UpstreamCounter = { byKey: new Map(), statuses: new Map(), total: 0, connections: 0 };

function count(req: http.IncomingMessage, status: number): void {
  const auth = req.headers.authorization;
  const key = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : '(none)';
  counter.byKey.set(key, (counter.byKey.get(key) ?? 0) + 1);
  counter.statuses.set(status, (counter.statuses.get(status) ?? 0) + 1);
  counter.total++;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url?.startsWith('/v1/chat/completions')) {
      count(req, 404);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found","type":"invalid_request_error","code":null}}');
      return;
    }
    let stream = false;
    try {
      stream = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: unknown }).stream === true;
    } catch {
      count(req, 400);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"bad json","type":"invalid_request_error","code":null}}');
      return;
    }
    count(req, 200);
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': jsonBody.length });
      res.end(jsonBody);
      return;
    }
    const n = intHeader(req.headers['x-demo-chunks'], 8, MAX_CHUNKS);
    const delay = intHeader(req.headers['x-demo-chunk-delay-ms'], 0, 10_000);
    const parts = streamFor(n);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (delay === 0) {
      // EVENTS_PER_WRITE events per turn of the event loop (writes within one turn are corked
      // into one packet by node:http), so the proxy sees a real multi-chunk stream. One event
      // per packet would make this upstream, not the proxy, the bottleneck on two cores.
      let i = 0;
      const step = (): void => {
        if (res.destroyed) return;
        if (i === parts.length) {
          res.end();
          return;
        }
        for (let k = 0; k < EVENTS_PER_WRITE && i < parts.length; k++) res.write(parts[i++]);
        setImmediate(step);
      };
      step();
      return;
    }
    // Event i is due at start + i × delay: a late timer does not push the later events back,
    // so every stream takes the same time and the proxies' total stream times can be compared.
    const start = performance.now();
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const next = (): void => {
      if (res.destroyed) return;
      res.write(parts[i++]);
      if (i >= parts.length) {
        res.end();
        return;
      }
      timer = setTimeout(next, Math.max(0, start + i * delay - performance.now()));
    };
    next();
    res.on('close', () => clearTimeout(timer));
  });
});
server.keepAliveTimeout = 30_000;
server.on('connection', () => counter.connections!++);

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('upstream: no TCP address');
  startUpstreamControl({ port: addr.port, kind: 'fixed', take: () => takeCounts(), close: () => server.close() });
});

function takeCounts(): UpstreamCounter {
  const snapshot = { byKey: new Map(counter.byKey), statuses: new Map(counter.statuses), total: counter.total, connections: counter.connections };
  counter.byKey.clear();
  counter.statuses.clear();
  counter.total = 0;
  counter.connections = 0;
  return snapshot;
}
