import * as assert from 'node:assert/strict';
import { closestModels, editDistance } from '../../src/core/gateway/modelSuggestions';

// The ids a 404 for an unknown model names first: the pool gives the ids its keys serve, this ranks them.

const CLAUDE = '[官Max]claude-sonnet-4-5-20250929';
const SERVED = [CLAUDE, '[官Max]claude-opus-4-1', 'claude-haiku-4-5', 'gpt-4o', 'gpt-4.1', 'text-embedding-3-small', 'o3', 'gpt-5', 'dall-e-3'];

describe('gateway: closestModels', () => {
  it('an id containing the asked one comes first, the channel tag and case ignored', () => {
    assert.equal(closestModels('claude-sonnet-4-5', SERVED)[0], CLAUDE);
    assert.equal(closestModels('CLAUDE-SONNET-4-5', SERVED)[0], CLAUDE);
    assert.equal(closestModels('gpt-4o-mini', SERVED)[0], 'gpt-4o');
  });

  it('then the same family, before an id that is merely short', () => {
    const got = closestModels('claude-nope-9', SERVED);
    assert.deepEqual(got.slice(0, 3).map((id) => id.includes('claude')), [true, true, true], got.join(', '));
    assert.equal(closestModels('gemini-9', SERVED).includes('o3'), true, 'no family: by edit distance alone');
  });

  it('at most five (or max), each once, never the asked id itself, ties by id', () => {
    const got = closestModels('gpt-4o-mini', [...SERVED, 'gpt-4o', 'gpt-4o-mini']);
    assert.equal(got.length, 5);
    assert.equal(new Set(got).size, got.length);
    assert.ok(!got.includes('gpt-4o-mini'));
    assert.deepEqual(closestModels('x', ['b', 'a', 'c'], 2), ['a', 'b']);
    assert.deepEqual(closestModels('x', []), []);
  });

  it('edit distance', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('abc', 'abc'), 0);
  });
});
