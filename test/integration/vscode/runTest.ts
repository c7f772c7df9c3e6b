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
      version: process.env.VSCODE_TEST_VERSION,
      extensionDevelopmentPath,
      extensionTestsPath,
      launchArgs: ['--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { DAIDAI_TEST_RESULTS: process.env.DAIDAI_TEST_RESULTS ?? '' },
    });
  } catch (err) {
    console.error(`The DaiDai VS Code integration tests failed: ${(err as Error).message}`);
    process.exit(1);
  }
}

void main();
