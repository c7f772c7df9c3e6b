// The project's fake DaiDai gateway as the bench's upstream, in its own process: three keys
// with balances that never run out, no cost per request, and a request log the runner reads
// (and clears) after each measured phase to count requests by key.
import { createFakeDaiDai, demoKey } from '../test/fake/fakeDaiDai';
import { startUpstreamControl, type UpstreamCounter } from './upstreamIpc';

const keys = [1, 2, 3].map((i) => demoKey(`bench-key-${i}`));
const fake = createFakeDaiDai({
  keys: keys.map((key, i) => ({ key, name: `bench ${i + 1}`, balance: 1e12, used: 0 })),
  costPerRequest: 0,
  // Large enough to hold every request of one measured phase; cleared after each.
  requestLogLimit: 2_000_000,
});

function take(): UpstreamCounter {
  const c: UpstreamCounter = { byKey: new Map(), statuses: new Map(), total: 0 };
  for (const r of fake.requests) {
    const key = r.key ?? '(none)';
    c.byKey.set(key, (c.byKey.get(key) ?? 0) + 1);
    const status = r.status ?? 0;
    c.statuses.set(status, (c.statuses.get(status) ?? 0) + 1);
    c.total++;
  }
  fake.clearRequests();
  return c;
}

fake.start(0, '127.0.0.1').then(
  (port) => startUpstreamControl({ port, kind: 'fake', keys, take, close: () => void fake.stop() }),
  (e: Error) => {
    process.stderr.write(`bench: the fake DaiDai did not start: ${e.message}\n`);
    process.exit(1);
  },
);
