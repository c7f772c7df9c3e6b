// Issue 11 in a real VS Code, first half: a key taken out of rotation by hand, then the window is
// reloaded (index.ts runs `workbench.action.reloadWindow` once this phase is over: VS Code
// deactivates the extension, awaits its deactivate(), ends this extension host, starts a new one
// and activates the extension again; code-server's web workbench has no "Restart Extension Host"
// command and reloads for it itself). The second half, persistence.after-restart.test.ts, runs
// in the new host. Only in the e2e: the fake platform must outlive this host (test/e2e/suite.ts).
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import * as vscode from 'vscode';
import { DEMO_ACCOUNT } from '../../fake/fakeDaiDai';
import type { DaiDaiApi } from '../../../src/core/app/api';
import { EXTENSION_ID, freePort, waitUntil } from './helpers';
import { requestRestart } from './restart';

describe('A key taken out by hand, across a deactivation (before the reload)', function () {
  this.timeout(60_000);
  let sandbox: sinon.SinonSandbox;

  before(function () {
    if (!process.env.DAIDAI_TEST_RESULTS || !process.env.DAIDAI_E2E_PLATFORM || !process.env.DAIDAI_E2E_GATEWAY) {
      // A restart needs the harness's fake platform, which outlives this extension host.
      this.skip();
    }
  });

  beforeEach(() => {
    sandbox = sinon.createSandbox();
  });
  afterEach(() => sandbox.restore());

  it('logs in, takes a key out of rotation and asks for a reload of the window', async () => {
    const api = (await vscode.extensions.getExtension<DaiDaiApi>(EXTENSION_ID)!.activate()) as DaiDaiApi;
    await api.ready;
    if (api.getStatus().loggedIn) await vscode.commands.executeCommand('daidai.logout');
    // User settings survive the restart: the next host logs in to the same fake on the same port.
    const port = await freePort();
    const config = vscode.workspace.getConfiguration('daidai');
    await config.update('platform.baseUrl', process.env.DAIDAI_E2E_PLATFORM, vscode.ConfigurationTarget.Global);
    await config.update('upstream.baseUrl', process.env.DAIDAI_E2E_GATEWAY, vscode.ConfigurationTarget.Global);
    await config.update('proxy.port', port, vscode.ConfigurationTarget.Global);
    await waitUntil('the settings to reach the extension', () => api.getStatus().proxyUrl === `http://127.0.0.1:${port}/v1`, 10_000);

    const input = sandbox.stub(vscode.window, 'showInputBox');
    input.onFirstCall().resolves(DEMO_ACCOUNT.email);
    input.onSecondCall().resolves(DEMO_ACCOUNT.password);
    await vscode.commands.executeCommand('daidai.login');
    assert.equal(api.getStatus().loggedIn, true, 'logged in to the harness fake');

    const row = api.getTreeRows().find((r) => r.kind === 'key');
    assert.ok(row, 'the tree lists a key');
    await vscode.commands.executeCommand('daidai.disableKey', row);
    const after = api.getTreeRows().find((r) => r.id === row.id)!;
    assert.match(after.contextValue, /:manual$/, 'the key is out of rotation by hand');
    const keys = api.getStatus().keys;
    assert.equal(keys.usable, keys.total - 1);
    // An open dashboard should come back after the reload too (the webview serializer).
    await vscode.commands.executeCommand('daidai.openDashboard');
    await waitUntil('the dashboard to open', () => api.getStatus().dashboardOpen, 10_000);
    requestRestart({ pid: process.pid, keyLabel: row.label, total: keys.total, usable: keys.usable });
  });
});
