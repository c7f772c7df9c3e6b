// Model resolution (src/core/routing/modelResolve.ts) as a table: exact, alias, prefix, family,
// thinking, none; never across families; the switch that turns the family step off.
import * as assert from 'node:assert/strict';
import { ModelResolver, parseAliasPairs, parseModelId, resolutionText, type Resolution } from '../../src/core/routing/modelResolve';

/** What a DaiDai account with a Claude Max package and a GPT package lists (the gateway's order). */
const SERVED = [
  '[官Max]claude-opus-4-6-20260205',
  '[官Max]claude-opus-4-6-20260205-thinking',
  '[官Max]claude-opus-4-1-20250805',
  '[官Max]claude-sonnet-4-6-20260217',
  '[官Max]claude-sonnet-4-5-20250929',
  'claude-sonnet-4-5-20250929',
  '[官Max]claude-haiku-4-5-20251001',
  'claude-3-5-haiku-20241022',
  'gpt-5',
  'gpt-5.1',
  'gpt-5-mini',
  'gpt-5.1-codex',
  'gpt-4o',
  'gpt-4o-mini',
  'gpt-4.1',
  'gemini-2.5-pro',
  'text-embedding-3-small',
];

type Row = [requested: string, kind: Resolution['kind'], served?: string];

const ROWS: Row[] = [
  // exact
  ['gpt-4o', 'exact', 'gpt-4o'],
  ['[官Max]claude-opus-4-6-20260205', 'exact', '[官Max]claude-opus-4-6-20260205'],
  // the same id under a [channel] prefix (and case)
  ['claude-opus-4-6-20260205', 'prefix', '[官Max]claude-opus-4-6-20260205'],
  ['claude-haiku-4-5-20251001', 'prefix', '[官Max]claude-haiku-4-5-20251001'],
  ['Claude-Sonnet-4-6-20260217', 'prefix', '[官Max]claude-sonnet-4-6-20260217'],
  ['claude-opus-4-6-20260205-thinking', 'prefix', '[官Max]claude-opus-4-6-20260205-thinking'],
  // a bare id listed once plain and once prefixed: the plain one is exact
  ['claude-sonnet-4-5-20250929', 'exact', 'claude-sonnet-4-5-20250929'],
  // family: Claude Code's own ids, newest first, never the -thinking variant unasked
  ['claude-opus-4-8', 'family', '[官Max]claude-opus-4-6-20260205'],
  ['claude-opus-4-8[1m]', 'family', '[官Max]claude-opus-4-6-20260205'],
  ['claude-sonnet-4-8', 'family', '[官Max]claude-sonnet-4-6-20260217'],
  ['claude-haiku-4-8', 'family', '[官Max]claude-haiku-4-5-20251001'],
  ['claude-3-opus-20240229', 'family', '[官Max]claude-opus-4-6-20260205'],
  // family: the same version first (a date-less id finds its dated release), not the newest
  ['claude-sonnet-4-5', 'family', '[官Max]claude-sonnet-4-5-20250929'],
  ['claude-opus-4-1', 'family', '[官Max]claude-opus-4-1-20250805'],
  ['claude-3-5-haiku-latest', 'family', 'claude-3-5-haiku-20241022'],
  // thinking only when asked, then the thinking variant first
  ['claude-opus-4-8-thinking', 'family', '[官Max]claude-opus-4-6-20260205-thinking'],
  // OpenAI: product lines by number; gpt-5 asks for the newest gpt-5.x, never gpt-5-mini or gpt-4.1
  ['gpt-5.2', 'family', 'gpt-5.1'],
  ['gpt-5-2025-08-07', 'family', 'gpt-5'],
  ['gpt-5-codex', 'family', 'gpt-5.1-codex'],
  ['gpt-5.3-codex', 'family', 'gpt-5.1-codex'],
  ['gpt-5.1-mini', 'family', 'gpt-5-mini'],
  ['gpt-4o-2024-08-06', 'family', 'gpt-4o'],
  ['gpt-4o-mini-2024-07-18', 'family', 'gpt-4o-mini'],
  ['gemini-3-pro', 'family', 'gemini-2.5-pro'],
  // none: no family of that name (never across families), or nothing like it
  ['gpt-4', 'family', 'gpt-4.1'],
  ['gpt-3.5-turbo', 'none'],
  ['gemini-2.5-flash', 'none'],
  ['claude-instant-1', 'none'],
  ['o3', 'none'],
  ['deepseek-chat', 'none'],
  ['', 'none'],
  ['x'.repeat(300), 'none'],
];

describe('routing: model resolution', () => {
  const resolver = new ModelResolver(SERVED);

  for (const [requested, kind, served] of ROWS) {
    it(`${requested.slice(0, 40) || '(empty)'} → ${kind}${served ? ` ${served}` : ''}`, () => {
      const r = resolver.resolve(requested);
      assert.equal(r.kind, kind);
      if (r.kind !== 'none') assert.equal(r.served, served);
      // a resolution never leaves the family it was asked in
      if (r.kind === 'family') assert.equal(parseModelId(r.served).family, parseModelId(requested).family);
    });
  }

  it('answers the same object from its cache, and stays bounded', () => {
    const a = resolver.resolve('claude-opus-4-8');
    assert.equal(resolver.resolve('claude-opus-4-8'), a);
    for (let i = 0; i < 2000; i++) resolver.resolve(`nonsense-${i}`);
    assert.ok((resolver as unknown as { cache: Map<string, unknown> }).cache.size <= 512);
  });

  it('user aliases come before the prefix and family steps, and find their target under a prefix', () => {
    const r = new ModelResolver(SERVED, {
      aliases: { 'claude-opus-4-8': 'claude-sonnet-4-6-20260217', 'gpt-5': 'gpt-4o', 'my-model': 'not-listed-anywhere' },
    });
    assert.deepEqual(r.resolve('claude-opus-4-8'), { kind: 'alias', requested: 'claude-opus-4-8', served: '[官Max]claude-sonnet-4-6-20260217' });
    // an exact id wins over an alias of the same name: the user's alias cannot hide a served model
    assert.equal(r.resolve('gpt-5').kind, 'exact');
    // an alias to something no list names is sent as written (the gateway decides)
    assert.deepEqual(r.resolve('my-model'), { kind: 'alias', requested: 'my-model', served: 'not-listed-anywhere' });
  });

  it('does no family step when familyFallback is off (prefix and aliases still apply)', () => {
    const r = new ModelResolver(SERVED, { familyFallback: false });
    assert.equal(r.resolve('claude-opus-4-8').kind, 'none');
    assert.equal(r.resolve('claude-opus-4-6-20260205').kind, 'prefix');
  });

  it('never offers a thinking variant to a plain request, even when it is the only one', () => {
    const r = new ModelResolver(['[官Max]claude-opus-4-6-20260205-thinking', 'claude-sonnet-4-5-20250929']);
    assert.equal(r.resolve('claude-opus-4-8').kind, 'none');
    assert.equal(r.resolve('claude-opus-4-8-thinking').kind, 'family');
  });

  it('parses ids: channel, family, version, date, thinking', () => {
    assert.deepEqual(parseModelId('[官Max]claude-opus-4-6-20260205-thinking'), {
      id: '[官Max]claude-opus-4-6-20260205-thinking',
      bare: 'claude-opus-4-6-20260205-thinking',
      channel: '[官Max]',
      family: 'claude-opus',
      version: [4, 6],
      date: 20260205,
      thinking: true,
    });
    assert.equal(parseModelId('claude-3-5-haiku-20241022').family, 'claude-haiku');
    assert.equal(parseModelId('gpt-4.1-mini').family, 'gpt-4-mini');
    assert.equal(parseModelId('gpt-4o').family, 'gpt-4o');
    assert.equal(parseModelId('【特价】gpt-5').channel, '【特价】');
  });

  it('reads --model-alias pairs and refuses a malformed one', () => {
    assert.deepEqual(parseAliasPairs(['claude-opus-4-8=[官Max]claude-opus-4-6-20260205', ' a = b ']), { aliases: { 'claude-opus-4-8': '[官Max]claude-opus-4-6-20260205', a: 'b' } });
    assert.equal(parseAliasPairs(['a=b', 'nothing']).bad, 'nothing');
    assert.equal(parseAliasPairs(['=x']).bad, '=x');
    assert.equal(parseAliasPairs(['x=']).bad, 'x=');
  });

  it('says what changed for the log line, and nothing for an exact id', () => {
    assert.equal(resolutionText(resolver.resolve('claude-opus-4-8')), 'claude-opus-4-8 → [官Max]claude-opus-4-6-20260205');
    assert.equal(resolutionText(resolver.resolve('gpt-4o')), undefined);
  });
});
