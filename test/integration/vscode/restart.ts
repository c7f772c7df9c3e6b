// How a test of the suite asks for the extension host to be restarted (index.ts does it once the
// first phase is over) and what it hands to the checks after the restart. The marker sits next to
// the results file: only the e2e harness (test/e2e/suite.ts) sets DAIDAI_TEST_RESULTS and keeps
// the fake platform alive across the restart, so elsewhere no test asks for one.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface RestartMarker {
  /** The extension host that asked: the checks after the restart must run in another process. */
  pid: number;
  /** The masked key (what its row shows) that was taken out of rotation by hand. */
  keyLabel: string;
  /** Keys the account had, and how many were usable, after taking that one out. */
  total: number;
  usable: number;
}

export function restartMarkerFile(): string | undefined {
  const results = process.env.DAIDAI_TEST_RESULTS;
  return results ? `${results}.restart.json` : undefined;
}

export function requestRestart(marker: RestartMarker): void {
  const file = restartMarkerFile();
  if (!file) throw new Error('DAIDAI_TEST_RESULTS is not set: nothing would run after a restart');
  writeFileSync(file, JSON.stringify(marker));
}

export function readRestart(): RestartMarker | undefined {
  const file = restartMarkerFile();
  if (!file || !existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RestartMarker;
  } catch {
    return undefined;
  }
}

export function clearRestart(): void {
  const file = restartMarkerFile();
  if (file) rmSync(file, { force: true });
}
