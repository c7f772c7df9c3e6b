// One fake DaiDai + one KeyPool + one ProxyServer on 127.0.0.1 (port 0), as a test needs them,
// and the bookkeeping that closes all of it after each test.
import { createFakeDaiDai, DEMO_USABLE_KEYS, type FakeDaiDai, type FakeDaiDaiOptions } from '../../../fake/fakeDaiDai';
import { KeyPool, type KeyPoolOptions } from '../../../../src/core/pool/keyPool';
import { ProxyServer } from '../../../../src/core/proxy/server';
import type { ProxyOptions } from '../../../../src/core/proxy/types';
import type { Logger } from '../../../../src/core/util/log';
import { maskKey } from '../../../../src/core/util/mask';

export interface HarnessOptions {
  /** Keys the pool gets, in this order (default: the demo account's usable keys). */
  keys?: readonly string[];
  proxy?: Partial<ProxyOptions>;
  pool?: Omit<KeyPoolOptions, 'logger'>;
  /** The fake charges nothing by default, so that no demo key runs dry in a long test. */
  fake?: FakeDaiDaiOptions;
  /** Given to both the proxy and the pool. */
  logger?: Logger;
}

export interface Harness {
  fake: FakeDaiDai;
  pool: KeyPool;
  proxy: ProxyServer;
  /** Keys in pool order. */
  keys: readonly string[];
  /** Proxy port. */
  port: number;
  /** `http://127.0.0.1:PORT` of the proxy. */
  origin: string;
  /** `http://127.0.0.1:PORT/v1` of the proxy. */
  v1: string;
  /** Pool snapshot entry of a key (by the key itself). */
  keyState(key: string): ReturnType<KeyPool['snapshot']>['keys'][number];
  close(): Promise<void>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const keys = opts.keys ?? DEMO_USABLE_KEYS;
  const fake = createFakeDaiDai({ costPerRequest: 0, ...opts.fake });
  await fake.start(0, '127.0.0.1');
  const pool = new KeyPool({ ...opts.pool, logger: opts.logger });
  pool.setKeys(keys.map((key, i) => ({ key, name: `test key ${i + 1}` })));
  const proxy = new ProxyServer({
    pool,
    logger: opts.logger,
    options: { host: '127.0.0.1', port: 0, upstreamBaseUrl: fake.gatewayUrl, ...opts.proxy },
  });
  let status;
  try {
    status = await proxy.start();
  } catch (err) {
    await fake.stop();
    pool.dispose();
    throw err;
  }
  const port = status.port!;
  let closed = false;
  return {
    fake,
    pool,
    proxy,
    keys,
    port,
    origin: `http://127.0.0.1:${port}`,
    v1: `http://127.0.0.1:${port}/v1`,
    keyState(key: string) {
      const id = maskKey(key);
      const found = pool.snapshot().keys.find((k) => k.id === id);
      if (!found) throw new Error(`key ${id} is not in the pool`);
      return found;
    },
    async close() {
      if (closed) return;
      closed = true;
      await proxy.dispose();
      await fake.stop();
      pool.dispose();
    },
  };
}

/**
 * Call inside a `describe`: returns a `start` that builds harnesses, and registers an afterEach
 * that closes every harness (and every extra resource given to `defer`) the test opened.
 */
export function harnessPerTest(): {
  start: (opts?: HarnessOptions) => Promise<Harness>;
  defer: (close: () => unknown) => void;
} {
  const closers: Array<() => unknown> = [];
  afterEach(async () => {
    // Newest first: clients before the servers they talk to.
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // One failed close must not keep the others open.
      }
    }
  });
  return {
    async start(opts) {
      const h = await startHarness(opts);
      closers.push(() => h.close());
      return h;
    },
    defer(close) {
      closers.push(close);
    },
  };
}

/** Resolves after `ms`; only for letting the event loop move on, never for asserting on timing. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


/** Rejects with `what` when `p` does not settle within `ms`: turns a hang into a clear failure. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
