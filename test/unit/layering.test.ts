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
