// Issue 22 item 10: two processes (two CLIs, two windows) keeping one usage history file. Each
// adds its own requests onto what the file holds; a window that takes the port over does not
// write its stale history over the other's; a usage file this build cannot read is set aside.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore } from '../../src/core/app/credentialStore';
import { Session } from '../../src/core/app/session';
import { defaultSettings } from '../../src/core/app/settings';
import { JsonStateFile, readUsageFileSync, stateFileNames, type StateIdentity } from '../../src/core/state';
import { addUsage, emptyUsage, usageDelta } from '../../src/core/usage/historyMerge';
import { UsageHistory } from '../../src/core/usage';
import { nullLogger } from '../../src/core/util/log';
import { createFakeDaiDai, DEMO_USABLE_KEYS } from '../fake/fakeDaiDai';
import type { FakeDaiDai } from '../fake/types';
import { MemorySecretStorage } from '../helpers/memorySecretStorage';

const keys = DEMO_USABLE_KEYS.slice(0, 2);
const identity: StateIdentity = { kind: 'keys' };

describe('app: one usage history file, two processes (issue 22)', function () {
  this.timeout(30_000);
  let fake: FakeDaiDai;
  let dir: string;
  const sessions: Session[] = [];

  async function session(): Promise<Session> {
    const s = new Session({
      logger: nullLogger,
      credentials: new CredentialStore(new MemorySecretStorage(), nullLogger),
      settings: { ...defaultSettings, upstreamBaseUrl: fake.gatewayUrl, proxyPort: 0, refreshMinutes: 0 },
      stateDir: dir,
    });
    sessions.push(s);
    await s.useKeys(keys.map((key) => ({ key })), 'test', identity);
    return s;
  }

  async function send(s: Session, n: number): Promise<void> {
    const { port } = await s.startProxy();
    for (let i = 0; i < n; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `n${i}` }] }),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
  }

  const usageFile = () => join(dir, stateFileNames(identity).usage);
  const requestsOnFile = () => (readUsageFileSync(usageFile())?.hours ?? []).reduce((n, h) => n + h[3], 0);

  beforeEach(async () => {
    fake = createFakeDaiDai({ costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    dir = mkdtempSync(join(tmpdir(), 'daidai-usage-merge-'));
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.dispose();
    await fake.stop();
  });

  it('10 requests on one, 7 on the other, both running at once: the file counts 17', async () => {
    const a = await session();
    const b = await session();
    await send(a, 10);
    await send(b, 7);
    await a.dispose();
    await b.dispose();
    assert.equal(requestsOnFile(), 17);
    assert.equal(readUsageFileSync(usageFile())!.recent.length, 17);
  });

  it('the same, written while both keep running (each write merges; the order does not matter)', async () => {
    const a = await session();
    const b = await session();
    await send(a, 3);
    await send(b, 2);
    await a.dispose();
    await send(b, 2);
    await b.dispose();
    assert.equal(requestsOnFile(), 7);
  });

  it('a window that takes the port over does not write its stale history over the other\'s', async () => {
    const late = await session(); // opened first: it read an empty history
    const owner = await session();
    await send(owner, 5);
    await owner.dispose(); // the owner goes; its 5 requests are on file
    assert.equal(requestsOnFile(), 5);
    await send(late, 3);
    await late.dispose();
    assert.equal(requestsOnFile(), 8);
    assert.equal(late.history.hourBuckets().reduce((n, h) => n + h.requests, 0), 8, 'the window shows both now');
  });

  it('a usage file this build cannot read is set aside, not overwritten', async () => {
    const future = JSON.stringify({ version: 99, savedAt: new Date().toISOString(), data: { from: 'a newer build' } });
    writeFileSync(usageFile(), future);
    const s = await session();
    await send(s, 1);
    await s.dispose();
    const aside = readdirSync(dir).filter((f) => f.startsWith('usage-') && f.includes('.corrupt-'));
    assert.equal(aside.length, 1, readdirSync(dir).join(', '));
    assert.equal(readFileSync(join(dir, aside[0]), 'utf8'), future);
    assert.equal(requestsOnFile(), 1);
  });
});

describe('usage: historyMerge (delta over what was read, added onto the file)', () => {
  const now = Date.UTC(2026, 11, 7, 10);
  function history(n: number, key = 'sk-aaaa…aaaa'): UsageHistory {
    const h = new UsageHistory();
    for (let i = 0; i < n; i++) h.add({ id: String(i), method: 'POST', path: '/chat/completions', model: 'm', stream: false, status: 200, keyId: key, attempts: 1, durationMs: i, aborted: false }, now + i, 0.5);
    return h;
  }

  it('adds counters and recent requests, takes the larger account spend and the newer baseline', () => {
    const base = history(2).toJSON();
    const mine = history(5).toJSON(); // 3 more than base, same first two
    const delta = usageDelta(mine, base);
    assert.equal(delta.hours[0][3], 3);
    assert.equal(delta.hours[0][8], 1.5);
    assert.equal(delta.recent.length, 3);
    const disk = history(4, 'sk-bbbb…bbbb').toJSON();
    disk.utilised = [[now, 'sk-aaaa…aaaa', 2]];
    disk.baselines = [['sk-aaaa…aaaa', 10, now]];
    delta.utilised = [[now, 'sk-aaaa…aaaa', 3]];
    delta.baselines = [['sk-aaaa…aaaa', 9, now - 1]];
    const merged = addUsage(disk, delta);
    assert.deepEqual(merged.hours.map((h) => [h[1], h[3]]).sort(), [['sk-aaaa…aaaa', 3], ['sk-bbbb…bbbb', 4]]);
    assert.deepEqual(merged.utilised, [[now, 'sk-aaaa…aaaa', 3]], 'the larger reading, not a sum');
    assert.deepEqual(merged.baselines, [['sk-aaaa…aaaa', 10, now]], 'the newer baseline');
    assert.equal(merged.recent.length, 7);
    assert.deepEqual(usageDelta(mine, mine), emptyUsage(), 'nothing new, nothing added');
  });
});

describe('state: a file written by several processes (mergeWithDisk) is written under a lock', () => {
  it('merges with what is on disk, takes over a lock left by a dead process, and waits out a live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'daidai-lock-'));
    const path = join(dir, 'counter.json');
    const file = (n: number) =>
      new JsonStateFile<number>({ path, version: 1, empty: () => 0, validate: (d) => (typeof d === 'number' ? d : undefined), mergeWithDisk: (onDisk) => onDisk + n, delayMs: 1 });
    const read = () => JSON.parse(readFileSync(path, 'utf8')).data as number;
    const a = file(2);
    a.schedule(0);
    await a.flush();
    assert.equal(read(), 2);
    writeFileSync(`${path}.lock`, `99999 ${Date.now() - 60_000}`); // a dead process's lock
    const b = file(5);
    b.schedule(0);
    await b.flush();
    assert.equal(read(), 7, 'the stale lock was taken over');
    assert.ok(!readdirSync(dir).some((f) => f.endsWith('.lock')), 'and released');
    writeFileSync(`${path}.lock`, `99999 ${Date.now()}`); // a live writer
    const c = file(1);
    c.schedule(0);
    await c.flush();
    assert.equal(read(), 7, 'nothing written under another\'s lock');
  });
});
