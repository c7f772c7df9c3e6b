// The gateway's streamed answers → VS Code parts (src/core/chat/stream.ts): text as it arrives,
// tool calls assembled from fragments, in both formats, whatever the chunk boundaries.
import * as assert from 'node:assert/strict';
import { ChatFailure } from '../../src/core/chat/errors';
import { ChatStreamReader, SseDecoder } from '../../src/core/chat/stream';
import type { ChatOutput, WireFormat } from '../../src/core/chat/types';
import { anthropicStreamEvents, anthropicToolCallEvents, chatStreamEvents, chatToolCallEvents, requestedTool, streamedReplyText, toolArguments } from '../../src/core/demo/replies';

const enc = new TextEncoder();

/** Feeds `body` in pieces of `size` bytes (cutting through events and UTF-8), returns every part per feed. */
function readAll(wire: WireFormat, body: string, size: number, names?: Map<string, string>): { feeds: ChatOutput[][]; all: ChatOutput[]; reader: ChatStreamReader } {
  const reader = new ChatStreamReader(wire, names);
  const bytes = enc.encode(body);
  const feeds: ChatOutput[][] = [];
  for (let i = 0; i < bytes.length; i += size) feeds.push(reader.feed(bytes.subarray(i, i + size)));
  feeds.push(reader.end());
  return { feeds, all: feeds.flat(), reader };
}

const textOf = (parts: ChatOutput[]) => parts.filter((p) => p.kind === 'text').map((p) => (p as { text: string }).text).join('');

const anthropicToolStream = [
  'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":10,"output_tokens":1}}}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Reading 文件"}}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
  'event: content_block_start\ndata: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"read_file","input":{}}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"path\\": \\"sr"}}\n\n',
  'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"c/a.ts\\", \\"lines\\": [1, 2]}"}}\n\n',
  'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":30}}\n\n',
  'event: message_stop\ndata: {"type":"message_stop"}\n\n',
].join('');

const openaiToolStream = [
  'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"Reading"}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"read_file","arguments":""}}]}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"path\\":"}}]}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"list_dir","arguments":"{}"}}]}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\\"a.ts\\"}"}}]}}]}\n\n',
  'data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}\n\n',
  'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}\n\n',
  'data: [DONE]\n\n',
].join('');

describe('chat stream: SSE decoding', () => {
  it('joins data lines, keeps the event name, skips comments, and takes CRLF', () => {
    const d = new SseDecoder();
    const out = [...d.feed(enc.encode(': keep-alive\r\n\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\ndata: c')), ...d.end()];
    assert.deepEqual(out, [{ event: 'x', data: 'a\nb' }, { data: 'c' }]);
  });
});

describe('chat stream: parts from the gateway', () => {
  for (const size of [1, 7, 64, 100_000]) {
    it(`Anthropic, in ${size}-byte reads: the text, then one tool call with its parsed arguments`, () => {
      const { all, reader } = readAll('anthropic', anthropicToolStream, size);
      assert.equal(textOf(all), 'Reading 文件');
      assert.deepEqual(all.filter((p) => p.kind === 'toolCall'), [{ kind: 'toolCall', callId: 'toolu_1', name: 'read_file', input: { path: 'src/a.ts', lines: [1, 2] } }]);
      assert.equal(all[all.length - 1].kind, 'toolCall', 'the call comes after the text');
      assert.equal(reader.stopReason, 'tool_use');
      assert.ok(reader.complete);
    });

    it(`Chat Completions, in ${size}-byte reads: interleaved argument fragments of two calls`, () => {
      const { all } = readAll('openai', openaiToolStream, size);
      assert.equal(textOf(all), 'Reading');
      assert.deepEqual(all.filter((p) => p.kind === 'toolCall'), [
        { kind: 'toolCall', callId: 'call_a', name: 'read_file', input: { path: 'a.ts' } },
        { kind: 'toolCall', callId: 'call_b', name: 'list_dir', input: {} },
      ]);
    });
  }

  it('yields text as it arrives: each read gives the text it completed, not all at the end', () => {
    const events = chatStreamEvents('gpt-4o', 'Hello there', 4, 10, true);
    const reader = new ChatStreamReader('openai');
    const got = events.map((e) => textOf(reader.feed(enc.encode(e))));
    assert.deepEqual(got.slice(1, 5).map((s) => s.length > 0), [true, true, true, true], `every content event gave text at once: ${JSON.stringify(got)}`);
    assert.equal(got.join(''), streamedReplyText('Hello there', 4));
  });

  it('reads the fake gateway\'s Anthropic stream to the same text it sent', () => {
    const { all } = readAll('anthropic', anthropicStreamEvents('claude-x', '你好, world', 5, 3).join(''), 13);
    assert.equal(textOf(all), streamedReplyText('你好, world', 5));
  });

  it('maps renamed tools back to the names VS Code knows', () => {
    const names = new Map([['mcp_x_1234abcd', 'mcp.x']]);
    const body = 'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"mcp_x_1234abcd","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}\n\ndata: [DONE]\n\n';
    assert.deepEqual(readAll('openai', body, 5, names).all, [{ kind: 'toolCall', callId: 'c', name: 'mcp.x', input: {} }]);
  });

  it('tells calls apart by id when a gateway puts them all at index 0', () => {
    const body = [
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{\\"n\\":1}"}}]}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"f","arguments":"{\\"n\\":2}"}}]}}]}\n\n',
      'data: [DONE]\n\n',
    ].join('');
    assert.deepEqual(readAll('openai', body, 1000).all.map((p) => (p.kind === 'toolCall' ? p.input : p)), [{ n: 1 }, { n: 2 }]);
  });

  it('fails on arguments that are not a JSON object, naming the tool', () => {
    const body = 'data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{\\"a\\":"}}]},"finish_reason":"tool_calls"}]}\n\n';
    assert.throws(() => readAll('openai', body, 1000), (e: unknown) => e instanceof ChatFailure && /tool f/.test(e.message));
  });

  it('turns an error event into a failure with the gateway\'s words, masking any key', () => {
    const key = 'sk-' + 'A'.repeat(48);
    const anthropic = `event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded for ${key}"}}\n\n`;
    assert.throws(() => readAll('anthropic', anthropic, 1000), (e: unknown) => e instanceof ChatFailure && e.code === 'stream' && /Overloaded/.test(e.message) && !e.message.includes(key));
    const openai = 'data: {"error":{"message":"upstream timeout"}}\n\n';
    assert.throws(() => readAll('openai', openai, 1000), (e: unknown) => e instanceof ChatFailure && /upstream timeout/.test(e.message));
  });

  it('says a stream that ended without its end marker is not complete', () => {
    const cut = chatStreamEvents('gpt-4o', 'Hello', 3, 5, false).slice(0, 2).join('');
    const { reader } = readAll('openai', cut, 1000);
    assert.equal(reader.complete, false);
  });
});

describe('chat stream: the fake gateway\'s tool calls', () => {
  const schema = { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'number' }, all: { type: 'boolean' } }, required: ['path', 'limit'] };
  it('asks for the tool named in [[tool:NAME]] (or the first), only when the user asked', () => {
    const tools = [{ name: 'a', input_schema: {} }, { type: 'function', function: { name: 'b', parameters: schema } }];
    const q = [{ role: 'user', content: 'x' }];
    assert.equal(requestedTool('please [[tool]]', tools, q)?.name, 'a');
    assert.equal(requestedTool('please [[tool:b]]', tools, q)?.name, 'b');
    assert.equal(requestedTool('please', tools, q), undefined);
    assert.equal(requestedTool('[[tool]]', [], q), undefined);
    assert.equal(requestedTool('[[tool]]', tools, [...q, { role: 'tool', content: 'result' }]), undefined, 'no second call after a tool result');
    assert.equal(requestedTool('[[tool]]', tools, [{ role: 'user', content: [{ type: 'tool_result' }] }]), undefined);
    assert.deepEqual(toolArguments(schema), { path: 'demo path', limit: 1 });
  });
  for (const wire of ['openai', 'anthropic'] as const) {
    it(`${wire}: the fake's streamed call reads back as one call with the arguments it split`, () => {
      const args = toolArguments(schema);
      const events = wire === 'openai' ? chatToolCallEvents('m', 'read_file', args, 10, true) : anthropicToolCallEvents('m', 'read_file', args, 10);
      const { all } = readAll(wire, events.join(''), 5);
      assert.equal(all.length, 1);
      assert.deepEqual({ ...all[0], callId: '' }, { kind: 'toolCall', callId: '', name: 'read_file', input: args });
    });
  }
});
