// What a person does with the extension in a real VS Code, step by step, with what they must see.
import * as assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { FakeDaiDai } from '../fake/types';
import { DEMO_ACCOUNT, DEMO_USABLE_KEYS } from '../../src/core/demo/fixtures';
import { maskKey, redactSecrets } from '../../src/core/util/mask';
import { formatYuan } from '../../src/core/present/format';
import { portAccepts, waitUntil } from './util';
import type { Locator } from 'playwright-core';
import { escapeRe, type Workbench } from './workbench';

export interface ScenarioContext {
  wb: Workbench;
  fake: FakeDaiDai;
  proxyPort: number;
  /** Every key of the fake account in clear: none may ever be readable on the page. */
  secrets: readonly string[];
}

export interface StepResult {
  name: string;
  ok: boolean;
  error?: string;
  shot?: string;
  ms: number;
  /** A failure whose retry passed: shown in the summary, counted neither as passed nor failed. */
  retried?: boolean;
}

/** The view container and view as the extension contributes them. */
const CONTAINER = 'DaiDai';
const KEYS_VIEW = 'Keys';

/** Runs the steps in order; stops at the first failure (later steps depend on earlier ones). */
export async function runScenario(ctx: ScenarioContext, results: StepResult[]): Promise<void> {
  const { wb, fake } = ctx;
  const usable = [...DEMO_USABLE_KEYS];
  const faulty = usable[0];
  const proxyBase = `http://127.0.0.1:${ctx.proxyPort}`;
  const openai = new OpenAI({ baseURL: `${proxyBase}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 30_000 });

  const step = async (name: string, body: () => Promise<void>) => {
    const t0 = Date.now();
    console.log(`\n[e2e] step: ${name}`);
    try {
      await body();
      await assertNoSecretOnPage(ctx, name);
      const shot = await wb.screenshot(name);
      results.push({ name, ok: true, shot, ms: Date.now() - t0 });
      console.log(`[e2e] ok: ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      const shot = await wb.screenshot(`${name}-FAILED`).catch(() => undefined);
      const error = e instanceof Error ? e.message : String(e);
      results.push({ name, ok: false, error, shot, ms: Date.now() - t0 });
      console.log(`[e2e] FAILED: ${name}: ${error}`);
      throw e;
    }
  };

  /** Waits for an element; on time-out says what a person would have missed and what was there instead. */
  const see = async (target: Locator, what: string, timeoutMs: number) => {
    try {
      await target.waitFor({ state: 'visible', timeout: timeoutMs });
    } catch {
      const status = await wb.page.locator('#workbench\\.parts\\.statusbar .statusbar-item').allInnerTexts().catch(() => []);
      const tree = await wb.viewPane(KEYS_VIEW).innerText({ timeout: 1000 }).catch(() => '(no Keys view)');
      throw new Error(
        redactSecrets(`Expected ${what} within ${timeoutMs} ms.\n  status bar: ${status.map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean).join(' | ')}\n  Keys view: ${tree.replace(/\n+/g, ' | ')}`),
      );
    }
  };
  const keysPane = () => wb.viewPane(KEYS_VIEW);
  const keyRow = (key: string) => keysPane().locator('.monaco-list-row', { hasText: maskKey(key) }).first();

  await step('workbench-loaded', async () => {
    await see(wb.activityItem(CONTAINER), 'the DaiDai icon in the activity bar', 30_000);
  });

  await step('login', async () => {
    await wb.showContainer(CONTAINER, KEYS_VIEW);
    await wb.widenSideBar(640);
    await wb.runCommand('DaiDai: Login');
    await wb.answerInput(/e-?mail/i, DEMO_ACCOUNT.email);
    await wb.answerInput(/password/i, DEMO_ACCOUNT.password, { password: true });
    const pane = await wb.showContainer(CONTAINER, KEYS_VIEW);
    // The account row carries the email and the total balance.
    const account = pane.locator('.monaco-list-row', { hasText: DEMO_ACCOUNT.email }).first();
    await see(account, `the account row with ${DEMO_ACCOUNT.email} in the Keys tree`, 30_000);
    for (const key of usable) await see(keyRow(key), `a row for key ${maskKey(key)} in the Keys tree`, 15_000);

    const rows = await wb.treeRows(pane);
    assert.equal(rows.length, usable.length + 1, `the tree should show the account row and ${usable.length} key rows, got:\n${rows.join('\n')}`);
    let total = 0;
    for (const key of usable) {
      const balance = fake.balanceOf(key);
      assert.ok(balance !== undefined, `the fake knows the balance of ${maskKey(key)}`);
      total += balance;
      const text = await keyRow(key).innerText();
      assert.match(text, new RegExp(escapeRe(formatYuan(balance))), `row of ${maskKey(key)} should show its balance ${formatYuan(balance)}: ${text}`);
    }
    const accountText = await account.innerText();
    assert.match(accountText, new RegExp(escapeRe(formatYuan(total))), `the account row should show the total ${formatYuan(total)}: ${accountText}`);
  });

  await step('start-proxy', async () => {
    await wb.runCommand('DaiDai: Start Proxy');
    const item = wb.statusItem(new RegExp(`DaiDai ${usable.length}/${usable.length}`));
    await see(item, `the status bar to read "DaiDai ${usable.length}/${usable.length}" (proxy running)`, 20_000);
    assert.ok(await item.locator('.codicon-radio-tower').count(), 'the running status item shows the radio-tower icon');
    const res = await fetch(`${proxyBase}/health`);
    assert.equal(res.status, 200, '/health answers 200');
    const body = await res.text();
    const health = JSON.parse(body) as { status?: string };
    assert.equal(health.status, 'ok', `/health status: ${body}`);
    for (const s of ctx.secrets) assert.ok(!body.includes(s), '/health shows no key in clear');
  });

  await step('requests-counted', async () => {
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello from the e2e test' }] });
    assert.ok(reply.choices[0]?.message?.content, 'the chat through the proxy has an answer');
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Stream, please' }] });
    let chunks = 0;
    let text = '';
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta?.content ?? '';
    }
    assert.ok(chunks > 1 && text.length > 0, `the stream through the proxy came in chunks (${chunks}) with text`);
    // The status bar's tooltip counts the requests the proxy served.
    const hover = await wb.hoverText(wb.statusItem(/DaiDai/), /Requests served: 2\b/);
    console.log(`  status tooltip: ${hover.replace(/\n/g, ' | ')}`);
  });

  await step('failing-key-disabled', async () => {
    fake.setFault(faulty, { status: 401, body: { error: { message: 'invalid api key', type: 'invalid_request_error' } } });
    const row = keyRow(faulty);
    // Rotation reaches the faulty key every few requests; its failures must show in the tree.
    let sent = 0;
    // A 401 is a revoked key: the row says so ("revoked"; "disabled" before the rows told the two apart).
    await waitUntil(`the tree to show ${maskKey(faulty)} as revoked`, async () => {
      if (/\b(revoked|disabled)\b/i.test(await row.innerText())) return true;
      if (sent >= 40) throw new Error(`sent ${sent} requests and the row still reads: ${await row.innerText()}`);
      sent++;
      await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `request ${sent}` }] });
      return false;
    }, 60_000, 50);
    console.log(`  ${maskKey(faulty)} disabled after ${sent} requests`);
    assert.ok(fake.requests.some((r) => r.key === faulty && r.status === 401), 'the faulty key was really tried and refused');
    await see(wb.statusItem(new RegExp(`DaiDai ${usable.length - 1}/${usable.length}`)), `the status bar to read "DaiDai ${usable.length - 1}/${usable.length}"`, 10_000);
    assert.ok(await row.locator('.codicon-circle-slash').count(), 'the disabled key shows the circle-slash icon');
  });

  await step('stop-proxy', async () => {
    await wb.runCommand('DaiDai: Stop Proxy');
    const stopped = wb.page.locator('#workbench\\.parts\\.statusbar .statusbar-item', {
      has: wb.page.locator('.codicon-circle-slash'),
      hasText: /DaiDai/,
    });
    await see(stopped.first(), 'the stopped DaiDai status item (circle-slash icon)', 20_000);
    assert.doesNotMatch(await stopped.first().innerText(), /\d+\/\d+/, 'the stopped item shows no key count');
    await waitUntil(`port ${ctx.proxyPort} to refuse connections`, async () => !(await portAccepts(ctx.proxyPort)), 10_000);
  });

  await step('logout', async () => {
    await wb.runCommand('DaiDai: Logout');
    const pane = keysPane();
    const loginButton = pane.locator('.welcome-view-content .monaco-button', { hasText: /^\s*log\s?in\s*$/i });
    const dialog = wb.page.locator('.monaco-dialog-box');
    await see(loginButton.or(dialog).first(), 'the welcome view with its Login button (or a confirmation)', 20_000);
    if (await dialog.isVisible()) {
      console.log(`  confirmation asked: ${(await dialog.innerText()).replace(/\n/g, ' | ')}`);
      await dialog.locator('.monaco-button', { hasText: /log\s?out|yes|ok/i }).first().click();
    }
    await see(loginButton.first(), 'the welcome view with its Login button', 20_000);
    assert.equal(await pane.locator('.monaco-list-row', { hasText: DEMO_ACCOUNT.email }).count(), 0, 'no account row after logout');
  });
}

export async function assertNoSecretOnPage(ctx: Pick<ScenarioContext, 'wb' | 'secrets'>, step: string): Promise<void> {
  const text = await ctx.wb.text();
  for (const s of ctx.secrets) {
    if (text.includes(s)) throw new Error(`A key appears in clear on the page after step "${step}" (${maskKey(s)})`);
  }
}
