// The chat provider's core (answerChat) over the real proxy's in-process entry and the fake
// gateway: the proxy never started, no socket of ours; text as it streams, tool calls assembled,
// usage read off the answer into a record marked vscode-chat, failover, errors, cancellation.
import * as assert from 'node:assert/strict';
import { answerChat } from '../../../src/core/chat/answer';
import { ChatFailure } from '../../../src/core/chat/errors';
import type { ChatOutput } from '../../../src/core/chat/types';
import { KeyPool } from '../../../src/core/pool/keyPool';
import { ProxyServer } from '../../../src/core/proxy/server';
import type { RequestRecord } from '../../../src/core/proxy/types';
import { createUsageMeter } from '../../../src/core/usage';
import { createFakeDaiDai, DEMO_USABLE_KEYS, streamedReplyText } from '../../fake/fakeDaiDai';
import type { FakeDaiDai } from '../../fake/types';
import { toolArguments } from '../../../src/core/demo/replies';
import { waitUntil } from '../../helpers/wait';

const [K0, K1] = DEMO_USABLE_KEYS;
const gpt = { id: 'gpt-4o', wire: 'openai' as const, maxOutputTokens: 16_384, capabilities: { toolCalling: true } };
const claude = { id: 'claude-sonnet-4-5-20250929', wire: 'anthropic' as const, maxOutputTokens: 64_000, capabilities: { toolCalling: true } };
const user = (text: string) => [{ role: 'user' as const, content: [{ kind: 'text' as const, text }] }];

describe('chat provider core over the in-process entry', function () {
  this.timeout(20_000);
  let fake: FakeDaiDai;
  let pool: KeyPool;
  let proxy: ProxyServer;
  let records: RequestRecord[];

  beforeEach(async () => {
    fake = createFakeDaiDai({ streamChunks: 5, costPerRequest: 0 });
    await fake.start(0, '127.0.0.1');
    pool = new KeyPool({});
    pool.setKeys([{ key: K0, name: 'k0' }, { key: K1, name: 'k1' }]);
    proxy = new ProxyServer({ pool, options: { upstreamBaseUrl: fake.gatewayUrl }, usage: createUsageMeter() });
    records = [];
    proxy.onDidRequest((r) => records.push({ ...r }));
  });

  afterEach(async () => {
    await proxy.dispose();
    pool.dispose();
    await fake.stop();
  });

  const entry = () => (request: Parameters<ProxyServer['request']>[0], sink: Parameters<ProxyServer['request']>[1]) => proxy.request(request, sink);

  for (const model of [gpt, claude]) {
    it(`${model.wire}: streams the fake's text part by part, with usage in a record marked vscode-chat`, async () => {
      for (const k of [K0, K1]) fake.setFault(k, { chunkDelayMs: 20 });
      const parts: ChatOutput[][] = [];
      await answerChat(entry(), { model, messages: user('Hello from the provider'), onParts: (p) => parts.push(p), signal: new AbortController().signal });
      assert.equal(proxy.status.state, 'stopped');
      assert.equal(parts.flat().map((p) => (p.kind === 'text' ? p.text : '')).join(''), streamedReplyText('Hello from the provider', 5));
      assert.ok(parts.length >= 2, `parts came as the stream did (${parts.length} reports)`);
      assert.equal(records.length, 1);
      assert.equal(records[0].source, 'vscode-chat');
      assert.equal(records[0].path, model.wire === 'anthropic' ? '/messages' : '/chat/completions');
      assert.equal(records[0].status, 200);
      assert.ok((records[0].usage?.inputTokens ?? 0) > 0 && records[0].usage?.outputTokens === 5, `usage read off the answer: ${JSON.stringify(records[0].usage)}`);
    });

    it(`${model.wire}: a tool call comes back assembled with its parsed arguments`, async () => {
      const schema = { type: 'object', properties: { file: { type: 'string' }, line: { type: 'integer' } }, required: ['file', 'line'] };
      const parts: ChatOutput[] = [];
      const out = await answerChat(entry(), {
        model,
        messages: user('open it [[tool:open_file]]'),
        tools: [{ name: 'search', description: 's' }, { name: 'open_file', description: 'o', inputSchema: schema }],
        onParts: (p) => parts.push(...p),
        signal: new AbortController().signal,
      });
      assert.deepEqual(parts.map((p) => (p.kind === 'toolCall' ? { name: p.name, input: p.input } : p)), [{ name: 'open_file', input: toolArguments(schema) }]);
      assert.equal(out.stopReason, model.wire === 'anthropic' ? 'tool_use' : 'tool_calls');
    });
  }

  it('fails over to the other key before the first byte', async () => {
    // The gateway fails the first attempt whichever key it carries; the second goes out on the other key.
    fake.setGatewayFault({ status: 500, times: 1 });
    const parts: ChatOutput[] = [];
    await answerChat(entry(), { model: gpt, messages: user('fail over'), onParts: (p) => parts.push(...p), signal: new AbortController().signal });
    assert.equal(parts.map((p) => (p.kind === 'text' ? p.text : '')).join(''), streamedReplyText('fail over', 5));
    assert.equal(records[0].attempts, 2);
    const tries = fake.requests.filter((r) => r.path === '/v1/chat/completions');
    assert.deepEqual(tries.map((r) => r.status), [500, 200]);
    assert.notEqual(tries[0].key, tries[1].key);
  });

  it('explains, in a ChatFailure, that every key failed; no key in it', async () => {
    for (const k of [K0, K1]) fake.setFault(k, { status: 503, body: { error: { message: `busy ${k}` } } });
    await assert.rejects(answerChat(entry(), { model: gpt, messages: user('anyone?'), onParts: () => undefined, signal: new AbortController().signal }), (e: unknown) => {
      assert.ok(e instanceof ChatFailure, String(e));
      assert.equal(e.code, 'all-failed');
      assert.match(e.message, /attempt/);
      for (const k of [K0, K1]) assert.ok(!e.message.includes(k), 'a key in the message');
      return true;
    });
  });

  it('names a model no key serves', async () => {
    pool.setModels(pool.leases()[0].id, ['gpt-4o']);
    pool.setModels(pool.leases()[1].id, ['gpt-4o']);
    await assert.rejects(
      answerChat(entry(), { model: { ...gpt, id: 'gpt-9' }, messages: user('hi'), onParts: () => undefined, signal: new AbortController().signal }),
      (e: unknown) => e instanceof ChatFailure && e.code === 'no-key' && /gpt-9/.test(e.message),
    );
  });

  it('cancelling stops the upstream request at once', async () => {
    fake.setFault(K0, { chunkDelayMs: 300 });
    fake.setFault(K1, { chunkDelayMs: 300 });
    const cancel = new AbortController();
    let got = '';
    const running = answerChat(entry(), {
      model: gpt,
      messages: user('a slow answer'),
      onParts: (p) => {
        got += p.map((x) => (x.kind === 'text' ? x.text : '')).join('');
        cancel.abort();
      },
      signal: cancel.signal,
    });
    await assert.rejects(running, (e: unknown) => e instanceof ChatFailure && e.code === 'cancelled');
    await waitUntil('the gateway to see the request go away', () => fake.requests.some((r) => r.aborted), 5_000);
    assert.ok(got.length > 0 && got.length < streamedReplyText('a slow answer', 5).length);
    assert.equal(records[0].aborted, true);
  });
});
