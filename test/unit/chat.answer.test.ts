// answerChat over a stand-in for the proxy's in-process entry: what goes in, how answers,
// error answers, a broken stream and a cancellation come out (src/core/chat/answer.ts).
import * as assert from 'node:assert/strict';
import { answerChat, failureOfAnswer, inUserLanguage, type AnswerSink, type InProcessEntry } from '../../src/core/chat/answer';
import type { ProxyRequest } from '../../src/core/proxy/inProcess';
import { ChatFailure } from '../../src/core/chat/errors';
import type { ChatOutput } from '../../src/core/chat/types';
import { anthropicStreamEvents, chatStreamEvents, streamedReplyText } from '../../src/core/demo/replies';
import { setLanguage } from '../../src/core/l10n';

const claude = { id: '[官Max]claude-sonnet-4-5-20250929', wire: 'anthropic' as const, maxOutputTokens: 64_000, capabilities: { toolCalling: true } };
const gpt = { id: 'gpt-4o', wire: 'openai' as const, maxOutputTokens: 16_384, capabilities: { toolCalling: true } };
const hello = [{ role: 'user' as const, content: [{ kind: 'text' as const, text: 'Hello' }] }];

/** An entry that answers with `events`, one write each, and records what it was asked. */
function streaming(events: string[], opts: { contentType?: string } = {}) {
  const seen: ProxyRequest[] = [];
  const entry: InProcessEntry = async (req, sink) => {
    seen.push(req);
    sink.head(200, { 'content-type': opts.contentType ?? 'text/event-stream' });
    sink.flushHead();
    for (const e of events) sink.write(Buffer.from(e));
    sink.end();
  };
  return { entry, seen };
}

function collect(): { parts: ChatOutput[]; onParts: (p: ChatOutput[]) => void } {
  const parts: ChatOutput[] = [];
  return { parts, onParts: (p) => parts.push(...p) };
}

const text = (parts: ChatOutput[]) => parts.map((p) => (p.kind === 'text' ? p.text : '')).join('');

describe('chat answer: through an in-process entry', () => {
  afterEach(() => setLanguage('en'));

  it('sends an Anthropic request for Claude, marked as VS Code chat, and streams its text back part by part', async () => {
    const { entry, seen } = streaming(anthropicStreamEvents(claude.id, 'Hello', 4, 3));
    const { parts, onParts } = collect();
    const out = await answerChat(entry, { model: claude, messages: hello, onParts, signal: new AbortController().signal });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].path, '/v1/messages');
    assert.equal(seen[0].model, claude.id);
    assert.equal(seen[0].stream, true);
    assert.equal(seen[0].source, 'vscode-chat');
    assert.equal(seen[0].headers?.['anthropic-version'], '2023-06-01');
    assert.equal(JSON.parse(seen[0].body!.toString()).model, claude.id);
    assert.equal(text(parts), streamedReplyText('Hello', 4));
    assert.ok(parts.length >= 4, `one part per content event (${parts.length})`);
    assert.equal(out.stopReason, 'end_turn');
  });

  it('sends Chat Completions for other models', async () => {
    const { entry, seen } = streaming(chatStreamEvents('gpt-4o', 'Hello', 3, 5, true));
    const { parts, onParts } = collect();
    await answerChat(entry, { model: gpt, messages: hello, onParts, signal: new AbortController().signal });
    assert.equal(seen[0].path, '/v1/chat/completions');
    assert.equal(text(parts), streamedReplyText('Hello', 3));
  });

  it('takes a plain JSON answer from a gateway that ignored stream: true', async () => {
    const body = JSON.stringify({ choices: [{ message: { content: 'Hi', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{"a":1}' } }] } }] });
    const { entry } = streaming([body], { contentType: 'application/json' });
    const { parts, onParts } = collect();
    await answerChat(entry, { model: gpt, messages: hello, onParts, signal: new AbortController().signal });
    assert.deepEqual(parts, [{ kind: 'text', text: 'Hi' }, { kind: 'toolCall', callId: 'c', name: 'f', input: { a: 1 } }]);
  });

  it('fails with the proxy\'s own explanation when every key failed', async () => {
    const entry: InProcessEntry = async (_req, sink) => {
      sink.head(503, { 'content-type': 'application/json' });
      sink.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Every key tried was refused by the gateway (sk-abcd…wxyz: no balance).' } }));
    };
    await assert.rejects(answerChat(entry, { model: claude, messages: hello, onParts: () => undefined, signal: new AbortController().signal }), (e: unknown) => e instanceof ChatFailure && /Every key tried was refused/.test(e.message));
  });

  it('names the model no key serves', async () => {
    const entry: InProcessEntry = async (_req, sink) => {
      sink.head(404, { 'content-type': 'application/json' });
      sink.end(JSON.stringify({ error: { message: 'No key of this account serves model "gpt-4o".', code: 'model_not_found' } }));
    };
    await assert.rejects(answerChat(entry, { model: gpt, messages: hello, onParts: () => undefined, signal: new AbortController().signal }), (e: unknown) => e instanceof ChatFailure && e.code === 'no-key' && /gpt-4o/.test(e.message));
  });

  it('fails when the answer broke off mid-stream, keeping the text that came', async () => {
    const entry: InProcessEntry = async (_req, sink) => {
      sink.head(200, { 'content-type': 'text/event-stream' });
      sink.write(Buffer.from(chatStreamEvents('gpt-4o', 'Hello', 3, 5, false)[1]));
      sink.fail('The upstream broke off the answer mid-way (connection reset). Please retry.', undefined);
    };
    const { parts, onParts } = collect();
    await assert.rejects(answerChat(entry, { model: gpt, messages: hello, onParts, signal: new AbortController().signal }), (e: unknown) => e instanceof ChatFailure && e.code === 'stream' && /broke off/.test(e.message));
    assert.ok(text(parts).length > 0);
  });

  it('fails on a stream that ends without its end marker', async () => {
    const { entry } = streaming(chatStreamEvents('gpt-4o', 'Hello', 3, 5, false).slice(0, 2));
    await assert.rejects(answerChat(entry, { model: gpt, messages: hello, onParts: () => undefined, signal: new AbortController().signal }), (e: unknown) => e instanceof ChatFailure && e.code === 'stream');
  });

  it('aborts the entry\'s signal when VS Code cancels, and says it was cancelled', async () => {
    const cancel = new AbortController();
    let upstreamAborted = false;
    const entry: InProcessEntry = ({ signal }, sink) =>
      new Promise<void>((resolve) => {
        sink.head(200, { 'content-type': 'text/event-stream' });
        sink.write(Buffer.from(chatStreamEvents('gpt-4o', 'Hello', 3, 5, false)[1]));
        signal!.addEventListener('abort', () => {
          upstreamAborted = true;
          resolve();
        });
        setTimeout(() => cancel.abort(), 5);
      });
    await assert.rejects(answerChat(entry, { model: gpt, messages: hello, onParts: () => undefined, signal: cancel.signal }), (e: unknown) => e instanceof ChatFailure && e.code === 'cancelled');
    assert.ok(upstreamAborted);
  });

  it('aborts the upstream when VS Code\'s stream refuses parts, and never throws into the loop', async () => {
    let aborted = false;
    let threw = false;
    const entry: InProcessEntry = async ({ signal }, sink: AnswerSink) => {
      signal!.addEventListener('abort', () => (aborted = true));
      sink.head(200, { 'content-type': 'text/event-stream' });
      try {
        for (const e of chatStreamEvents('gpt-4o', 'Hello', 3, 5, true)) sink.write(Buffer.from(e));
        sink.end();
      } catch {
        threw = true;
      }
    };
    const onParts = () => {
      throw new Error('Response stream has been closed');
    };
    await assert.rejects(answerChat(entry, { model: gpt, messages: hello, onParts, signal: new AbortController().signal }), /closed/);
    assert.ok(aborted, 'the upstream was aborted');
    assert.equal(threw, false);
  });

  it('refuses tools for a model that cannot call them before anything is sent', async () => {
    const { entry, seen } = streaming([]);
    await assert.rejects(
      answerChat(entry, { model: { ...gpt, capabilities: { toolCalling: false } }, messages: hello, tools: [{ name: 't', description: '' }], onParts: () => undefined, signal: new AbortController().signal }),
      (e: unknown) => e instanceof ChatFailure && e.code === 'bad-request',
    );
    assert.equal(seen.length, 0);
  });
});

describe('chat answer: error answers in the user\'s language', () => {
  afterEach(() => setLanguage('en'));

  it('shows the half of a bilingual message the user reads', () => {
    const m = 'No usable API key. / 没有可用的 API 密钥。';
    assert.equal(inUserLanguage(m), 'No usable API key.');
    setLanguage('zh-cn');
    assert.equal(inUserLanguage(m), '没有可用的 API 密钥。');
    assert.equal(inUserLanguage('a / b'), 'a / b', 'a slash in English text is not a translation');
  });

  it('explains a gateway refusal with its status and words, and never a key', () => {
    const key = 'sk-' + 'Z'.repeat(48);
    const f = failureOfAnswer(400, Buffer.from(JSON.stringify({ error: { message: `您的请求包含敏感内容 ${key}`, code: 'sensitive_words_detected' } })), 'gpt-4o');
    assert.equal(f.code, 'refused');
    assert.match(f.message, /HTTP 400/);
    assert.match(f.message, /敏感内容/);
    assert.ok(!f.message.includes(key));
    const page = failureOfAnswer(502, Buffer.from('<html>bad gateway</html>'), 'gpt-4o');
    assert.equal(page.code, 'all-failed');
    assert.match(page.message, /HTTP 502/);
  });
});
