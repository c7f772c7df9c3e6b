// Run-time strings for the core and the CLI, from the same bundle as the extension's
// vscode.l10n: English source text is the key (with {0} placeholders), l10n/bundle.l10n.zh-cn.json
// holds the Chinese. Module state is the language only, set once by the CLI or by activate.
import * as l10n from '@vscode/l10n';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export type Language = 'en' | 'zh-cn';

type Bundle = Record<string, string>;

let current: Language = 'en';
let zhBundle: Bundle | undefined;

/**
 * The Chinese bundle, read once from `l10n/` next to package.json. Read from disk rather than
 * imported: the same file then serves dist/cli.js, dist/extension.js (where VS Code also reads
 * it) and the tests under out/, and the .vsix carries it for VS Code anyway.
 */
function chineseBundle(): Bundle {
  if (zhBundle) return zhBundle;
  zhBundle = {};
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const file = path.join(dir, 'l10n', 'bundle.l10n.zh-cn.json');
    if (existsSync(file) && existsSync(path.join(dir, 'package.json'))) {
      try {
        zhBundle = JSON.parse(readFileSync(file, 'utf8')) as Bundle;
      } catch {
        // A broken bundle must not stop the proxy: English is always there.
      }
      break;
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return zhBundle;
}

/** The message in the current language; `{0}`, `{1}`… are replaced by `args`, as vscode.l10n.t does. */
export function t(message: string, ...args: Array<string | number>): string {
  return l10n.t(message, ...args);
}

/** Switches every later `t()` to `lang`. English needs no bundle: the source text is English. */
export function setLanguage(lang: Language): void {
  current = lang;
  l10n.config({ contents: lang === 'zh-cn' ? chineseBundle() : {} });
}

export function language(): Language {
  return current;
}

/** `zh-CN`, `zh_CN.UTF-8`, `zh`, `zh-Hans`… → 'zh-cn'; `en…` → 'en'; anything else → undefined. */
export function parseLanguage(value: string | undefined): Language | undefined {
  if (!value) return undefined;
  const v = value.trim().toLowerCase();
  if (/^zh([-_.@]|$)/.test(v)) return 'zh-cn';
  if (/^en([-_.@]|$)/.test(v)) return 'en';
  return undefined;
}

/**
 * The CLI's language: `--lang en|zh-cn` wins; else the first set of LC_ALL, LC_MESSAGES, LANG
 * (POSIX order: LC_ALL overrides the others), `zh_*` → 'zh-cn', anything else (C, POSIX, de_DE…)
 * → 'en'. An unknown `flag` is ignored here; the CLI says so with parseLanguage().
 */
export function cliLanguage(env: Record<string, string | undefined>, flag?: string): Language {
  const chosen = parseLanguage(flag);
  if (chosen) return chosen;
  for (const name of ['LC_ALL', 'LC_MESSAGES', 'LANG']) {
    const v = env[name];
    if (v) return parseLanguage(v) === 'zh-cn' ? 'zh-cn' : 'en';
  }
  return 'en';
}

/**
 * For the extension: `contents` is `vscode.l10n.bundle` (undefined when VS Code shows English or
 * has no bundle for its language), `displayLanguage` is `vscode.env.language`. The core then
 * speaks the same language as the skin.
 */
export function initFromVscodeBundle(contents: Bundle | string | undefined, displayLanguage?: string): void {
  const bundle: Bundle = typeof contents === 'string' ? (JSON.parse(contents) as Bundle) : (contents ?? {});
  const hasBundle = Object.keys(bundle).length > 0;
  current = parseLanguage(displayLanguage) ?? (hasBundle ? 'zh-cn' : 'en');
  if (current === 'zh-cn' && !hasBundle) {
    l10n.config({ contents: chineseBundle() });
  } else {
    l10n.config({ contents: current === 'en' ? {} : bundle });
  }
}

/** Fills `{0}`… as @vscode/l10n does, for a message taken from a bundle by hand. */
function fill(message: string, args: ReadonlyArray<string | number>): string {
  return args.length === 0 ? message : message.replace(/\{(\d+)\}/g, (m, i: string) => (args[Number(i)] ?? m).toString());
}

/**
 * Whether an Accept-Language header puts Chinese first: the highest q wins, ties go to the
 * earlier tag (RFC 9110 §12.5.4). `*` and unparsable parts are skipped.
 */
export function prefersChinese(acceptLanguage: string | undefined): boolean {
  if (!acceptLanguage) return false;
  let best: { lang: string; q: number } | undefined;
  for (const part of acceptLanguage.split(',')) {
    const [tag, ...params] = part.trim().split(';');
    const lang = tag.trim().toLowerCase();
    if (!lang || lang === '*') continue;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { lang, q };
  }
  return best !== undefined && parseLanguage(best.lang) === 'zh-cn';
}

/**
 * A proxy-made error message for a client: the English message, and when the request's
 * Accept-Language prefers Chinese or the proxy speaks Chinese, the Chinese one after it
 * (`English. / 中文。`). Clients and scripts match on English; people read the Chinese.
 * Text that arrives in `args` (a platform's own Chinese message) passes through as it is.
 */
export function bilingual(message: string, acceptLanguage: string | undefined, ...args: Array<string | number>): string {
  const english = fill(message, args);
  if (current !== 'zh-cn' && !prefersChinese(acceptLanguage)) return english;
  const zh = chineseBundle()[message];
  if (!zh) return english;
  const chinese = fill(zh, args);
  return chinese === english ? english : `${english} / ${chinese}`;
}
