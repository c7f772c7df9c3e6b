// Source maps left in dist/ by a development build describe code that a production build
// (`npm run package`, `npm pack`) has replaced: stale, and misleading in a stack trace. The
// production build removes them; the development build writes fresh ones.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Removes every `*.map` directly under `dir` (a missing folder is fine); returns the names removed. */
export function removeSourceMaps(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const maps = names.filter((n) => n.endsWith('.map'));
  for (const n of maps) rmSync(join(dir, n), { force: true });
  return maps;
}
