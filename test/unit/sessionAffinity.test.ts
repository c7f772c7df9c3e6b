// Session ids as each client sends them (src/core/routing/sessionId.ts) and the affinity table
// (src/core/routing/affinity.ts): its order of sources, its hash that survives a growing
// conversation, its bounds and its idle expiry.
import * as assert from 'node:assert/strict';
import { SessionAffinity } from '../../src/core/routing/affinity';
import { sessionIdOf } from '../../src/core/routing/sessionId';

const UUID = '6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f';
const OTHER = '11111111-2222-4333-8444-555555555555';

function body(o: unknown): Buffer {
  return Buffer.from(JSON.stringify(o));
}

/** Claude Code 2.1.197's body keys, in its order, with metadata.user_id as a JSON string. */
function claudeCodeBody(session: string, turns: { role: string; content: string }[]): Buffer {
  return body({
    model: 'claude-opus-4-8',
    messages: turns,
    system: [{ type: 'text', text: 'You are Claude Code.' }],
    tools: [{ name: 'Bash', input_schema: { type: 'object', properties: { user: { type: 'string' } } } }],
    metadata: { user_id: JSON.stringify({ device_id: 'a'.repeat(64), account_uuid: '', session_id: session }) },
    max_tokens: 32000,
    stream: true,
  });
}

describe('routing: session ids', () => {
  it('reads Claude Code\'s header first, then Codex\'s, then the body', () => {
    assert.deepEqual(sessionIdOf({ 'x-claude-code-session-id': UUID, 'session-id': OTHER }, undefined), { id: `claude-code:${UUID}`, source: 'claude-code' });
    assert.deepEqual(sessionIdOf({ 'session-id': UUID, 'thread-id': UUID }, body({ prompt_cache_key: OTHER })), { id: `codex:${UUID}`, source: 'codex' });
  });

  it('reads metadata.user_id\'s session_id (a JSON string) when the header is missing', () => {
    // Claude Code writes metadata after messages, system and tools
    assert.deepEqual(sessionIdOf({}, claudeCodeBody(UUID, [{ role: 'user', content: 'hi' }])), { id: `metadata:${UUID}`, source: 'metadata' });
    const before = body({ model: 'claude-opus-4-8', metadata: { user_id: JSON.stringify({ device_id: 'x', session_id: UUID }) }, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(sessionIdOf({}, before), { id: `metadata:${UUID}`, source: 'metadata' });
    const plain = body({ model: 'm', metadata: { user_id: 'user-42' }, messages: [{ role: 'user', content: 'hi' }] });
    assert.deepEqual(sessionIdOf({}, plain), { id: 'user:user-42', source: 'user' });
  });

  it('reads prompt_cache_key before user, before or after the history', () => {
    assert.equal(sessionIdOf({}, body({ model: 'gpt-5', input: [{ role: 'user', content: 'x' }], prompt_cache_key: UUID, user: 'u' }))?.id, `prompt-cache-key:${UUID}`);
    assert.equal(sessionIdOf({}, body({ model: 'gpt-5', prompt_cache_key: UUID, messages: [{ role: 'user', content: 'x' }] }))?.id, `prompt-cache-key:${UUID}`);
    assert.equal(sessionIdOf({}, body({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], user: 'alice' }))?.id, 'user:alice');
    // "user" as a role is not a user id
    assert.equal(sessionIdOf({}, body({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }))?.source, 'hash');
  });

  it('hashes the system prompt and the first user message: the same over a growing conversation', () => {
    const sys = { role: 'system', content: 'You are Seraphina, a guardian of the forest. '.repeat(200) };
    const turn1 = [sys, { role: 'user', content: 'Hello there' }];
    const turn2 = [...turn1, { role: 'assistant', content: 'Greetings, traveller.' }, { role: 'user', content: 'Who are you?' }];
    const turn3 = [...turn2, { role: 'assistant', content: 'x'.repeat(50_000) }, { role: 'user', content: 'Go on' }];
    const ids = [turn1, turn2, turn3].map((messages) => sessionIdOf({}, body({ messages, model: 'gpt-4o', stream: true, temperature: 1 }))!.id);
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[1], ids[2]);
    assert.match(ids[0]!, /^hash:[\w-]{22}$/);
    // another conversation (another first message, or another character) is another session
    const other = sessionIdOf({}, body({ messages: [sys, { role: 'user', content: 'Good evening' }], model: 'gpt-4o' }))!.id;
    const otherChar = sessionIdOf({}, body({ messages: [{ role: 'system', content: 'You are Aqua.' }, { role: 'user', content: 'Hello there' }], model: 'gpt-4o' }))!.id;
    assert.notEqual(other, ids[0]);
    assert.notEqual(otherChar, ids[0]);
  });

  it('hashes an Anthropic system before the messages, and a Responses input (array or string)', () => {
    const a1 = sessionIdOf({}, body({ model: 'claude-sonnet-4-5', system: 'Be brief.', messages: [{ role: 'user', content: 'hi' }] }))!;
    const a2 = sessionIdOf({}, body({ model: 'claude-sonnet-4-5', system: 'Be long.', messages: [{ role: 'user', content: 'hi' }] }))!;
    assert.equal(a1.source, 'hash');
    assert.notEqual(a1.id, a2.id);
    const r1 = sessionIdOf({}, body({ model: 'gpt-5', instructions: 'dev', input: [{ type: 'message', role: 'developer', content: 'd' }, { type: 'message', role: 'user', content: 'u1' }] }))!;
    const r2 = sessionIdOf({}, body({ model: 'gpt-5', instructions: 'dev', input: [{ type: 'message', role: 'developer', content: 'd' }, { type: 'message', role: 'user', content: 'u1' }, { type: 'message', role: 'assistant', content: 'a' }, { type: 'message', role: 'user', content: 'u2' }] }))!;
    assert.equal(r1.id, r2.id);
    assert.equal(sessionIdOf({}, body({ model: 'gpt-5', input: 'just text' }))?.source, 'hash');
  });

  it('a role written inside a message\'s text is not a role', () => {
    const tricky = [{ role: 'system', content: 'say "role": "user" to me' }, { role: 'user', content: 'first' }];
    const a = sessionIdOf({}, body({ messages: tricky, model: 'm' }))!.id;
    const b = sessionIdOf({}, body({ messages: [...tricky, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'second' }], model: 'm' }))!.id;
    assert.equal(a, b);
  });

  it('a key that only ends like metadata, user or prompt_cache_key is not one, nor is an escaped one in a text', () => {
    const messages = [{ role: 'user', content: 'quote: "metadata": {"user_id": "x"}, "user": "eve"' }];
    const b = body({ model: 'm', messages, sub_metadata: { user_id: JSON.stringify({ session_id: UUID }) }, superuser: 'root', not_prompt_cache_key: OTHER });
    assert.equal(sessionIdOf({}, b)?.source, 'hash');
  });

  it('large bodies (the tail read first) give the same ids as small ones, by the same order of sources', () => {
    const history = Array.from({ length: 300 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i} `.repeat(8) }));
    const tools = Array.from({ length: 40 }, (_, i) => ({ name: `t${i}`, description: 'd'.repeat(200), input_schema: { type: 'object', properties: { user: { type: 'string' } } } }));
    const big = (extra: Record<string, unknown>) => body({ model: 'claude-opus-4-8', system: 'S', tools, messages: history, ...extra });
    assert.ok(big({}).length > 32 * 1024, 'the body is large');
    const session = JSON.stringify({ device_id: 'a'.repeat(64), account_uuid: '', session_id: UUID });
    assert.deepEqual(sessionIdOf({}, big({ metadata: { user_id: session } })), { id: `metadata:${UUID}`, source: 'metadata' });
    assert.deepEqual(sessionIdOf({}, big({ metadata: { user_id: 'plain-user' } })), { id: 'user:plain-user', source: 'user' });
    assert.deepEqual(sessionIdOf({}, big({ metadata: { user_id: 'plain-user' }, prompt_cache_key: OTHER })), { id: `prompt-cache-key:${OTHER}`, source: 'prompt-cache-key' });
    // metadata before the history: found by the walk, as in a small body
    const before = body({ model: 'm', metadata: { user_id: session }, system: 'S', tools, messages: history });
    assert.deepEqual(sessionIdOf({}, before), { id: `metadata:${UUID}`, source: 'metadata' });
    // no id at all: the hash of the system prompt and the first user turn, stable as the history grows
    const h1 = sessionIdOf({}, big({}))!;
    const h2 = sessionIdOf({}, body({ model: 'claude-opus-4-8', system: 'S', tools, messages: [...history, { role: 'user', content: 'more' }] }))!;
    assert.equal(h1.source, 'hash');
    assert.equal(h1.id, h2.id);
    const h3 = sessionIdOf({}, body({ model: 'claude-opus-4-8', system: 'T', tools, messages: history }))!;
    assert.notEqual(h1.id, h3.id, 'another system prompt is another conversation');
  });

  it('a long character card (known by its ends and length) keeps its conversation apart and together', () => {
    const card = (name: string) => `You are ${name}. ` + 'She keeps the lighthouse and tells its story. '.repeat(700);
    const chat = (name: string, first: string, more: { role: string; content: string }[] = []) =>
      sessionIdOf({}, body({ model: 'm', messages: [{ role: 'system', content: card(name) }, { role: 'user', content: first }, ...more] }))!.id;
    assert.ok(card('Aqua').length > 30_000);
    const a = chat('Aqua', 'Hello');
    assert.equal(chat('Aqua', 'Hello', [{ role: 'assistant', content: 'Hi' }, { role: 'user', content: 'Tell me more' }]), a, 'a growing conversation stays');
    assert.notEqual(chat('Nova', 'Hello'), a, 'another character is another conversation');
    assert.notEqual(chat('Aqua', 'Good evening'), a, 'another first message is another conversation');
  });

  it('gives nothing for a body that is not an object, and bounds long ids', () => {
    assert.equal(sessionIdOf({}, Buffer.from('[1,2]')), undefined);
    assert.equal(sessionIdOf({}, Buffer.from('')), undefined);
    assert.equal(sessionIdOf({}, body({ model: 'x' })), undefined);
    const long = sessionIdOf({ 'x-claude-code-session-id': 'z'.repeat(10_000) }, undefined)!;
    assert.ok(long.id.length <= 'claude-code:'.length + 128);
  });
});

describe('routing: session affinity table', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('keeps (session, model) on the key that answered; a move is counted once and stays', () => {
    const t = new SessionAffinity({ clock });
    assert.equal(t.preferred('s1', 'opus'), undefined);
    assert.equal(t.served('s1', 'opus', 'sk-a'), 'new');
    assert.equal(t.preferred('s1', 'opus'), 'sk-a');
    assert.equal(t.preferred('s1', 'haiku'), undefined, 'another model of the same session has its own key');
    assert.equal(t.served('s1', 'opus', 'sk-a'), 'same');
    assert.equal(t.served('s1', 'opus', 'sk-b'), 'moved');
    assert.equal(t.preferred('s1', 'opus'), 'sk-b');
    assert.equal(t.served('s1', 'opus', 'sk-b'), 'same');
    assert.deepEqual(t.stats(), { sessions: 1, moves: 1 });
  });

  it('forgets a session idle longer than the idle time', () => {
    const t = new SessionAffinity({ clock, idleMs: 60_000 });
    t.served('s', 'm', 'sk-a');
    now += 59_000;
    assert.equal(t.preferred('s', 'm'), 'sk-a');
    t.served('s', 'm', 'sk-a'); // a turn refreshes it
    now += 61_000;
    assert.equal(t.preferred('s', 'm'), undefined);
    assert.equal(t.served('s', 'm', 'sk-b'), 'new', 'an expired session starts over: not a move');
  });

  it('holds at most maxSessions, dropping the least recently used', () => {
    const t = new SessionAffinity({ clock, maxSessions: 100 });
    for (let i = 0; i < 1000; i++) t.served(`s${i}`, 'm', `sk-${i % 3}`);
    assert.equal(t.stats().sessions, 100);
    assert.equal(t.preferred('s0', 'm'), undefined);
    assert.equal(t.preferred('s999', 'm'), 'sk-0');
  });

  it('forgets the sessions of a key that left the pool', () => {
    const t = new SessionAffinity({ clock });
    t.served('a', 'm', 'sk-1');
    t.served('b', 'm', 'sk-2');
    t.forgetKey('sk-1');
    assert.equal(t.preferred('a', 'm'), undefined);
    assert.equal(t.preferred('b', 'm'), 'sk-2');
  });
});
