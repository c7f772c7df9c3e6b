// The state store (issue 11, and the usage history's storage for issue 14).
import { join } from 'node:path';
import { stateFileNames, type StateFileNames, type StateIdentity } from './paths';
import { PoolStateFile, UsageFile, type StateFileDeps } from './poolState';

export { JsonStateFile, corruptFileName, nodeStateFs, type JsonStateFileOptions, type StateEnvelope, type StateFs, type StateTimers } from './jsonStateFile';
export { defaultStateDir, stateFileNames, type StateFileNames, type StateIdentity } from './paths';
export { PoolStateFile, UsageFile, poolStateVersion, sanitizePoolState, usageFileVersion, type PoolKeyState, type PoolStateData, type StateFileDeps } from './poolState';
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
