// Runs the extension's integration suite (test/integration/vscode, a @vscode/test-electron style
// module exporting run()) inside code-server's Node extension host.
//
// How: the web workbench reads `extensionDevelopmentPath`, `extensionTestsPath` and
// `extensionEnvironment` from the URL's `payload` parameter (as @vscode/test-web passes them).
// With `vscode-remote://` URIs the remote (Node) extension host loads the extension from the
// working tree and then requires the test module and calls its run(). When run() settles, the
// workbench calls `window.codeAutomationExit(code)` if the page defines it: we define it with
// Playwright, and the suite also writes its results to the file named by DAIDAI_TEST_RESULTS.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFakeDaiDai } from '../fake/fakeDaiDai';
import { CodeServer, type CodeServerInstall } from './codeServer';
import { freePort, waitUntil } from './util';
import { Workbench } from './workbench';

export interface SuiteOutcome {
  ok: boolean;
  passed: number;
  failed: number;
  /** Why the suite did not run at all (no suite in the tree yet). */
  skipped?: string;
  shots: string[];
}

export interface SuiteOptions {
  install: CodeServerInstall;
  repo: string;
  root: string;
  shotDir: string;
}

/** Results as the suite writes them; only the counts are required. */
interface SuiteResultsFile {
  /** 'restarting': the first phase is over, the extension host restarts and runs the second. */
  status?: 'running' | 'restarting' | 'done';
  passed?: number;
  failed?: number;
  failures?: { title?: string; error?: string }[];
  tests?: { title?: string; state?: 'passed' | 'failed' | 'pending' }[];
  [k: string]: unknown;
}

/** The results file once it is complete JSON; undefined before. */
function readResults(file: string): SuiteResultsFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SuiteResultsFile;
  } catch {
    return undefined; // being written
  }
}

/** Where the compiled suite lives (`node esbuild.mjs --tests` writes out/). */
function suiteEntry(repo: string): string | undefined {
  for (const p of ['out/test/integration/vscode/index.js', 'out/test/integration/vscode/suite/index.js']) {
    if (existsSync(join(repo, p))) return join(repo, p);
  }
  return undefined;
}

export async function runSuiteInHost(opts: SuiteOptions): Promise<SuiteOutcome> {
  const entry = suiteEntry(opts.repo);
  if (!entry) return { ok: false, passed: 0, failed: 0, skipped: 'no compiled suite at out/test/integration/vscode/index.js', shots: [] };

  console.log(`\n[e2e] integration suite in code-server's extension host: ${entry}`);
  const resultsFile = join(opts.root, 'suite-results.json');
  // A fake of its own, so the suite may rely on it through settings as well as its own fakes; it
  // outlives the extension host, so the suite's restart test logs in to it again afterwards.
  const fake = createFakeDaiDai();
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  const shots: string[] = [];
  try {
    await fake.start(0, '127.0.0.1');
    const env = { DAIDAI_TEST_RESULTS: resultsFile, DAIDAI_E2E: '1', DAIDAI_E2E_PLATFORM: fake.url, DAIDAI_E2E_GATEWAY: fake.gatewayUrl };
    cs = new CodeServer({
      install: opts.install,
      root: opts.root,
      env,
      // A built workbench reads the URL's `payload` (extension development and tests) only when
      // the server runs with VS Code's --enable-smoke-test-driver (resolveExtensionHostDebugEnvironment:
      // `if (this.payload && (!this.isBuilt || this.enableSmokeTestDriver))`).
      vscodeOptions: ['enable-smoke-test-driver'],
      settings: {
        'daidai.platform.baseUrl': fake.url,
        'daidai.upstream.baseUrl': fake.gatewayUrl,
        'daidai.proxy.port': await freePort(),
      },
    });
    await cs.start();
    const remote = (p: string) => `vscode-remote://127.0.0.1:${cs!.port}${p}`;
    const url = cs.workbenchUrl([
      ['extensionDevelopmentPath', remote(opts.repo)],
      ['extensionTestsPath', remote(entry)],
      ['extensionEnvironment', JSON.stringify(env)],
    ]);
    let exitCode: number | undefined;
    wb = await Workbench.launch(join(opts.root, 'chromium'), join(opts.shotDir, 'suite'));
    await wb.page.exposeFunction('codeAutomationExit', (code: number) => {
      // The first host's exit during the suite's own restart is not the end of the run.
      if (readResults(resultsFile)?.status === 'restarting') {
        console.log(`[e2e] suite: extension host exited (${code}) while restarting for the second phase`);
        return;
      }
      exitCode = code;
    });
    await wb.load(url);
    const done = await waitUntil(
      'the integration suite to finish (results file or codeAutomationExit)',
      () => exitCode !== undefined || readResults(resultsFile)?.status === 'done',
      240_000,
      500,
    ).catch((e: Error) => e);
    shots.push(await wb.screenshot('suite-finished'));
    if (done instanceof Error) throw done;
    // The file is written just before run() settles; let the exit code arrive too.
    await waitUntil('codeAutomationExit after the results file', () => exitCode !== undefined, 15_000, 200).catch(() => undefined);

    const results: SuiteResultsFile = readResults(resultsFile) ?? {};
    const passed = results.passed ?? 0;
    const failed = results.failed ?? (exitCode ? 1 : 0);
    console.log(`[e2e] suite: ${passed} passed, ${failed} failed, extension host exit code ${exitCode ?? '(none)'}`);
    for (const f of results.failures ?? []) console.log(`  FAILED ${f.title ?? ''}: ${f.error ?? ''}`);
    // Here every test must run: the persistence halves skip themselves outside this harness, and
    // a skip here (its fake not reached, the reload not happening) would pass unseen.
    const pending = (results.tests ?? []).filter((t) => t.state === 'pending').map((t) => t.title ?? '');
    for (const p of pending) console.log(`  SKIPPED ${p}`);
    const mustPass = ['(before the reload)', '(after the reload)'];
    const missing = mustPass.filter((part) => !(results.tests ?? []).some((t) => t.state === 'passed' && (t.title ?? '').includes(part)));
    for (const m of missing) console.log(`  NOT RUN: the persistence test ${m}`);
    const ok = failed === 0 && passed > 0 && pending.length === 0 && missing.length === 0 && (exitCode === undefined || exitCode === 0);
    if (!ok) console.log(cs.diagnostics());
    return { ok, passed, failed, shots };
  } catch (e) {
    console.log(`[e2e] suite FAILED to run: ${e instanceof Error ? e.message : String(e)}`);
    const shot = await wb?.screenshot('suite-failed').catch(() => undefined);
    if (shot) shots.push(shot);
    if (cs) console.log(cs.diagnostics());
    return { ok: false, passed: 0, failed: 1, shots };
  } finally {
    await wb?.close();
    await cs?.stop();
    await fake.stop();
  }
}
