import * as assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { probePeer } from '../../src/core/proxy/peer';

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

describe('state: probePeer (is the proxy on this port ours?)', () => {
  const servers: (Server | NetServer)[] = [];
  const sockets = new Set<Socket>();
  const http = async (handler: (req: IncomingMessage, res: ServerResponse) => void) => {
    const server = createServer(handler);
    server.on('connection', (s) => sockets.add(s));
    servers.push(server);
    return listen(server);
  };
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('says daidai, with its /health, when our proxy answers there', async () => {
    let path: string | undefined;
    let auth: string | undefined;
    const port = await http((req, res) => {
      path = req.url;
      auth = req.headers.authorization;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ name: 'daidai-aggregator', version: '0.1.0', account: 'abcdef0123456789abcdef01', status: 'ok', keys: { usable: 5, total: 6 } }));
    });
    const result = await probePeer('127.0.0.1', port, { timeoutMs: 1000 });
    assert.equal(result.kind, 'daidai');
    assert.equal(path, '/health');
    assert.equal(auth, undefined, 'the probe sends no credential');
    if (result.kind !== 'daidai') return;
    assert.equal(result.health.account, 'abcdef0123456789abcdef01');
    assert.equal(result.health.keys?.usable, 5);
    assert.equal(result.health.version, '0.1.0');
  });

  it('probes a wildcard listen address (0.0.0.0) through loopback', async () => {
    const port = await http((_req, res) => res.end(JSON.stringify({ name: 'daidai-aggregator' })));
    assert.equal((await probePeer('0.0.0.0', port)).kind, 'daidai');
  });

  it('says other for a server that answers something else', async () => {
    const port = await http((req, res) => {
      if (req.url === '/health') res.end(JSON.stringify({ status: 'ok', name: 'some-other-proxy' }));
      else res.end();
    });
    assert.deepEqual(await probePeer('127.0.0.1', port), { kind: 'other' });
  });

  it('says other for HTML, a 404, and a body far larger than /health', async () => {
    const html = await http((_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'text/html');
      res.end('<html><body>Not Found</body></html>');
    });
    assert.deepEqual(await probePeer('127.0.0.1', html), { kind: 'other' });
    const huge = await http((_req, res) => {
      // our name first, so only the size cap can tell it apart
      res.end(JSON.stringify({ name: 'daidai-aggregator', padding: 'x'.repeat(200_000) }));
    });
    assert.deepEqual(await probePeer('127.0.0.1', huge), { kind: 'other' });
  });

  it('says other for something that holds the port but never answers', async () => {
    const server = createNetServer((socket) => sockets.add(socket)); // accepts, says nothing
    servers.push(server);
    const port = await listen(server);
    assert.deepEqual(await probePeer('127.0.0.1', port, { timeoutMs: 200 }), { kind: 'other' });
  });

  it('says other for something that accepts and hangs up at once', async () => {
    const server = createNetServer((socket) => socket.destroy());
    servers.push(server);
    const port = await listen(server);
    assert.deepEqual(await probePeer('127.0.0.1', port), { kind: 'other' });
  });

  it('says none for a closed port', async () => {
    const server = createNetServer();
    const port = await listen(server);
    await new Promise((r) => server.close(r));
    assert.deepEqual(await probePeer('127.0.0.1', port), { kind: 'none' });
  });
});
