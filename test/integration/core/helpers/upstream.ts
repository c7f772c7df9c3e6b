// A hand-written upstream for the few behaviours the fake DaiDai cannot show (headers held
// apart from the first event, custom response headers). Closes every socket it accepted.
import * as http from 'node:http';
import type { Socket } from 'node:net';

export interface TinyUpstream {
  port: number;
  /** `http://127.0.0.1:PORT` (append /v1 for a proxy's upstreamBaseUrl). */
  url: string;
  /** Requests seen, in order. */
  requests: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  close(): Promise<void>;
}

export async function startTinyUpstream(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TinyUpstream> {
  const sockets = new Set<Socket>();
  const requests: TinyUpstream['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}

/**
 * An upstream that answers every request with `total` bytes as fast as its client reads them:
 * `sent()` says how many left it, `blocked()` how often it had to wait for a drain.
 */
export async function startFloodUpstream(total: number): Promise<TinyUpstream & { sent(): number; blocked(): number }> {
  const piece = Buffer.alloc(64 * 1024, 0x61);
  let sent = 0;
  let blocked = 0;
  const up = await startTinyUpstream((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = () => {
      while (sent < total) {
        sent += piece.length;
        if (!res.write(piece)) {
          blocked++;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  return { ...up, sent: () => sent, blocked: () => blocked };
}
