// `npm run test:integration`: downloads a VS Code build and runs ./index in it. Needs internet
// access to update.code.visualstudio.com; where there is none, run the same suite in code-server
// (see ../../../../shared/real-vscode-here.md and test/e2e).
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  // out/test/integration/vscode → the repository root
  const extensionDevelopmentPath = path.resolve(__dirname, '../../../..');
  const extensionTestsPath = path.resolve(__dirname, './index');
  try {
    await runTests({
      // A VS Code already on disk (VSCODE_EXECUTABLE) skips the download.
      vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
      version: process.env.VSCODE_TEST_VERSION,
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { DAIDAI_TEST_RESULTS: process.env.DAIDAI_TEST_RESULTS ?? '' },
    });
  } catch (err) {
    const message = (err as Error).message;
    console.error(`The DaiDai VS Code integration tests failed: ${message}`);
    if (/ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(message)) {
      console.error('VS Code could not be downloaded. Set VSCODE_EXECUTABLE to a VS Code on disk, or run the same suite in code-server: npm run test:e2e.');
    }
    process.exit(1);
  }
}

void main();
