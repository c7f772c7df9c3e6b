// A fixed-response upstream for the benchmark (the pinned mode's), run in its own process. It
// answers every POST /v1/chat/completions and /v1/messages with precomputed bytes, the same as
// nginx's (bench/upstreamAnswers.ts): non-streaming JSON, or an SSE stream whose length and pacing
// follow the fake's x-demo-chunks / x-demo-chunk-delay-ms headers, so that it costs as little CPU
// as a Node server can and never becomes the bottleneck. Unlike the fake, a stream without delay
// still comes in several packets, as a model's tokens do. It counts requests by the key they
// carried, which is how the bench checks that a proxy spreads its keys.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { answers } from './upstreamAnswers';
import { startUpstreamControl, type UpstreamCounter } from './upstreamIpc';

const MAX_CHUNKS = 1000;
/** Events of an undelayed stream sent per write (see below); BENCH_EVENTS_PER_WRITE. */
const EVENTS_PER_WRITE = Math.max(1, Number(process.env.BENCH_EVENTS_PER_WRITE) || 5);

const jsonBody = Buffer.from(answers.chatJson);
const streams = new Map<string, Buffer[]>();
function streamFor(anthropic: boolean, n: number): Buffer[] {
  const id = `${anthropic ? 'a' : 'o'}${n}`;
  let s = streams.get(id);
  if (!s) {
    s = (anthropic ? answers.anthropicEvents(n) : answers.openaiEvents(n)).map((e) => Buffer.from(e));
    streams.set(id, s);
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
  const xApiKey = req.headers['x-api-key'];
  const key = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : typeof xApiKey === 'string' ? xApiKey : '(none)';
  counter.byKey.set(key, (counter.byKey.get(key) ?? 0) + 1);
  counter.statuses.set(status, (counter.statuses.get(status) ?? 0) + 1);
  counter.total++;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      // Ours asks each key for its model list in the background: answered, not counted.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answers.modelList);
      return;
    }
    const anthropic = req.url?.startsWith('/v1/messages') === true;
    if (req.method !== 'POST' || !(anthropic || req.url?.startsWith('/v1/chat/completions'))) {
      count(req, 404);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error":{"message":"not found","type":"invalid_request_error","code":null}}');
      return;
    }
    let stream = false;
    try {
      const body = Buffer.concat(chunks);
      // The bench's large bodies (100 KB) would cost this upstream more than the proxies: they
      // all end with "stream":true, so the tail tells; small ones are parsed as before.
      stream = body.length > 8192 ? body.subarray(-512).includes('"stream":true') : (JSON.parse(body.toString('utf8')) as { stream?: unknown }).stream === true;
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
    const parts = streamFor(anthropic, n);
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
