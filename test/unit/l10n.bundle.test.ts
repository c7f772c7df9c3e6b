// A missing or broken translation fails here: the manifest's placeholders against package.nls*.json,
// every t()/bilingual()/l10n.t()/vscode.l10n.t() literal in src/** against l10n/bundle.l10n*.json,
// placeholders, command links and code spans kept in every translation.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const root = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;
const readJson = (rel: string) => JSON.parse(readFileSync(path.join(root, rel), 'utf8'));

const pkg = readJson('package.json');
const nlsEn = readJson('package.nls.json') as Record<string, string>;
const nlsZh = readJson('package.nls.zh-cn.json') as Record<string, string>;
const bundleEn = readJson('l10n/bundle.l10n.json') as Record<string, string | { message: string; comment: string[] }>;
const bundleZh = readJson('l10n/bundle.l10n.zh-cn.json') as Record<string, string>;

/** Names, whose Chinese needs no Chinese word. Anything else equal to the English is untranslated. */
const SAME_IN_CHINESE = new Set([
  'command.category', // "DaiDai": the palette reads "DaiDai: 登录"
  'viewsContainers.daidai.title',
  'views.keys.contextualTitle',
  'configuration.title', // "DaiDai Aggregator"
  'Chat Completion → Custom (OpenAI-compatible)', // SillyTavern's own menu labels
  'the OpenAI SDK', // → "OpenAI SDK"
]);

const placeholders = (s: string) => (s.match(/\{\d+\}/g) ?? []).sort();
const commandLinks = (s: string) => (s.match(/\(command:[^)]+\)/g) ?? []).sort();
const settingLinks = (s: string) => (s.match(/#[\w.]+#/g) ?? []).sort();
/** Fenced blocks, then inline spans of the rest: code that must read the same in every language. */
const codeSpans = (s: string) => {
  const fences = s.match(/```[\s\S]*?```/g) ?? [];
  const inline = s.replace(/```[\s\S]*?```/g, '').match(/`[^`\n]+`/g) ?? [];
  return [...fences, ...inline.sort()];
};
const hasChinese = (s: string) => /[\u4e00-\u9fff]/.test(s);
/** Chinese text, or at least Chinese (full-width) punctuation: `2. Base URL：`{0}`` is translated. */
const isLocalized = (s: string) => /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/.test(s);

function checkTranslation(key: string, english: string, chinese: string | undefined): void {
  assert.ok(typeof chinese === 'string' && chinese.trim() !== '', `no Chinese for ${JSON.stringify(key)}`);
  if (SAME_IN_CHINESE.has(key)) return;
  assert.notEqual(chinese, english, `${JSON.stringify(key)} is left in English`);
  assert.ok(isLocalized(chinese), `${JSON.stringify(key)} has no Chinese in ${JSON.stringify(chinese)}`);
  assert.deepEqual(placeholders(chinese), placeholders(english), `placeholders of ${JSON.stringify(key)}`);
  assert.deepEqual(commandLinks(chinese), commandLinks(english), `command links of ${JSON.stringify(key)}`);
  assert.deepEqual(settingLinks(chinese), settingLinks(english), `setting links of ${JSON.stringify(key)}`);
  assert.deepEqual(codeSpans(chinese), codeSpans(english), `code spans of ${JSON.stringify(key)} (code is not translated)`);
}

/** Every `%key%` string anywhere in the manifest, with the JSON path it sits at. */
function placeholderUses(node: unknown, at: string, out: Array<{ key: string; at: string }> = []) {
  if (typeof node === 'string') {
    const m = /^%([^%]+)%$/.exec(node);
    if (m) out.push({ key: m[1], at });
  } else if (Array.isArray(node)) node.forEach((v, i) => placeholderUses(v, `${at}[${i}]`, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) placeholderUses(v, `${at}.${k}`, out);
  return out;
}

/** Manifest fields a person reads: each must come from package.nls.json. */
const SHOWN_FIELDS = new Set(['title', 'category', 'name', 'contextualTitle', 'contents', 'description', 'markdownDescription', 'enumDescriptions', 'markdownEnumDescriptions', 'deprecationMessage', 'markdownDeprecationMessage', 'shortTitle']);

function shownLiterals(node: unknown, at: string, field: string | undefined, out: string[] = []) {
  if (typeof node === 'string') {
    if (field && SHOWN_FIELDS.has(field) && !/^%[^%]+%$/.test(node)) out.push(`${at}: ${JSON.stringify(node)}`);
  } else if (Array.isArray(node)) node.forEach((v, i) => shownLiterals(v, `${at}[${i}]`, field, out));
  else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) shownLiterals(v, `${at}.${k}`, k, out);
  return out;
}

describe('l10n: the manifest (package.nls.json, package.nls.zh-cn.json)', () => {
  const uses = [...placeholderUses(pkg.contributes, 'contributes'), ...placeholderUses(pkg.capabilities ?? {}, 'capabilities')];

  it('has every %key% of package.json in package.nls.json, and no key there that package.json does not use', () => {
    assert.ok(uses.length > 30, 'the contributions use placeholders');
    const used = new Set(uses.map((u) => u.key));
    for (const u of uses) assert.ok(u.key in nlsEn, `${u.at} uses %${u.key}% which package.nls.json lacks`);
    for (const key of Object.keys(nlsEn)) assert.ok(used.has(key), `package.nls.json has ${key}, which package.json does not use`);
  });

  it('shows no literal text in the contributions: titles, names, descriptions all come from package.nls.json', () => {
    assert.deepEqual(shownLiterals(pkg.contributes, 'contributes', undefined), []);
  });

  it('has a Chinese entry for every key, translated, with links and code kept', () => {
    for (const [key, english] of Object.entries(nlsEn)) checkTranslation(key, english, nlsZh[key]);
    assert.deepEqual(Object.keys(nlsZh).filter((k) => !(k in nlsEn)), [], 'package.nls.zh-cn.json keys that package.nls.json lacks');
  });

  it('points at the run-time bundle folder', () => {
    assert.equal(pkg.l10n, './l10n');
    assert.ok(existsSync(path.join(root, 'l10n', 'bundle.l10n.json')));
  });

  it('has a Chinese walkthrough body next to every English one, under the name VS Code looks for (x.nls.zh-cn.md)', () => {
    for (const step of pkg.contributes.walkthroughs[0].steps as Array<{ media: { markdown: string } }>) {
      const english = readFileSync(path.join(root, step.media.markdown), 'utf8');
      const zhPath = step.media.markdown.replace(/\.md$/, '.nls.zh-cn.md');
      assert.ok(existsSync(path.join(root, zhPath)), zhPath);
      const chinese = readFileSync(path.join(root, zhPath), 'utf8');
      assert.ok(hasChinese(chinese), zhPath);
      assert.deepEqual(codeSpans(chinese), codeSpans(english), `code spans of ${zhPath}`);
      assert.equal((chinese.match(/^#+ /gm) ?? []).length, (english.match(/^#+ /gm) ?? []).length, `headings of ${zhPath}`);
    }
  });

  it('ships the translations in the .vsix', () => {
    const ignore = readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n');
    for (const pattern of ['!package.nls.json', '!package.nls.*.json', '!l10n/bundle.l10n*.json', '!media/walkthrough/**']) {
      assert.ok(ignore.includes(pattern), `.vscodeignore keeps ${pattern}`);
    }
  });
});

interface Use {
  message: string;
  where: string;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(p) && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * The messages of every localizing call in one file, read with the TypeScript parser (independent
 * of the extractor): `t(…)`/`bilingual(…)` imported from src/core/l10n, `l10n.t(…)`, `vscode.l10n.t(…)`.
 * A message that is not a literal cannot be in the bundle: reported as such.
 */
function localizedMessages(file: string): Use[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const ours = new Set<string>();
  for (const st of sf.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
    if (!/^\.{1,2}\/(.*\/)?l10n(\/index)?$/.test(st.moduleSpecifier.text)) continue;
    const named = st.importClause?.namedBindings;
    if (named && ts.isNamedImports(named)) {
      for (const el of named.elements) if (['t', 'bilingual'].includes((el.propertyName ?? el.name).text)) ours.add(el.name.text);
    }
  }
  const uses: Use[] = [];
  const rel = path.relative(root, file);
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = node.expression.getText(sf);
      const isOurs = ts.isIdentifier(node.expression) && ours.has(node.expression.text);
      if (isOurs || callee === 'l10n.t' || callee === 'vscode.l10n.t') {
        const where = `${rel}:${sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1}`;
        const arg = node.arguments[0];
        if (arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))) {
          uses.push({ message: arg.text, where });
        } else if (arg && ts.isObjectLiteralExpression(arg)) {
          const prop = (name: string) => arg.properties.find((p): p is ts.PropertyAssignment => ts.isPropertyAssignment(p) && p.name.getText(sf) === name)?.initializer;
          const message = prop('message');
          const comment = prop('comment');
          const lit = (e: ts.Expression | undefined) => (e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : undefined);
          const comments = comment && ts.isArrayLiteralExpression(comment) ? comment.elements.map(lit).join('') : lit(comment);
          uses.push({ message: `${lit(message) ?? '<not a literal>'}${comments ? `/${comments}` : ''}`, where });
        } else {
          uses.push({ message: '<not a literal>', where });
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return uses;
}

describe('l10n: run-time strings (l10n/bundle.l10n.json, bundle.l10n.zh-cn.json)', () => {
  const files = walk(path.join(root, 'src')).filter((f) => !f.startsWith(path.join(root, 'src', 'core', 'l10n')));
  const uses = files.flatMap(localizedMessages);

  it('finds the localized strings of the sources', () => {
    assert.ok(uses.length > 50, `only ${uses.length} localized calls found`);
  });

  it('has every message of the sources in the extracted bundle (run `npm run l10n:export` after adding one)', () => {
    const notLiteral = uses.filter((u) => u.message.startsWith('<not a literal>'));
    assert.deepEqual(notLiteral.map((u) => u.where), [], 'localized messages must be string literals (pass values as {0} arguments)');
    const missing = uses.filter((u) => !(u.message in bundleEn));
    assert.deepEqual(missing.map((u) => `${u.where}: ${JSON.stringify(u.message)}`), []);
  });

  it('has no message in the bundle that the sources no longer use', () => {
    const used = new Set(uses.map((u) => u.message));
    assert.deepEqual(Object.keys(bundleEn).filter((k) => !used.has(k)), []);
  });

  it('has a Chinese entry for every message, translated, with its placeholders and code kept', () => {
    for (const [key, value] of Object.entries(bundleEn)) checkTranslation(key, typeof value === 'string' ? value : value.message, bundleZh[key]);
    assert.deepEqual(Object.keys(bundleZh).filter((k) => !(k in bundleEn)), [], 'stale Chinese entries');
  });

  it('matches what @vscode/l10n-dev extracts from the sources (`npm run l10n:export`)', () => {
    const out = mkdtempSync(path.join(tmpdir(), 'l10n-export-'));
    try {
      execFileSync(process.execPath, [path.join(root, 'scripts', 'l10n-export.mjs'), '--out', out], { cwd: root, stdio: 'pipe' });
      const extracted = JSON.parse(readFileSync(path.join(out, 'bundle.l10n.json'), 'utf8'));
      assert.deepEqual(extracted, bundleEn, 'l10n/bundle.l10n.json is stale: run `npm run l10n:export`');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('l10n: README.zh-CN.md', () => {
  const en = readFileSync(path.join(root, 'README.md'), 'utf8');
  const zh = readFileSync(path.join(root, 'README.zh-CN.md'), 'utf8');

  it('is linked from the top of README.md', () => {
    assert.match(en.split('\n').slice(0, 5).join('\n'), /\(README\.zh-CN\.md\)/);
  });

  it('has the same sections and the same two commands as README.md', () => {
    const sections = (s: string) => (s.match(/^## /gm) ?? []).length;
    assert.equal(sections(zh), sections(en));
    for (const cmd of ['npm ci && npm run demo', 'npm ci && npm test']) {
      assert.ok(en.includes(cmd) && zh.includes(cmd), cmd);
    }
    assert.ok(hasChinese(zh));
  });
});
