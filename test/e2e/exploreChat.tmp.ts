// temporary exploration (not committed)
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { CodeServer } from './codeServer';
import { Workbench } from './workbench';
const dir = process.env.CACHE_DIR!;
const install = { node: join(dir, 'node24', 'bin', 'node'), entry: join(dir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js') };
async function main() {
  const variant = process.argv[2] ?? 'default';
  const root = `/tmp/chat-explore/${variant}`;
  mkdirSync(root, { recursive: true });
  const settings: Record<string, unknown> = { 'chat.disableAIFeatures': false };
  if (variant === 'anon') settings['chat.allowAnonymousAccess'] = true;
  const vsix = process.argv[3];
  const cs = new CodeServer({ install, root, settings, env: { HOME: join(root, 'home') }, vsix: vsix ? [vsix] : [] });
  mkdirSync(join(root, 'home'), { recursive: true });
  await cs.installExtensions();
  await cs.start();
  const wb = await Workbench.launch(join(root, 'chromium'), join(root, 'shots'));
  try {
    wb.page.on('console', (m) => { const t = m.text(); if (/daidai|error|warn/i.test(t)) console.log('CONSOLE', m.type(), t.slice(0, 500)); });
    await wb.load(cs.workbenchUrl());
    await wb.activityItem('DaiDai').waitFor({ state: 'visible', timeout: 30000 }).catch(() => console.log('NO DAIDAI ICON'));
    await wb.screenshot('loaded');
    if (vsix) {
      await wb.runCommand('DaiDai: Try the Demo Account');
      await new Promise((r) => setTimeout(r, 8000));
    }
    await wb.runCommand(process.env.OPEN_TITLE ?? 'Chat: Open Chat').catch(async (e) => { console.log('open failed', e.message); await wb.screenshot('palette'); });
    await new Promise((r) => setTimeout(r, 5000));
    await wb.screenshot('chat-open');
    const aux = await wb.page.locator('#workbench\\.parts\\.auxiliarybar').innerText().catch(() => '(no aux bar)');
    console.log('AUXBAR TEXT:\n' + aux);
    const picker = wb.page.locator('.interactive-input-part .action-label', { hasText: /Models|DaiDai|gpt|claude/i }).first();
    console.log('PICKER:', await picker.innerText().catch(() => '?'), await picker.getAttribute('aria-label').catch(() => '?'));
    await picker.click().catch((e) => console.log('click failed', e.message));
    await new Promise((r) => setTimeout(r, 3000));
    await wb.screenshot('picker');

    await wb.page.keyboard.press('Escape');
    await wb.page.keyboard.press('Escape');
    for (let i = 0; i < 5; i++) {
      await wb.page.locator('.interactive-input-part .interactive-input-editor .view-lines').first().click({ force: true });
      await wb.page.keyboard.insertText('Hello DaiDai from the chat');
      const typed = await wb.page.locator('.interactive-input-part .interactive-input-editor .view-lines').first().innerText();
      console.log('TYPED:', typed);
      if (/Hello DaiDai/.test(typed)) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    await wb.page.keyboard.press('Enter');
    for (let i = 0; i < 12; i++) {
      await new Promise((r) => setTimeout(r, 5000));
      const txt = await wb.page.locator('#workbench\\.parts\\.auxiliarybar').innerText().catch(() => '?');
      console.log(`T+${(i + 1) * 5}s: ` + txt.replace(/\n+/g, ' | ').slice(0, 300));
      if (/Echo|error|Error|internal/i.test(txt)) break;
    }
    await wb.screenshot('sent');
    console.log('AFTER SEND:\n' + (await wb.page.locator('#workbench\\.parts\\.auxiliarybar').innerText().catch(() => '?')));
    console.log('DIALOGS:\n' + (await wb.page.locator('.monaco-dialog-box, .notifications-toasts').allInnerTexts().catch(() => [])).join('\n'));
  } finally {
    await wb.close();
    await cs.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
