// One step of a scenario over one or more workbench windows: run it, check that no key is
// readable on any window, screenshot every window (also on failure), record the outcome.
import { redactSecrets } from '../../src/core/util/mask';
import { assertNoSecretOnPage, type StepResult } from './scenario';
import type { Workbench } from './workbench';

export type Windows = () => Array<[label: string, wb: Workbench]>;

export function stepRunner(results: StepResult[], secrets: readonly string[]) {
  return async (name: string, windows: Windows, body: () => Promise<void>): Promise<void> => {
    const t0 = Date.now();
    console.log(`\n[e2e] step: ${name}`);
    const shots: string[] = [];
    const shootAll = async (suffix: string) => {
      for (const [label, wb] of windows()) {
        const shot = await wb.screenshot(label ? `${name}-${label}${suffix}` : `${name}${suffix}`).catch(() => undefined);
        if (shot) shots.push(shot);
      }
    };
    try {
      await body();
      for (const [label, wb] of windows()) await assertNoSecretOnPage({ wb, secrets }, label ? `${name} (${label})` : name);
      await shootAll('');
      results.push({ name, ok: true, shot: shots.join(' '), ms: Date.now() - t0 });
      console.log(`[e2e] ok: ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      await shootAll('-FAILED');
      const error = redactSecrets(e instanceof Error ? e.message : String(e));
      results.push({ name, ok: false, error, shot: shots.join(' '), ms: Date.now() - t0 });
      console.log(`[e2e] FAILED: ${name}: ${error}`);
      throw e;
    }
  };
}
