// A real HTTP CONNECT proxy on 127.0.0.1, as a company proxy: it opens a tunnel for every CONNECT
// and counts them by the host asked for. Every name it is asked for is this machine (the tests
// call the fake DaiDai by names such as `gateway.test`, which only the proxy resolves), so
// nothing ever leaves 127.0.0.1.
import * as http from 'node:http';
import * as net from 'node:net';

export interface ConnectProxy {
  port: number;
  url: string;
  /** `host:port` → tunnels opened. */
  tunnels: Map<string, number>;
  /** Tunnels opened to a host name, whatever the port. */
  tunnelsTo(host: string): number;
  /** Plain (non-CONNECT) requests it was sent. */
  plain: number;
  close(): Promise<void>;
}

export async function startConnectProxy(): Promise<ConnectProxy> {
  const tunnels = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const state = { plain: 0 };
  const server = http.createServer((_req, res) => {
    state.plain++;
    res.writeHead(400).end('this proxy only tunnels');
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    const m = /^(.+):(\d+)$/.exec(target);
    if (!m) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    tunnels.set(target, (tunnels.get(target) ?? 0) + 1);
    const upstream = net.connect(Number(m[2]), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    const drop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', drop);
    client.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    tunnels,
    tunnelsTo: (host) => [...tunnels].filter(([k]) => k.startsWith(`${host}:`)).reduce((n, [, v]) => n + v, 0),
    get plain() {
      return state.plain;
    },
    close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      return closed;
    },
  };
}
