// The suite's entry for a real VS Code (@vscode/test-electron's extensionTestsPath, or
// code-server's extension host). The host's console is not the harness's, so results also go
// to the JSON file named by DAIDAI_TEST_RESULTS when it is set.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

interface TestResult {
  title: string;
  state: 'passed' | 'failed' | 'pending';
  durationMs?: number;
  error?: string;
}

/** The harness (test/e2e/suite.ts) reads `passed`, `failed` and `failures`. */
interface SuiteResults {
  status: 'running' | 'done';
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

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false });
  mocha.addFile(path.join(__dirname, 'extension.test.js'));
  const results: SuiteResults = { status: 'running', passed: 0, failed: 0, pending: 0, failures: [], tests: [], startedAt: new Date().toISOString() };

  return new Promise<void>((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        results.status = 'done';
        results.finishedAt = new Date().toISOString();
        writeResults(results);
        if (failures > 0) reject(new Error(`${failures} DaiDai integration test(s) failed.`));
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
