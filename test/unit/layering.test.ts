// The folders say where code may run: src/core runs anywhere (CLI, tests, extension host) and
// never imports `vscode`, nor the skin (src/vscode) or the CLI; src/vscode holds only what needs
// the `vscode` API. This test reads the import graph of src/ and fails on any file that breaks it.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(__dirname, '..', '..', '..');
const SRC = join(ROOT, 'src');

/** Every module specifier a TypeScript source imports: static, type-only, dynamic, require, re-export. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*import\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?:type\s+)?(?:\*|\{[^}]*\})(?:\s+as\s+\w+)?\s+from\s+['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

export interface LayerViolation {
  file: string;
  problem: string;
}

/** The layering rules over a set of files (path relative to the repo → source text). */
export function layerViolations(files: ReadonlyMap<string, string>): LayerViolation[] {
  const out: LayerViolation[] = [];
  for (const [file, text] of files) {
    const posix = file.split(sep).join('/');
    const specs = importsOf(text);
    if (posix.startsWith('src/core/')) {
      for (const spec of specs) {
        if (spec === 'vscode' || spec.startsWith('vscode/')) {
          out.push({ file: posix, problem: `imports '${spec}' (src/core must run without VS Code)` });
          continue;
        }
        if (!spec.startsWith('.')) continue;
        const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join('/');
        if (target === 'src/vscode' || target.startsWith('src/vscode/')) out.push({ file: posix, problem: `imports the VS Code skin (${spec})` });
        if (target === 'src/cli' || target === 'src/extension') out.push({ file: posix, problem: `imports an entry point (${spec})` });
      }
    } else if (posix.startsWith('src/vscode/')) {
      if (!specs.includes('vscode')) out.push({ file: posix, problem: 'does not use the vscode API: plain Node code belongs under src/core' });
    }
  }
  return out;
}

/**
 * The allowed import order between the parts of src/core, lowest first (docs/ARCHITECTURE.md says
 * the same, and a test below holds the two together). A part may import itself and any part on a
 * lower layer; parts on one layer do not import each other. A file directly in src/core is a
 * part of its own, named by its file name.
 */
export const CORE_LAYERS: readonly (readonly string[])[] = [
  ['util'],
  ['l10n', 'knobs'],
  ['net'],
  ['platform', 'pool', 'demo'],
  ['gateway', 'usage', 'keysFile', 'routing'],
  ['state'],
  ['proxy'],
  ['present'],
  ['app'],
];

/** The part of src/core a repo path (posix) belongs to, or undefined outside src/core. */
export function corePart(posixPath: string): string | undefined {
  const m = /^src\/core\/([^/]+)(\/|$)/.exec(posixPath);
  if (!m) return undefined;
  return m[2] === '/' ? m[1] : m[1].replace(/\.ts$/, '');
}

/** part → parts it imports (other than itself), from files (repo path → source). */
export function corePartGraph(files: ReadonlyMap<string, string>): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const [file, text] of files) {
    const posix = file.split(sep).join('/');
    const from = corePart(posix);
    if (!from) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    for (const spec of importsOf(text)) {
      if (!spec.startsWith('.')) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(posix), spec)).split(sep).join('/');
      const to = corePart(target);
      if (to && to !== from) graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** Every cycle between parts, each as the parts of one strongly connected component (Tarjan). */
export function partCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** Imports against the layer order, parts missing from it, and cycles between parts. */
export function layerOrderViolations(graph: ReadonlyMap<string, ReadonlySet<string>>, layers: readonly (readonly string[])[] = CORE_LAYERS): string[] {
  const level = new Map<string, number>();
  layers.forEach((parts, i) => parts.forEach((p) => level.set(p, i)));
  const out: string[] = [];
  for (const [from, tos] of graph) {
    if (!level.has(from)) {
      out.push(`src/core/${from} is in no layer: add it to CORE_LAYERS and docs/ARCHITECTURE.md`);
      continue;
    }
    for (const to of tos) {
      if (!level.has(to)) continue; // reported as its own part
      const a = level.get(from)!;
      const b = level.get(to)!;
      if (b === a) out.push(`${from} imports ${to}, on the same layer`);
      else if (b > a) out.push(`${from} imports ${to}, a layer above it`);
    }
  }
  for (const cycle of partCycles(graph)) out.push(`a cycle between ${cycle.join(', ')}`);
  return out;
}

/** The order as docs/ARCHITECTURE.md writes it: `Import order: util → l10n → platform | pool → …`. */
export function documentedLayers(markdown: string): string[][] | undefined {
  const m = /^Import order: (.+)$/m.exec(markdown);
  if (!m) return undefined;
  return m[1].split('→').map((layer) => layer.split('|').map((p) => p.trim().replace(/`/g, '').replace(/\.ts$/, '')));
}

function sources(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, into);
    else if (name.endsWith('.ts')) into.set(relative(ROOT, p), readFileSync(p, 'utf8'));
  }
  return into;
}

describe('layering: src/core runs without VS Code, src/vscode is only the skin', () => {
  it('holds for every file under src/', () => {
    const files = sources(SRC);
    assert.ok([...files.keys()].some((f) => f.includes(`core${sep}app`)), 'expected to read src/core/app');
    const problems = layerViolations(files);
    assert.deepEqual(problems, [], problems.map((p) => `${p.file}: ${p.problem}`).join('\n'));
  });

  it('catches each kind of violation (the check can fail)', () => {
    const bad = new Map<string, string>([
      ['src/core/a.ts', "import * as vscode from 'vscode';\n"],
      ['src/core/b.ts', "import type { Uri } from 'vscode';\n"],
      ['src/core/app/c.ts', "import { Services } from '../../vscode/services';\n"],
      ['src/core/d.ts', "const m = require('../cli');\n"],
      ['src/core/e.ts', "export { x } from '../vscode/statusBar';\n"],
      ['src/core/f.ts', "const v = await import('vscode');\n"],
      ['src/vscode/plain.ts', "import { Session } from '../core/app/session';\n"],
      ['src/core/ok.ts', "import { maskKey } from '../util/mask';\n// a comment naming 'vscode' is fine\n"],
      ['src/vscode/ok.ts', "import * as vscode from 'vscode';\n"],
    ]);
    const files = new Set(layerViolations(bad).map((v) => v.file));
    assert.deepEqual([...files].sort(), ['src/core/a.ts', 'src/core/app/c.ts', 'src/core/b.ts', 'src/core/d.ts', 'src/core/e.ts', 'src/core/f.ts', 'src/vscode/plain.ts']);
  });
});

/**
 * What only the tests' fake (test/fake/) may hold: its control methods, its fault options and
 * messages, and the headers a request uses to shape the fake's answer.
 */
export const TEST_CONTROL_MARKERS: readonly string[] = [
  'setFault',
  'setGatewayFault',
  'setPlatformFault',
  'clearFaults',
  'waitForRequest',
  'expireTokens',
  'resetPlatformCalls',
  'cutAfterChunks',
  'resetConnection',
  'Demo fault',
  'No matching gateway request',
  'x-demo-chunks',
  'x-demo-chunk-delay-ms',
];

/** The markers a shipped bundle holds. */
export function testControlsIn(bundle: string): string[] {
  return TEST_CONTROL_MARKERS.filter((m) => bundle.includes(m));
}

describe('layering: the import order between the parts of src/core', () => {
  const graph = corePartGraph(sources(SRC));

  it('holds for src/core: every import goes down the layers, no part is left out, no cycle', () => {
    assert.ok(graph.has('app') && graph.get('app')!.has('present'), 'expected to read the import graph of src/core');
    const problems = layerOrderViolations(graph);
    assert.deepEqual(problems, [], problems.join('\n'));
  });

  it('is the order docs/ARCHITECTURE.md writes', () => {
    const documented = documentedLayers(readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8'));
    assert.deepEqual(documented, CORE_LAYERS.map((l) => [...l]));
  });

  it('catches an import up the layers, one across a layer, an unlisted part and a cycle (the check can fail)', () => {
    const planted = new Map<string, string>([
      ['src/core/util/a.ts', "import { t } from '../l10n';\n"], // up
      ['src/core/pool/b.ts', "import type { X } from '../platform/types';\n"], // across one layer
      ['src/core/present/c.ts', "import { t } from '../l10n';\n"], // fine
      ['src/core/newthing/d.ts', "export const d = 1;\n"], // in no layer
      ['src/core/x/e.ts', "import { f } from '../y/f';\n"],
      ['src/core/y/f.ts', "import { e } from '../x/e';\nexport const f = 1;\n"], // x ↔ y
    ]);
    const g = corePartGraph(planted);
    assert.deepEqual(partCycles(g), [['x', 'y']]);
    const problems = layerOrderViolations(g);
    assert.ok(problems.includes('util imports l10n, a layer above it'), problems.join('\n'));
    assert.ok(problems.includes('pool imports platform, on the same layer'), problems.join('\n'));
    assert.ok(problems.includes('src/core/newthing is in no layer: add it to CORE_LAYERS and docs/ARCHITECTURE.md'), problems.join('\n'));
    assert.ok(problems.includes('a cycle between x, y'), problems.join('\n'));
    assert.ok(!problems.some((p) => p.startsWith('present')), problems.join('\n'));
  });

  it('finds the cycle the code had before (usage ↔ present through the dashboard)', () => {
    const before = new Map<string, string>([
      ['src/core/usage/dashboard.ts', "import { formatIn } from '../present/format';\n"],
      ['src/core/present/models.ts', "import { priceOf } from '../usage/price';\n"],
    ]);
    assert.deepEqual(partCycles(corePartGraph(before)), [['present', 'usage']]);
    assert.ok(layerOrderViolations(corePartGraph(before)).includes('usage imports present, a layer above it'));
  });
});

describe('layering: the shipped bundles hold the demo platform, not the test controls', () => {
  for (const name of ['extension.js', 'cli.js']) {
    it(`dist/${name} (built by npm test before mocha)`, () => {
      const bundle = readFileSync(join(ROOT, 'dist', name), 'utf8'); // missing: run `npm run build` first
      assert.ok(bundle.includes('/api/users/login'), `expected the demo platform in dist/${name}`);
      assert.deepEqual(testControlsIn(bundle), []);
    });
  }

  it('finds a marker when one is there (the check can fail)', () => {
    assert.deepEqual(testControlsIn("x.setFault(k, { status: 500 }); y = 'Demo fault: HTTP 500'"), ['setFault', 'Demo fault']);
    assert.deepEqual(testControlsIn('const ok = createDemoDaiDai();'), []);
  });
});
