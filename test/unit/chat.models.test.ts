// What VS Code's model picker shows of the account's models (src/core/present/chatModels.ts),
// and the token estimate (src/core/chat/tokens.ts) against the fake gateway's counts.
import * as assert from 'node:assert/strict';
import { estimateMessageTokens, estimateTextTokens } from '../../src/core/chat/tokens';
import { DEMO_PACKAGE_MODELS, DEMO_PACKAGE_PRICING, demoKey } from '../../src/core/demo/fixtures';
import { approxTokens } from '../../src/core/demo/replies';
import { parsePrice } from '../../src/core/platform/parse';
import type { ModelPrice } from '../../src/core/platform/types';
import { KeyPool } from '../../src/core/pool/keyPool';
import { chatModelInfos, familyAndVersion, familyLimits, isChatModel, UNKNOWN_FAMILY, wireFor } from '../../src/core/present/chatModels';
import { maskKey } from '../../src/core/util/mask';

function poolWith(keys: Array<{ key: string; name: string; models: string[] }>) {
  const pool = new KeyPool({ failureThreshold: 3 });
  pool.setKeys(keys.map((k) => ({ key: k.key, name: k.name, balance: 10 })));
  for (const [i, lease] of pool.leases().entries()) pool.setModels(lease.id, keys[i].models);
  return pool;
}

describe('chat models: the picker entries', () => {
  const claudeKey = demoKey('chat-models-a');
  const gptKey = demoKey('chat-models-b');
  const pool = poolWith([
    { key: claudeKey, name: 'Claude 包月', models: ['[官Max]claude-sonnet-4-5-20250929', 'claude-3-5-haiku-20241022'] },
    { key: gptKey, name: 'GPT', models: ['gpt-4o', 'text-embedding-3-small', 'gpt-4o-image', 'mystery-model'] },
  ]);
  const infos = chatModelInfos({
    models: [...DEMO_PACKAGE_MODELS, 'mystery-model'].filter((m) => pool.snapshot().keys.some((k) => k.models?.includes(m))).map((id) => ({ id })),
    pool: pool.snapshot(),
    prices: DEMO_PACKAGE_PRICING.map(parsePrice).filter((p): p is ModelPrice => p !== undefined),
    availability: [{ modelName: '[官Max]claude-sonnet-4-5-20250929', availability: 98.5 }],
    now: Date.now(),
  });
  const byId = new Map(infos.map((i) => [i.id, i]));

  it('lists the chat models and leaves embeddings and image models out', () => {
    assert.deepEqual([...byId.keys()].sort(), ['[官Max]claude-sonnet-4-5-20250929', 'claude-3-5-haiku-20241022', 'gpt-4o', 'mystery-model'].sort());
  });

  it('names a model by its gateway id, with family and version for selectors', () => {
    const sonnet = byId.get('[官Max]claude-sonnet-4-5-20250929')!;
    assert.equal(sonnet.name, '[官Max]claude-sonnet-4-5-20250929');
    assert.equal(sonnet.family, 'claude-sonnet-4-5');
    assert.equal(sonnet.version, '20250929');
    assert.equal(sonnet.isUserSelectable, true);
    assert.equal(sonnet.wire, 'anthropic');
    assert.equal(byId.get('gpt-4o')!.wire, 'openai');
  });

  it('gives known families their limits and capabilities, unknown models conservative ones', () => {
    const sonnet = byId.get('[官Max]claude-sonnet-4-5-20250929')!;
    assert.deepEqual([sonnet.maxInputTokens, sonnet.maxOutputTokens, sonnet.capabilities], [200_000, 64_000, { toolCalling: true, imageInput: true }]);
    assert.deepEqual(byId.get('gpt-4o')!.capabilities, { toolCalling: true, imageInput: true });
    assert.equal(byId.get('claude-3-5-haiku-20241022')!.maxOutputTokens, 8_192);
    const mystery = byId.get('mystery-model')!;
    assert.deepEqual([mystery.maxInputTokens, mystery.maxOutputTokens, mystery.capabilities], [UNKNOWN_FAMILY.maxInputTokens, UNKNOWN_FAMILY.maxOutputTokens, { toolCalling: false, imageInput: false }]);
  });

  it('shows the price, availability, limits and the serving keys masked in the tooltip, never a key', () => {
    const tip = byId.get('[官Max]claude-sonnet-4-5-20250929')!.tooltip;
    assert.match(tip, /Price: ¥12\.00 in \/ ¥60\.00 out per M tokens/);
    assert.match(tip, /Availability: 98\.5%/);
    assert.match(tip, /Context: 200,000 tokens in, 64,000 out; tools, images/);
    assert.ok(tip.includes(`${maskKey(claudeKey)} (Claude 包月)`), tip);
    assert.ok(!tip.includes(maskKey(gptKey)), 'a key that does not serve the model is not named');
    const all = JSON.stringify(infos);
    for (const k of [claudeKey, gptKey]) assert.ok(!all.includes(k), 'no key in clear anywhere');
  });

  it('is empty while no model list is known', () => {
    assert.deepEqual(chatModelInfos({ prices: [], availability: [], now: 0 }), []);
  });
});

describe('chat models: the family table', () => {
  const cases: Array<[string, { family: string; version: string }, number, boolean]> = [
    ['claude-opus-4-1-20250805', { family: 'claude-opus-4-1', version: '20250805' }, 32_000, true],
    ['[官Max]claude-opus-4-5', { family: 'claude-opus-4-5', version: 'claude-opus-4-5' }, 64_000, true],
    ['gpt-4.1-mini', { family: 'gpt-4.1-mini', version: 'gpt-4.1-mini' }, 32_768, true],
    ['gemini-2.5-flash', { family: 'gemini-2.5-flash', version: 'gemini-2.5-flash' }, 65_536, true],
    ['gpt-4o-2024-11-20', { family: 'gpt-4o', version: '2024-11-20' }, 16_384, true],
    ['deepseek-reasoner', { family: 'deepseek-reasoner', version: 'deepseek-reasoner' }, 32_768, false],
  ];
  for (const [id, fv, out, tools] of cases) {
    it(`${id}: ${fv.family} ${fv.version}, ${out} out, tools ${tools}`, () => {
      assert.deepEqual(familyAndVersion(id), fv);
      assert.equal(familyLimits(id).maxOutputTokens, out);
      assert.equal(familyLimits(id).tools, tools);
    });
  }
  it('tells chat models from the rest', () => {
    for (const id of ['text-embedding-3-large', 'gpt-4o-image', 'dall-e-3', 'whisper-1', 'tts-1', 'gpt-image-1', 'rerank-v1']) assert.equal(isChatModel(id), false, id);
    for (const id of ['gpt-4o', '[官Max]claude-sonnet-4-5', 'gemini-2.5-pro', 'qwen3-coder-plus']) assert.equal(isChatModel(id), true, id);
    assert.equal(wireFor('[官Max]Claude-x'), 'anthropic');
  });
});

describe('chat tokens: the cheap estimate', () => {
  it('counts ASCII at four characters a token, like the fake gateway', () => {
    const text = 'function add(a, b) { return a + b; } // '.repeat(50);
    assert.equal(estimateTextTokens(text), approxTokens(text));
  });

  it('counts each Chinese character as a token (the fake counts 3 UTF-8 bytes / 4: lower)', () => {
    const text = '呆呆鸟的密钥池'.repeat(20);
    assert.equal(estimateTextTokens(text), 140);
    const fake = approxTokens(text);
    assert.equal(fake, 105);
    assert.ok(estimateTextTokens(text) / fake <= 1.34, 'within a third of the fake, and on the high side');
  });

  it('counts an emoji (two UTF-16 units) once', () => {
    assert.equal(estimateTextTokens('🙂🙂'), 2);
  });

  it('adds a message overhead and counts tool calls, results and images', () => {
    const n = estimateMessageTokens({
      role: 'user',
      content: [
        { kind: 'text', text: 'abcd' },
        { kind: 'toolResult', callId: 'c', content: [{ kind: 'text', text: 'abcdabcd' }] },
        { kind: 'data', mimeType: 'image/png', data: new Uint8Array(100) },
        { kind: 'data', mimeType: 'cache_control', data: new Uint8Array(9) },
      ],
    });
    assert.equal(n, 4 + 1 + (4 + 2) + 1600);
  });
});
