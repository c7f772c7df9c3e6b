// DaiDai models in VS Code's own language model API (issue 20), in a real extension host: the
// models listed for vendor `daidai`, answers streamed through the pool's failover loop in
// process (the proxy stays stopped), tool calls, cancellation, failover and the usage history.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import * as vscode from 'vscode';
import type { DaiDaiApi } from '../../../src/core/app/api';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_MODELS, DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import { streamedReplyText, toolArguments } from '../../../src/core/demo/replies';
import type { FakeDaiDai } from '../../fake/types';
import { EXTENSION_ID, freePort, waitUntil } from './helpers';

const SETTINGS = ['platform.baseUrl', 'upstream.baseUrl', 'proxy.port', 'balances.refreshMinutes'];
const CHUNKS = 6;
const GPT = 'gpt-4o-mini';
const CLAUDE = '[官Max]claude-sonnet-4-5-20250929';

async function modelNamed(id: string): Promise<vscode.LanguageModelChat> {
  const [m] = await vscode.lm.selectChatModels({ vendor: 'daidai', id });
  assert.ok(m, `vscode.lm.selectChatModels finds ${id}`);
  return m;
}

async function readAll(response: vscode.LanguageModelChatResponse): Promise<{ text: string; parts: unknown[]; textParts: number }> {
  let text = '';
  let textParts = 0;
  const parts: unknown[] = [];
  for await (const p of response.stream) {
    parts.push(p);
    if (p instanceof vscode.LanguageModelTextPart) {
      text += p.value;
      textParts++;
    }
  }
  return { text, parts, textParts };
}

describe('DaiDai models in VS Code chat (language model provider)', function () {
  this.timeout(60_000);
  let api: DaiDaiApi;
  let fake: FakeDaiDai;
  let sandbox: sinon.SinonSandbox;

  before(async () => {
    fake = createFakeDaiDai({ streamChunks: CHUNKS });
    await fake.start(0, '127.0.0.1');
    const ext = vscode.extensions.getExtension<DaiDaiApi>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    await api.ready;
    if (api.getStatus().loggedIn || api.getStatus().proxy.state !== 'stopped') await vscode.commands.executeCommand('daidai.logout');
    const config = vscode.workspace.getConfiguration('daidai');
    await config.update('platform.baseUrl', fake.url, vscode.ConfigurationTarget.Global);
    await config.update('upstream.baseUrl', fake.gatewayUrl, vscode.ConfigurationTarget.Global);
    const port = await freePort();
    await config.update('proxy.port', port, vscode.ConfigurationTarget.Global);
    await config.update('balances.refreshMinutes', 0, vscode.ConfigurationTarget.Global);
    await waitUntil('the settings to reach the extension', () => api.getStatus().proxyUrl === `http://127.0.0.1:${port}/v1`, 10_000);
  });

  beforeEach(() => {
    sandbox = sinon.createSandbox();
    fake.clearFaults();
  });

  afterEach(() => sandbox.restore());

  after(async () => {
    if (api) await vscode.commands.executeCommand('daidai.logout');
    const config = vscode.workspace.getConfiguration('daidai');
    for (const id of SETTINGS) await config.update(id, undefined, vscode.ConfigurationTarget.Global);
    await fake?.stop();
  });

  it('offers no DaiDai model while logged out', async () => {
    assert.deepEqual(await vscode.lm.selectChatModels({ vendor: 'daidai' }), []);
  });

  it('lists the account\'s chat models once logged in (embeddings left out), and the list follows the login', async () => {
    const changed = new Promise<void>((resolve) => {
      const sub = vscode.lm.onDidChangeChatModels(() => {
        sub.dispose();
        resolve();
      });
    });
    const input = sandbox.stub(vscode.window, 'showInputBox');
    input.onFirstCall().resolves(DEMO_ACCOUNT.email);
    input.onSecondCall().resolves(DEMO_ACCOUNT.password);
    await vscode.commands.executeCommand('daidai.login');
    await changed;
    const expected = DEMO_MODELS.filter((m) => !m.includes('embedding')).sort();
    let ids: string[] = [];
    await waitUntil('vscode.lm to list the demo\'s chat models', async () => {
      ids = (await vscode.lm.selectChatModels({ vendor: 'daidai' })).map((m) => m.id).sort();
      return ids.length === expected.length;
    }, 20_000);
    assert.deepEqual(ids, expected);
    const claude = await modelNamed(CLAUDE);
    assert.equal(claude.vendor, 'daidai');
    assert.equal(claude.family, 'claude-sonnet-4-5');
    assert.equal(claude.version, '20250929');
    assert.equal(claude.maxInputTokens, 200_000);
    assert.equal(api.getStatus().proxy.state, 'stopped', 'the proxy was never started');
  });

  it('streams the fake\'s text for a GPT model (Chat Completions) with the proxy stopped', async () => {
    const model = await modelNamed(GPT);
    // Events apart in time, as a model writes them (the fake otherwise sends them in one write).
    for (const k of DEMO_USABLE_KEYS) fake.setFault(k, { chunkDelayMs: 40 });
    const before = fake.requests.length;
    const res = await model.sendRequest([vscode.LanguageModelChatMessage.User('Hello from VS Code chat')], {}, new vscode.CancellationTokenSource().token);
    const { text, textParts } = await readAll(res);
    assert.equal(text, streamedReplyText('Hello from VS Code chat', CHUNKS));
    assert.ok(textParts >= 2, `the text came in parts as it streamed (${textParts})`);
    const sent = fake.requests.slice(before).filter((r) => r.path.startsWith('/v1/chat/completions'));
    assert.equal(sent.length, 1, 'one request reached the gateway');
    assert.equal(sent[0].model, GPT);
    assert.equal(api.getStatus().proxy.state, 'stopped');
  });

  it('speaks Anthropic Messages to a Claude model', async () => {
    const model = await modelNamed(CLAUDE);
    const before = fake.requests.length;
    const res = await model.sendRequest([vscode.LanguageModelChatMessage.User('你好，Claude')], {}, new vscode.CancellationTokenSource().token);
    assert.equal((await readAll(res)).text, streamedReplyText('你好，Claude', CHUNKS));
    assert.deepEqual(fake.requests.slice(before).map((r) => r.path), ['/v1/messages']);
  });

  for (const id of [GPT, CLAUDE]) {
    it(`${id}: a request with a tool gets the tool call back with its parsed arguments`, async () => {
      const model = await modelNamed(id);
      const schema = { type: 'object', properties: { path: { type: 'string' }, line: { type: 'number' } }, required: ['path', 'line'] };
      const tools: vscode.LanguageModelChatTool[] = [
        { name: 'daidai_test_search', description: 'Search the workspace', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } },
        { name: 'daidai_test_open', description: 'Open a file at a line', inputSchema: schema },
      ];
      const res = await model.sendRequest([vscode.LanguageModelChatMessage.User('Open it [[tool:daidai_test_open]]')], { tools }, new vscode.CancellationTokenSource().token);
      const { parts } = await readAll(res);
      const calls = parts.filter((p): p is vscode.LanguageModelToolCallPart => p instanceof vscode.LanguageModelToolCallPart);
      assert.equal(calls.length, 1, `one tool call: ${JSON.stringify(parts)}`);
      assert.equal(calls[0].name, 'daidai_test_open');
      assert.deepEqual(calls[0].input, toolArguments(schema));
      assert.ok(calls[0].callId);

      // The result goes back up, and the model answers in text.
      const follow = await model.sendRequest(
        [
          vscode.LanguageModelChatMessage.User('Open it [[tool:daidai_test_open]]'),
          vscode.LanguageModelChatMessage.Assistant([calls[0]]),
          vscode.LanguageModelChatMessage.User([new vscode.LanguageModelToolResultPart(calls[0].callId, [new vscode.LanguageModelTextPart('opened')])]),
        ],
        { tools },
        new vscode.CancellationTokenSource().token,
      );
      const after = await readAll(follow);
      assert.ok(after.text.startsWith('Echo:'), `a text answer after the tool result: ${after.text}`);
    });
  }

  it('stops the upstream request when the chat is cancelled', async () => {
    const model = await modelNamed(GPT);
    for (const k of DEMO_USABLE_KEYS) fake.setFault(k, { chunkDelayMs: 400 });
    const before = fake.requests.length;
    const cts = new vscode.CancellationTokenSource();
    const res = await model.sendRequest([vscode.LanguageModelChatMessage.User('A long answer, please')], {}, cts.token);
    let got = '';
    const reading = (async () => {
      try {
        for await (const p of res.stream) {
          if (p instanceof vscode.LanguageModelTextPart) {
            got += p.value;
            cts.cancel();
          }
        }
      } catch {
        // a cancelled stream may end with an error: what matters is the upstream
      }
    })();
    await waitUntil('the gateway to see its client go away', () => fake.requests.slice(before).some((r) => r.aborted), 10_000);
    await reading;
    const req = fake.requests.slice(before)[0];
    assert.equal(req.finished, false, 'the answer was not sent to the end');
    assert.ok(got.length > 0 && got.length < streamedReplyText('A long answer, please', CHUNKS).length, `only the start arrived: ${JSON.stringify(got)}`);
  });

  it('fails over to another key when the first one fails', async () => {
    const model = await modelNamed(GPT);
    // The gateway fails the next request, whichever key it carries; the retry goes out on another key.
    fake.setGatewayFault({ status: 500, times: 1 });
    const before = fake.requests.length;
    const res = await model.sendRequest([vscode.LanguageModelChatMessage.User('Fail over, please')], {}, new vscode.CancellationTokenSource().token);
    assert.equal((await readAll(res)).text, streamedReplyText('Fail over, please', CHUNKS));
    const tries = fake.requests.slice(before).filter((r) => r.path === '/v1/chat/completions');
    assert.ok(tries.length >= 2, `more than one attempt (${tries.length})`);
    assert.equal(tries[0].status, 500);
    assert.notEqual(tries[0].key, tries[tries.length - 1].key, 'the last attempt used another key');
    assert.equal(tries[tries.length - 1].status, 200);
  });

  it('says why in the chat when every key failed, without a key in the message', async () => {
    const model = await modelNamed(GPT);
    for (const k of DEMO_USABLE_KEYS) fake.setFault(k, { status: 503, body: { error: { message: `overloaded ${k}` } } });
    await assert.rejects(
      (async () => readAll(await model.sendRequest([vscode.LanguageModelChatMessage.User('Anyone?')], {}, new vscode.CancellationTokenSource().token)))(),
      (e: unknown) => {
        assert.ok(e instanceof vscode.LanguageModelError, `a LanguageModelError: ${String(e)}`);
        assert.match(e.message, /attempt|key/i);
        for (const k of DEMO_USABLE_KEYS) assert.ok(!e.message.includes(k), 'no key in clear');
        return true;
      },
    );
  });

  it('records the chat\'s requests in the usage history, marked as VS Code chat', async () => {
    const recent = api.getRecentRequests();
    const chat = recent.filter((r) => r.source === 'vscode-chat');
    assert.ok(chat.length >= 5, `the chat requests are in the history (${chat.length})`);
    const served = chat.find((r) => r.model === GPT && r.status === 200 && r.outputTokens !== undefined);
    assert.ok(served, 'a served chat request with its tokens');
    assert.ok(served.inputTokens! > 0);
    assert.ok(chat.some((r) => r.model === CLAUDE && /\/messages$/.test(r.route)), `a Claude request on /messages: ${JSON.stringify(chat.map((r) => [r.model, r.route]))}`);
    assert.ok(chat.some((r) => r.aborted), 'the cancelled request is there too');
  });

  it('points chat.utilityModel and chat.utilitySmallModel at DaiDai models when asked', async function () {
    const chat = vscode.workspace.getConfiguration('chat');
    if (chat.inspect('utilityModel')?.defaultValue === undefined) this.skip(); // a VS Code without the settings
    const pick = sandbox.stub(vscode.window, 'showQuickPick');
    // First the utility model (any order), then the small one: a cheap model is offered first.
    pick.onFirstCall().callsFake(async (items: unknown) => (await (items as Promise<Array<{ label: string }>>)).find((i) => i.label === GPT) as never);
    pick.onSecondCall().callsFake(async (items: unknown) => (await (items as Promise<Array<{ label: string }>>))[0] as never);
    sandbox.stub(vscode.window, 'showInformationMessage').resolves(undefined as never);
    try {
      await vscode.commands.executeCommand('daidai.useForUtilityModels');
      assert.equal(pick.callCount, 2);
      const fresh = vscode.workspace.getConfiguration('chat');
      assert.equal(fresh.get('utilityModel'), `daidai/${GPT}`);
      const small = String(fresh.get('utilitySmallModel'));
      assert.match(small, /^daidai\/.*(mini|haiku|flash)/, `a small model first: ${small}`);
    } finally {
      await chat.update('utilityModel', undefined, vscode.ConfigurationTarget.Global);
      await chat.update('utilitySmallModel', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('counts tokens with a cheap estimate', async () => {
    const model = await modelNamed(GPT);
    assert.equal(await model.countTokens('abcdefgh'), 2);
    assert.ok((await model.countTokens(vscode.LanguageModelChatMessage.User('呆呆鸟'))) >= 3);
  });
});
