// The extension in a real VS Code: log into the fake DaiDai platform through the input boxes,
// read the tree and the status bar through the extension's API, run requests through the proxy.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import * as vscode from 'vscode';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_MODELS, DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import type { FakeDaiDai } from '../../fake/types';
import type { DaiDaiApi } from '../../../src/core/app/api';
import { EXTENSION_ID, freePort, waitUntil } from './helpers';

const SETTINGS = ['platform.baseUrl', 'upstream.baseUrl', 'proxy.port', 'balances.refreshMinutes', 'proxy.autoStart'];

/** One request of a conversation (`content` is its first message: session affinity keeps a conversation on one key). */
async function chat(url: string, stream: boolean, content = 'Hello from VS Code'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
    body: JSON.stringify({ model: DEMO_MODELS[4], stream, messages: [{ role: 'user', content }] }),
  });
  return { status: res.status, text: await res.text() };
}

describe('DaiDai Aggregator in VS Code', function () {
  this.timeout(60_000);
  let api: DaiDaiApi;
  let fake: FakeDaiDai;
  let port: number;
  let sandbox: sinon.SinonSandbox;

  before(async () => {
    fake = createFakeDaiDai();
    await fake.start(0, '127.0.0.1');
    const ext = vscode.extensions.getExtension<DaiDaiApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
    api = await ext.activate();
    await api.ready;
    // A login stored by an earlier run would log in by itself: start from scratch.
    if (api.getStatus().loggedIn || api.getStatus().proxy.state !== 'stopped') await vscode.commands.executeCommand('daidai.logout');

    port = await freePort();
    const config = vscode.workspace.getConfiguration('daidai');
    await config.update('platform.baseUrl', fake.url, vscode.ConfigurationTarget.Global);
    await config.update('upstream.baseUrl', fake.gatewayUrl, vscode.ConfigurationTarget.Global);
    await config.update('proxy.port', port, vscode.ConfigurationTarget.Global);
    await config.update('balances.refreshMinutes', 0, vscode.ConfigurationTarget.Global);
    await waitUntil('the settings to reach the extension', () => api.getStatus().proxyUrl === `http://127.0.0.1:${port}/v1`, 10_000);
  });

  beforeEach(() => {
    sandbox = sinon.createSandbox();
  });

  afterEach(() => sandbox.restore());

  after(async () => {
    if (api) await vscode.commands.executeCommand('daidai.logout');
    const config = vscode.workspace.getConfiguration('daidai');
    for (const id of SETTINGS) await config.update(id, undefined, vscode.ConfigurationTarget.Global);
    await fake?.stop();
  });

  it('registers every command', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['login', 'logout', 'refreshKeys', 'startProxy', 'stopProxy', 'restartProxy', 'copyProxyUrl', 'showLogs', 'tryDemo', 'connectClient', 'disableKey', 'enableKey', 'copyKey']) {
      assert.ok(all.includes(`daidai.${id}`), `daidai.${id} is registered`);
    }
  });

  it('starts logged out, with an empty tree and a stopped status bar', () => {
    const s = api.getStatus();
    assert.equal(s.loggedIn, false);
    assert.equal(s.contextKeys['daidai.loggedIn'], false);
    assert.deepEqual(api.getTreeRows(), []);
    assert.equal(s.statusBar.text, '$(circle-slash) DaiDai');
  });

  it('logs in through the email and password boxes and lists every key masked', async () => {
    const input = sandbox.stub(vscode.window, 'showInputBox');
    input.onFirstCall().resolves(DEMO_ACCOUNT.email);
    input.onSecondCall().resolves(DEMO_ACCOUNT.password);
    await vscode.commands.executeCommand('daidai.login');

    assert.equal(input.callCount, 2);
    assert.equal(input.secondCall.args[0]?.password, true);
    const s = api.getStatus();
    assert.equal(s.loggedIn, true);
    assert.equal(s.email, DEMO_ACCOUNT.email);
    assert.equal(s.contextKeys['daidai.loggedIn'], true);

    const rows = api.getTreeRows();
    assert.equal(rows[0].kind, 'account');
    assert.equal(rows[0].label, DEMO_ACCOUNT.email);
    const keyRows = rows.filter((r) => r.kind === 'key');
    assert.equal(keyRows.length, DEMO_USABLE_KEYS.length);
    for (const r of keyRows) {
      assert.match(r.label, /^sk-.{4}….{4}$/);
      assert.equal(r.contextValue, 'key:healthy');
      assert.match(r.description ?? '', /¥\d+\.\d\d left/);
    }
    const text = JSON.stringify(rows);
    for (const k of DEMO_USABLE_KEYS) assert.ok(!text.includes(k), 'no key in clear in the tree');
  });

  it('starts the proxy and follows a chat and a stream in the status bar', async () => {
    await vscode.commands.executeCommand('daidai.startProxy');
    let s = api.getStatus();
    assert.equal(s.proxy.state, 'running');
    assert.equal(s.proxy.port, port);
    assert.equal(s.contextKeys['daidai.proxyRunning'], true);
    assert.equal(s.statusBar.text, `$(radio-tower) DaiDai ${DEMO_USABLE_KEYS.length}/${DEMO_USABLE_KEYS.length}`);
    assert.match(s.statusBar.tooltip, /Requests served: 0, failed: 0/);

    const plain = await chat(s.proxyUrl, false);
    assert.equal(plain.status, 200, plain.text);
    const streamed = await chat(s.proxyUrl, true, 'A second conversation from VS Code');
    assert.equal(streamed.status, 200, streamed.text);
    assert.match(streamed.text, /data: \[DONE\]/);

    await waitUntil('two served requests', () => api.getStatus().requests.served === 2, 10_000);
    s = api.getStatus();
    assert.match(s.statusBar.tooltip, /Requests served: 2, failed: 0/);
    assert.match(s.statusBar.tooltip, /Last key used: sk-/);
    const used = api.getTreeRows().filter((r) => /Requests: 1 \(1 ok/.test(r.tooltip));
    assert.equal(used.length, 2, 'two conversations: round-robin gave each its own key');
  });

  it('takes a key out of rotation from its row and puts it back', async () => {
    const row = api.getTreeRows().find((r) => r.kind === 'key')!;
    await vscode.commands.executeCommand('daidai.disableKey', row);
    const total = DEMO_USABLE_KEYS.length;
    assert.equal(api.getStatus().statusBar.text, `$(radio-tower) DaiDai ${total - 1}/${total}`);
    assert.match(api.getTreeRows().find((r) => r.id === row.id)!.contextValue, /:manual$/);
    await vscode.commands.executeCommand('daidai.enableKey', row);
    assert.equal(api.getStatus().statusBar.text, `$(radio-tower) DaiDai ${total}/${total}`);
  });

  it('copies a key only after the modal confirmation', async () => {
    const row = api.getTreeRows().find((r) => r.kind === 'key')!;
    const before = 'clipboard before';
    // A headless browser (code-server) may refuse clipboard reads: then only the question is checked.
    let clipboardReadable = true;
    try {
      await vscode.env.clipboard.writeText(before);
      clipboardReadable = (await vscode.env.clipboard.readText()) === before;
    } catch {
      clipboardReadable = false;
    }
    const ask = sandbox.stub(vscode.window, 'showWarningMessage');
    ask.resolves(undefined as never);
    await vscode.commands.executeCommand('daidai.copyKey', row);
    assert.equal(ask.callCount, 1);
    assert.equal((ask.firstCall.args[1] as vscode.MessageOptions).modal, true);
    if (clipboardReadable) assert.equal(await vscode.env.clipboard.readText(), before, 'nothing copied without a yes');
  });

  it('stops the proxy', async () => {
    const url = api.getStatus().proxyUrl;
    await vscode.commands.executeCommand('daidai.stopProxy');
    const s = api.getStatus();
    assert.equal(s.proxy.state, 'stopped');
    assert.equal(s.contextKeys['daidai.proxyRunning'], false);
    assert.equal(s.statusBar.text, '$(circle-slash) DaiDai');
    await assert.rejects(fetch(`${url}/models`));
  });

  it('logs out and forgets the keys', async () => {
    await vscode.commands.executeCommand('daidai.logout');
    const s = api.getStatus();
    assert.equal(s.loggedIn, false);
    assert.equal(s.keys.total, 0);
    assert.deepEqual(api.getTreeRows(), []);
  });

  it('runs the demo account without any settings', async () => {
    await vscode.commands.executeCommand('daidai.tryDemo');
    const s = api.getStatus();
    assert.equal(s.loggedIn, true);
    assert.equal(s.demo, true);
    assert.equal(api.getTreeRows()[0].contextValue, 'account:demo');
    await vscode.commands.executeCommand('daidai.logout');
    assert.equal(api.getStatus().demo, false);
  });
});
