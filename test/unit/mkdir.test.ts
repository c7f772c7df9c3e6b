import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDir } from '../../src/core/util/mkdir';
import { nodeStateFs } from '../../src/core/state/jsonStateFile';

describe('util: makeDir (a folder and its parents, without Node\'s recursive loop)', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'daidai-mkdir-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('makes missing parents, mode 0700, and accepts a folder that exists', async () => {
    const dir = join(root, 'a', 'b', 'c');
    await makeDir(dir);
    assert.ok(statSync(dir).isDirectory());
    if (process.platform !== 'win32') assert.equal(statSync(join(root, 'a')).mode & 0o777, 0o700);
    await makeDir(dir);
  });

  it('fails on a file in the way', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await assert.rejects(makeDir(join(root, 'file', 'sub')), (err: NodeJS.ErrnoException) => err.code === 'ENOTDIR');
  });

  it('fails at once under /proc, where fs.mkdir({ recursive }) loops for ever (the state store uses it)', async function () {
    if (process.platform !== 'linux') this.skip();
    const outcome = await Promise.race([
      nodeStateFs.mkdir('/proc/daidai-test/state').then(
        () => 'made',
        (err: NodeJS.ErrnoException) => err.code,
      ),
      new Promise((r) => setTimeout(() => r('still spinning'), 3000)),
    ]);
    assert.equal(outcome, 'ENOENT');
  });
});
