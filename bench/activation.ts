// The extension's own activation cost, before and after a change: loads a dist/extension.js in
// a fresh Node process against a stand-in `vscode` module (every API call answers a harmless
// stand-in), calls activate(), and reports the time to load the bundle, the time activate()
// takes, and the heap the extension holds once idle (after a forced GC, compared with the heap
// before the bundle was loaded). What VS Code itself spends around an activation (reading the
// manifest, starting the host) is not in these figures: it is the same for both builds.
//
//   node --expose-gc bench/results/build/activation.js dist/extension.js [rounds]
//   (each round is a process of its own; medians are printed, and JSON with --json)
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

/** A stand-in for any part of the vscode API: callable, constructible, every property another stand-in. */
function standIn(path: string, overrides: Record<string, unknown>): unknown {
  const target = function () {
    /* stand-in */
  };
  const assigned = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    set(_t, prop, value) {
      assigned.set(prop, value);
      return true;
    },
    get(_t, prop) {
      if (assigned.has(prop)) return assigned.get(prop);
      if (prop === 'then') return undefined; // not a promise
      if (prop === Symbol.iterator) return function* () {};
      if (prop === Symbol.toPrimitive) return () => path;
      const key = `${path}.${String(prop)}`;
      if (key in overrides) return overrides[key];
      return standIn(key, overrides);
    },
    apply(_t, _this, args) {
      const key = `${path}()`;
      if (key in overrides) return (overrides[key] as (...a: unknown[]) => unknown)(...args);
      return standIn(key, overrides);
    },
    construct() {
      return standIn(`new ${path}`, overrides) as object;
    },
  });
}

/** Everything a build of ours may touch at the top of the vscode namespace. */
const VSCODE_NAMES = [
  'l10n', 'env', 'window', 'workspace', 'commands', 'lm', 'extensions', 'languages', 'Uri', 'ViewColumn', 'EventEmitter', 'Disposable',
  'ProgressLocation', 'StatusBarAlignment', 'ThemeColor', 'ThemeIcon', 'TreeItem', 'TreeItemCollapsibleState', 'MarkdownString',
  'ConfigurationTarget', 'ExtensionMode', 'QuickPickItemKind', 'CancellationError', 'CancellationTokenSource',
  'LanguageModelChatToolMode', 'LanguageModelTextPart', 'LanguageModelToolCallPart', 'LanguageModelToolResultPart',
  'LanguageModelPromptTsxPart', 'LanguageModelError', 'LanguageModelChatMessageRole',
];

async function once(bundle: string): Promise<{ loadMs: number; activateMs: number; idleHeapKb: number }> {
  const storage = mkdtempSync(join(tmpdir(), 'daidai-activation-'));
  const vscodeApi = standIn('vscode', {
    'vscode.l10n.bundle': undefined,
    'vscode.env.language': 'en',
    'vscode.workspace.getConfiguration().get()': () => undefined,
    'vscode.ExtensionMode': { Production: 1, Development: 2, Test: 3 },
    'vscode.ConfigurationTarget': { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
    'vscode.LanguageModelChatToolMode': { Auto: 1, Required: 2 },
  });
  // A bundle reads the module's own properties (esbuild's __toESM copies them): name them all.
  const vscodeStub: Record<string, unknown> = {};
  for (const name of VSCODE_NAMES) Object.defineProperty(vscodeStub, name, { enumerable: true, get: () => (vscodeApi as Record<string, unknown>)[name] });
  const context = standIn('context', {
    'context.globalStorageUri': { fsPath: storage },
    'context.extension.packageJSON': { version: '0.0.0-bench' },
    'context.secrets.get()': () => Promise.resolve(undefined),
    'context.subscriptions': [],
  });
  const load = (Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown })._load;
  (Module as unknown as { _load: typeof load })._load = function (request, parent, isMain) {
    return request === 'vscode' ? vscodeStub : load.call(this, request, parent, isMain);
  };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const ext = require(resolve(bundle)) as { activate(ctx: unknown): unknown };
  const t1 = performance.now();
  const api = (await ext.activate(context)) as { ready?: Promise<unknown> } | undefined;
  const t2 = performance.now();
  await api?.ready;
  await new Promise((r) => setTimeout(r, 200));
  gc();
  const heap1 = process.memoryUsage().heapUsed;
  return { loadMs: t1 - t0, activateMs: t2 - t1, idleHeapKb: Math.round((heap1 - heap0) / 1024) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main(): Promise<void> {
  const [bundle, roundsArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  if (process.env.DAIDAI_ACTIVATION_CHILD) {
    const r = await once(bundle);
    process.stdout.write(JSON.stringify(r));
    process.exit(0);
  }
  if (!bundle) throw new Error('usage: activation.js path/to/extension.js [rounds]');
  const rounds = Number(roundsArg ?? 9);
  const results: Array<{ loadMs: number; activateMs: number; idleHeapKb: number }> = [];
  for (let i = 0; i < rounds; i++) {
    const out = execFileSync(process.execPath, ['--expose-gc', __filename, bundle], { env: { ...process.env, DAIDAI_ACTIVATION_CHILD: '1' }, encoding: 'utf8' });
    results.push(JSON.parse(out));
  }
  const summary = {
    bundle,
    rounds,
    loadMs: Number(median(results.map((r) => r.loadMs)).toFixed(1)),
    activateMs: Number(median(results.map((r) => r.activateMs)).toFixed(1)),
    idleHeapKb: median(results.map((r) => r.idleHeapKb)),
  };
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(summary) + '\n');
  else console.log(`${bundle}: load ${summary.loadMs} ms, activate() ${summary.activateMs} ms, idle heap +${summary.idleHeapKb} KB (medians of ${rounds} processes)`);
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
