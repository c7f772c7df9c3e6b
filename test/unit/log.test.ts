import * as assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
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
