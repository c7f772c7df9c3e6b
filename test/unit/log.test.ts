import * as assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sinon from 'sinon';
import { batchedWriter, consoleLogger } from '../../src/core/util/log';

describe('CLI logging', () => {
  let clock: sinon.SinonFakeTimers;
  let file: string;
  let fd: number;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
    file = join(mkdtempSync(join(tmpdir(), 'daidai-log-')), 'err.log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    clock.restore();
    closeSync(fd);
  });

  it('batches info lines and writes them together after the flush interval', () => {
    const w = batchedWriter(fd, 100);
    const log = consoleLogger('info', w.write);
    log.info('first');
    log.info('second');
    log.debug('not at this level');
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written on the hot path');
    clock.tick(100);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /\[info\] first$/);
    assert.match(lines[1], /\[info\] second$/);
  });

  it('writes warnings and errors at once, with what came before them, in order', () => {
    const w = batchedWriter(fd, 100);
    const log = consoleLogger('info', w.write);
    log.info('before');
    log.warn('careful');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.deepEqual(lines.map((l) => l.replace(/^\S+ /, '')), ['[info] before', '[warn] careful']);
  });

  it('flush() empties the buffer (used at exit)', () => {
    const w = batchedWriter(fd, 10_000);
    w.write('pending line');
    w.flush();
    assert.equal(readFileSync(file, 'utf8'), 'pending line\n');
  });
});

describe('CLI logging: lazy lines and a reader that does not read', () => {
  let clock: sinon.SinonFakeTimers;
  let file: string;
  let fd: number;
  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: Date.UTC(2026, 0, 2, 3, 4, 5, 6) });
    file = join(mkdtempSync(join(tmpdir(), 'daidai-log-')), 'err.log');
    fd = openSync(file, 'w');
  });
  afterEach(() => {
    clock.restore();
    closeSync(fd);
  });

  it('builds a deferred line only when the batch is written, stamped with the time it was logged', () => {
    const w = batchedWriter(fd, 100);
    const log = consoleLogger('info', w);
    let formatted = 0;
    const format = (r: { path: string; status: number }) => {
      formatted++;
      return `${r.path} → ${r.status}`;
    };
    log.lazy('info', { path: '/v1/chat/completions', status: 200 }, format);
    log.lazy('debug', { path: '/v1/hidden', status: 200 }, format);
    assert.equal(formatted, 0, 'nothing formatted on the request path');
    clock.tick(50);
    log.lazy('info', { path: '/v1/messages', status: 429 }, format);
    clock.tick(50);
    assert.equal(formatted, 2, 'the debug line is never formatted at info');
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), [
      '2026-01-02T03:04:05.006Z [info] /v1/chat/completions → 200',
      '2026-01-02T03:04:05.056Z [info] /v1/messages → 429',
    ]);
  });

  it('stamps plain info lines when they are logged, and builds the stamp once per millisecond', () => {
    const w = batchedWriter(fd, 100);
    const log = consoleLogger('info', w);
    log.info('a');
    log.info('b', { n: 1 });
    clock.tick(50);
    log.info('c');
    clock.tick(50);
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), [
      '2026-01-02T03:04:05.006Z [info] a',
      '2026-01-02T03:04:05.006Z [info] b {"n":1}',
      '2026-01-02T03:04:05.056Z [info] c',
    ]);
  });

  it('writes a full batch at once without waiting for the timer', () => {
    const w = batchedWriter(fd, { flushMs: 10_000, batchLines: 3 });
    const log = consoleLogger('info', w);
    for (let i = 0; i < 7; i++) log.lazy('info', i, (n) => `line ${n}`);
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 6);
    w.flush();
    assert.match(readFileSync(file, 'utf8').trim().split('\n')[6], /\[info\] line 6$/);
  });

  it('enabled() says which levels are shown', () => {
    const log = consoleLogger('warn', batchedWriter(fd, 100));
    assert.deepEqual((['trace', 'debug', 'info', 'warn', 'error'] as const).map((l) => log.enabled(l)), [false, false, false, true, true]);
  });

  it('a formatter that throws costs its line, not the batch', () => {
    const w = batchedWriter(fd, 100);
    const log = consoleLogger('info', w);
    log.lazy('info', 1, () => {
      throw new Error('bad record');
    });
    log.info('still here');
    w.flush();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /could not be formatted: bad record/);
    assert.match(lines[1], /still here$/);
  });
});

describe('CLI logging: a stuck stderr pipe', function () {
  // A child process logs through the real writer to a stderr pipe that this process does not
  // read. A blocking write would stall the child forever (the test then times out); the writer
  // must keep the child's event loop running, hold a bounded backlog, drop and count the rest,
  // and report the count once the pipe is read again.
  it('never stalls the process, drops with a count, and reports the count when read again', async () => {
    const logModule = join(__dirname, '..', '..', 'src', 'core', 'util', 'log.js');
    const child = `
      const { batchedWriter, consoleLogger } = require(${JSON.stringify(logModule)});
      const w = batchedWriter(2, { flushMs: 5, maxBacklogBytes: 64 * 1024 });
      const log = consoleLogger('info', w);
      const pad = 'x'.repeat(200);
      let turns = 0;
      const burst = () => {
        for (let i = 0; i < 500; i++) log.lazy('info', i, (n) => 'request ' + n + ' ' + pad);
        w.flush();
        if (++turns < 200) return setImmediate(burst);
        // 200 bursts of 100 KB (20 MB) against a pipe nobody reads: the loop still got here.
        process.stdout.write(JSON.stringify({ turns, dropped: w.dropped }) + '\\n');
        process.stdin.once('data', () => setTimeout(() => process.exit(0), 200));
      };
      burst();
    `;
    const cp = spawn(process.execPath, ['-e', child], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      cp.stderr!.pause();
      const report = await new Promise<{ turns: number; dropped: number }>((res, rej) => {
        let out = '';
        cp.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) res(JSON.parse(out));
        });
        cp.once('exit', (code) => rej(new Error(`child exited with ${code} before reporting`)));
      });
      assert.equal(report.turns, 200);
      assert.ok(report.dropped > 0, 'lines beyond the backlog are dropped, not buffered without bound');
      assert.ok(report.dropped < 100_000, 'the lines that fitted were kept');
      let err = '';
      cp.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      cp.stderr!.resume();
      const exited = new Promise<number | null>((res) => cp.once('exit', (code) => res(code)));
      cp.stdin!.write('go\n');
      assert.equal(await exited, 0);
      const notice = /\[warn\] (\d+) log line\(s\) dropped/.exec(err);
      assert.ok(notice, 'the drop count is written once the reader reads again');
      assert.equal(Number(notice[1]), report.dropped);
      const kept = err.split('\n').filter((l) => l.includes('[info] request ')).length;
      assert.equal(kept + report.dropped, 200 * 500, 'every line is either written or counted as dropped');
    } finally {
      cp.kill('SIGKILL');
    }
  });
});
