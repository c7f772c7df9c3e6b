// What the bench sends: the requests of each phase, shaped like the clients' own. Bodies are
// built deterministically (no randomness), so every run sends the same bytes.
import type { BenchRequest } from './client';
import type { Shape } from './procs';

export const userText = 'Summarise the following notes in one sentence. ' + 'The proxy must be close to free. '.repeat(24);

export function chatBody(stream: boolean, text = userText): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a terse assistant used by the DaiDai benchmark.' },
      { role: 'user', content: text },
    ],
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });
}

/** A line of role-play in the mix of Chinese and English that SillyTavern users send. */
function tavernLine(i: number): string {
  return `第${i}幕：呆呆鸟站在窗台上，看着雨落下。"Do you remember the lighthouse?" she asked, and the keeper, tired of the storm, told her the story again — 灯塔、旧船、和那封没寄出的信。 `;
}

/**
 * SillyTavern's shape: a long chat history (character card in the system prompt, then turns of
 * role-play), about 100 KB, streamed answer, sampling parameters after the messages.
 */
export function tavernBody(targetBytes = 100 * 1024): string {
  const card = 'Character: 呆呆鸟 (Daidai), a shy bird who keeps a lighthouse. Personality: curious, kind, a little clumsy. Scenario: a stormy night. ' + tavernLine(0).repeat(6);
  const messages: { role: string; content: string }[] = [{ role: 'system', content: card }];
  for (let turn = 1; Buffer.byteLength(JSON.stringify(messages)) < targetBytes - 600; turn++) {
    const content = tavernLine(turn).repeat(3 + (turn % 4));
    messages.push({ role: turn % 2 ? 'user' : 'assistant', content });
  }
  return JSON.stringify({
    messages,
    model: 'deepseek-chat',
    temperature: 1,
    frequency_penalty: 0,
    presence_penalty: 0,
    top_p: 1,
    max_tokens: 300,
    stream: true,
  });
}

/**
 * Claude Code's shape: `POST /v1/messages?beta=true`, ~80 KB (a long system prompt, tool
 * definitions with JSON schemas, the conversation with tool results), Anthropic SSE answer.
 */
export function claudeBody(targetBytes = 80 * 1024): string {
  const tools: unknown[] = [];
  for (let i = 0; tools.length < 16; i++) {
    tools.push({
      name: ['Bash', 'Read', 'Edit', 'Write', 'Glob', 'Grep', 'LS', 'TodoWrite', 'WebFetch', 'Task', 'MultiEdit', 'NotebookEdit', 'NotebookRead', 'WebSearch', 'ExitPlanMode', 'BashOutput'][i],
      description: `Tool ${i}: performs an operation in the user's workspace. Use it when the task needs it; never guess paths. `.repeat(8),
      input_schema: {
        type: 'object',
        properties: { path: { type: 'string', description: 'The absolute path' }, content: { type: 'string' }, limit: { type: 'number' } },
        required: ['path'],
        additionalProperties: false,
        $schema: 'http://json-schema.org/draft-07/schema#',
      },
    });
  }
  const system = [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
    { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks. '.repeat(40), cache_control: { type: 'ephemeral' } },
  ];
  const messages: unknown[] = [];
  const body = () => ({ model: 'claude-sonnet-4-20250514', max_tokens: 32000, system, tools, messages, metadata: { user_id: 'user_bench_account__session_0000' }, stream: true });
  for (let i = 0; Buffer.byteLength(JSON.stringify(body())) < targetBytes - 400; i++) {
    messages.push({ role: 'user', content: [{ type: 'text', text: `Step ${i}: look at src/core/proxy/forward.ts and tell me why the test fails.` }] });
    messages.push({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me read the file.' },
        { type: 'tool_use', id: `toolu_bench_${String(i).padStart(4, '0')}`, name: 'Read', input: { path: '/work/src/core/proxy/forward.ts' } },
      ],
    });
    messages.push({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: `toolu_bench_${String(i).padStart(4, '0')}`, content: '     1\texport async function forwardWithFailover(req, res, deps) {\n'.repeat(12) }],
    });
  }
  messages.push({ role: 'user', content: [{ type: 'text', text: 'Now fix it.' }] });
  return JSON.stringify(body());
}

const ANTHROPIC_HEADERS = {
  'anthropic-version': '2023-06-01',
  'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
  'x-app': 'cli',
  'user-agent': 'claude-cli/1.0.0 (external, cli)',
};

/** The request of each phase (the soak reuses the paced stream). */
export const shapes = {
  chat: { name: 'chat', path: '/chat/completions', body: chatBody(false), headers: {} } satisfies Shape,
  stream50: { name: 'stream50', path: '/chat/completions', body: chatBody(true), headers: { 'x-demo-chunks': '50' } } satisfies Shape,
  paced: { name: 'paced', path: '/chat/completions', body: chatBody(true), headers: { 'x-demo-chunks': '20', 'x-demo-chunk-delay-ms': '20' } } satisfies Shape,
  tavern: { name: 'tavern', path: '/chat/completions', body: tavernBody(), headers: { 'x-demo-chunks': '50' } } satisfies Shape,
  claude: { name: 'claude', path: '/messages?beta=true', body: claudeBody(), headers: { ...ANTHROPIC_HEADERS, 'x-demo-chunks': '50' }, xApiKey: true } satisfies Shape,
};

/** Requests whose answers the client compares byte for byte, direct against the target. */
export function sampleRequests(): BenchRequest[] {
  const r: BenchRequest[] = [];
  for (const text of ['Hello there.', userText, '你好，世界 — unicode survives the proxy: ✓ 🐦']) {
    r.push({ path: '/chat/completions', body: chatBody(false, text), headers: {} });
  }
  r.push({ path: '/chat/completions', body: chatBody(true, 'Stream five chunks.'), headers: { 'x-demo-chunks': '5' } });
  r.push({ path: '/chat/completions', body: chatBody(true, userText), headers: { 'x-demo-chunks': '50' } });
  return r;
}

/** The large-body shapes, compared byte for byte once per run (their phases have no direct). */
export function largeSampleRequests(): BenchRequest[] {
  return [
    { path: shapes.tavern.path, body: shapes.tavern.body, headers: shapes.tavern.headers },
    { path: shapes.claude.path, body: shapes.claude.body, headers: shapes.claude.headers },
  ];
}
