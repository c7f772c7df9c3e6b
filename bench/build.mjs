// Bundles the bench's TypeScript entries into bench/results/build/ (git-ignored), apart from the
// shared out/ folder that the test build wipes. The fake's wrapper is built only once the fake
// exists, so the bench still runs (with its fixed upstream) while test/fake is incomplete.
import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';

const entries = ['run', 'floor', 'client', 'upstreamFixed', 'profile'];
if (existsSync('test/fake/fakeDaiDai.ts')) entries.push('upstreamFake');

await esbuild.build({
  entryPoints: Object.fromEntries(entries.map((e) => [e, `bench/${e}.ts`])),
  outdir: 'bench/results/build',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'inline',
  logLevel: 'warning',
});
