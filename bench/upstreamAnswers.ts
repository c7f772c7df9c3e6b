// The fixed answers of the bench's upstreams (the Node one and nginx): the fake's shapes, built
// once, byte for byte the same in both, so a phase measures the proxy and not the upstream.
const CREATED = 1735689600;
const ID = 'chatcmpl-bench-0000001';
const MODEL = 'gpt-4o-mini';
const CLAUDE = 'claude-sonnet-4-20250514';

function chatJson(model: string): string {
  const text = 'Hello from the benchmark upstream. '.repeat(8).trim();
  return JSON.stringify({
    id: ID,
    object: 'chat.completion',
    created: CREATED,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 250, completion_tokens: 70, total_tokens: 320 },
  });
}

/** Role chunk, `n` content chunks, finish chunk, usage chunk, [DONE]: the fake's shape. */
function openaiEvents(n: number, model = MODEL): string[] {
  const head = `data: {"id":"${ID}","object":"chat.completion.chunk","created":${CREATED},"model":${JSON.stringify(model)},"choices":[`;
  const out = [`${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
  for (let i = 0; i < n; i++) {
    out.push(`${head}{"index":0,"delta":{"content":"token ${i} "},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  out.push(`${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  out.push(`${head}],"usage":{"prompt_tokens":250,"completion_tokens":${n},"total_tokens":${250 + n}}}\n\n`);
  out.push('data: [DONE]\n\n');
  return out;
}

/** Anthropic's Messages stream: message_start (with usage), a text block of `n` deltas, message_delta, message_stop. */
function anthropicEvents(n: number): string[] {
  const ev = (type: string, data: unknown) => `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  const out = [
    ev('message_start', {
      type: 'message_start',
      message: { id: 'msg_bench_0000001', type: 'message', role: 'assistant', model: CLAUDE, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 20000, cache_creation_input_tokens: 0, cache_read_input_tokens: 18000, output_tokens: 1 } },
    }),
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', { type: 'ping' }),
  ];
  for (let i = 0; i < n; i++) out.push(ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `token ${i} ` } }));
  out.push(ev('content_block_stop', { type: 'content_block_stop', index: 0 }));
  out.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: n } }));
  out.push(ev('message_stop', { type: 'message_stop' }));
  return out;
}

/** What a gateway's GET /v1/models says: every model the bench's requests name. */
const modelList = JSON.stringify({
  object: 'list',
  data: ['gpt-4o-mini', 'deepseek-chat', 'claude-sonnet-4-20250514', MODEL].filter((id, i, all) => all.indexOf(id) === i).map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'bench' })),
});

export const answers = { model: MODEL, chatJson: chatJson(MODEL), openaiEvents, anthropicEvents, modelList };
