import * as assert from 'node:assert/strict';
import { createUsageMeter, HEAD_BYTES, normalizeUsage, TAIL_BYTES, type TokenUsage } from '../../src/core/usage';

const meter = createUsageMeter();
const SSE = 'text/event-stream; charset=utf-8';
const JSON_CT = 'application/json';

type Route = { path: string; flavor: 'openai' | 'anthropic' };
const CHAT: Route = { path: '/chat/completions', flavor: 'openai' };
const MESSAGES: Route = { path: '/messages?beta=true', flavor: 'anthropic' };

function run(route: Route, ct: string | undefined, chunks: Buffer[]): TokenUsage | undefined {
  const tap = meter.tap(route, ct);
  assert.ok(tap, 'a tap for this route');
  for (const c of chunks) tap.write(c);
  return tap.end();
}

function sse(events: string[]): string {
  return events.join('');
}

const openaiChunk = (content: string, extra = '') =>
  `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]${extra}}\n\n`;

// ---- every answer shape, as the gateways send it ----
const shapes: { name: string; route: Route; ct: string; text: string; want: TokenUsage | undefined }[] = [
  {
    name: 'OpenAI chat body',
    route: CHAT,
    ct: JSON_CT,
    text: JSON.stringify({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'The "usage" of words: {"usage":{"prompt_tokens":999}}' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150, prompt_tokens_details: { cached_tokens: 20 }, completion_tokens_details: { reasoning_tokens: 0 } },
      system_fingerprint: 'fp_1',
    }),
    want: { inputTokens: 100, cacheReadTokens: 20, outputTokens: 30 },
  },
  {
    name: 'OpenAI stream with a usage chunk (stream_options.include_usage: null on every chunk)',
    route: CHAT,
    ct: SSE,
    text: sse([
      openaiChunk('', ',"usage":null'),
      openaiChunk('Hello', ',"usage":null'),
      openaiChunk(' world', ',"usage":null'),
      'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}\n\n',
      'data: [DONE]\n\n',
    ]),
    want: { inputTokens: 12, outputTokens: 2 },
  },
  {
    name: 'OpenAI stream, usage in the finish chunk (gateways that send it unasked)',
    route: CHAT,
    ct: SSE,
    text: sse([
      openaiChunk('Hi'),
      'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":1,"total_tokens":8}}\n\n',
      'data: [DONE]\n\n',
    ]),
    want: { inputTokens: 7, outputTokens: 1 },
  },
  { name: 'OpenAI stream without a usage chunk', route: CHAT, ct: SSE, text: sse([openaiChunk('Hi'), openaiChunk(' there'), 'data: [DONE]\n\n']), want: undefined },
  {
    name: 'OpenAI legacy completions body',
    route: { path: '/completions', flavor: 'openai' },
    ct: JSON_CT,
    text: '{"id":"cmpl-1","object":"text_completion","choices":[{"text":"ok","index":0}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}',
    want: { inputTokens: 5, outputTokens: 1 },
  },
  {
    name: 'embeddings body',
    route: { path: '/embeddings', flavor: 'openai' },
    ct: JSON_CT,
    text: `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[${Array.from({ length: 64 }, (_, i) => (i / 97).toFixed(6)).join(',')}]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`,
    want: { inputTokens: 8 },
  },
  {
    name: 'Anthropic message body',
    route: MESSAGES,
    ct: JSON_CT,
    text: JSON.stringify({
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hello "usage" \\ there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 25, cache_creation_input_tokens: 100, cache_read_input_tokens: 400, output_tokens: 15, service_tier: 'standard' },
    }),
    want: { inputTokens: 25, cacheWriteTokens: 100, cacheReadTokens: 400, outputTokens: 15 },
  },
  {
    name: 'Anthropic stream (message_start + message_delta)',
    route: MESSAGES,
    ct: SSE,
    text: sse([
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":0,"cache_read_input_tokens":300,"output_tokens":1}}}\n\n',
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
      'event: ping\ndata: {"type": "ping"}\n\n',
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}\n\n',
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
      'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}\n\n',
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]),
    want: { inputTokens: 25, cacheWriteTokens: 0, cacheReadTokens: 300, outputTokens: 15 },
  },
  {
    name: 'Responses API body',
    route: { path: '/responses', flavor: 'openai' },
    ct: JSON_CT,
    text: '{"id":"resp_1","object":"response","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":36,"input_tokens_details":{"cached_tokens":6},"output_tokens":87,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":123},"user":null,"metadata":{}}',
    want: { inputTokens: 30, cacheReadTokens: 6, outputTokens: 87 },
  },
  {
    name: 'Responses API stream (response.completed)',
    route: { path: '/responses', flavor: 'openai' },
    ct: SSE,
    text: sse([
      'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_1","status":"in_progress","output":[],"usage":null}}\n\n',
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"hi"}\n\n',
      'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_1","status":"completed","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,"total_tokens":12},"metadata":{}}}\n\n',
    ]),
    want: { inputTokens: 10, outputTokens: 2 },
  },
  {
    name: 'Responses API body with usage more than a KB before its end',
    route: { path: '/responses', flavor: 'openai' },
    ct: JSON_CT,
    text: `{"id":"resp_2","output":[],"usage":{"input_tokens":4,"output_tokens":5},"metadata":{"note":"${'m'.repeat(3000)}"}}`,
    want: { inputTokens: 4, outputTokens: 5 },
  },
  {
    name: 'OpenAI stream whose last event (with usage) is longer than a KB',
    route: CHAT,
    ct: SSE,
    text: sse([
      openaiChunk('a'),
      `data: {"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1},"padding":"${'p'.repeat(2500)}"}\n\n`,
      'data: [DONE]\n\n',
    ]),
    want: { inputTokens: 3, outputTokens: 1 },
  },
  {
    name: 'an OpenAI stream with CRLF line ends',
    route: CHAT,
    ct: SSE,
    text: 'data: {"choices":[{"delta":{"content":"x"}}]}\r\n\r\ndata: {"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":1}}\r\n\r\ndata: [DONE]\r\n\r\n',
    want: { inputTokens: 2, outputTokens: 1 },
  },
  { name: 'an error-shaped 2xx body (unknown shape)', route: CHAT, ct: JSON_CT, text: '{"error":{"message":"x","type":"new_api_error"}}', want: undefined },
  { name: 'usage of an unknown shape', route: CHAT, ct: JSON_CT, text: '{"usage":{"credits":3,"units":"x"}}', want: undefined },
];

describe('usage meter: extraction', () => {
  for (const s of shapes) {
    it(`${s.name}: whole, and split in two at every byte`, () => {
      const whole = Buffer.from(s.text);
      assert.deepEqual(run(s.route, s.ct, [whole]), s.want);
      for (let i = 1; i < whole.length; i++) {
        const got = run(s.route, s.ct, [whole.subarray(0, i), whole.subarray(i)]);
        assert.deepEqual(got, s.want, `split at byte ${i}`);
      }
    });
  }

  it('every shape, split into three at every pair of positions (sampled) and byte by byte', () => {
    for (const s of shapes) {
      const whole = Buffer.from(s.text);
      const bytes = Array.from({ length: whole.length }, (_, i) => whole.subarray(i, i + 1));
      assert.deepEqual(run(s.route, s.ct, bytes), s.want, `${s.name}, one byte per chunk`);
      const di = Math.max(7, Math.floor(whole.length / 60));
      const dj = Math.max(13, Math.floor(whole.length / 40));
      for (let i = 1; i < whole.length; i += di) {
        for (let j = i + 1; j < whole.length; j += dj) {
          assert.deepEqual(run(s.route, s.ct, [whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]), s.want, `${s.name}, at ${i} and ${j}`);
        }
      }
    }
  });

  it('a long OpenAI stream: the usage chunk is found though the tap dropped everything before its tail', () => {
    const events: string[] = [];
    for (let i = 0; i < 2000; i++) events.push(openaiChunk(`token ${i} `, ',"usage":null'));
    events.push('data: {"id":"c","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}}\n\n', 'data: [DONE]\n\n');
    const whole = Buffer.from(events.join(''));
    assert.ok(whole.length > 20 * TAIL_BYTES);
    const chunks = events.map((e) => Buffer.from(e));
    assert.deepEqual(run(CHAT, SSE, chunks), { inputTokens: 1000, outputTokens: 2000 });
    // And in socket-sized pieces cutting through events anywhere.
    for (const size of [1000, 4093, 16384, 65536]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < whole.length; i += size) pieces.push(whole.subarray(i, i + size));
      assert.deepEqual(run(CHAT, SSE, pieces), { inputTokens: 1000, outputTokens: 2000 }, `pieces of ${size}`);
    }
  });

  it('a long Anthropic stream: input tokens from message_start (the head), output from message_delta (the tail)', () => {
    const events = [
      'event: message_start\ndata: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":5000,"cache_read_input_tokens":7,"output_tokens":1}}}\n\n',
    ];
    for (let i = 0; i < 3000; i++) events.push(`event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word ${i} "}}\n\n`);
    events.push('event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3000}}\n\n', 'event: message_stop\ndata: {"type":"message_stop"}\n\n');
    const whole = Buffer.from(events.join(''));
    assert.ok(whole.length > 10 * (HEAD_BYTES + TAIL_BYTES));
    const want = { inputTokens: 5000, cacheReadTokens: 7, outputTokens: 3000 };
    assert.deepEqual(run(MESSAGES, SSE, events.map((e) => Buffer.from(e))), want);
    for (const size of [1, 37, 1500, 8192]) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < whole.length; i += size) pieces.push(whole.subarray(i, i + size));
      assert.deepEqual(run(MESSAGES, SSE, pieces), want, `pieces of ${size}`);
    }
  });

  it('a large body (content bigger than the tail) still gives its usage', () => {
    const text = JSON.stringify({ choices: [{ message: { content: 'x'.repeat(200_000) } }], usage: { prompt_tokens: 3, completion_tokens: 50_000 } });
    const whole = Buffer.from(text);
    const pieces: Buffer[] = [];
    for (let i = 0; i < whole.length; i += 16384) pieces.push(whole.subarray(i, i + 16384));
    assert.deepEqual(run(CHAT, JSON_CT, pieces), { inputTokens: 3, outputTokens: 50_000 });
  });

  it('an Anthropic stream cut after message_start still reports its input tokens', () => {
    const text = 'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":9,"output_tokens":1}}}\n\nevent: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"ab';
    assert.deepEqual(run(MESSAGES, SSE, [Buffer.from(text)]), { inputTokens: 9, outputTokens: 1 });
  });

  it('a usage object cut off at the end of the answer is not read', () => {
    assert.equal(run(CHAT, JSON_CT, [Buffer.from('{"choices":[],"usage":{"prompt_tokens":12,"completion_tok')]), undefined);
  });

  it('neither changes nor keeps a copy of what it is given, and gives nothing after end()', () => {
    const text = Buffer.from(shapes[1]!.text);
    const copy = Buffer.from(text);
    const tap = meter.tap(CHAT, SSE)!;
    tap.write(text);
    assert.deepEqual(tap.end(), { inputTokens: 12, outputTokens: 2 });
    assert.ok(text.equals(copy));
    tap.write(Buffer.from('data: {"usage":{"prompt_tokens":1}}\n\n'));
    assert.equal(tap.end(), undefined);
  });

  it('reads a plain Uint8Array chunk as bytes too', () => {
    const bytes = new Uint8Array(Buffer.from('{"usage":{"prompt_tokens":4,"completion_tokens":2}}'));
    assert.deepEqual(run(CHAT, JSON_CT, [bytes as Buffer]), { inputTokens: 4, outputTokens: 2 });
  });

  it('no tap for answers without usage: models, count_tokens, audio, images', () => {
    assert.equal(meter.tap({ path: '/models', flavor: 'openai' }, JSON_CT), undefined);
    assert.equal(meter.tap({ path: '/messages/count_tokens', flavor: 'anthropic' }, JSON_CT), undefined);
    assert.equal(meter.tap({ path: '/audio/speech', flavor: 'openai' }, 'audio/mpeg'), undefined);
    assert.equal(meter.tap(CHAT, 'audio/mpeg'), undefined);
    assert.ok(meter.tap({ path: '/v1/chat/completions/', flavor: 'openai' }, JSON_CT));
    assert.ok(meter.tap(CHAT, undefined), 'a body without a content type is still read');
  });
});

describe('usage meter: normalizeUsage', () => {
  it('reads each provider’s fields, and rejects what is not usage', () => {
    assert.deepEqual(normalizeUsage({ prompt_tokens: 10, completion_tokens: 5 }), { inputTokens: 10, outputTokens: 5 });
    assert.deepEqual(normalizeUsage({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 40 } }), { inputTokens: 0, cacheReadTokens: 10 }, 'cached never above the prompt');
    assert.deepEqual(normalizeUsage({ input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 1 }), { inputTokens: 3, cacheReadTokens: 2, outputTokens: 1 });
    assert.deepEqual(normalizeUsage({ output_tokens: 15 }), { outputTokens: 15 });
    assert.equal(normalizeUsage({ prompt_tokens: -1, completion_tokens: 'x' }), undefined);
    assert.equal(normalizeUsage(null), undefined);
    assert.equal(normalizeUsage([1, 2]), undefined);
    assert.equal(normalizeUsage({ total_tokens: 5 }), undefined);
  });
});
