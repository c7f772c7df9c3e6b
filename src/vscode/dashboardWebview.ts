// The parts of the dashboard webview that need no running VS Code, so plain-Node tests can hold
// them: the page's HTML (a strict Content-Security-Policy with a nonce) and the gate that decides
// when the extension posts a new model (throttled while requests flow, never while hidden).
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';
import { throttle, type Throttled, type Timers } from '../core/util/throttle';

/** The folder under the extension the page may load from (`localResourceRoots`). */
export const DASHBOARD_MEDIA = ['media', 'dashboard'] as const;

/** At most one post this often while requests flow (the history fires on every request). */
export const DASHBOARD_POST_INTERVAL_MS = 1000;

export interface DashboardPageOptions {
  /** `webview.cspSource`: the origin VS Code serves the extension's files from. */
  cspSource: vscode.Webview['cspSource'];
  /** `webview.asWebviewUri(…)` of media/dashboard/dashboard.js and dashboard.css, as strings. */
  scriptUri: string;
  styleUri: string;
  /** Fresh for every page; tests pass their own. */
  nonce?: string;
  /** `<html lang>`: `en` or `zh-CN`. */
  lang?: string;
  /** The panel's title, shown until the script has drawn (the page holds no other text). */
  title: string;
}

/** 128 random bits, base64: what CSP nonces are meant to be. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The page: nothing from the network (`default-src 'none'`), the one script only with the nonce,
 * styles and images only from the extension's media, no inline handler or style. The script
 * draws everything from the model the extension posts; the markup is an empty frame.
 */
export function dashboardHtml(o: DashboardPageOptions): string {
  const nonce = o.nonce ?? makeNonce();
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${o.cspSource}`,
    `img-src ${o.cspSource}`,
    `font-src ${o.cspSource}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    `<html lang="${escapeAttr(o.lang ?? 'en')}">`,
    '<head>',
    '<meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeAttr(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    `<link rel="stylesheet" href="${escapeAttr(o.styleUri)}">`,
    `<title>${escapeAttr(o.title)}</title>`,
    '</head>',
    '<body>',
    `<main id="app" aria-busy="true"><h1 class="title">${escapeAttr(o.title)}</h1></main>`,
    `<script nonce="${escapeAttr(nonce)}" src="${escapeAttr(o.scriptUri)}"></script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/**
 * When to post: a change while the panel shows posts at once, later ones at most once per
 * interval; a change while it is hidden only marks the page stale, and showing it again posts
 * once. The page is rebuilt from its saved state when shown, so it needs a fresh model then.
 */
export class DashboardUpdates {
  private visible: boolean;
  private stale = false;
  private readonly throttled: Throttled;

  constructor(post: () => void, options: { visible?: boolean; intervalMs?: number; timers?: Timers } = {}) {
    this.visible = options.visible ?? true;
    this.throttled = throttle(
      () => {
        if (!this.visible) {
          this.stale = true;
          return;
        }
        this.stale = false;
        post();
      },
      options.intervalMs ?? DASHBOARD_POST_INTERVAL_MS,
      options.timers,
    );
  }

  /** Something the page shows changed. */
  changed(): void {
    if (!this.visible) {
      this.stale = true;
      return;
    }
    this.throttled();
  }

  /** The panel was shown or hidden (`onDidChangeViewState`). */
  setVisible(visible: boolean): void {
    if (this.visible === visible) return;
    this.visible = visible;
    if (visible && this.stale) {
      this.throttled();
      this.throttled.flush();
    }
  }

  /** Posts now, whatever the interval says (the page asked for the model). */
  now(): void {
    this.stale = true;
    this.visible = true;
    this.throttled();
    this.throttled.flush();
  }

  dispose(): void {
    this.throttled.dispose();
  }
}
