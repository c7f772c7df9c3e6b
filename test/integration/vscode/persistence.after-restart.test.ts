// Issue 11 in a real VS Code, second half (runs in the extension host started by the reload
// persistence.test.ts asked for): the extension was deactivated and activated again, and logged
// in again by itself from SecretStorage; the key taken out by hand must still be out.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DaiDaiApi } from '../../../src/core/app/api';
import { EXTENSION_ID, waitUntil } from './helpers';
import { readRestart } from './restart';

describe('A key taken out by hand, across a deactivation (after the reload)', function () {
  this.timeout(60_000);

  after(async () => {
    // Leave the profile as the suite found it: no login, no settings of ours.
    await vscode.commands.executeCommand('daidai.logout');
    const config = vscode.workspace.getConfiguration('daidai');
    for (const id of ['platform.baseUrl', 'upstream.baseUrl', 'proxy.port']) await config.update(id, undefined, vscode.ConfigurationTarget.Global);
  });

  it('keeps the key out of rotation after the extension was deactivated and activated again', async () => {
    const before = readRestart();
    assert.ok(before, 'the first phase left what it did');
    assert.notEqual(process.pid, before.pid, 'this is a new extension host: the extension was deactivated and activated again');
    const api = (await vscode.extensions.getExtension<DaiDaiApi>(EXTENSION_ID)!.activate()) as DaiDaiApi;
    await api.ready;
    assert.equal(api.getStatus().loggedIn, true, 'logged in again from the stored credentials');
    await waitUntil(`the ${before.total} keys of the account`, () => api.getStatus().keys.total === before.total, 10_000);
    const row = api.getTreeRows().find((r) => r.kind === 'key' && r.label === before.keyLabel);
    assert.ok(row, `the tree lists ${before.keyLabel} again`);
    assert.match(row.contextValue, /:manual$/, `${before.keyLabel} is still out of rotation by hand (row: ${row.contextValue})`);
    assert.equal(api.getStatus().keys.usable, before.usable, 'as many keys usable as before the restart');
    // And it can still be put back by hand.
    await vscode.commands.executeCommand('daidai.enableKey', row);
    assert.equal(api.getStatus().keys.usable, before.total);
  });

  it('brings back the dashboard that was open before the reload', async () => {
    const api = (await vscode.extensions.getExtension<DaiDaiApi>(EXTENSION_ID)!.activate()) as DaiDaiApi;
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    const isDashboard = (t: vscode.Tab) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('daidai.dashboard');
    await waitUntil('the dashboard tab after the reload', () => tabs().some(isDashboard), 10_000);
    await waitUntil('the extension to take the restored panel back', () => api.getStatus().dashboardOpen, 10_000);
    await vscode.window.tabGroups.close(tabs().filter(isDashboard));
    await waitUntil('the dashboard to close', () => !api.getStatus().dashboardOpen, 10_000);
  });
});
