// Small helpers shared by the suite's files.
import { createServer } from 'node:net';

export const EXTENSION_ID = 'daidai-aggregator.daidai-aggregator';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export { waitUntil } from '../../helpers/wait';
