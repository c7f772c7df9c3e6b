// What each feature on the request path costs, in µs per request, from a `--cpu-prof` profile
// of ours (and of the floor, for the same load): a separate pass after the timed rounds, since
// the profiler inflates timings. Features are recognised by source file (FEATURES below), so a
// feature that has not landed yet costs nothing here, and one measured from its own branch
// (BENCH_OURS_CLI=…/dist/cli.js) shows up under its folder before it lands.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, ROOT, cfg, type Phase } from './config';
import { startProxy, stopProxy, type Upstream } from './parties';
import { loadOf } from './phases';
import { fmt } from './report';
import { featureCosts, type FeatureRule } from './profile';
import { sleep, wrk } from './procs';

const NM = '(?:^|/)node_modules/';
const KOA_DEPS = 'koa|koa-compose|@koa/router|on-finished|ee-first|delegates|statuses|http-errors|depd|vary|type-is|mime-types|mime-db|content-type|accepts|cookies|keygrip|encodeurl|escape-html|only|fresh|parseurl|destroy|media-typer|negotiator|content-disposition|http-assert|path-to-regexp';

/** First match wins: the specific features before the folders that hold them. */
export const FEATURES: FeatureRule[] = [
  { feature: 'model routing / body scan', source: /^src\/core\/proxy\/[^/]*(body|model|scan|peek|routing)[^/]*\.ts$/i },
  { feature: 'model routing / body scan', source: /^src\/core\/pool\/[^/]*(model|routing)[^/]*\.ts$/i },
  // JSON.parse of the request body (today's way to learn model and stream) has no frame of its
  // own: its time is the calling line's, in forward.ts or wherever the body is read.
  { feature: 'model routing / body scan', source: /^src\/core\/proxy\//, line: /JSON\.parse\(|scanBody|peekModel|findModel/ },
  // …and the body's decoding to a string for it (Buffer#toString → utf8Slice in node:buffer).
  { feature: 'model routing / body scan', source: /^node:buffer$/, fn: /^(slice|toString|utf8Slice)$/, within: /^src\/core\/proxy\/forward\.ts$/ },
  { feature: 'usage capture', source: /^src\/core\/usage\// },
  { feature: 'state writes', source: /^src\/core\/state\// },
  { feature: 'outage detection / gateway monitor', source: /^src\/core\/gateway\// },
  { feature: 'logging (request log line)', source: /^src\/(cli\.ts|core\/util\/log\.ts|core\/app\/[^/]*log[^/]*\.ts)$/i },
  { feature: 'key pool', source: /^src\/core\/(pool\/|util\/event\.ts)/ },
  { feature: 'app service (request records, events)', source: /^src\/core\/app\// },
  { feature: 'Koa (app, our middlewares, on-finished)', source: new RegExp(`(${NM}(${KOA_DEPS})/|^src/core/proxy/(app|safety|server|health)\\.ts$)`) },
  { feature: 'forwarding (undici, failover, headers, SSE)', source: /((?:^|\/)node_modules\/undici\/|^src\/core\/proxy\/)/ },
  { feature: 'forwarding (undici, failover, headers, SSE)', source: /^bench\/floor\.ts$/ },
  { feature: 'other code of ours', source: /^src\// },
  { feature: 'other dependencies', source: /(?:^|\/)node_modules\// },
];

const PHASES: Exclude<Phase, 'c1' | 'ttfb'>[] = ['c64', 'stream16', 'tavern', 'claude'];

export interface FeatureCostResult {
  phases: Phase[];
  /** µs per request by feature, per phase and proxy. */
  cost: Record<string, { ours: Map<string, number>; floor: Map<string, number>; oursBusy: number; floorBusy: number; oursRequests: number; floorRequests: number }>;
}

export async function measureFeatureCost(up: Upstream): Promise<FeatureCostResult> {
  const phases = PHASES.filter((p) => cfg.phases.includes(p));
  const out: FeatureCostResult = { phases, cost: {} };
  const dir = join(RESULTS, 'prof', 'features');
  rmSync(dir, { recursive: true, force: true });
  for (const phase of phases) {
    const per = { ours: new Map<string, number>(), floor: new Map<string, number>(), oursBusy: NaN, floorBusy: NaN, oursRequests: 0, floorRequests: 0 };
    for (const name of ['floor', 'ours'] as const) {
      const profDir = join(dir, `${name}-${phase}`);
      mkdirSync(profDir, { recursive: true });
      const t = await startProxy(name, up, { profileDir: profDir, logName: `${name}-profile`, noTraceGc: true });
      let requests = 0;
      try {
        requests += (await wrk(t, loadOf(phase, 1))).requests; // warm-up: the profile covers it too
        requests += (await wrk(t, loadOf(phase, cfg.featureSeconds))).requests;
      } finally {
        await stopProxy(t);
      }
      await sleep(200);
      const file = existsSync(profDir) ? readdirSync(profDir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (!file || requests === 0) continue;
      const { busyMs, features } = featureCosts(join(profDir, file), ROOT, FEATURES);
      const us = new Map([...features].map(([f, ms]) => [f, (ms * 1000) / requests]));
      per[name] = us;
      if (name === 'ours') {
        per.oursBusy = (busyMs * 1000) / requests;
        per.oursRequests = requests;
      } else {
        per.floorBusy = (busyMs * 1000) / requests;
        per.floorRequests = requests;
      }
    }
    out.cost[phase] = per;
    await up.take();
  }
  return out;
}

const PHASE_NAMES: Record<string, string> = { c64: 'chat c=64', stream16: 'stream 50 chunks c=16', tavern: 'SillyTavern 100 KB', claude: 'Claude Code 80 KB' };

export function featureCostLines(r: FeatureCostResult): string[] {
  if (r.phases.length === 0) return [];
  const names = [...new Set([...FEATURES.map((f) => f.feature), ...r.phases.flatMap((p) => [...r.cost[p].ours.keys(), ...r.cost[p].floor.keys()])])];
  const md: string[] = [];
  md.push(
    `From a \`--cpu-prof\` profile of each proxy under the phase's load (${cfg.featureSeconds} s after a 1 s warm-up, every request counted; the profiler's own overhead included, so compare rows, not the timed figures above). Each sample is charged to the nearest frame of a feature on its stack (\`bench/featureCost.ts\` FEATURES: by source file). µs per request, ours (floor):`,
    '',
    `| feature | ${r.phases.map((p) => PHASE_NAMES[p]).join(' | ')} |`,
    `|---|${r.phases.map(() => '---:').join('|')}|`,
  );
  const cell = (p: Phase, f: string) => {
    const c = r.cost[p];
    const o = c.ours.get(f);
    const fl = c.floor.get(f);
    if (o === undefined && fl === undefined) return '—';
    return `${fmt(o ?? 0, 1)}${fl !== undefined ? ` (${fmt(fl, 1)})` : ''}`;
  };
  for (const f of names) {
    if (r.phases.every((p) => r.cost[p].ours.get(f) === undefined && r.cost[p].floor.get(f) === undefined)) {
      md.push(`| ${f} | ${r.phases.map(() => 'not on the path').join(' | ')} |`);
      continue;
    }
    md.push(`| ${f} | ${r.phases.map((p) => cell(p, f)).join(' | ')} |`);
  }
  md.push(`| **busy CPU per request** | ${r.phases.map((p) => `**${fmt(r.cost[p].oursBusy, 1)}** (${fmt(r.cost[p].floorBusy, 1)})`).join(' | ')} |`);
  md.push(`| ours − floor | ${r.phases.map((p) => `${fmt(r.cost[p].oursBusy - r.cost[p].floorBusy, 1)}`).join(' | ')} |`);
  md.push(`| requests profiled, ours (floor) | ${r.phases.map((p) => `${r.cost[p].oursRequests.toLocaleString('en-US')} (${r.cost[p].floorRequests.toLocaleString('en-US')})`).join(' | ')} |`);
  return md;
}
