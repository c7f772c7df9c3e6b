// Issue 20 as a user meets it: VS Code's own Chat view (code-server's built-in Copilot Chat,
// offline) with DaiDai models in its model picker, answering through the pool in process (the
// proxy is never started). A code-server of its own per language and theme:
//   - English, dark: a fresh profile with AI features on asks for a GitHub sign-in when the
//     first message is sent; with `chat.allowAnonymousAccess` (what the README tells users) the
//     same message is answered by the DaiDai model picked in the picker;
//   - Chinese, light: the picker and an answer, with the extension in Chinese.
// The answer must be the fake gateway's echo, and the extension's log must name the request as
// coming from VS Code chat. Screenshots in test-results/e2e/chat/.
import * as assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChineseRunOptions } from './chineseScenario';
import { CodeServer } from './codeServer';
import type { StepResult } from './scenario';
import { stepRunner } from './steps';
import { run, waitUntil } from './util';
import { Workbench } from './workbench';

/** The same as the Chinese run's: one code-server of its own per run. */
export type ChatRunOptions = ChineseRunOptions;

/** The model the runs pick: cheap, and served by the demo's GPT and all-models keys. */
const MODEL = 'gpt-4o-mini';
const QUESTION = 'Hello DaiDai from the chat';

const chatSettings = (anonymous: boolean, theme: string): Record<string, unknown> => ({
  'chat.disableAIFeatures': false,
  ...(anonymous ? { 'chat.allowAnonymousAccess': true } : {}),
  'workbench.colorTheme': theme,
});

export async function runChatScenarios(opts: ChatRunOptions, results: StepResult[]): Promise<void> {
  await withOneRetry(opts, results, { lang: 'en', theme: 'Default Dark Modern', signInFirst: true });
  await withOneRetry(opts, results, { lang: 'zh-cn', theme: 'Default Light Modern', signInFirst: false });
}

/**
 * Each language's run gets one retry in a fresh code-server of its own (the whole e2e retries
 * once too, but then runs every scenario again). The first try's failure stays in the output and
 * in the summary (`retried`), so a flaky step is seen, not hidden; a second failure fails the run.
 */
async function withOneRetry(opts: ChatRunOptions, results: StepResult[], how: RunHow): Promise<void> {
  const first: StepResult[] = [];
  try {
    await runOne(opts, first, how, 1);
    results.push(...first);
    return;
  } catch (e) {
    const failed = first.find((s) => !s.ok);
    const why = failed ? `${failed.name}: ${failed.error ?? ''}` : e instanceof Error ? e.message : String(e);
    console.log(`[e2e] chat ${how.lang}: failed on the first try (${why.replace(/\s+/g, ' ').slice(0, 400)}); trying once more in a fresh code-server`);
    for (const s of first.filter((x) => !x.ok)) results.push({ ...s, name: `${s.name} (first try)`, ok: true, retried: true, error: `failed, then passed on a retry: ${s.error ?? ''}` });
  }
  await runOne(opts, results, how, 2);
}

interface RunHow {
  lang: 'en' | 'zh-cn';
  theme: string;
  signInFirst: boolean;
}

async function runOne(opts: ChatRunOptions, results: StepResult[], how: RunHow, tryNo: number): Promise<void> {
  const root = join(opts.root, `chat-${how.lang}${tryNo > 1 ? `-try${tryNo}` : ''}`);
  mkdirSync(join(root, 'home'), { recursive: true });
  const vsix = [opts.vsix];
  if (how.lang === 'zh-cn') {
    const pack = join(root, 'zh-cn-langpack.vsix');
    const made = await run(process.execPath, [join(opts.repo, 'scripts', 'l10n-langpack.mjs'), 'vsix', pack], { prefix: '  [langpack] ' });
    if (made.code !== 0) throw new Error(`scripts/l10n-langpack.mjs vsix failed (exit ${made.code})`);
    vsix.push(pack);
  }
  const cs = new CodeServer({
    install: opts.install,
    root: join(root, 'code-server'),
    vsix,
    args: how.lang === 'zh-cn' ? ['--locale', 'zh-cn'] : [],
    // Copilot Chat keeps a lock under ~/.copilot: a HOME of its own.
    env: { HOME: join(root, 'home') },
    settings: chatSettings(!how.signInFirst, how.theme),
  });
  let wb: Workbench | undefined;
  const step = stepRunner(results, opts.secrets);
  const tag = `chat-${how.lang}-${/Light/.test(how.theme) ? 'light' : 'dark'}`;
  try {
    await cs.installExtensions();
    if (how.lang === 'zh-cn') {
      const reg = await run(process.execPath, [join(opts.repo, 'scripts', 'l10n-langpack.mjs'), 'register', cs.userDataDir, cs.extensionsDir], { prefix: '  [langpack] ' });
      if (reg.code !== 0) throw new Error(`scripts/l10n-langpack.mjs register failed (exit ${reg.code})`);
    }
    await cs.start();
    console.log(`[e2e] code-server (${tag}) at ${cs.url}`);
    wb = await Workbench.launch(join(root, 'chromium'), tryNo > 1 ? join(opts.shotDir, `try${tryNo}`) : opts.shotDir);
    await wb.load(cs.workbenchUrl());
    const w = wb;
    const here = () => [['', w]] as Array<[string, Workbench]>;

    await step(`${tag}-picker`, here, async () => {
      await w.activityItem('DaiDai').waitFor({ state: 'visible', timeout: 30_000 });
      await w.runCommand(how.lang === 'zh-cn' ? 'DaiDai: 试用演示账号' : 'DaiDai: Try the Demo Account');
      await w.statusItem(/DaiDai/).waitFor({ state: 'visible', timeout: 30_000 });
      await openChat(w);
      // The picker lists the account's models once their lists are in (the demo's gateway answers at once).
      const names = await pickerModels(w);
      console.log(`  picker: ${names.join(' | ')}`);
      for (const id of [MODEL, '[官Max]claude-sonnet-4-5-20250929', 'gemini-2.5-pro']) assert.ok(names.some((n) => n.includes(id)), `the picker lists ${id}: ${names.join(' | ')}`);
      assert.ok(!names.some((n) => /embedding/.test(n)), 'no embedding model in the picker');
      await w.screenshot(`${tag}-picker-open`);
      await pickModel(w, MODEL);
    });

    if (how.signInFirst) {
      await step(`${tag}-sign-in-asked`, here, async () => {
        await send(w, QUESTION);
        const dialog = w.page.locator('.monaco-dialog-box, .dialog-shadow', { hasText: /Sign in/i }).first();
        await dialog.waitFor({ state: 'visible', timeout: 60_000 });
        console.log(`  a fresh profile asks: ${(await dialog.innerText()).replace(/\n+/g, ' | ')}`);
        await w.screenshot(`${tag}-sign-in-dialog`);
        await w.page.keyboard.press('Escape');
        await dialog.waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
        // What the README says to do: chat.allowAnonymousAccess in the User settings.
        for (const dir of ['User', 'Machine']) {
          const file = join(cs.userDataDir, dir, 'settings.json');
          const settings = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
          writeFileSync(file, JSON.stringify({ ...settings, 'chat.allowAnonymousAccess': true }, null, 2));
        }
        await new Promise((r) => setTimeout(r, 2000));
        await w.runCommand('Chat: New Chat').catch(() => w.page.keyboard.press('Control+L'));
      });
    }

    await step(`${tag}-answer`, here, async () => {
      await send(w, QUESTION);
      const answer = w.page.locator('#workbench\\.parts\\.auxiliarybar .interactive-response', { hasText: /Echo:/ }).last();
      await waitUntil('the fake\'s answer in the Chat view', async () => (await answer.count()) > 0 || (await failedAnswer(w)) !== undefined, 120_000, 1000);
      const failed = await failedAnswer(w);
      if (failed) throw new Error(`the chat answered with an error: ${failed}`);
      const text = (await answer.innerText()).replace(/\s+/g, ' ');
      console.log(`  answer: ${text.slice(0, 200)}`);
      assert.match(text, new RegExp(QUESTION), 'the fake echoes the question');
      const log = cs.logFiles().filter((f) => /DaiDai\.log$/.test(f)).map((f) => readFileSync(f, 'utf8')).join('\n');
      assert.match(log, /\[vscode-chat\] POST (\/v1)?\/chat\/completions/, 'the log line says the request came from VS Code chat');
      assert.match(log, new RegExp(`(model|模型)=${MODEL}`));
    });
    opts.checkLogs(cs);
  } finally {
    await wb?.close();
    await cs.stop();
  }
}

async function openChat(w: Workbench): Promise<void> {
  await w.runCommand('Chat: Open Chat');
  await w.page.locator('.interactive-input-part').first().waitFor({ state: 'visible', timeout: 30_000 });
}

/** The model picker's button in the chat input. */
function pickerButton(w: Workbench) {
  return w.page.locator('.interactive-input-part .action-label[aria-label*="Model" i], .interactive-input-part .chat-model-picker-item .action-label').first();
}

/**
 * Opens the picker, expands "Other Models" when the model is not shown yet, returns every row's
 * text; leaves the picker open. "Other Models" is a toggle that stays expanded between openings:
 * clicking it every time would fold the list away again on every other try.
 */
async function pickerModels(w: Workbench): Promise<string[]> {
  let names: string[] = [];
  const rowsOf = async (widget: ReturnType<Workbench['page']['locator']>) => (await widget.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
  try {
    await waitUntil('DaiDai models in the chat model picker', async () => {
      await w.page.keyboard.press('Escape');
      await pickerButton(w).click();
      const widget = w.page.locator('.quick-input-widget, .action-widget').filter({ has: w.page.locator('.monaco-list-row') }).first();
      await widget.waitFor({ state: 'visible', timeout: 10_000 });
      names = await rowsOf(widget);
      if (names.some((n) => n.includes(MODEL))) return true;
      const other = widget.locator('.monaco-list-row', { hasText: /Other Models|其他模型/ }).first();
      if (await other.count()) {
        await other.click();
        await new Promise((r) => setTimeout(r, 500));
        names = await rowsOf(widget);
      }
      return names.some((n) => n.includes(MODEL));
    }, 90_000, 2000);
  } catch (e) {
    const log = (await w.page.locator('.statusbar-item', { hasText: /DaiDai/ }).allInnerTexts().catch(() => [])).join(' | ');
    throw new Error(`${e instanceof Error ? e.message : String(e)}; the picker's rows last seen: ${names.join(' | ').slice(0, 600) || '(none)'}; status bar: ${log || '(no DaiDai item)'}`);
  }
  return names;
}

/**
 * Picks `id` in the open picker. The list is drawn again when the models change (their lists come
 * in one key at a time), which can swallow a click on a row being replaced: tried up to three times.
 */
async function pickModel(w: Workbench, id: string): Promise<void> {
  const row = new RegExp(`^\\s*${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
  for (let i = 1; ; i++) {
    const widget = w.page.locator('.quick-input-widget, .action-widget').filter({ has: w.page.locator('.monaco-list-row') }).first();
    if (!(await widget.isVisible())) await pickerModels(w);
    await widget.locator('.monaco-list-row', { hasText: row }).first().click();
    try {
      await waitUntil(`the picker to show ${id}`, async () => (await pickerButton(w).innerText()).includes(id), 10_000);
      return;
    } catch (e) {
      if (i === 3) throw e;
      console.log(`  the picker did not take ${id} (try ${i}): picking it again`);
    }
  }
}

/** Types into the chat input (waiting until the editor shows the text) and sends it. */
async function send(w: Workbench, text: string): Promise<void> {
  const lines = w.page.locator('.interactive-input-part .interactive-input-editor .view-lines').first();
  await w.page.keyboard.press('Escape');
  await lines.click({ force: true });
  await w.page.keyboard.press('Control+A');
  await w.page.keyboard.press('Delete');
  await w.page.keyboard.insertText(text);
  // Monaco renders spaces as no-break spaces.
  await waitUntil('the question in the chat input', async () => (await lines.innerText()).replace(/\u00a0/g, ' ').includes(text), 10_000, 200);
  await w.page.keyboard.press('Enter');
}

/** The text of a failed response ("Sorry, your request failed…"), if the last one is. */
async function failedAnswer(w: Workbench): Promise<string | undefined> {
  const last = w.page.locator('#workbench\\.parts\\.auxiliarybar .interactive-response').last();
  if (!(await last.count())) return undefined;
  const text = (await last.innerText()).replace(/\s+/g, ' ');
  return /request failed|Reason:|请求失败/.test(text) ? text.slice(0, 400) : undefined;
}
