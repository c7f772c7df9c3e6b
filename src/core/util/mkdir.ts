// A folder and its parents, made one level at a time. Node's `mkdir(…, { recursive: true })`
// loops for ever where a parent exists but cannot hold folders (under /proc it spun the CLI at
// 70 % CPU for minutes, issue 22): here each level is tried once, and the first that cannot be
// made is the error, with its code.
import { promises as fsp } from 'node:fs';
import { dirname, resolve } from 'node:path';

export async function makeDir(dir: string, mode = 0o700): Promise<void> {
  const target = resolve(dir);
  // Walk up to the nearest folder that exists, then make the missing ones on the way down.
  const missing: string[] = [];
  for (let at = target; ; ) {
    const kind = await fsp.stat(at).then(
      (s) => (s.isDirectory() ? 'dir' : 'file'),
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'none' : Promise.reject(err)),
    );
    if (kind === 'dir') break;
    if (kind === 'file') throw Object.assign(new Error(`${at} is not a folder`), { code: 'ENOTDIR', path: at });
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const at of missing.reverse()) {
    try {
      await fsp.mkdir(at, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await fsp.stat(at).then((s) => s.isDirectory(), () => false))) continue;
      throw err;
    }
  }
}
