import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  JsonStateFile,
  PoolStateFile,
  UsageFile,
  corruptFileName,
  nodeStateFs,
  openStateFiles,
  readUsageFileSync,
  decodeUsageHistory,
  type PoolStateData,
  type StateFs,
  type StateTimers,
} from '../../src/core/state';
import { sanitizePoolState } from '../../src/core/state/poolState';
import type { RecentRequest, UsageHistoryData } from '../../src/core/usage';
import { keyHash } from '../../src/core/util/hash';
import type { Logger } from '../../src/core/util/log';

/** Timers that only run when told to. */
class FakeTimers implements StateTimers {
  private seq = 0;
  readonly queue = new Map<number, { fn: () => void; ms: number }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.queue.set(id, { fn, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.queue.delete(handle as number);
  }
  get pending(): number {
    return this.queue.size;
  }
  /** Runs every timer armed so far. */
  fire(): void {
    const due = [...this.queue.entries()];
    this.queue.clear();
    for (const [, t] of due) t.fn();
  }
}

class RecordingLogger implements Logger {
  readonly lines: { level: string; text: string }[] = [];
  trace(m: string) {
    this.lines.push({ level: 'trace', text: m });
  }
  debug(m: string) {
    this.lines.push({ level: 'debug', text: m });
  }
  info(m: string) {
    this.lines.push({ level: 'info', text: m });
  }
  warn(m: string) {
    this.lines.push({ level: 'warn', text: m });
  }
  error(m: string | Error) {
    this.lines.push({ level: 'error', text: String(m) });
  }
  get warnings(): string[] {
    return this.lines.filter((l) => l.level === 'warn').map((l) => l.text);
  }
}

/** The real fs, counting writes, with a rename that can be made to fail (a crash before it). */
function countingFs(): StateFs & { renames: number; failRename: boolean } {
  const fs = {
    renames: 0,
    failRename: false,
    mkdir: nodeStateFs.mkdir,
    readFile: nodeStateFs.readFile,
    writeFileDurable: nodeStateFs.writeFileDurable,
    unlink: nodeStateFs.unlink,
    async rename(from: string, to: string) {
      if (fs.failRename && from.endsWith('.tmp')) throw Object.assign(new Error('simulated crash before rename'), { code: 'EIO' });
      fs.renames++;
      await nodeStateFs.rename(from, to);
    },
  };
  return fs;
}

const t0 = Date.parse('2026-12-01T06:00:00.000Z');

/** One recent request as the usage file keeps it. */
function recentRow(key: string): RecentRequest {
  return { at: t0, method: 'POST', route: '/v1/chat/completions', model: 'gpt-4o', key, status: 200, attempts: 1, stream: false, costCny: null, durationMs: 5, failed: false, aborted: false };
}

function usageData(...recent: RecentRequest[]): UsageHistoryData {
  return { version: 1, hours: [], utilised: [], baselines: [], recent };
}
const hashA = keyHash('sk-aaaaaaaaaaaaaaaaaaaaaaaa');
const hashB = keyHash('sk-bbbbbbbbbbbbbbbbbbbbbbbb');

describe('state: JsonStateFile and PoolStateFile', () => {
  let dir: string;
  let timers: FakeTimers;
  let logger: RecordingLogger;
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daidai-state-'));
    timers = new FakeTimers();
    logger = new RecordingLogger();
    now = t0;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const poolFile = (name = 'pool-test.json', fs: StateFs = nodeStateFs) => new PoolStateFile(join(dir, name), { timers, logger, now: clock, fs });

  const sample = (): PoolStateData => ({
    keys: {
      [hashA]: {
        manuallyDisabled: true,
        state: 'disabled',
        disabledBy: 'revoked',
        reason: 'HTTP 401: 无效的令牌',
        since: t0 - 5000,
        exclusions: [{ model: 'gpt-4o-mini', reason: '无可用渠道', until: t0 + 60_000 }, { model: '[官Max]claude-sonnet-4', reason: 'no permission' }],
        stats: { requests: 12, successes: 10, failures: 2, lastError: 'HTTP 401', lastUsedAt: t0 - 1000 },
      },
      [hashB]: { state: 'cooling', coolingUntil: t0 + 30_000, stats: { requests: 3, successes: 3, failures: 0 } },
    },
  });

  it('round-trips the pool state through the file, in the versioned envelope, on the given clock', async () => {
    const file = poolFile();
    assert.deepEqual(await file.read(), { keys: {} });
    file.schedule(sample());
    await file.flush();

    const raw = JSON.parse(readFileSync(file.path, 'utf8'));
    assert.equal(raw.version, 1);
    assert.equal(raw.savedAt, '2026-12-01T06:00:00.000Z');
    assert.deepEqual(raw.data, sample());

    const again = poolFile();
    assert.deepEqual(await again.read(), sample());
    assert.deepEqual(logger.warnings, []);
  });

  it('starts empty in a missing folder and creates it, without a warning', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    const file = new PoolStateFile(join(deep, 'pool-x.json'), { timers, logger, now: clock });
    assert.deepEqual(await file.read(), { keys: {} });
    assert.ok(existsSync(deep), 'folder created');
    assert.deepEqual(logger.warnings, []);
  });

  it('sets a corrupt file aside with exactly one warning and starts empty', async () => {
    const path = join(dir, 'pool-test.json');
    writeFileSync(path, '{"version":1,"savedAt":"2026-');
    const file = poolFile();
    assert.deepEqual(await file.read(), { keys: {} });

    assert.equal(existsSync(path), false, 'the damaged file is no longer in the way');
    const aside = join(dir, 'pool-test.corrupt-2026-12-01T06-00-00.000Z.json');
    assert.equal(readFileSync(aside, 'utf8'), '{"version":1,"savedAt":"2026-', 'kept as it was, for a look');
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /not valid JSON/);
    assert.match(logger.warnings[0], /pool-test\.corrupt-/);

    // and the next write makes a good file again
    file.schedule(sample());
    await file.flush();
    assert.deepEqual(await poolFile().read(), sample());
  });

  it('sets aside a file of an unknown version, and one of the wrong shape', async () => {
    const path = join(dir, 'pool-test.json');
    writeFileSync(path, JSON.stringify({ version: 99, savedAt: 'x', data: sample() }));
    assert.deepEqual(await poolFile().read(), { keys: {} });
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /version 99/);

    now += 1;
    writeFileSync(path, JSON.stringify({ version: 1, savedAt: 'x', data: { keys: [] } }));
    assert.deepEqual(await poolFile().read(), { keys: {} });
    assert.equal(logger.warnings.length, 2);
    assert.match(logger.warnings[1], /shape/);

    now += 1;
    writeFileSync(path, JSON.stringify([1, 2, 3]));
    assert.deepEqual(await poolFile().read(), { keys: {} });
    assert.equal(logger.warnings.length, 3);

    const asides = readdirSync(dir).filter((n) => n.startsWith('pool-test.corrupt-'));
    assert.equal(asides.length, 3, asides.join(', '));
    assert.equal(existsSync(path), false);
  });

  it('never rejects when the damaged file cannot even be set aside', async () => {
    const path = join(dir, 'pool-test.json');
    writeFileSync(path, 'garbage');
    const fs: StateFs = { ...nodeStateFs, rename: async () => Promise.reject(Object.assign(new Error('denied'), { code: 'EACCES' })) };
    assert.deepEqual(await poolFile('pool-test.json', fs).read(), { keys: {} });
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /nor set aside/);
  });

  it('debounces: many schedules make few writes, and the data function runs only when writing', async () => {
    const fs = countingFs();
    const file = poolFile('pool-test.json', fs);
    await file.read();
    let calls = 0;
    let n = 0;
    const thunk = (): PoolStateData => {
      calls++;
      return { keys: { [hashA]: { stats: { requests: n, successes: n, failures: 0 } } } };
    };

    for (let i = 0; i < 100; i++) {
      n = i;
      file.schedule(thunk);
    }
    assert.equal(calls, 0, 'scheduling costs no snapshot');
    assert.equal(timers.pending, 1, 'one timer for the lot');
    assert.equal(timers.queue.values().next().value!.ms, 1000);
    timers.fire();
    await file.flush(); // waits for the write the timer started; nothing else is pending
    assert.equal(fs.renames, 1);
    assert.equal(calls, 1);

    for (let i = 100; i < 150; i++) {
      n = i;
      file.schedule(thunk);
    }
    timers.fire();
    await file.flush();
    assert.equal(fs.renames, 2);
    assert.equal(calls, 2);
    assert.equal((await poolFile().read()).keys[hashA].stats!.requests, 149, 'the newest data won');
  });

  it('a change scheduled during a write waits for the next timer rather than writing at once', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let writes = 0;
    const fs: StateFs = {
      ...nodeStateFs,
      async writeFileDurable(path, text) {
        writes++;
        if (writes === 1) await gate;
        await nodeStateFs.writeFileDurable(path, text);
      },
    };
    const file = poolFile('pool-test.json', fs);
    file.schedule({ keys: {} });
    timers.fire();
    file.schedule(sample()); // while the first write is held
    assert.equal(timers.pending, 0, 'no second timer while writing');
    release();
    // The held write finishes on the real disk: wait for it by its effect, not a count of turns.
    for (const deadline = Date.now() + 5000; Date.now() < deadline && timers.pending === 0 && writes < 2; ) await new Promise((r) => setTimeout(r, 2));
    assert.equal(writes, 1, 'the second change was not written straight after the first');
    assert.equal(timers.pending, 1, 'it waits for its own timer');
    timers.fire();
    await file.flush();
    assert.equal(writes, 2);
    assert.deepEqual(await poolFile().read(), sample());
  });

  it('writes atomically: a failure between the temporary file and the rename leaves the old file whole', async () => {
    const fs = countingFs();
    const file = poolFile('pool-test.json', fs);
    await file.read();
    file.schedule(sample());
    await file.flush();
    const before = readFileSync(file.path, 'utf8');

    fs.failRename = true;
    file.schedule({ keys: {} });
    timers.fire();
    await file.flush();
    assert.equal(readFileSync(file.path, 'utf8'), before, 'old file intact');
    assert.deepEqual(readdirSync(dir), ['pool-test.json'], 'no temporary file left behind');
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /previous file is kept/);

    // more failures in a row cost no more warnings
    file.schedule({ keys: {} });
    await file.flush();
    assert.equal(logger.warnings.length, 1);

    // retried: a flush with no new change writes what failed
    fs.failRename = false;
    await file.flush();
    assert.deepEqual(await poolFile().read(), { keys: {} });
    assert.equal(logger.warnings.length, 1);
  });

  it('flush() on stop writes what is pending at once and leaves no timer behind', async () => {
    const file = poolFile();
    file.schedule(() => sample());
    assert.equal(existsSync(file.path), false, 'nothing written at schedule time');
    await file.flush();
    assert.equal(timers.pending, 0);
    assert.deepEqual(await poolFile().read(), sample());
    file.dispose();
    file.schedule({ keys: {} });
    assert.equal(timers.pending, 0, 'a disposed file schedules nothing');
  });

  it('reset() forgets everything at once', async () => {
    const file = poolFile();
    file.schedule(sample());
    await file.flush();
    file.schedule(sample());
    await file.reset();
    assert.equal(timers.pending, 0);
    assert.deepEqual(await poolFile().read(), { keys: {} });
  });

  it('a data function that throws costs a warning and no write', async () => {
    const file = poolFile();
    file.schedule(() => {
      throw new Error('snapshot failed');
    });
    await file.flush();
    assert.equal(existsSync(file.path), false);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0], /snapshot failed/);
  });

  it('never writes a key in clear, whatever the pool hands it', async () => {
    const secret = 'sk-Zq8vTn3LkP0wXy7Rb2Mc5Hd9';
    const file = poolFile();
    file.schedule({
      keys: {
        [secret]: { manuallyDisabled: true }, // a key where a hash belongs: dropped
        [hashA]: {
          state: 'disabled',
          reason: `HTTP 401 for ${secret}`,
          exclusions: [
            { model: secret, reason: 'x' },
            { model: 'gpt-4o', reason: `refused ${secret}` },
            { model: 'gpt-4o-mini', reason: 'no channel' },
          ],
          stats: { requests: 1, successes: 0, failures: 1, lastError: `Bearer ${secret}` },
        },
      },
    });
    await file.flush();
    const bytes = readFileSync(file.path, 'utf8');
    assert.doesNotMatch(bytes, /sk-[A-Za-z0-9]{8,}/);
    assert.ok(!bytes.includes(secret.slice(3)));
    assert.deepEqual(JSON.parse(bytes).data, {
      keys: {
        [hashA]: {
          state: 'disabled',
          exclusions: [{ model: 'gpt-4o-mini', reason: 'no channel' }],
          stats: { requests: 1, successes: 0, failures: 1 },
        },
      },
    });
  });

  it('masks anything key-like in a usage file too, with one warning', async () => {
    const secret = 'sk-Zq8vTn3LkP0wXy7Rb2Mc5Hd9';
    const file = new UsageFile(join(dir, 'usage-test.json'), { timers, logger, now: clock });
    assert.equal(await file.read(), null, 'empty usage is null');
    file.schedule(usageData({ ...recentRow(secret), error: 'task-abcdefghijkl is not a key' }));
    await file.flush();
    file.schedule(usageData(recentRow(secret)));
    await file.flush();
    const bytes = readFileSync(file.path, 'utf8');
    assert.doesNotMatch(bytes, /sk-[A-Za-z0-9]{8,}/);
    assert.equal(logger.warnings.length, 1);
    assert.doesNotMatch(logger.warnings[0], /sk-[A-Za-z0-9]{8,}/);
    const again = new UsageFile(join(dir, 'usage-test.json'), { timers, logger, now: clock });
    assert.deepEqual(await again.read(), usageData(recentRow('sk-Zq8v…5Hd9')));
  });

  it('checks what it reads: entries and fields not of the shape are dropped, key-like text stripped', async () => {
    const secret = 'sk-Zq8vTn3LkP0wXy7Rb2Mc5Hd9';
    writeFileSync(
      join(dir, 'pool-test.json'),
      JSON.stringify({
        version: 1,
        savedAt: 'x',
        data: {
          keys: {
            [hashA]: { manuallyDisabled: 'yes', state: 'melted', disabledBy: 'revoked', reason: secret, since: -5, coolingUntil: 'soon', stats: { requests: 1.5 } },
            [hashB]: 'not an object',
            [secret]: { manuallyDisabled: true },
            ['__proto__']: { manuallyDisabled: true },
            ['c'.repeat(24)]: { exclusions: [null, { model: 'gpt-4o' }, { model: 'gpt-4o', reason: 'r', until: 'x' }], stats: { requests: 2, successes: 1, failures: 1, lastError: secret } },
          },
        },
      }),
    );
    assert.deepEqual(await poolFile().read(), {
      keys: {
        [hashA]: { disabledBy: 'revoked' },
        ['c'.repeat(24)]: { exclusions: [{ model: 'gpt-4o', reason: 'r' }], stats: { requests: 2, successes: 1, failures: 1 } },
      },
    });
    assert.deepEqual(logger.warnings, [], 'a partly damaged entry is not a damaged file');
  });

  it('a usage file of another version or shape is set aside when read, as the pool file is', async () => {
    const path = join(dir, 'usage-test.json');
    writeFileSync(path, JSON.stringify({ version: 1, savedAt: 'x', data: { version: 2, hours: [] } }));
    const file = new UsageFile(path, { timers, logger, now: clock });
    assert.equal(await file.read(), null);
    assert.equal(existsSync(path), false);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('usage-test.corrupt-')).length, 1);
    assert.equal(logger.warnings.length, 1);
  });

  it('readUsageFileSync (the CLI\'s read) decodes the file and never moves it; it says in words why a file cannot be used', () => {
    const path = join(dir, 'usage-test.json');
    const write = (data: unknown, version = 1) => writeFileSync(path, JSON.stringify({ version, savedAt: 'x', data }));
    write({ ...usageData(recentRow('sk-Zq8vTn3LkP0wXy7Rb2Mc5Hd9')), hours: [[t0, 'k', 'm', 1, 0, 0, 0, 0, 0, 0], 'junk'] });
    const got = readUsageFileSync(path);
    assert.equal(got?.recent[0].key, 'sk-Zq8v…5Hd9', 'a key in clear is masked on the way in');
    assert.equal(got?.hours.length, 1, 'the damaged row is dropped');
    write(null);
    assert.equal(readUsageFileSync(path), null);
    write({ version: 2 });
    assert.throws(() => readUsageFileSync(path), /The usage history has version 2; this version reads version 1\./);
    write(usageData(), 7);
    assert.throws(() => readUsageFileSync(path), /version 7/);
    write([1, 2]);
    assert.throws(() => readUsageFileSync(path), /not in a form this version understands/);
    writeFileSync(path, '{"version": 1, "data": ');
    assert.throws(() => readUsageFileSync(path), /not in a form this version understands/);
    assert.ok(existsSync(path), 'the file stays where serve keeps it');
    assert.deepEqual(readdirSync(dir), ['usage-test.json']);
  });

  it('names the set-aside file so that Windows accepts it', () => {
    const name = corruptFileName(join('state', 'pool-account-abc.json'), t0);
    assert.equal(name, join('state', 'pool-account-abc.corrupt-2026-12-01T06-00-00.000Z.json'));
    assert.ok(!/[:<>"|?*]/.test(name.split(/[\\/]/).pop()!));
  });

  it('openStateFiles gives the pool and usage files of one identity in the folder', async () => {
    const files = openStateFiles(dir, { kind: 'account', email: 'User@Example.com' }, { timers, logger, now: clock });
    assert.match(files.names.pool, /^pool-account-[0-9a-f]{24}\.json$/);
    assert.equal(files.pool.path, join(dir, files.names.pool));
    assert.equal(files.usage.path, join(dir, files.names.usage));
    await files.pool.read();
    await files.usage.read();
    files.pool.schedule(sample());
    files.usage.schedule(usageData());
    await files.flush();
    files.dispose();
    assert.deepEqual(readdirSync(dir).sort(), [files.names.pool, files.names.usage].sort());
    assert.ok(!readdirSync(dir).join(' ').toLowerCase().includes('example'), 'no e-mail in the names');
  });

  it('a generic JsonStateFile uses its own validator and version', async () => {
    const path = join(dir, 'thing.json');
    const make = () =>
      new JsonStateFile<number[]>({
        path,
        version: 3,
        empty: () => [],
        validate: (d) => (Array.isArray(d) && d.every((x) => typeof x === 'number') ? d : undefined),
        timers,
        logger,
        now: clock,
      });
    const file = make();
    file.schedule([1, 2, 3]);
    await file.flush();
    assert.deepEqual(await make().read(), [1, 2, 3]);
    writeFileSync(path, JSON.stringify({ version: 3, savedAt: 'x', data: ['a'] }));
    assert.deepEqual(await make().read(), []);
    assert.equal(logger.warnings.length, 1);
  });
});

describe('state: the pool state keeps every field the pool exports', () => {
  it('keeps why a key is exhausted (by a refused request or by its balance)', () => {
    const h = keyHash('sk-exhaustedkey0000000000000001');
    const kept = sanitizePoolState({ keys: { [h]: { state: 'exhausted', exhaustedBy: 'request', reason: 'balance used up (HTTP 402)' } } });
    assert.equal(kept?.keys[h].exhaustedBy, 'request');
    const bad = sanitizePoolState({ keys: { [h]: { state: 'exhausted', exhaustedBy: 'nonsense' } } });
    assert.equal(bad?.keys[h].exhaustedBy, undefined);
  });
});

describe('state: one set of rules for every saved file', () => {
  it('a time is after 1970 in both the pool state and the usage history (0 was kept by one and dropped by the other)', () => {
    const h = keyHash('sk-timekey00000000000000000001');
    const pool = (since: number) => sanitizePoolState({ keys: { [h]: { state: 'disabled', since } } })?.keys[h].since;
    const usage = (at: number) => decodeUsageHistory(usageData({ ...recentRow('k'), at }))?.recent.length;
    assert.equal(pool(0), undefined);
    assert.equal(usage(0), 0);
    assert.equal(pool(-1), undefined);
    assert.equal(usage(-1), 0);
    assert.equal(pool(t0), t0);
    assert.equal(usage(t0), 1);
  });

  it('the pool decoder reads an old file\'s exhausted-by-balance from its reason, so importState need not guess', () => {
    const h = keyHash('sk-oldfile00000000000000000001');
    assert.equal(sanitizePoolState({ keys: { [h]: { state: 'exhausted', reason: 'no balance left' } } })?.keys[h].exhaustedBy, 'balance');
    assert.equal(sanitizePoolState({ keys: { [h]: { state: 'exhausted', reason: 'HTTP 402' } } })?.keys[h].exhaustedBy, undefined);
  });
});
