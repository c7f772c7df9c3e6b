// Drives the VS Code workbench in headless Chromium the way a person does: the command palette,
// quick inputs, the activity bar, the status bar and hovers. Every wait is on a DOM state.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.DAIDAI_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Flags that keep Chromium off the (closed) network and quiet as root in a container. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

export interface Shot {
  step: string;
  path: string;
}

export class Workbench {
  readonly shots: Shot[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly shotDir: string,
    /** Shared by every window of one browser, so screenshot numbers follow the order they were taken in. */
    private readonly counter: { n: number } = { n: 0 },
  ) {}

  /** Chromium with a fresh profile, on a blank page. */
  static async launch(profileDir: string, shotDir: string): Promise<Workbench> {
    mkdirSync(shotDir, { recursive: true });
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    return new Workbench(context, page, shotDir);
  }

  /**
   * A second workbench window of the same browser (a new tab: same profile, so the same
   * SecretStorage and state), with its own extension host once a URL is loaded.
   */
  async openWindow(): Promise<Workbench> {
    return new Workbench(this.context, await this.context.newPage(), this.shotDir, this.counter);
  }

  /** Opens the workbench at url and waits until its parts are on screen. */
  async load(url: string): Promise<void> {
    await this.page.goto(url);
    await this.page.locator('.monaco-workbench').waitFor({ state: 'visible', timeout: 60_000 });
    // The status bar appears once the workbench has restored its parts.
    await this.page.locator('#workbench\\.parts\\.statusbar').waitFor({ state: 'visible', timeout: 60_000 });
  }

  /** Drags the side bar's edge so tree descriptions (balances, states) fit in screenshots. */
  async widenSideBar(width: number): Promise<void> {
    const box = await this.page.locator('#workbench\\.parts\\.sidebar').boundingBox();
    if (!box || box.width >= width) return;
    const x = box.x + box.width;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(box.x + width, y, { steps: 5 });
    await this.page.mouse.up();
  }

  async screenshot(step: string): Promise<string> {
    this.counter.n++;
    const name = `${String(this.counter.n).padStart(2, '0')}-${step.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
    const path = join(this.shotDir, name);
    // Fast-forward CSS transitions so a toast sliding in does not cover the status bar.
    await this.page.screenshot({ path, animations: 'disabled' });
    this.shots.push({ step, path });
    console.log(`  screenshot: ${path}`);
    return path;
  }

  get lastShot(): string | undefined {
    return this.shots[this.shots.length - 1]?.path;
  }

  /** Everything a person can read on the page right now. */
  async text(): Promise<string> {
    return this.page.locator('body').innerText();
  }

  get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  /** F1, type the command's title, pick exactly that entry. */
  async runCommand(title: string): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = this.quickInput.locator('input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(`>${title}`);
    // The palette row's label is the command title (category included); wait for ours.
    const row = this.quickInput.locator('.monaco-list-row', {
      has: this.page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRe(title)}\\s*$`) }),
    });
    await row.first().waitFor({ state: 'visible', timeout: 20_000 });
    await row.first().click();
  }

  /** Waits for a quick input whose prompt matches, types the value and accepts it. */
  async answerInput(prompt: RegExp, value: string, opts: { password?: boolean } = {}): Promise<void> {
    const widget = this.quickInput.filter({ hasText: prompt });
    await widget.waitFor({ state: 'visible', timeout: 20_000 });
    const input = widget.locator(opts.password ? 'input[type="password"]' : 'input');
    await input.first().waitFor({ state: 'visible', timeout: 10_000 });
    await input.first().fill(value);
    await input.first().press('Enter');
    // The same widget is reused for the next prompt: wait until this prompt is gone.
    await this.page.locator('.quick-input-widget', { hasText: prompt }).waitFor({ state: 'hidden', timeout: 20_000 });
  }

  /** The activity-bar entry of a view container, by its title. */
  activityItem(title: string): Locator {
    return this.page.locator(`.activitybar .action-item .action-label[aria-label^="${title}"]`).first();
  }

  /** Opens a view container from the activity bar (no-op if it is already showing). */
  async showContainer(title: string, paneTitle: string): Promise<Locator> {
    const pane = this.viewPane(paneTitle);
    if (!(await pane.isVisible())) {
      await this.activityItem(title).click();
    }
    await pane.waitFor({ state: 'visible', timeout: 15_000 });
    return pane;
  }

  /** A view pane (header + body) of the side bar by its header title. */
  viewPane(title: string): Locator {
    return this.page.locator('#workbench\\.parts\\.sidebar .pane', {
      has: this.page.locator('.pane-header', { hasText: new RegExp(escapeRe(title), 'i') }),
    });
  }

  /** The visible rows of a tree view pane, as text (label and description). */
  async treeRows(pane: Locator): Promise<string[]> {
    return pane.locator('.monaco-list-row').allInnerTexts();
  }

  /** The status-bar entry whose text contains `text`. */
  statusItem(text: string | RegExp): Locator {
    return this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item', { hasText: text }).first();
  }

  /** The text of the last status-bar entry that matches, whitespace folded ('' when there is none). */
  async statusText(match: RegExp): Promise<string> {
    const all = await this.page.locator('#workbench\\.parts\\.statusbar .statusbar-item').allInnerTexts().catch(() => [] as string[]);
    return all.map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => match.test(t)).pop() ?? '';
  }

  /**
   * Hovers an element and returns the hover's text once it matches `expect`. VS Code renders a
   * tooltip when the hover opens and does not refresh an open one, so each try re-opens it.
   */
  async hoverText(target: Locator, expect: RegExp, timeoutMs = 15_000, opts: { keepOpen?: boolean } = {}): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      await this.page.mouse.move(5, 5);
      await this.page.locator('.workbench-hover, .monaco-hover').first().waitFor({ state: 'hidden', timeout: 3000 }).catch(() => undefined);
      await target.hover();
      const hover = this.page.locator('.workbench-hover, .monaco-hover:not(.hidden)').filter({ hasText: /\S/ }).first();
      try {
        await hover.waitFor({ state: 'visible', timeout: 4000 });
        last = await hover.innerText();
        if (expect.test(last)) {
          // Left open, the hover can be photographed.
          if (!opts.keepOpen) await this.page.mouse.move(5, 5);
          return last;
        }
      } catch {
        /* no hover yet: try again */
      }
    }
    throw new Error(`Hover text never matched ${expect}; last hover read: ${JSON.stringify(last)}`);
  }

  /** The notification toasts on screen, as text. */
  toasts(): Locator {
    return this.page.locator('.notifications-toasts .notification-toast');
  }

  /** Texts of the error toasts on screen (the error icon is how a person tells them apart). */
  async errorToasts(): Promise<string[]> {
    return this.toasts().filter({ has: this.page.locator('.codicon-error') }).allInnerTexts();
  }

  /** Confirms a modal dialog if one is open (e.g. "Log out?"); returns whether there was one. */
  async confirmDialogIfAny(button: RegExp, timeoutMs = 3000): Promise<boolean> {
    const dialog = this.page.locator('.monaco-dialog-box');
    try {
      await dialog.waitFor({ state: 'visible', timeout: timeoutMs });
    } catch {
      return false;
    }
    await dialog.locator('.monaco-button', { hasText: button }).first().click();
    await dialog.waitFor({ state: 'hidden', timeout: 10_000 });
    return true;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
  }
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
