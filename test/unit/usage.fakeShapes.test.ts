// The answers of the project's fake gateway (src/core/demo), as `npm run demo` and the e2e
// send them, read by the meter in socket-sized pieces: the dashboard's numbers in the demo
// come from exactly this path.
import * as assert from 'node:assert/strict';
import { anthropicMessageBody, anthropicStreamEvents, approxTokens, chatCompletionBody, chatStreamEvents, replyText } from '../../src/core/demo/replies';
import type { RequestRecord } from '../../src/core/proxy/types';
import { createUsageMeter, UsageHistory, type TokenUsage } from '../../src/core/usage';

const meter = createUsageMeter();

function through(route: { path: string; flavor: 'openai' | 'anthropic' }, ct: string, text: string, size: number): TokenUsage | undefined {
  const tap = meter.tap(route, ct)!;
  const whole = Buffer.from(text);
  for (let i = 0; i < whole.length; i += size) tap.write(whole.subarray(i, i + size));
  return tap.end();
}

describe('usage meter on the fake gateway’s answers', () => {
  const user = '你好, tell me about the pool [[long]]';
  for (const size of [1, 5, 64, 1500, 65536]) {
    it(`in pieces of ${size} bytes`, () => {
      const chat = { path: '/chat/completions', flavor: 'openai' as const };
      assert.deepEqual(through(chat, 'application/json', chatCompletionBody('gpt-4o-mini', user, 42), size), { inputTokens: 42, outputTokens: approxTokens(replyText(user)) });
      assert.deepEqual(through(chat, 'text/event-stream', chatStreamEvents('gpt-4o-mini', user, 40, 42, true).join(''), size), { inputTokens: 42, outputTokens: 40 });
      assert.equal(through(chat, 'text/event-stream', chatStreamEvents('gpt-4o-mini', user, 40, 42, false).join(''), size), undefined);
      const messages = { path: '/messages', flavor: 'anthropic' as const };
      assert.deepEqual(through(messages, 'application/json', anthropicMessageBody('claude-x', user, 17), size), { inputTokens: 17, outputTokens: approxTokens(replyText(user)) });
      assert.deepEqual(through(messages, 'text/event-stream', anthropicStreamEvents('claude-x', user, 300, 17).join(''), size), { inputTokens: 17, outputTokens: 300 });
    });
  }

  it('a RequestRecord with the measured usage goes into the history as it is', () => {
    const record: RequestRecord & { usage?: TokenUsage } = {
      id: 'r1',
      method: 'POST',
      path: '/v1/chat/completions',
      model: 'gpt-4o-mini',
      stream: true,
      status: 200,
      keyId: 'sk-aaaa…4444',
      attempts: 1,
      durationMs: 12,
      aborted: false,
      usage: through({ path: '/chat/completions', flavor: 'openai' }, 'text/event-stream', chatStreamEvents('gpt-4o-mini', user, 5, 9, true).join(''), 100),
    };
    const h = new UsageHistory();
    h.add(record, 1_700_000_000_000, 0.0001);
    assert.deepEqual(
      h.hourBuckets().map((b) => [b.model, b.requests, b.inputTokens, b.outputTokens]),
      [['gpt-4o-mini', 1, 9, 5]],
    );
  });
});
