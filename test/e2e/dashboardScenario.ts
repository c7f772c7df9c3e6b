// The usage dashboard and the Models view in a real VS Code, after the main scenario: the demo
// account (packages: each key serves its group's models; it keeps no history, so the page shows
// exactly what this scenario sends), a few chats of known models through the proxy, then what a
// person sees. The expected ¥ is computed from the demo's own price list the way the usage code
// does (parsePrice, priceOf, costOf on the usage each answer carried), the counts from what was sent.
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { FrameLocator, Locator } from 'playwright-core';
import { DEMO_ACCOUNT, DEMO_PACKAGE_KEYS, DEMO_PACKAGE_PRICING, DEMO_USABLE_KEYS } from '../../src/core/demo/fixtures';
import { parsePrice } from '../../src/core/platform/parse';
import type { ModelPrice } from '../../src/core/platform/types';
import { formatCount, formatYuan } from '../../src/core/present';
import { costOf, priceOf } from '../../src/core/usage';
import { maskKey, redactSecrets } from '../../src/core/util/mask';
import type { ScenarioContext, StepResult } from './scenario';
import { waitUntil } from './util';
import { escapeRe } from './workbench';

export interface DashboardScenarioContext extends ScenarioContext {
  /** code-server's User and Machine settings.json: the colour theme is switched there. */
  settingsFiles: readonly string[];
}

const CONTAINER = 'DaiDai';
const KEYS_VIEW = 'Keys';
const MODELS_VIEW = 'Models';

/**
 * The chats sent: per-token prices (the [官Max] channel priced apart from the bare id), a
 * per-call price, streamed and not. Every model is served by some demo package. Two long prompts
 * (about 10,000 tokens each, the fake counts bytes / 4) so the per-token part is worth fens.
 */
const CHATS: { model: string; stream: boolean; long?: boolean }[] = [
  { model: 'gpt-4o-mini', stream: false },
  { model: '[官Max]claude-sonnet-4-5-20250929', stream: true, long: true },
  { model: 'gpt-4o-image', stream: false },
  { model: 'claude-sonnet-4-5-20250929', stream: false, long: true },
  { model: 'claude-3-5-haiku-20241022', stream: false },
  { model: 'gpt-4o-image', stream: true },
  { model: 'gpt-4o-mini', stream: true },
];

/** The demo's usable keys and the models each serves (its package's group). */
const DEMO_SERVERS = DEMO_PACKAGE_KEYS.filter((k) => k.key && (k.state ?? 'success') === 'success' && !k.hasError).filter(
  (k, i, all) => all.findIndex((o) => o.key === k.key) === i,
);
const servedBy = (model: string) => DEMO_SERVERS.filter((k) => k.models === undefined || k.models.includes(model)).length;

export async function runDashboardScenario(ctx: DashboardScenarioContext, results: StepResult[]): Promise<void> {
  const { wb, fake } = ctx;
  const proxyBase = `http://127.0.0.1:${ctx.proxyPort}`;
  const openai = new OpenAI({ baseURL: `${proxyBase}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 30_000 });
  const prices = DEMO_PACKAGE_PRICING.map(parsePrice).filter((p): p is ModelPrice => p !== undefined);

  const assertNoSecret = async (where: string, text: string) => {
    for (const s of ctx.secrets) if (text.includes(s)) throw new Error(`A key appears in clear in ${where} (${maskKey(s)})`);
  };
  const step = async (name: string, body: () => Promise<void>) => {
    const t0 = Date.now();
    console.log(`\n[e2e] step: ${name}`);
    try {
      await body();
      await assertNoSecret(`the page after step "${name}"`, await wb.text());
      const shot = await wb.screenshot(name);
      results.push({ name, ok: true, shot, ms: Date.now() - t0 });
      console.log(`[e2e] ok: ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      const shot = await wb.screenshot(`${name}-FAILED`).catch(() => undefined);
      const error = redactSecrets(e instanceof Error ? e.message : String(e));
      results.push({ name, ok: false, error, shot, ms: Date.now() - t0 });
      console.log(`[e2e] FAILED: ${name}: ${error}`);
      throw e;
    }
  };
  const see = async (target: Locator, what: string, timeoutMs: number) => {
    try {
      await target.waitFor({ state: 'visible', timeout: timeoutMs });
    } catch {
      const models = await wb.viewPane(MODELS_VIEW).innerText({ timeout: 1000 }).catch(() => '(no Models view)');
      throw new Error(redactSecrets(`Expected ${what} within ${timeoutMs} ms.\n  Models view: ${models.replace(/\n+/g, ' | ')}`));
    }
  };
  const modelsPane = () => wb.viewPane(MODELS_VIEW);
  const modelRow = (model: string) =>
    modelsPane()
      .locator('.monaco-list-row', { has: wb.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(model)}\\s*$`) }) })
      .first();

  // What was sent, and what it must add up to.
  let inputTokens = 0;
  let outputTokens = 0;
  let yuan = 0;
  let unpriced = 0;
  const perModel = new Map<string, number>();

  await step('dashboard-demo-account', async () => {
    fake.clearFaults();
    await wb.showContainer(CONTAINER, KEYS_VIEW);
    await wb.runCommand('DaiDai: Try the Demo Account');
    await see(wb.viewPane(KEYS_VIEW).locator('.monaco-list-row', { hasText: DEMO_ACCOUNT.email }).first(), 'the demo account row in the Keys view', 30_000);
    await wb.runCommand('DaiDai: Start Proxy');
    const n = DEMO_USABLE_KEYS.length;
    await see(wb.statusItem(new RegExp(`DaiDai ${n}/${n}`)), `the status bar to read "DaiDai ${n}/${n}"`, 20_000);
  });

  await step('models-view', async () => {
    const pane = modelsPane();
    await see(pane, 'the Models view under the Keys view', 15_000);
    // Prices come with the keys: wait for them before any chat, so every request is priced.
    await see(modelRow('gpt-4o-mini').filter({ hasText: '¥0.15/¥0.60 per M' }), 'gpt-4o-mini priced ¥0.15/¥0.60 per M in the Models view', 30_000);
    const models = [...new Set([...CHATS.map((c) => c.model), '[官Max]claude-opus-4-1-20250805', 'gemini-2.5-pro'])];
    for (const model of models) {
      const row = modelRow(model);
      await see(row, `a row for ${model} in the Models view`, 10_000);
      const text = await row.innerText();
      assert.ok(priceOf(model, prices), `the demo prices ${model}`);
      assert.doesNotMatch(text, /price unknown/, `${model} is priced: ${text}`);
      const n = servedBy(model);
      assert.match(text, new RegExp(`· ${n} keys?$`, 'm'), `${model} is served by ${n} demo key(s): ${text}`);
    }
    assert.match(await modelRow('gpt-4o-image').innerText(), /¥0\.10\/call/);
    // The official channel and the bare id are priced apart.
    assert.match(await modelRow('[官Max]claude-sonnet-4-5-20250929').innerText(), /¥12\.00\/¥60\.00 per M/);
    assert.match(await modelRow('claude-sonnet-4-5-20250929').innerText(), /¥6\.00\/¥30\.00 per M/);
    // The official Max Opus is at 87.75 % in the monitor: a warning icon.
    const opus = modelRow('[官Max]claude-opus-4-1-20250805');
    assert.match(await opus.innerText(), /87\.75% available \(low\)/);
    assert.ok(await opus.locator('.codicon-warning').count(), 'Opus under 95 % shows the warning icon');
    assert.equal(await modelRow('gpt-4o-mini').locator('.codicon-warning').count(), 0, 'gpt-4o-mini at 100 % shows no warning');
  });

  await step('dashboard-chats', async () => {
    for (const [i, chat] of CHATS.entries()) {
      const messages = [{ role: 'user' as const, content: `Dashboard chat ${i + 1}${chat.long ? ' ' + 'lorem ipsum '.repeat(3400) : ''}` }];
      let usage: { prompt_tokens: number; completion_tokens: number } | undefined | null;
      if (chat.stream) {
        const stream = await openai.chat.completions.create({ model: chat.model, stream: true, stream_options: { include_usage: true }, messages });
        for await (const c of stream) if (c.usage) usage = c.usage;
      } else {
        usage = (await openai.chat.completions.create({ model: chat.model, messages })).usage;
      }
      assert.ok(usage, `the answer for ${chat.model} carried its usage`);
      inputTokens += usage.prompt_tokens;
      outputTokens += usage.completion_tokens;
      const cost = costOf({ inputTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens }, priceOf(chat.model, prices));
      if (cost === undefined) unpriced++;
      else yuan += cost;
      perModel.set(chat.model, (perModel.get(chat.model) ?? 0) + 1);
    }
    console.log(`  sent ${CHATS.length} chats: ${inputTokens} in, ${outputTokens} out, ${formatYuan(yuan, 'spend')} (${unpriced} unpriced)`);
  });

  const expectedSpend = `${formatYuan(yuan, 'spend')}${unpriced > 0 ? '*' : ''}`;
  let frame: FrameLocator | undefined;
  const inFrame = (testid: string) => frame!.locator(`[data-testid="${testid}"]`);
  const waitText = async (testid: string, expected: string, timeoutMs = 20_000) => {
    let last = '';
    await waitUntil(`the dashboard's ${testid} to read ${JSON.stringify(expected)}`, async () => {
      last = (await inFrame(testid).first().innerText({ timeout: 2000 }).catch(() => '')).trim();
      return last === expected;
    }, timeoutMs).catch((e: Error) => {
      throw new Error(`${e.message}; it reads ${JSON.stringify(last)}`);
    });
  };

  /** r + g + b of the page's background: the page takes its colours from the theme's variables. */
  const backgroundSum = async (): Promise<number> => {
    const bg = await frame!
      .locator('body')
      .evaluate((b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor)
      .catch(() => '');
    const m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(bg);
    return m ? Number(m[1]) + Number(m[2]) + Number(m[3]) : -1;
  };
  const setTheme = (theme: string) => {
    for (const file of ctx.settingsFiles) {
      const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      settings['workbench.colorTheme'] = theme;
      writeFileSync(file, JSON.stringify(settings, null, 2));
    }
  };

  const checkDashboard = async () => {
    await waitText('period-requests', formatCount(CHATS.length));
    await waitText('period-spend', expectedSpend);
    await waitText('period-tokens', formatCount(inputTokens + outputTokens));
    const byModel = await inFrame('by-model').innerText();
    for (const [model, n] of perModel) assert.match(byModel, new RegExp(`${escapeRe(model)}\\s+${n}\\b`), `by model: ${model} with ${n} request(s):\n${byModel}`);
    const recentRows = frame!.locator('[data-testid="recent"] tbody tr');
    assert.equal(await recentRows.count(), CHATS.length, 'the recent table lists every chat');
    const pool = await inFrame('pool').innerText();
    for (const k of DEMO_USABLE_KEYS) assert.ok(pool.includes(maskKey(k)), `the pool table shows ${maskKey(k)} masked`);
    const all = await frame!.locator('body').innerText();
    await assertNoSecret('the dashboard', all);
    assert.match(await inFrame('forecast').innerText(), /left/, 'the balance has a forecast');
  };

  await step('dashboard-dark', async () => {
    await wb.runCommand('DaiDai: Open Dashboard');
    const outer = wb.page.locator('iframe.webview.ready');
    await see(outer.first(), 'the dashboard webview', 20_000);
    frame = wb.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await see(inFrame('period-requests').first(), 'the dashboard to draw its numbers', 20_000);
    await checkDashboard();
    // The page is taller than the window: the lower parts, as a person scrolls to them.
    await inFrame('live').scrollIntoViewIfNeeded();
    await wb.screenshot('dashboard-live');
    await inFrame('recent').scrollIntoViewIfNeeded();
    // The filters narrow the recent table.
    await inFrame('filter-model').selectOption('gpt-4o-mini');
    const rows = frame.locator('[data-testid="recent"] tbody tr');
    await waitUntil('the recent table to show only gpt-4o-mini', async () => (await rows.count()) === perModel.get('gpt-4o-mini'), 10_000);
    await wb.screenshot('dashboard-filtered');
    await inFrame('filter-model').selectOption('');
  });

  await step('dashboard-light', async () => {
    setTheme('Default Light Modern');
    await see(wb.page.locator('.monaco-workbench.vs:not(.vs-dark)').first(), 'the workbench in the light theme', 20_000);
    // The page follows the theme through its CSS variables: the body's colours change.
    await waitUntil('the dashboard to take the light theme', async () => (await backgroundSum()) > 600, 15_000);
    await checkDashboard();
    await frame!.locator('h1').first().scrollIntoViewIfNeeded();
    await wb.screenshot('dashboard-light-top');
    await inFrame('live').scrollIntoViewIfNeeded();
    await wb.screenshot('dashboard-light-live');
    await inFrame('recent').scrollIntoViewIfNeeded();
  });

  await step('dashboard-high-contrast', async () => {
    setTheme('Default High Contrast');
    await see(wb.page.locator('.monaco-workbench.hc-black').first(), 'the workbench in the high-contrast theme', 20_000);
    // High contrast paints the editor background pure black, which no other default theme does.
    await waitUntil('the dashboard to take the high-contrast theme', async () => (await backgroundSum()) === 0, 15_000);
    await checkDashboard();
    await frame!.locator('h1').first().scrollIntoViewIfNeeded();
  });
  // Later scenarios expect the theme the harness started with.
  setTheme('Default Dark Modern');
  await wb.page.locator('.monaco-workbench.vs-dark').first().waitFor({ state: 'visible', timeout: 20_000 }).catch(() => undefined);

  // A window reload with the dashboard open: it comes back (the webview serializer), drawn again.
  await step('dashboard-after-reload', async () => {
    // Through the workbench's own Reload Window, as a user reloads: its shutdown flushes the
    // editor state first. A bare page.reload() could leave before that state was saved (the
    // dashboard then did not come back once in six runs, nothing of ours involved).
    const navigated = wb.page.waitForEvent('framenavigated', { predicate: (f) => f === wb.page.mainFrame(), timeout: 30_000 });
    await wb.runCommand('Developer: Reload Window').catch((e: unknown) => console.log(`  Developer: Reload Window not run (${e instanceof Error ? e.message : String(e)})`));
    await navigated.catch(async () => {
      console.log('  Reload Window did not reload the page within 30 s: reloading it directly');
      await wb.page.reload();
    });
    await see(wb.page.locator('iframe.webview.ready').first(), 'the dashboard webview after the window reload', 60_000);
    frame = wb.page.frameLocator('iframe.webview.ready').first().frameLocator('iframe#active-frame');
    await see(frame.locator('h1').first(), 'the restored dashboard page', 30_000);
  });
  // The next scenario starts from a plain window.
  await wb.runCommand('View: Close All Editors');
}
