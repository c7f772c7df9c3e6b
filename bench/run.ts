// `npm run bench`: what our proxy costs a request, side by side with a direct connection, a
// minimal reference proxy (the floor) and an A/A copy of the floor (the run's noise), measured
// in one run on this machine. See bench/README.md for what it measures, the modes and the knobs.
//
// Every party runs in its own process: the upstream (nginx, or a Node upstream in the pinned
// mode), the floors, ours (`node dist/cli.js serve`), wrk (the load generator) and the Node
// client (stream timing and byte comparison). This file only runs the plan; what is measured
// is in phases.ts, how it is reported in report.ts, the process plumbing in procs.ts and
// parties.ts, the per-feature cost in featureCost.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { CPU_LOAD, CPU_PROXY, RESULTS, ROOT, cfg, targetsOf, type TargetName } from './config';
import { featureCostLines, measureFeatureCost } from './featureCost';
import { startProxy, startUpstream, stopProxy, type Target } from './parties';
import { errors, loadOf, measure, results, soak, type SoakResult } from './phases';
import { analyzeProfile, formatProfile } from './profile';
import { ensureDebianPackages, ensureWrk, httpGet, killAll, killChildrenOnExit, median, ownPids, servedByWrk, sleep, statusKb, wrk } from './procs';
import { buildRows, correctnessLines, fmt, headerLines, perRoundTable, soakLines, table } from './report';
import { shapes } from './shapes';
import { nginxAvailable } from './upstreamNginx';

async function main(): Promise<void> {
  const started = Date.now();
  killChildrenOnExit();
  mkdirSync(RESULTS, { recursive: true });
  ensureWrk();
  if (cfg.upstream === 'nginx') ensureDebianPackages('nginx with the echo module', ['nginx-light', 'libnginx-mod-http-echo'], nginxAvailable);
  if (cfg.pin && (os.cpus().length < 2 || spawnSync('taskset', ['-V']).error)) {
    process.stderr.write('bench: taskset or a second core is missing; running unpinned.\n');
    cfg.pin = false;
  }
  process.stderr.write(`bench: ${cfg.quick ? 'QUICK run' : 'full run'}, mode ${cfg.mode}: ${cfg.rounds} round(s) of ${cfg.phaseSeconds} s phases, soak ${cfg.soakSeconds} s; upstream=${cfg.upstream}; pinning ${cfg.pin ? `proxies on CPU ${CPU_PROXY}, upstream+wrk+client on CPU ${CPU_LOAD}` : 'off'}\n`);

  const up = await startUpstream(cfg.upstream);
  ownPids.push(up.pid);
  const direct: Target = { name: 'direct', base: up.base, auth: up.keys[0] };
  const targets: Target[] = [];
  for (const name of cfg.targets) {
    if (name === 'direct') targets.push(direct);
    else targets.push(await startProxy(name, up, { profileDir: cfg.profile ? join(RESULTS, 'prof', name) : undefined }));
  }
  for (const t of targets) if (t.pid) ownPids.push(t.pid);
  const byName = (n: TargetName) => targets.find((t) => t.name === n);

  process.stderr.write('bench: warming up every target...\n');
  for (const t of targets) {
    await wrk(t, { ...loadOf('c64'), seconds: cfg.quick ? 1 : 2 });
    if (cfg.phases.includes('stream16') || cfg.phases.includes('ttfb')) await wrk(t, loadOf('stream16', 1));
    for (const p of ['tavern', 'claude'] as const) if (cfg.phases.includes(p) && targetsOf(p).includes(t.name)) await wrk(t, loadOf(p, 1));
  }
  await sleep(300);
  await up.take();

  for (let round = 1; round <= cfg.rounds; round++) {
    // The order changes each round (a balanced Latin square): with a fixed order the A/A copy,
    // always right after the floor, came out below it in most runs, and ours, always last, paid
    // whatever the place costs. Over n rounds each target takes each place once, and follows
    // each other target once.
    const order = williamsRow(round - 1, targets.length).map((i) => targets[i]);
    for (const phase of cfg.phases) {
      for (const t of order) {
        if (!targetsOf(phase).includes(t.name)) continue;
        const r = await measure(round, phase, t, up, direct);
        results.push(r);
        const show = r.wrk ? `${fmt(r.rps)} req/s, p50 ${fmt(r.wrk.latency_us.p50 / 1000, 3)} ms, p99 ${fmt(r.wrk.latency_us.p99 / 1000, 3)} ms` : `first byte ${fmt(median(r.timing?.firstByteMs ?? []), 3)} ms, total ${fmt(median(r.timing?.totalMs ?? []))} ms`;
        process.stderr.write(`bench: round ${round}/${cfg.rounds} ${phase.padEnd(8)} ${t.name.padEnd(11)} ${show}\n`);
      }
    }
  }

  const rss: Partial<Record<TargetName, number>> = {};
  for (const t of targets) if (t.pid) rss[t.name] = statusKb(t.pid, 'VmHWM') / 1024;

  let soakResult: SoakResult | undefined;
  const ours = byName('ours');
  if (ours && cfg.soakSeconds > 0) {
    process.stderr.write(`bench: soak: ${cfg.soakConnections} concurrent streams through ours for ${cfg.soakSeconds} s...\n`);
    await up.take();
    soakResult = await soak(ours, up);
    const soakCounts = await up.take();
    const e = soakResult.wrk.errors;
    if (e.connect + e.read + e.write + e.status + e.timeout > 0) errors.push(`soak: wrk errors ${JSON.stringify(e)}`);
    for (const [status, n] of Object.entries(soakCounts.statuses)) if (status !== '200' && status !== '0') errors.push(`soak: upstream answered HTTP ${status} ${n} times`);
  }

  let health = '';
  if (ours) {
    try {
      health = (await httpGet(ours.base.replace(/\/v1$/, '/health'))).body;
    } catch (e) {
      health = `(GET /health failed: ${(e as Error).message})`;
    }
  }
  for (const t of targets) await stopProxy(t);

  let featureCost: string[] = [];
  if (cfg.featureCost && cfg.targets.includes('ours')) {
    process.stderr.write('bench: profiling floor and ours per phase for the per-feature cost...\n');
    featureCost = featureCostLines(await measureFeatureCost(up));
  }
  await up.stop();

  const rows = buildRows(rss, soakResult);
  // A soak-only run (BENCH_SOAK_ONLY) has no timed phases whose bodies could be compared.
  const correctness = cfg.soakOnly ? { pass: true, lines: ['- soak only (BENCH_SOAK_ONLY): no timed phases to compare'] } : correctnessLines(up);
  const seconds = (Date.now() - started) / 1000;
  const logSizes = targets.filter((t) => t.log).map((t) => `${t.name} ${statSync(t.log!).size.toLocaleString('en-US')} bytes`).join(', ');
  const bytes = (s: { body: string }) => Buffer.byteLength(s.body);

  const md: string[] = [];
  md.push(`# Benchmark run ${new Date().toISOString()}, ${cfg.mode}${cfg.quick ? ' (QUICK: indicative only)' : ''}`);
  md.push('');
  md.push(...headerLines(up, seconds, { chat: bytes(shapes.chat), tavern: bytes(shapes.tavern), claude: bytes(shapes.claude) }));
  md.push('');
  md.push(table(rows));
  md.push('');
  md.push(`## Correctness: ${correctness.pass ? 'PASS' : 'FAIL'}`);
  md.push(...correctness.lines);
  if (errors.length) md.push('', '### Errors', ...errors.slice(0, 30).map((e) => `- ${e}`), errors.length > 30 ? `- … ${errors.length - 30} more` : '');
  if (featureCost.length) md.push('', '## What each feature on the request path costs', '', ...featureCost);
  md.push('', '## Per round', '', perRoundTable());
  if (soakResult) md.push('', '## Soak (ours)', '', ...soakLines(soakResult));
  if (health) md.push('', '## /health of ours at the end', '', '```json', health.slice(0, 2000), '```');
  md.push('', `Proxy logs (bench/results/*.log): ${logSizes || 'none'}.`);

  if (cfg.profile) {
    md.push('', '## CPU profiles (--cpu-prof)');
    for (const name of ['ours', 'floor'] as const) {
      const dir = join(RESULTS, 'prof', name);
      if (!existsSync(dir)) continue;
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
      const newest = files.pop();
      if (!newest) continue;
      const served = servedByWrk.get(name) ?? 0;
      md.push('', `### ${name} (${join('bench/results/prof', name, newest)}; ${served.toLocaleString('en-US')} requests from wrk over the run)`, '', '```', formatProfile(analyzeProfile(join(dir, newest), ROOT), 25, served), '```');
    }
  }

  const text = md.join('\n') + '\n';
  writeFileSync(join(RESULTS, 'latest.md'), text);
  process.stdout.write('\n' + text);
  process.stderr.write(`bench: wrote bench/results/latest.md (${seconds.toFixed(0)} s).\n`);

  const failed = rows.some((r) => r.pass === false) || !correctness.pass;
  process.exitCode = cfg.strict && failed ? 1 : 0;
}

/**
 * Row `r` of a Williams design for `n` treatments: 0, 1, n−1, 2, n−2, … shifted by r (mod n).
 * For an even n every treatment takes every place once in n rows, and every ordered pair of
 * neighbours occurs once; for an odd n (ours-before makes 5 targets) the places balance over n
 * rows and the neighbours over 2n (the second n reversed).
 */
function williamsRow(r: number, n: number): number[] {
  const base: number[] = [];
  for (let i = 0, lo = 1, hi = n - 1; i < n; i++) base.push(i === 0 ? 0 : i % 2 === 1 ? lo++ : hi--);
  const row = base.map((x) => (x + r) % n);
  // For an odd n the neighbours balance over 2n rows: the square, then its rows reversed.
  return n % 2 === 1 && Math.floor(r / n) % 2 === 1 ? row.reverse() : row;
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  killAll('SIGKILL');
  process.exit(1);
});
