import * as assert from 'node:assert/strict';
import { parseKeys } from '../../src/core/keysFile';

describe('parseKeys (DAIDAI_KEYS / --keys-file)', () => {
  it('reads one key per line, skipping blanks and comments, keeping names', () => {
    const keys = parseKeys('# my keys\nsk-aaaaaaaaaaaaaaaa main\n\nwork=sk-bbbbbbbbbbbbbbbb\nsk-cccccccccccccccc # old\n');
    assert.deepEqual(keys, [
      { key: 'sk-aaaaaaaaaaaaaaaa', name: 'main' },
      { key: 'sk-bbbbbbbbbbbbbbbb', name: 'work' },
      { key: 'sk-cccccccccccccccc' },
    ]);
  });
  it('reads comma-separated keys and drops duplicates', () => {
    assert.deepEqual(parseKeys(' sk-a1111111, sk-b2222222 ,sk-a1111111,'), [{ key: 'sk-a1111111' }, { key: 'sk-b2222222' }]);
  });
  it('reads a JSON array of strings or objects', () => {
    assert.deepEqual(parseKeys('["sk-x1111111", {"key": "sk-y2222222", "name": "Y"}, 42]'), [
      { key: 'sk-x1111111' },
      { key: 'sk-y2222222', name: 'Y' },
    ]);
  });
  it('says clearly when JSON does not parse', () => {
    assert.throws(() => parseKeys('["sk-x1111111",'), /does not parse/);
  });
  it('returns nothing for empty input', () => {
    assert.deepEqual(parseKeys('  \n '), []);
  });
});
