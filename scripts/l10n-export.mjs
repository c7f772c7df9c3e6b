// npm run l10n:export — extracts l10n/bundle.l10n.json from src/** with @vscode/l10n-dev, the
// extractor VS Code's own extensions use. It finds `vscode.l10n.t('…')` and `l10n.t('…')` (from
// 'vscode' or '@vscode/l10n'); the core calls `t('…')` and `bilingual('…', …)` from
// src/core/l10n instead, so those calls are shown to the extractor as the `l10n.t` they are.
// Then lists what l10n/bundle.l10n.zh-cn.json lacks (and what it holds that no source uses).
//
//   node scripts/l10n-export.mjs [--out DIR]   (default DIR: l10n/)
import { getL10nJson } from '@vscode/l10n-dev';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(p) && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const MARKERS = new Set(['t', 'bilingual']);
const OUR_MODULE = /import\s*(?:type\s+)?\{([^}]*)\}\s*from\s*['"]((?:\.{1,2}\/)+(?:[\w.-]+\/)*l10n(?:\/index)?)['"]\s*;?/g;

/** The file as the extractor should read it: our `t`/`bilingual` calls as `l10n.t` calls. */
export function asExtractorSees(contents) {
  const locals = [];
  for (const m of contents.matchAll(OUR_MODULE)) {
    for (const spec of m[1].split(',')) {
      const [name, alias] = spec.trim().split(/\s+as\s+/);
      if (MARKERS.has(name)) locals.push(alias ?? name);
    }
  }
  if (locals.length === 0) return contents;
  let out = contents;
  for (const local of locals) {
    out = out.replace(new RegExp(`(?<![\\w$.])${local.replace(/\$/g, '\\$')}\\(`, 'g'), '__daidaiL10n.t(');
  }
  return `import * as __daidaiL10n from '@vscode/l10n';\n${out}`;
}

export async function extract() {
  const files = walk(join(root, 'src')).filter((f) => !f.startsWith(join(root, 'src', 'core', 'l10n')));
  const bundle = await getL10nJson(
    files.map((f) => ({ extension: f.endsWith('.tsx') ? '.tsx' : '.ts', contents: asExtractorSees(readFileSync(f, 'utf8')) })),
  );
  const sorted = {};
  for (const key of Object.keys(bundle).sort()) sorted[key] = bundle[key];
  return sorted;
}

async function main() {
  const i = process.argv.indexOf('--out');
  const outDir = i === -1 ? join(root, 'l10n') : resolve(process.argv[i + 1]);
  const bundle = await extract();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'bundle.l10n.json'), JSON.stringify(bundle, null, 2) + '\n');
  const zhFile = join(root, 'l10n', 'bundle.l10n.zh-cn.json');
  const zh = existsSync(zhFile) ? JSON.parse(readFileSync(zhFile, 'utf8')) : {};
  const missing = Object.keys(bundle).filter((k) => !zh[k]);
  const unused = Object.keys(zh).filter((k) => !(k in bundle));
  console.log(`${Object.keys(bundle).length} strings → ${relative(process.cwd(), join(outDir, 'bundle.l10n.json')) || '.'}`);
  if (missing.length) console.log(`Not yet in bundle.l10n.zh-cn.json (${missing.length}):\n  ${missing.map((k) => JSON.stringify(k)).join('\n  ')}`);
  if (unused.length) console.log(`In bundle.l10n.zh-cn.json but no longer in the sources (${unused.length}):\n  ${unused.map((k) => JSON.stringify(k)).join('\n  ')}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
