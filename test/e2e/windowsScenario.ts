// Issue 11 as a person meets it: two VS Code windows on one code-server (two tabs, each its own
// workbench and extension host). The first logs in and starts the proxy; the second, logged in
// through the shared SecretStorage, runs Start Proxy and must use the first one's proxy without
// an error; when the first tab is closed the second takes the port over.
import * as assert from 'node:assert/strict';
import OpenAI from 'openai';
import type { FakeDaiDai } from '../fake/types';
import { DEMO_ACCOUNT } from '../../src/core/demo/fixtures';
import { maskKey } from '../../src/core/util/mask';
import type { StepResult } from './scenario';
import { stepRunner } from './steps';
import { waitUntil } from './util';
import type { Workbench } from './workbench';

export interface WindowsContext {
  /** The first window, already showing the workbench (logged out). */
  wb: Workbench;
  /** The workbench URL the second window opens. */
  url: string;
  fake: FakeDaiDai;
  proxyPort: number;
  secrets: readonly string[];
}

const OWNED = /DaiDai (\d+)\/(\d+)/;
const OTHER = /other window/;
const daidaiStatus = (wb: Workbench) => wb.statusText(/DaiDai/);

export async function runTwoWindows(ctx: WindowsContext, results: StepResult[]): Promise<void> {
  const w1 = ctx.wb;
  let w2: Workbench | undefined;
  const proxyBase = `http://127.0.0.1:${ctx.proxyPort}`;
  // Earlier steps made a key answer 401: every key is good again for this part.
  ctx.fake.clearFaults();

  const step = stepRunner(results, ctx.secrets);

  let owned = '';
  await step('two-windows-first-owns-proxy', () => [['window1', w1]], async () => {
    await w1.runCommand('DaiDai: Login');
    await w1.answerInput(/e-?mail/i, DEMO_ACCOUNT.email);
    await w1.answerInput(/password/i, DEMO_ACCOUNT.password, { password: true });
    await w1.showContainer('DaiDai', 'Keys');
    await w1.page.locator('.monaco-list-row', { hasText: DEMO_ACCOUNT.email }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await w1.runCommand('DaiDai: Start Proxy');
    owned = await waitUntil('window 1 to show "DaiDai n/m" (its own proxy)', async () => {
      const s = await daidaiStatus(w1);
      return OWNED.test(s) && !OTHER.test(s) ? OWNED.exec(s)![0] : undefined;
    }, 20_000);
    const res = await fetch(`${proxyBase}/health`);
    assert.equal(res.status, 200, 'window 1 proxy answers /health');
    console.log(`  window 1: ${owned}`);
  });

  await step('two-windows-second-uses-it', () => [['window1', w1], ['window2', w2!]], async () => {
    w2 = await w1.openWindow();
    await w2.load(ctx.url);
    await w2.showContainer('DaiDai', 'Keys');
    // The login follows through SecretStorage: the second window lists the same account.
    await w2.page.locator('.monaco-list-row', { hasText: DEMO_ACCOUNT.email }).first().waitFor({ state: 'visible', timeout: 30_000 }).catch(async () => {
      throw new Error(`window 2 never showed the account row of ${DEMO_ACCOUNT.email} (login through SecretStorage); its status bar: ${await daidaiStatus(w2!)}`);
    });
    await w2.runCommand('DaiDai: Start Proxy');
    // Both read the same proxy: window 1 its own pool, window 2 that proxy's /health (polled).
    // A key restored as revoked may pass its re-check meanwhile, so compare both at one moment.
    const text = await waitUntil(`window 2's status bar to read "${owned} · other window" (window 1's counts)`, async () => {
      const [s1, s2] = [await daidaiStatus(w1), await daidaiStatus(w2!)];
      const mine = OWNED.exec(s1)?.[0];
      return mine && s2.includes(`${mine} · other window`) ? s2 : undefined;
    }, 20_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; window 1 reads "${await daidaiStatus(w1)}", window 2 "${await daidaiStatus(w2!)}"`);
    });
    console.log(`  window 2: ${text}`);
    // The one notification Start Proxy gives there says where the proxy runs; none is an error.
    await w2.toasts().first().waitFor({ state: 'visible', timeout: 10_000 });
    const toasts = await w2.toasts().allInnerTexts();
    console.log(`  window 2 toasts: ${toasts.map((t) => t.replace(/\s+/g, ' ')).join(' | ')}`);
    assert.deepEqual(await w2.errorToasts(), [], 'no error notification in window 2');
    assert.ok(toasts.some((t) => /another window/i.test(t)), `window 2's notification says the proxy runs in another window: ${toasts.join(' | ')}`);
    assert.ok(!toasts.some((t) => /in use/i.test(t)), 'no "port in use" message');
    const hover = await w2.hoverText(w2.statusItem(/other window/), /another window/);
    console.log(`  window 2 tooltip: ${hover.replace(/\n/g, ' | ')}`);
    // Stop Proxy (the Keys view's title button) is offered only where the proxy runs.
    const stopButton = (wb: Workbench) => wb.viewPane('Keys').locator('.pane-header .action-label[aria-label^="Stop Proxy"]');
    assert.ok((await stopButton(w1).count()) > 0, 'window 1 offers Stop Proxy');
    assert.equal(await stopButton(w2).count(), 0, 'window 2 offers no Stop Proxy');
    assert.doesNotMatch(await daidaiStatus(w1), OTHER, 'window 1 still owns the proxy');
  });

  await step('two-windows-second-takes-over', () => [['window2', w2!]], async () => {
    // Window 1's proxy still runs: window 2 must still be waiting to take it over.
    const waiting = await daidaiStatus(w2!);
    assert.match(waiting, OTHER, `window 2 left "other window" while window 1's proxy still runs: it reads "${waiting}" (see its DaiDai log)`);
    const t0 = Date.now();
    // As a person closes a tab: the page's unload runs, its extension host shuts down.
    await w1.page.close({ runBeforeUnload: true });
    const text = await waitUntil('window 2 to take the proxy over ("DaiDai n/m" without "other window")', async () => {
      const s = await daidaiStatus(w2!);
      return OWNED.test(s) && !OTHER.test(s) ? s : undefined;
    }, 30_000).catch(async (e: Error) => {
      throw new Error(`${e.message}; it reads "${await daidaiStatus(w2!)}"`);
    });
    console.log(`  window 2 took over in ${Date.now() - t0} ms: ${text}`);
    const res = await fetch(`${proxyBase}/health`);
    assert.equal(res.status, 200, '/health answers after the take-over');
    const body = await res.text();
    for (const s of ctx.secrets) assert.ok(!body.includes(s), `/health shows no key in clear (${maskKey(s)})`);
    const openai = new OpenAI({ baseURL: `${proxyBase}/v1`, apiKey: 'anything', maxRetries: 0, timeout: 30_000 });
    const before = ctx.fake.requests.length;
    const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hello after the take-over' }] });
    assert.ok(reply.choices[0]?.message?.content, 'a chat through the taken-over proxy has an answer');
    assert.ok(ctx.fake.requests.length > before, 'the chat reached the fake gateway');
    await w2!.hoverText(w2!.statusItem(OWNED), /Requests served: 1\b/);
  });

  // Leave the port free for whatever runs next on this code-server.
  await w2?.runCommand('DaiDai: Stop Proxy');
}
