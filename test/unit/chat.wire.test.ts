// VS Code chat messages → the gateway's two request formats (src/core/chat/wire.ts), as tables.
import * as assert from 'node:assert/strict';
import { ChatFailure } from '../../src/core/chat/errors';
import type { ChatMessage, ChatTool } from '../../src/core/chat/types';
import { buildWireRequest, DEFAULT_ANTHROPIC_MAX_TOKENS, MAX_TOOLS, wireCallId, type WireInput } from '../../src/core/chat/wire';

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
const PNG_B64 = Buffer.from(PNG).toString('base64');

const text = (s: string) => ({ kind: 'text' as const, text: s });
const user = (...content: ChatMessage['content']): ChatMessage => ({ role: 'user', content });
const assistant = (...content: ChatMessage['content']): ChatMessage => ({ role: 'assistant', content });
const system = (s: string): ChatMessage => ({ role: 'system', content: [text(s)] });

const readFile: ChatTool = {
  name: 'read_file',
  description: 'Read a file',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};

function build(over: Partial<WireInput>) {
  const req = buildWireRequest({ model: 'm', wire: 'openai', messages: [user(text('hi'))], toolCalling: true, maxOutputTokens: 64_000, ...over });
  return { ...req, json: JSON.parse(req.body) as Record<string, any> };
}

/** A conversation with every kind of part: system, text, an image, a tool call and its result with an image. */
const conversation: ChatMessage[] = [
  system('You are terse.'),
  user(text('What is in a.txt?'), { kind: 'data', mimeType: 'image/png', data: PNG }),
  assistant(text('Let me look.'), { kind: 'toolCall', callId: 'call_1', name: 'read_file', input: { path: 'a.txt' } }),
  user(
    { kind: 'toolResult', callId: 'call_1', content: [text('hello'), { kind: 'data', mimeType: 'image/png', data: PNG }] },
    text('And now?'),
  ),
];

describe('chat wire: VS Code messages → Anthropic Messages', () => {
  it('puts system text apart, images as base64 blocks, tool calls as tool_use and results first in the next user turn', () => {
    const { json, path } = build({ wire: 'anthropic', messages: conversation, tools: [readFile] });
    assert.equal(path, '/messages');
    assert.deepEqual(json.system, [{ type: 'text', text: 'You are terse.' }]);
    assert.deepEqual(json.messages, [
      { role: 'user', content: [{ type: 'text', text: 'What is in a.txt?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'call_1', name: 'read_file', input: { path: 'a.txt' } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'hello' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_B64 } }] },
          { type: 'text', text: 'And now?' },
        ],
      },
    ]);
    assert.deepEqual(json.tools, [{ name: 'read_file', description: 'Read a file', input_schema: readFile.inputSchema }]);
    assert.equal(json.stream, true);
    assert.equal(json.max_tokens, DEFAULT_ANTHROPIC_MAX_TOKENS, 'the gateway reserves balance for max_tokens: not the model\'s whole 64k');
    assert.equal(json.tool_choice, undefined);
  });

  it('merges turns of the same role (Anthropic wants them alternating) and drops empty text', () => {
    const { json } = build({ wire: 'anthropic', messages: [user(text('a')), user(text(''), text('b')), assistant(text('c')), assistant(text('d'))] });
    assert.deepEqual(json.messages, [
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'c' }, { type: 'text', text: 'd' }] },
    ]);
  });

  it('keeps tool results at the front when a user turn is merged into one with text', () => {
    const { json } = build({
      wire: 'anthropic',
      messages: [assistant({ kind: 'toolCall', callId: 'x', name: 't', input: {} }), user(text('note')), user({ kind: 'toolResult', callId: 'x', content: [text('r')], isError: true })],
    });
    assert.deepEqual(json.messages[1].content, [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: 'r' }], is_error: true }, { type: 'text', text: 'note' }]);
  });

  it('asks for a tool with toolMode required, and passes the known model options', () => {
    const { json } = build({ wire: 'anthropic', tools: [readFile], toolMode: 'required', modelOptions: { temperature: 0.2, max_tokens: 500, secret: 'x', top_p: 'no' } });
    assert.deepEqual(json.tool_choice, { type: 'any' });
    assert.equal(json.temperature, 0.2);
    assert.equal(json.max_tokens, 500);
    assert.equal(json.secret, undefined);
    assert.equal(json.top_p, undefined);
  });

  it('turns a cache_control hint into a cache breakpoint on the block before it', () => {
    const { json } = build({ wire: 'anthropic', messages: [user(text('long context'), { kind: 'data', mimeType: 'cache_control', data: new TextEncoder().encode('ephemeral') }, text('question'))] });
    assert.deepEqual(json.messages[0].content, [{ type: 'text', text: 'long context', cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'question' }]);
  });

  it('maps call ids Anthropic refuses, the same way in the call and its result', () => {
    const id = 'toolu:01/ab.c';
    const { json } = build({ wire: 'anthropic', messages: [assistant({ kind: 'toolCall', callId: id, name: 't', input: {} }), user({ kind: 'toolResult', callId: id, content: [] })] });
    const used = json.messages[0].content[0].id;
    assert.match(used, /^[a-zA-Z0-9_-]+$/);
    assert.equal(json.messages[1].content[0].tool_use_id, used);
    assert.equal(wireCallId('call_ok-1'), 'call_ok-1');
  });
});

describe('chat wire: VS Code messages → Chat Completions', () => {
  it('sends tool results as tool messages, their images in a user message after them, and asks for usage', () => {
    const { json, path } = build({ wire: 'openai', messages: conversation, tools: [readFile] });
    assert.equal(path, '/chat/completions');
    assert.deepEqual(json.messages, [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'What is in a.txt?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } }] },
      { role: 'assistant', content: 'Let me look.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a.txt"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'hello\n(The image this tool returned follows in the next message.)' },
      { role: 'user', content: [{ type: 'text', text: 'Images returned by tool call call_1:' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_B64}` } }] },
      { role: 'user', content: 'And now?' },
    ]);
    assert.deepEqual(json.tools, [{ type: 'function', function: { name: 'read_file', description: 'Read a file', parameters: readFile.inputSchema } }]);
    assert.deepEqual(json.stream_options, { include_usage: true });
    assert.equal(json.max_tokens, undefined, 'no max_tokens: the gateway would reserve balance for it');
  });

  it('sends an assistant turn that only calls a tool with content null, and a failed result marked as one', () => {
    const { json } = build({ messages: [assistant({ kind: 'toolCall', callId: 'c', name: 'read_file', input: { path: 'x' } }), user({ kind: 'toolResult', callId: 'c', content: [text('ENOENT')], isError: true })] });
    assert.equal(json.messages[0].content, null);
    assert.deepEqual(json.messages[1], { role: 'tool', tool_call_id: 'c', content: 'Error: ENOENT' });
  });

  it('declares tools without a schema as taking an empty object, and tool_choice required', () => {
    const { json } = build({ tools: [{ name: 'now', description: 'time' }], toolMode: 'required' });
    assert.deepEqual(json.tools[0].function.parameters, { type: 'object', properties: {} });
    assert.equal(json.tool_choice, 'required');
  });

  it('reads text-like data as text and says which binary data it could not send', () => {
    const { json } = build({ messages: [user({ kind: 'data', mimeType: 'application/json', data: new TextEncoder().encode('{"a":1}') }, { kind: 'data', mimeType: 'application/zip', data: new Uint8Array(10) })] });
    assert.equal(json.messages[0].content, '{"a":1}\n[application/zip attachment, 10 bytes: not sent, the model takes no such data]');
  });
});

describe('chat wire: tools bounded and without loss', () => {
  // VS Code's agent mode declares about 39 tools, some with names from MCP servers.
  const agentTools: ChatTool[] = Array.from({ length: 39 }, (_, i) => ({ name: `tool_${i}`, description: `does ${i}`, inputSchema: { type: 'object', properties: { n: { type: 'number' } } } }));

  for (const wire of ['anthropic', 'openai'] as const) {
    it(`${wire}: sends all 39 agent tools with their whole schemas`, () => {
      const { json } = build({ wire, tools: agentTools });
      assert.equal(json.tools.length, 39);
      const names = json.tools.map((t: any) => t.name ?? t.function.name);
      assert.deepEqual(names, agentTools.map((t) => t.name));
      const schema = json.tools[38].input_schema ?? json.tools[38].function.parameters;
      assert.deepEqual(schema, agentTools[38].inputSchema);
    });

    it(`${wire}: renames tool names the wire refuses, reversibly and apart from each other`, () => {
      const tools: ChatTool[] = [
        { name: 'mcp.github/search issues', description: 'a' },
        { name: 'mcp_github_search_issues', description: 'b' },
        { name: 'x'.repeat(80), description: 'c' },
      ];
      const req = build({ wire, tools, messages: [assistant({ kind: 'toolCall', callId: 'c1', name: tools[0].name, input: {} }), user(text('go'))] });
      const names: string[] = req.json.tools.map((t: any) => t.name ?? t.function.name);
      for (const n of names) assert.match(n, /^[a-zA-Z0-9_-]{1,64}$/);
      assert.equal(new Set(names).size, 3);
      assert.equal(names[1], 'mcp_github_search_issues', 'a valid name stays');
      assert.equal(req.toolNames.get(names[0]), tools[0].name);
      assert.equal(req.toolNames.get(names[2]), tools[2].name);
      const histName = wire === 'anthropic' ? req.json.messages[0].content[0].name : req.json.messages[0].tool_calls[0].function.name;
      assert.equal(histName, names[0], 'a call in the history uses the same wire name as the declaration');
    });

    it(`${wire}: refuses more tools than the gateway takes instead of dropping some`, () => {
      const many = Array.from({ length: MAX_TOOLS + 1 }, (_, i) => ({ name: `t${i}`, description: '' }));
      assert.throws(() => build({ wire, tools: many }), (e: unknown) => e instanceof ChatFailure && e.code === 'bad-request' && /129 tools/.test(e.message));
    });

    it(`${wire}: refuses tools for a model that cannot call them`, () => {
      assert.throws(() => build({ wire, model: 'deepseek-reasoner', tools: [readFile], toolCalling: false }), (e: unknown) => e instanceof ChatFailure && /deepseek-reasoner cannot call tools/.test(e.message));
    });
  }
});
