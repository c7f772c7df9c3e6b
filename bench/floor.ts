// The reference floor: the least a Node proxy can do for our job, to measure ours against.
// node:http in, undici out (keep-alive Agent; its `stream` API writes the upstream's body
// straight into the client's response as it comes), round-robin over the keys (the client's
// Authorization is replaced), `/v1/x` → `${upstream}/x`, no retry. The request body is
// collected first, as ours must do to replay it: piping the request into undici instead measured
// slower here (p99 at c=1 about 8.5 ms against 3 ms). Usage: node floor.js PORT UPSTREAM_BASE_URL,
// keys in BENCH_KEYS (comma-separated).
import * as http from 'node:http';
import { Agent, type Dispatcher } from 'undici';

const [port, upstream] = [Number(process.argv[2]), new URL(process.argv[3])];
const keys = (process.env.BENCH_KEYS ?? '').split(',').filter(Boolean);
const basePath = upstream.pathname.replace(/\/$/, '');
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 256 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host', 'authorization', 'x-api-key']);
let next = 0;

function strip(h: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k] as string | string[];
  return out;
}

function forward(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer | undefined): void {
  const headers = strip(req.headers);
  headers.authorization = `Bearer ${keys[next++ % keys.length]}`;
  const ac = new AbortController();
  res.on('close', () => res.writableFinished || ac.abort());
  const path = basePath + (req.url ?? '/').replace(/^\/v1(?=\/|$|\?)/, '');
  const opts: Dispatcher.RequestOptions = { origin: upstream.origin, path, method: req.method as Dispatcher.HttpMethod, headers, body, signal: ac.signal };
  agent
    .stream(opts, ({ statusCode, headers: h }) => {
      res.writeHead(statusCode, strip(h));
      return res;
    })
    .catch((err: Error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `floor: ${err.message}`, type: 'upstream_error' } }));
    });
}

http
  .createServer((req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') return forward(req, res, undefined);
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => forward(req, res, Buffer.concat(parts)));
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`floor listening on ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
