// The suite's entry for a real VS Code (@vscode/test-electron's extensionTestsPath, or
// code-server's extension host). The host's console is not the harness's, so results also go
// to the JSON file named by DAIDAI_TEST_RESULTS when it is set.
//
// Two phases when a test asks for a restart of the extension host (restart.ts): the workbench
// runs the suite again in every new host it starts, so the first host runs the ordinary tests
// and ends by reloading the window (`workbench.action.reloadWindow`: the extension is deactivated
// and its host ends; a remote window such as code-server's has no "Restart Extension Host" and
// reloads for it too), and the second host runs only the checks that must hold after the
// extension was activated again, then reports everything.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';
import { clearRestart, readRestart } from './restart';

interface TestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

/** The harness (test/e2e/suite.ts) reads `passed`, `failed` and `failures`. */
interface SuiteResults {
  /** 'restarting': the first phase is over and the extension host is being restarted for the second. */
  status: 'running' | 'restarting' | 'done';
  passed: number;
  failed: number;
  pending: number;
  failures: Array<{ title: string; error: string }>;
  tests: TestResult[];
  startedAt: string;
  finishedAt?: string;
}

function writeResults(results: SuiteResults): void {
  const file = process.env.DAIDAI_TEST_RESULTS;
  if (!file) return;
  try {
    writeFileSync(file, JSON.stringify(results, null, 2));
  } catch (err) {
    console.error(`Could not write the test results to ${file}: ${(err as Error).message}`);
  }
}

/** What the first phase wrote, so the second adds to it. */
function previousResults(): SuiteResults | undefined {
  const file = process.env.DAIDAI_TEST_RESULTS;
  if (!file || !existsSync(file)) return undefined;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as SuiteResults;
    return r.status === 'restarting' ? r : undefined;
  } catch {
    return undefined;
  }
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false });
  const marker = readRestart();
  const earlier = marker ? previousResults() : undefined;
  const secondPhase = marker !== undefined && earlier !== undefined;
  if (secondPhase) {
    mocha.addFile(path.join(__dirname, 'persistence.after-restart.test.js'));
  } else {
    // A marker left by an interrupted run would send this host straight to the second phase.
    clearRestart();
    mocha.addFile(path.join(__dirname, 'extension.test.js'));
    mocha.addFile(path.join(__dirname, 'persistence.test.js'));
  }
  const results: SuiteResults = earlier
    ? { ...earlier, status: 'running' }
    : { status: 'running', passed: 0, failed: 0, pending: 0, failures: [], tests: [], startedAt: new Date().toISOString() };

  return new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run(() => {
        if (!secondPhase && readRestart()) {
          // Never settles: this host ends here; the next one runs the second phase and reports.
          results.status = 'restarting';
          writeResults(results);
          void vscode.commands.executeCommand('workbench.action.reloadWindow');
          return;
        }
        clearRestart();
        results.status = 'done';
        results.finishedAt = new Date().toISOString();
        writeResults(results);
        const failed = results.failed;
        if (failed > 0) reject(new Error(`${failed} DaiDai integration test(s) failed.`));
        else resolve();
      });
      runner.on('pass', (t) => {
        results.passed++;
        results.tests.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration });
      });
      runner.on('fail', (t, err: Error) => {
        const error = err?.stack ?? String(err);
        results.failed++;
        results.failures.push({ title: t.fullTitle(), error });
        results.tests.push({ title: t.fullTitle(), state: 'failed', durationMs: t.duration, error });
      });
      runner.on('pending', (t) => {
        results.pending++;
        results.tests.push({ title: t.fullTitle(), state: 'pending' });
      });
    } catch (err) {
      const error = (err as Error).stack ?? String(err);
      results.status = 'done';
      results.failed++;
      results.failures.push({ title: 'suite setup', error });
      results.tests.push({ title: 'suite setup', state: 'failed', error });
      writeResults(results);
      reject(err);
    }
  });
}
