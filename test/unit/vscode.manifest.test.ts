// package.json's contributions must match the code: command ids, settings and their defaults,
// the context values the tree menus test, and the media files they name.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { keyContextValue } from '../../src/core/present';
import type { KeyState } from '../../src/core/pool/types';
import { COMMAND_IDS } from '../../src/core/app/commands';
import { CHAT_COMMAND_IDS, CHAT_VENDOR } from '../../src/core/chat/ids';
import { defaultSettings, settingIds, type DaiDaiSettings } from '../../src/core/app/settings';

// out/test/unit → the repository root (the same from test/unit when run by ts-node)
const root = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;
// The manifest as VS Code shows it in English: `%key%` placeholders filled from package.nls.json.
const nls = JSON.parse(readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'), (_k, v: unknown) =>
  typeof v === 'string' && /^%[^%]+%$/.test(v) && v.slice(1, -1) in nls ? nls[v.slice(1, -1)] : v,
);
const contributes = pkg.contributes;

interface MenuItem {
  command: string;
  when?: string;
  group?: string;
}

describe('vscode: package.json contributions', () => {
  it('declares exactly the commands the code registers, all in the DaiDai category', () => {
    const declared = contributes.commands.map((c: { command: string }) => c.command).sort();
    assert.deepEqual(declared, [...Object.values(COMMAND_IDS), ...Object.values(CHAT_COMMAND_IDS)].sort());
    for (const c of contributes.commands) assert.equal(c.category, 'DaiDai', c.command);
  });

  it('hides the item-only commands from the palette', () => {
    const hidden = (contributes.menus.commandPalette as MenuItem[]).filter((m) => m.when === 'false').map((m) => m.command).sort();
    assert.deepEqual(hidden, ['daidai.copyKey', 'daidai.disableKey', 'daidai.enableKey', 'daidai.statusBarMenu']);
  });

  it('declares every setting the code reads, with the same defaults', () => {
    const props = contributes.configuration.properties as Record<string, { default: unknown; scope?: string }>;
    const ids = Object.values(settingIds).map((id) => `daidai.${id}`).sort();
    assert.deepEqual(Object.keys(props).sort(), ids);
    for (const [field, id] of Object.entries(settingIds) as Array<[keyof DaiDaiSettings, string]>) {
      assert.deepEqual(props[`daidai.${id}`].default, defaultSettings[field], `default of daidai.${id}`);
    }
  });

  it('keeps the URLs that receive keys, the listen address and the proxy\'s start out of workspace settings', () => {
    const props = contributes.configuration.properties as Record<string, { scope?: string }>;
    // A trusted workspace must not start the proxy for the logged-in account, nor choose its port.
    const ids = ['daidai.platform.baseUrl', 'daidai.upstream.baseUrl', 'daidai.proxy.host', 'daidai.proxy.allowedOrigins', 'daidai.proxy.accessToken', 'daidai.proxy.autoStart', 'daidai.proxy.port'];
    for (const id of ids) {
      assert.ok(['machine', 'application'].includes(props[id].scope ?? ''), `${id} has scope ${props[id].scope}`);
    }
  });

  it('offers take-out on usable keys and put-back on keys taken out by hand', () => {
    const items = contributes.menus['view/item/context'] as MenuItem[];
    const regexOf = (command: string) => {
      const when = items.find((m) => m.command === command)!.when!;
      const m = /viewItem =~ \/(.*)\/$/.exec(when);
      assert.ok(m, `${command} tests viewItem with a regex`);
      return new RegExp(m[1]);
    };
    const disable = regexOf('daidai.disableKey');
    const enable = regexOf('daidai.enableKey');
    const copy = regexOf('daidai.copyKey');
    const states: KeyState[] = ['healthy', 'cooling', 'disabled', 'exhausted'];
    for (const state of states) {
      const auto = keyContextValue({ state, manuallyDisabled: false });
      const manual = keyContextValue({ state, manuallyDisabled: true });
      assert.ok(disable.test(auto) && !enable.test(auto), auto);
      assert.ok(enable.test(manual) && !disable.test(manual), manual);
      assert.ok(copy.test(auto) && copy.test(manual));
    }
    assert.ok(!copy.test('account') && !disable.test('account'));
  });

  it('has a welcome view with Login and the demo while logged out', () => {
    const welcome = contributes.viewsWelcome.find((w: { view: string }) => w.view === 'daidai.keys');
    assert.match(welcome.contents, /\(command:daidai\.login\)/);
    assert.match(welcome.contents, /\(command:daidai\.tryDemo\)/);
    assert.equal(welcome.when, '!daidai.loggedIn');
  });

  it('has a walkthrough whose steps complete on their commands and whose media exist', () => {
    const [walkthrough] = contributes.walkthroughs;
    const events = walkthrough.steps.map((s: { completionEvents: string[] }) => s.completionEvents);
    assert.ok(events[0].includes('onCommand:daidai.login') && events[0].includes('onCommand:daidai.tryDemo'));
    assert.ok(events[1].includes('onCommand:daidai.startProxy'));
    assert.ok(events[2].includes('onCommand:daidai.connectClient'));
    assert.ok(events[3].includes('onCommand:daidai.useForUtilityModels'), 'the chat step completes on the utility-model command');
    for (const s of walkthrough.steps) assert.ok(existsSync(path.join(root, s.media.markdown)), s.media.markdown);
  });

  it('contributes the DaiDai chat provider with a management command, on an engine that has the API', () => {
    const providers = contributes.languageModelChatProviders as Array<{ vendor: string; displayName: string; managementCommand?: string }>;
    assert.equal(providers.length, 1);
    assert.equal(providers[0].vendor, CHAT_VENDOR);
    assert.equal(providers[0].displayName, 'DaiDai');
    assert.equal(providers[0].managementCommand, CHAT_COMMAND_IDS.manageChatModels);
    assert.ok(contributes.commands.some((c: { command: string }) => c.command === providers[0].managementCommand));
    // The provider API was finalized in VS Code 1.104; the typings may not be newer than the engine (vsce refuses that).
    const min = (range: string) => /(\d+)\.(\d+)/.exec(range)!.slice(1).map(Number);
    const [major, minor] = min(pkg.engines.vscode);
    assert.ok(major > 1 || minor >= 104, `engines.vscode ${pkg.engines.vscode} has the provider API`);
    const [tMajor, tMinor] = min(pkg.devDependencies['@types/vscode']);
    assert.ok(tMajor < major || (tMajor === major && tMinor <= minor), `@types/vscode ${pkg.devDependencies['@types/vscode']} is not newer than engines.vscode ${pkg.engines.vscode}`);
  });

  it('names an activity-bar icon and a 128x128 PNG extension icon that exist', () => {
    assert.ok(existsSync(path.join(root, contributes.viewsContainers.activitybar[0].icon)));
    const png = readFileSync(path.join(root, pkg.icon));
    assert.equal(png.subarray(1, 4).toString('ascii'), 'PNG');
    assert.equal(png.readUInt32BE(16), 128);
    assert.equal(png.readUInt32BE(20), 128);
  });
});
