// Where the state files live, and what they are called. Names hold no secret: an account is
// named by the hash of its e-mail, a keys file by the hash of its path; DAIDAI_KEYS has one
// history of its own (`keys`), whatever keys it holds.
import { homedir } from 'node:os';
import { posix, resolve, win32 } from 'node:path';
import { emailHash, textHash } from '../util/hash';

const appFolder = 'daidai-aggregator';

/**
 * The CLI's default state folder (`--state-dir` overrides it; the extension uses its
 * globalStorageUri instead): `$XDG_STATE_HOME/daidai-aggregator`, else
 * `~/.local/state/daidai-aggregator`; on Windows `%LOCALAPPDATA%\daidai-aggregator\state`.
 */
export function defaultStateDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: NodeJS.Platform = process.platform,
  home: string = homedir(),
): string {
  if (platform === 'win32') {
    const local = env.LOCALAPPDATA?.trim() || win32.join(env.USERPROFILE?.trim() || home, 'AppData', 'Local');
    return win32.join(local, appFolder, 'state');
  }
  // The XDG spec says a relative value is invalid and to be ignored.
  const xdg = env.XDG_STATE_HOME?.trim();
  if (xdg && posix.isAbsolute(xdg)) return posix.join(xdg, appFolder);
  return posix.join(env.HOME?.trim() || home, '.local', 'state', appFolder);
}

/** Whose state it is. */
export type StateIdentity =
  | { kind: 'account'; email: string }
  /** --keys-file: the path as given; it is resolved here. */
  | { kind: 'keys-file'; path: string }
  /**
   * DAIDAI_KEYS: one history for whatever keys the variable holds. The pool's state is kept per
   * key hash and the usage per masked key, so adding or removing a key keeps what the others
   * learned and spent (a file per key set started over at every change).
   */
  | { kind: 'keys' };

export interface StateFileNames {
  /** Stable, secret-free id of the identity, e.g. `account-<emailHash>`. */
  id: string;
  /** The pool's state file name. */
  pool: string;
  /** The usage history's file name. */
  usage: string;
}

export function stateFileNames(identity: StateIdentity): StateFileNames {
  const id = identityId(identity);
  return { id, pool: `pool-${id}.json`, usage: `usage-${id}.json` };
}

function identityId(identity: StateIdentity): string {
  switch (identity.kind) {
    case 'account':
      return `account-${emailHash(identity.email)}`;
    case 'keys-file':
      return `keysfile-${textHash(resolve(identity.path))}`;
    case 'keys':
      return 'keys';
  }
}
