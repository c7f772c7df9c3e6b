// Time to the first text part: VS Code's chat provider path (answerChat over the proxy's
// in-process entry, as src/vscode/chatProvider.ts calls it) against the same request as an HTTP
// client of the proxy's port (node:http, keep-alive, the same body bytes), time to the first
// body chunk that carries text. One ProxyServer, one pool of 3 keys, the fake gateway; the two
// paths alternate request by request, so drift on this shared machine hits both alike.
//
//   npm run build && node bench/build.mjs && node bench/results/build/chatTtft.js [requests]
//
// The fake runs in this process (it answers at once, 8 events in one write), so the figures are
// the proxy's and the client's own costs plus the fake's, not a network's.
import * as http from 'node:http';
import { performance } from 'node:perf_hooks';
import { answerChat } from '../src/core/chat/answer';
import { buildWireRequest } from '../src/core/chat/wire';
import { KeyPool } from '../src/core/pool/keyPool';
import { ProxyServer } from '../src/core/proxy/server';
import { createUsageMeter } from '../src/core/usage';
import { createFakeDaiDai, demoKey } from '../test/fake/fakeDaiDai';

const models = [
  { id: 'gpt-4o-mini', wire: 'openai' as const, maxOutputTokens: 16_384, capabilities: { toolCalling: true } },
  { id: 'claude-sonnet-4-5-20250929', wire: 'anthropic' as const, maxOutputTokens: 64_000, capabilities: { toolCalling: true } },
];

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 300);
  const keys = [1, 2, 3].map((i) => demoKey(`chat-bench-${i}`));
  const fake = createFakeDaiDai({ keys: keys.map((key, i) => ({ key, name: `bench ${i}`, balance: 1e12, used: 0 })), costPerRequest: 0, requestLogLimit: 100 });
  await fake.start(0, '127.0.0.1');
  const pool = new KeyPool({});
  pool.setKeys(keys.map((key, i) => ({ key, name: `bench ${i}` })));
  const proxy = new ProxyServer({ pool, options: { upstreamBaseUrl: fake.gatewayUrl, port: 0 }, usage: createUsageMeter() });
  const status = await proxy.start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const messages = [{ role: 'user' as const, content: [{ kind: 'text' as const, text: 'How far is the moon?' }] }];

  const viaHttp = (model: (typeof models)[number]) =>
    new Promise<number>((resolve, reject) => {
      const wire = buildWireRequest({ model: model.id, wire: model.wire, messages, toolCalling: true, maxOutputTokens: model.maxOutputTokens });
      const body = Buffer.from(wire.body);
      const t0 = performance.now();
      const req = http.request(
        { host: '127.0.0.1', port: status.port, path: `/v1${wire.path}`, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: 'Bearer x', 'anthropic-version': '2023-06-01' } },
        (res) => {
          let first: number | undefined;
          res.on('data', (chunk: Buffer) => {
            if (first === undefined && (chunk.includes('"content":"E') || chunk.includes('"text":"E'))) first = performance.now() - t0;
          });
          res.on('end', () => (first === undefined ? reject(new Error('no text in the answer')) : resolve(first)));
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const viaProvider = async (model: (typeof models)[number]) => {
    const t0 = performance.now();
    let first: number | undefined;
    await answerChat((r, s) => proxy.request(r, s), {
      model,
      messages,
      signal: new AbortController().signal,
      onParts: (parts) => {
        if (first === undefined && parts.some((p) => p.kind === 'text' && p.text !== '')) first = performance.now() - t0;
      },
    });
    if (first === undefined) throw new Error('no text part');
    return first;
  };

  for (const model of models) {
    for (let i = 0; i < 30; i++) {
      await viaHttp(model);
      await viaProvider(model);
    }
    const h: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i % 2) {
        h.push(await viaHttp(model));
        p.push(await viaProvider(model));
      } else {
        p.push(await viaProvider(model));
        h.push(await viaHttp(model));
      }
    }
    const ratios = p.map((x, i) => x / h[i]);
    console.log(
      `${model.wire.padEnd(9)} ${model.id}: first text part via the provider (in process) median ${quantile(p, 0.5).toFixed(2)} ms, p90 ${quantile(p, 0.9).toFixed(2)} ms; ` +
        `via HTTP to the port median ${quantile(h, 0.5).toFixed(2)} ms, p90 ${quantile(h, 0.9).toFixed(2)} ms; provider/HTTP median of paired ratios ${quantile(ratios, 0.5).toFixed(2)} (${n} each)`,
    );
  }
  agent.destroy();
  await proxy.dispose();
  pool.dispose();
  await fake.stop();
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
