// The state store (issue 11, and the usage history's storage for issue 14): every file the
// product saves, and the only code that decodes them (decode.ts holds the rules they share).
import { join } from 'node:path';
import { stateFileNames, type StateFileNames, type StateIdentity } from './paths';
import { PoolStateFile, type StateFileDeps } from './poolState';
import { UsageFile } from './usageState';

export { JsonStateFile, corruptFileName, nodeStateFs, parseEnvelope, type JsonStateFileOptions, type StateEnvelope, type StateFs, type StateTimers } from './jsonStateFile';
export { defaultStateDir, stateFileNames, type StateFileNames, type StateIdentity } from './paths';
export { PoolStateFile, poolStateVersion, sanitizePoolState, type PoolKeyState, type PoolStateData, type StateFileDeps } from './poolState';
export { UsageFile, decodeUsageHistory, readUsageFileSync, usageFileVersion, type UsageDecodeReport } from './usageState';
export { looksLikeKey } from './secrets';

export interface StateFiles {
  names: StateFileNames;
  pool: PoolStateFile;
  usage: UsageFile;
  /** Writes both files' pending data (stop, deactivate). */
  flush(): Promise<void>;
  dispose(): void;
}

/** The two files of one account (or keys file) in `dir`. Nothing is read until read() is called. */
export function openStateFiles(dir: string, identity: StateIdentity, deps: StateFileDeps = {}): StateFiles {
  const names = stateFileNames(identity);
  const pool = new PoolStateFile(join(dir, names.pool), deps);
  const usage = new UsageFile(join(dir, names.usage), deps);
  return {
    names,
    pool,
    usage,
    flush: async () => {
      await Promise.all([pool.flush(), usage.flush()]);
    },
    dispose: () => {
      pool.dispose();
      usage.dispose();
    },
  };
}
