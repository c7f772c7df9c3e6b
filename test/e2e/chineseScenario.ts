// Issue 12 as a Chinese-reading user meets it: a code-server of its own with the display language
// zh-cn (`--locale zh-cn` plus the minimal language pack of scripts/l10n-langpack.mjs, since the
// real pack lives on a marketplace tests cannot reach). The workbench itself stays English (the
// pack has no translations of its own); the extension must speak Chinese: the Keys view, the
// status-bar tooltip, its notifications and the usage dashboard.
import * as assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeDaiDai } from '../fake/fakeDaiDai';
import { DEMO_ACCOUNT, DEMO_USABLE_KEYS } from '../../src/core/demo/fixtures';
import { formatYuan } from '../../src/core/present/format';
import { maskKey } from '../../src/core/util/mask';
import { CodeServer, type CodeServerInstall } from './codeServer';
import type { StepResult } from './scenario';
import { stepRunner } from './steps';
import { freePort, run, waitUntil } from './util';
import { escapeRe, Workbench } from './workbench';

export interface ChineseRunOptions {
  install: CodeServerInstall;
  repo: string;
  vsix: string;
  /** Folder for this code-server's state, the pack and the browser profile. */
  root: string;
  shotDir: string;
  secrets: readonly string[];
  /** Checked on this code-server's logs once the steps are done (no key in clear). */
  checkLogs(cs: CodeServer): void;
}

/** Chinese characters somewhere in the text: what tells a translated string from an English one. */
const HAN = /\p{Script=Han}/u;

export async function runChinese(opts: ChineseRunOptions, results: StepResult[]): Promise<void> {
  const fake = createFakeDaiDai();
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  const step = stepRunner(results, opts.secrets);
  try {
    await fake.start(0, '127.0.0.1');
    mkdirSync(opts.root, { recursive: true });
    const pack = join(opts.root, 'zh-cn-langpack.vsix');
    const made = await run(process.execPath, [join(opts.repo, 'scripts', 'l10n-langpack.mjs'), 'vsix', pack], { prefix: '  [langpack] ' });
    if (made.code !== 0) throw new Error(`scripts/l10n-langpack.mjs vsix failed (exit ${made.code})`);
    const proxyPort = await freePort();
    cs = new CodeServer({
      install: opts.install,
      root: join(opts.root, 'code-server'),
      vsix: [opts.vsix, pack],
      args: ['--locale', 'zh-cn'],
      settings: {
        'daidai.platform.baseUrl': fake.url,
        'daidai.upstream.baseUrl': fake.gatewayUrl,
        'daidai.proxy.port': proxyPort,
        'daidai.proxy.host': '127.0.0.1',
      },
    });
    await cs.installExtensions();
    // A command-line install does not index the pack; the server resolves --locale from this index.
    const reg = await run(process.execPath, [join(opts.repo, 'scripts', 'l10n-langpack.mjs'), 'register', cs.userDataDir, cs.extensionsDir], { prefix: '  [langpack] ' });
    if (reg.code !== 0) throw new Error(`scripts/l10n-langpack.mjs register failed (exit ${reg.code})`);
    await cs.start();
    console.log(`[e2e] code-server (zh-cn) at ${cs.url}`);
    wb = await Workbench.launch(join(opts.root, 'chromium'), opts.shotDir);
    await wb.load(cs.workbenchUrl());
    const w = wb;
    const here = () => [['', w]] as Array<[string, Workbench]>;

    await step('zh-keys-view', here, async () => {
      await w.activityItem('DaiDai').waitFor({ state: 'visible', timeout: 30_000 });
      await w.showContainer('DaiDai', '密钥');
      await w.widenSideBar(640);
      await w.runCommand('DaiDai: 登录');
      await w.answerInput(/e-?mail|邮箱/i, DEMO_ACCOUNT.email);
      await w.answerInput(/password|密码/i, DEMO_ACCOUNT.password, { password: true });
      const pane = await w.showContainer('DaiDai', '密钥');
      const key = DEMO_USABLE_KEYS[0];
      const row = pane.locator('.monaco-list-row', { hasText: maskKey(key) }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      const header = await pane.locator('.pane-header').first().innerText();
      assert.match(header, /密钥/, `the view is called 密钥: ${header}`);
      const text = (await row.innerText()).replace(/\s+/g, ' ');
      const balance = fake.balanceOf(key)!;
      // "剩余 ¥12.50": the balance in the words DaiDai users use, not "¥12.50 left".
      assert.match(text, new RegExp(`剩余 ${escapeRe(formatYuan(balance))}`), `the key row reads 剩余 ${formatYuan(balance)} (Chinese): ${text}`);
      assert.doesNotMatch(text, /\bleft\b/, `no English left in the key row: ${text}`);
      console.log(`  key row: ${text}`);
    });

    await step('zh-status-tooltip', here, async () => {
      await w.runCommand('DaiDai: 启动代理');
      await waitUntil('the status bar to read "DaiDai n/n"', async () => /DaiDai \d+\/\d+/.test(await w.statusText(/DaiDai/)), 20_000);
      const tip = await w.hoverText(w.statusItem(/DaiDai \d+\/\d+/), /\S/, 15_000, { keepOpen: true });
      console.log(`  status tooltip: ${tip.replace(/\n/g, ' | ')}`);
      assert.ok(HAN.test(tip), `the tooltip has Chinese text: ${tip}`);
      assert.match(tip, /代理/, `the tooltip says 代理: ${tip}`);
      assert.match(tip, /密钥/, `the tooltip says 密钥: ${tip}`);
      assert.doesNotMatch(tip, /Requests served|proxy running/i, `no English left in the tooltip: ${tip}`);
    });

    await step('zh-notification', here, async () => {
      await w.page.mouse.move(5, 5);
      // The notification centre keeps Start Proxy's toast after it has timed out; the bell opens it.
      await w.page.locator('#workbench\\.parts\\.statusbar .statusbar-item .codicon-bell, #workbench\\.parts\\.statusbar .statusbar-item .codicon-bell-dot').first().click();
      const center = w.page.locator('.notifications-center');
      await center.waitFor({ state: 'visible', timeout: 10_000 });
      // The proxy's own notification names its port; the login's is there too.
      const entry = center.locator('.monaco-list-row', { hasText: new RegExp(`:${proxyPort}\\b`) }).first();
      await entry.waitFor({ state: 'visible', timeout: 10_000 });
      const text = (await entry.innerText()).replace(/\s+/g, ' ');
      console.log(`  notification: ${text}`);
      assert.match(text, /代理/, `the Start Proxy notification is in Chinese (代理): ${text}`);
    });

    await step('zh-dashboard', here, async () => {
      await w.page.mouse.move(5, 5);
      await w.page.keyboard.press('Escape');
      // Two chats through the proxy, so every part of the page has rows to name.
      for (const content of ['你好', 'hello']) {
        const res = await fetch(`http://127.0.0.1:${proxyPort}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      await w.runCommand('DaiDai: 打开用量面板');
      await w.page.locator('iframe.webview.ready').first().waitFor({ state: 'visible', timeout: 20_000 });
      const frame = w.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
      const requests = frame.locator('[data-testid="period-requests"]').first();
      await requests.waitFor({ state: 'visible', timeout: 20_000 });
      await waitUntil('the dashboard to count the two chats', async () => /\b2\b/.test(await requests.innerText()), 20_000);
      const text = await frame.locator('body').innerText();
      assert.ok(HAN.test(text), `the dashboard has Chinese text: ${text.slice(0, 300)}`);
      // The English of the dashboard's own words (the page's and the model's); model ids, masked
      // keys and numbers are not words to translate.
      const english = [/\bSpend\b/, /\bTokens\b/, /\bBy model\b/, /\bBy key\b/, /\bRecent requests\b/, /\bToday\b/, /\bLast 7 days\b/, /\bhealthy\b/, /\bdays? left\b/, /\bprice unknown\b/, /\bNo errors\b/, /\bUpdated\b/, /\bAll models\b/, /\bBalance\b/];
      const left = english.filter((re) => re.test(text)).map(String);
      assert.deepEqual(left, [], `English left on the Chinese dashboard: ${left.join(', ')}`);
      await w.screenshot('zh-dashboard');
      await frame.locator('[data-testid="recent"]').first().scrollIntoViewIfNeeded();
      await w.screenshot('zh-dashboard-recent');
    });

    await w.page.mouse.move(5, 5);
    await w.runCommand('DaiDai: 停止代理');
    opts.checkLogs(cs);
  } catch (e) {
    if (cs) console.log(cs.diagnostics());
    throw e;
  } finally {
    await wb?.close();
    await cs?.stop();
    await fake.stop();
  }
}
