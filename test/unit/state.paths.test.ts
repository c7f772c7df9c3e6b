import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { defaultStateDir, stateFileNames } from '../../src/core/state';
import { emailHash, keyHash } from '../../src/core/util/hash';

describe('state: hashes, folders and file names', () => {
  it('keyHash is the first 24 hex chars of sha256, emailHash the same of the trimmed lower-cased e-mail', () => {
    const key = 'sk-Zq8vTn3LkP0wXy7Rb2Mc5Hd9';
    assert.equal(keyHash(key), createHash('sha256').update(key).digest('hex').slice(0, 24));
    assert.equal(keyHash('abc'), 'ba7816bf8f01cfea414140de');
    assert.notEqual(keyHash(key), keyHash(key + 'x'));
    assert.equal(emailHash('  User@Example.COM '), emailHash('user@example.com'));
    assert.equal(emailHash('user@example.com'), createHash('sha256').update('user@example.com').digest('hex').slice(0, 24));
    assert.notEqual(emailHash('user@example.com'), emailHash('other@example.com'));
  });

  describe('defaultStateDir', () => {
    it('uses $XDG_STATE_HOME when it is set and absolute', () => {
      assert.equal(defaultStateDir({ XDG_STATE_HOME: '/srv/state', HOME: '/home/u' }, 'linux', '/home/u'), '/srv/state/daidai-aggregator');
    });
    it('else ~/.local/state, from $HOME or the home folder (a relative XDG value is ignored, as the spec says)', () => {
      assert.equal(defaultStateDir({ HOME: '/home/u' }, 'linux', '/nowhere'), '/home/u/.local/state/daidai-aggregator');
      assert.equal(defaultStateDir({ XDG_STATE_HOME: 'rel/state', HOME: '/home/u' }, 'linux', '/nowhere'), '/home/u/.local/state/daidai-aggregator');
      assert.equal(defaultStateDir({ XDG_STATE_HOME: '' }, 'darwin', '/Users/u'), '/Users/u/.local/state/daidai-aggregator');
    });
    it('on Windows, %LOCALAPPDATA%\\daidai-aggregator\\state (else under the profile)', () => {
      assert.equal(
        defaultStateDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local', XDG_STATE_HOME: '/ignored' }, 'win32', 'C:\\Users\\u'),
        'C:\\Users\\u\\AppData\\Local\\daidai-aggregator\\state',
      );
      assert.equal(defaultStateDir({}, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\daidai-aggregator\\state');
    });
  });

  describe('stateFileNames', () => {
    it('one pair of files per account, the same however the e-mail is typed, with no e-mail in the names', () => {
      const a = stateFileNames({ kind: 'account', email: 'User@Example.com' });
      assert.deepEqual(a, stateFileNames({ kind: 'account', email: ' user@example.com' }));
      assert.equal(a.id, `account-${emailHash('user@example.com')}`);
      assert.equal(a.pool, `pool-${a.id}.json`);
      assert.equal(a.usage, `usage-${a.id}.json`);
      assert.notEqual(a.pool, stateFileNames({ kind: 'account', email: 'other@example.com' }).pool);
      assert.ok(!JSON.stringify(a).toLowerCase().includes('example'));
    });
    it('per keys file: by its resolved path', () => {
      const rel = stateFileNames({ kind: 'keys-file', path: 'keys.txt' });
      assert.deepEqual(rel, stateFileNames({ kind: 'keys-file', path: resolve('keys.txt') }));
      assert.notEqual(rel.pool, stateFileNames({ kind: 'keys-file', path: 'other.txt' }).pool);
      assert.match(rel.pool, /^pool-keysfile-[0-9a-f]{24}\.json$/);
    });
    it('DAIDAI_KEYS: one history whatever keys it holds (kept per key inside), so adding a key starts nothing over', () => {
      const names = stateFileNames({ kind: 'keys' });
      assert.deepEqual(names, { id: 'keys', pool: 'pool-keys.json', usage: 'usage-keys.json' });
      assert.notEqual(names.id, stateFileNames({ kind: 'account', email: 'x@y.z' }).id);
    });
  });
});
