// How the bench reports: the table (each figure against issue 13's targets: met, or missed by
// how much), the correctness lines, the per-round table, and bench/results/latest.md.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { dirname } from 'node:path';
import { CPU_LOAD, CPU_PROXY, cfg, targetsOf, type Phase, type TargetName } from './config';
import type { Upstream } from './parties';
import { errors, results, type PhaseResult, type SoakResult, type SoakSample } from './phases';
import { median } from './procs';

interface Row {
  metric: string;
  unit: string;
  values: Partial<Record<TargetName, number>>;
  /** Show ratios ours/direct and ours/floor. */
  ratios: boolean;
  /** Per-round paired ratios, shown in place of the ratio of the medians. */
  vsDirect?: Stat;
  vsFloor?: Stat;
  /** ours against the old build (BENCH_BASELINE), paired per round: did the change make it worse? */
  vsBefore?: Stat;
  /** ours against the old build where no per-round pairing applies (ratio of the figures). */
  beforeText?: string;
  /** The A/A copy of the floor against the floor, the same way as ours against the floor: the run's noise. */
  aa?: string;
  target?: string;
  pass?: boolean;
  note?: string;
}

export function fmt(v: number | undefined, digits = 2): string {
  if (v === undefined || !Number.isFinite(v)) return '—';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '—';
  return `${(a / b).toFixed(2)}×`;
}

function perTarget(phase: Phase, pick: (r: PhaseResult) => number | undefined): Partial<Record<TargetName, number>> {
  const out: Partial<Record<TargetName, number>> = {};
  for (const name of targetsOf(phase)) {
    out[name] = median(results.filter((r) => r.phase === phase && r.target === name).map((r) => pick(r) ?? NaN));
  }
  return out;
}

/** Per round, target minus direct, then the median over rounds (paired, so drift cancels). */
function addedOverDirect(phase: Phase, pick: (r: PhaseResult) => number | undefined): Partial<Record<TargetName, number>> {
  const out: Partial<Record<TargetName, number>> = {};
  for (const name of cfg.targets) {
    const diffs: number[] = [];
    for (let round = 1; round <= cfg.rounds; round++) {
      const d = results.find((r) => r.phase === phase && r.target === 'direct' && r.round === round);
      const x = results.find((r) => r.phase === phase && r.target === name && r.round === round);
      if (d && x) diffs.push((pick(x) ?? NaN) - (pick(d) ?? NaN));
    }
    out[name] = median(diffs);
  }
  return out;
}

export interface Stat {
  median: number;
  q1: number;
  q3: number;
  n: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/**
 * `a` against `b` round by round (ratio or difference), then the median and quartiles over the
 * rounds. Pairing within a round cancels the drift of this shared machine better than comparing
 * medians taken minutes apart.
 */
function paired(phase: Phase, pick: (r: PhaseResult) => number | undefined, a: TargetName, b: TargetName, op: 'ratio' | 'diff'): Stat | undefined {
  if (!targetsOf(phase).includes(a) || !targetsOf(phase).includes(b)) return undefined;
  const xs: number[] = [];
  for (let round = 1; round <= cfg.rounds; round++) {
    const ra = results.find((r) => r.phase === phase && r.target === a && r.round === round);
    const rb = results.find((r) => r.phase === phase && r.target === b && r.round === round);
    const va = ra ? pick(ra) : undefined;
    const vb = rb ? pick(rb) : undefined;
    if (va === undefined || vb === undefined || !Number.isFinite(va) || !Number.isFinite(vb)) continue;
    if (op === 'ratio' && vb === 0) continue;
    xs.push(op === 'ratio' ? va / vb : va - vb);
  }
  if (xs.length === 0) return undefined;
  xs.sort((x, y) => x - y);
  return { median: quantile(xs, 0.5), q1: quantile(xs, 0.25), q3: quantile(xs, 0.75), n: xs.length };
}

const showRatio = (st: Stat | undefined) => (st ? `${st.median.toFixed(2)}×` : '—');
const iqrRatio = (st: Stat | undefined) => (st && st.n > 1 ? `rounds ${st.q1.toFixed(2)}–${st.q3.toFixed(2)}×` : '');
const iqrDiff = (st: Stat | undefined) => (st ? `${st.median >= 0 ? '+' : ''}${st.median.toFixed(3)} ms${st.n > 1 ? `, rounds ${st.q1.toFixed(3)}…${st.q3.toFixed(3)}` : ''}` : '');


/**
 * A figure against its target: "met (1.05× ≤ 1.2×)" or "MISSED by 0.12× (1.32× > 1.2×)".
 * `atMost`: the figure must not exceed `limit` (else not fall below it).
 */
function judge(value: number | undefined, limit: number, atMost: boolean, unit: '×' | ' ms' | ' MB'): { pass?: boolean; text: string } {
  if (value === undefined || !Number.isFinite(value)) return { text: 'not measured' };
  const d = unit === '×' ? 2 : unit === ' ms' ? 3 : 1;
  const v = `${value.toFixed(d)}${unit}`;
  const l = `${limit}${unit}`;
  const pass = atMost ? value <= limit : value >= limit;
  if (pass) return { pass, text: `met (${v} ${atMost ? '≤' : '≥'} ${l})` };
  return { pass, text: `MISSED by ${Math.abs(value - limit).toFixed(d)}${unit} (${v} ${atMost ? '>' : '<'} ${l})` };
}

/** Issue 13's targets, the same in both modes. */
export const TARGETS = {
  addedC1: 1.2,
  p99C1: 1.5,
  throughput: 0.9,
  cpu: 1.2,
  rss: 1.3,
  firstByteMs: 0.3,
  totalMs: 2,
};

export function buildRows(rss: Partial<Record<TargetName, number>>, soakResult?: SoakResult): Row[] {
  const ms = (us: number | undefined) => (us === undefined ? undefined : us / 1000);
  const rows: Row[] = [];
  const pick = {
    p50: (r: PhaseResult) => ms(r.wrk?.latency_us.p50),
    p99: (r: PhaseResult) => ms(r.wrk?.latency_us.p99),
    rps: (r: PhaseResult) => r.rps,
    ttfb: (r: PhaseResult) => median(r.timing?.firstByteMs ?? []),
    total: (r: PhaseResult) => median(r.timing?.totalMs ?? []),
    spread: (r: PhaseResult) => median(r.timing?.spreadMs ?? []),
    reads: (r: PhaseResult) => median(r.timing?.reads ?? []),
    cpu: (r: PhaseResult) => (r.proxyCpuMs !== undefined && r.wrk ? (r.proxyCpuMs * 1000) / r.wrk.requests : undefined),
  };
  const aaRatio = (phase: Phase, f: (r: PhaseResult) => number | undefined) => {
    const st = paired(phase, f, 'floor2', 'floor', 'ratio');
    return st ? `${showRatio(st)}${st.n > 1 ? ` (${st.q1.toFixed(2)}–${st.q3.toFixed(2)})` : ''}` : undefined;
  };
  const aaDiff = (phase: Phase, f: (r: PhaseResult) => number | undefined) => {
    const st = paired(phase, f, 'floor2', 'floor', 'diff');
    return st ? `${st.median >= 0 ? '+' : ''}${st.median.toFixed(3)} ms` : undefined;
  };
  const row = (metric: string, unit: string, phase: Phase, f: (r: PhaseResult) => number | undefined, extra: Partial<Row> = {}): Row => ({
    metric,
    unit,
    values: perTarget(phase, f),
    ratios: true,
    vsDirect: paired(phase, f, 'ours', 'direct', 'ratio'),
    vsFloor: paired(phase, f, 'ours', 'floor', 'ratio'),
    vsBefore: paired(phase, f, 'ours', 'ours-before', 'ratio'),
    aa: aaRatio(phase, f),
    ...extra,
  });
  const has = (n: TargetName) => cfg.targets.includes(n);
  const both = has('ours') && has('floor');
  const judged = (j: { pass?: boolean; text: string }, note?: string): Partial<Row> => (both ? { pass: j.pass, note: `${j.text}${note ? `; ${note}` : ''}` } : {});
  const phaseOn = (p: Phase) => cfg.phases.includes(p);

  if (phaseOn('c1')) {
    rows.push(row('chat c=1: p50 latency', 'ms', 'c1', pick.p50));
    const p99 = paired('c1', pick.p99, 'ours', 'floor', 'ratio');
    rows.push(row('chat c=1: p99 latency', 'ms', 'c1', pick.p99, { target: `ours ≤ ${TARGETS.p99C1}× floor`, ...judged(judge(p99?.median, TARGETS.p99C1, true, '×'), iqrRatio(p99)) }));
    const added = addedOverDirect('c1', pick.p50);
    const addedAa = has('floor2') ? ratio(added.floor2, added.floor) : undefined;
    rows.push({
      metric: 'chat c=1: added p50 over direct', unit: 'ms', values: { ...added, direct: undefined }, ratios: false, aa: addedAa, beforeText: ratio(added.ours, added['ours-before']),
      target: `ours ≤ ${TARGETS.addedC1}× floor`, ...judged(judge((added.ours ?? NaN) / (added.floor ?? NaN), TARGETS.addedC1, true, '×')),
    });
  }
  const throughput = (phase: Phase, metric: string, unit: string) => {
    if (!phaseOn(phase)) return;
    const st = paired(phase, pick.rps, 'ours', 'floor', 'ratio');
    rows.push(row(metric, unit, phase, pick.rps, { target: `ours ≥ ${TARGETS.throughput}× floor`, ...judged(judge(st?.median, TARGETS.throughput, false, '×'), iqrRatio(st)) }));
  };
  throughput('c64', 'chat c=64: throughput', 'req/s');
  throughput('stream16', 'stream 50 chunks c=16: throughput', 'streams/s');
  throughput('tavern', 'SillyTavern 100 KB history, streamed, c=16: throughput', 'streams/s');
  throughput('claude', 'Claude Code /v1/messages 80 KB, Anthropic SSE, c=16: throughput', 'streams/s');
  if (phaseOn('ttfb')) {
    const ttfb = paired('ttfb', pick.ttfb, 'ours', 'floor', 'diff');
    rows.push(row('stream 20×20 ms: first byte', 'ms', 'ttfb', pick.ttfb, { aa: aaDiff('ttfb', pick.ttfb), target: `ours ≤ floor + ${TARGETS.firstByteMs} ms`, ...judged(judge(ttfb?.median, TARGETS.firstByteMs, true, ' ms'), `ours − floor ${iqrDiff(ttfb)}`) }));
    const total = paired('ttfb', pick.total, 'ours', 'direct', 'diff');
    rows.push(row('stream 20×20 ms: total time', 'ms', 'ttfb', pick.total, { aa: aaDiff('ttfb', pick.total), target: `ours = direct (≤ + ${TARGETS.totalMs} ms)`, ...(has('ours') ? { pass: judge(total?.median, TARGETS.totalMs, true, ' ms').pass, note: `${judge(total?.median, TARGETS.totalMs, true, ' ms').text}; ours − direct ${iqrDiff(total)}` } : {}) }));
    const spread = paired('ttfb', pick.spread, 'ours', 'direct', 'ratio');
    const reads = perTarget('ttfb', pick.reads);
    const sj = judge(spread?.median, 0.95, false, '×');
    rows.push(row('stream 20×20 ms: first→last byte', 'ms', 'ttfb', pick.spread, {
      target: 'ours ≥ 0.95× direct (not buffered)', pass: has('ours') ? sj.pass : undefined,
      note: `${sj.text}; reads per stream: ${cfg.targets.map((n) => `${n} ${fmt(reads[n], 0)}`).join(', ')}`,
    }));
  }
  rows.push({
    metric: 'peak RSS (VmHWM) before the soak', unit: 'MB', values: rss, ratios: false, aa: has('floor2') ? ratio(rss.floor2, rss.floor) : undefined, beforeText: ratio(rss.ours, rss['ours-before']),
    target: `ours ≤ ${TARGETS.rss}× floor`, ...judged(judge((rss.ours ?? NaN) / (rss.floor ?? NaN), TARGETS.rss, true, '×')),
  });
  const cpuRow = (phase: Phase, metric: string, judgedToo: boolean) => {
    if (!phaseOn(phase)) return;
    const st = paired(phase, pick.cpu, 'ours', 'floor', 'ratio');
    const base = { ...row(metric, 'µs', phase, pick.cpu), ratios: false, vsDirect: undefined };
    const j = judge(st?.median, TARGETS.cpu, true, '×');
    rows.push(judgedToo ? { ...base, target: `ours ≤ ${TARGETS.cpu}× floor`, ...judged(j, iqrRatio(st)) } : { ...base, note: both ? `ours/floor ${showRatio(st)} (${iqrRatio(st)})` : undefined });
  };
  cpuRow('c64', 'CPU per request (c=64)', true);
  if (cfg.traceGc && phaseOn('c64')) {
    const gcPick = (r: PhaseResult) => (r.gc && r.wrk ? ((r.gc.scavengeMs + r.gc.majorMs) * 1000) / r.wrk.requests : undefined);
    const gcRatio = paired('c64', gcPick, 'ours', 'floor', 'ratio');
    const majors = perTarget('c64', (r) => r.gc?.majors);
    rows.push({
      ...row('GC pauses per request (c=64)', 'µs', 'c64', gcPick), ratios: false, vsDirect: undefined,
      note: both ? `ours/floor ${showRatio(gcRatio)} (${iqrRatio(gcRatio)}); major GCs per phase: floor ${fmt(majors.floor, 0)}, ours ${fmt(majors.ours, 0)}` : undefined,
    });
  }
  cpuRow('stream16', 'CPU per 50-chunk stream (c=16)', false);
  cpuRow('tavern', 'CPU per SillyTavern stream (100 KB body)', false);
  cpuRow('claude', 'CPU per Claude Code stream (80 KB body)', false);
  for (const r of rows) if (r.metric.startsWith('CPU') || r.metric.startsWith('GC')) delete r.values.direct;
  if (soakResult) {
    rows.push({
      metric: `soak: ${soakResult.connections} streams × ${soakResult.seconds} s, RSS trough growth after warm-up`, unit: 'MB', values: { ours: soakResult.growthMb }, ratios: false,
      target: 'flat (no leak), sockets released', pass: !soakResult.leak, note: `${soakResult.leak ? 'MISSED' : 'met'}: ${soakResult.verdict}`,
    });
  }
  return rows;
}

export function correctnessLines(up: Upstream): { lines: string[]; pass: boolean } {
  const lines: string[] = [];
  let pass = errors.length === 0;
  for (const name of cfg.targets) {
    const mine = results.filter((r) => r.target === name);
    const samples = mine.filter((r) => r.sample).map((r) => r.sample!);
    const checked = samples.reduce((a, s) => a + s.checked, 0);
    const identical = samples.reduce((a, s) => a + s.identical, 0);
    const requests = mine.reduce((a, r) => a + (r.wrk?.requests ?? 0), 0);
    const wrkErrors = mine.reduce((a, r) => a + (r.wrk ? Object.values(r.wrk.errors).reduce((x, y) => x + y, 0) : 0), 0);
    let keyLine = '';
    if (name !== 'direct') {
      const byKey = new Map<string, number>();
      for (const r of mine) for (const [k, n] of Object.entries(r.upstream.byKey)) byKey.set(k, (byKey.get(k) ?? 0) + n);
      const counts = up.keys.map((k) => byKey.get(k) ?? 0);
      const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
      const worst = Math.max(...counts.map((c) => Math.abs(c - mean) / mean)) * 100;
      // With session affinity (ours' default), the phases' identical bodies are one conversation
      // each and rightly stay on one key: spread is not what ours promises there.
      const sticky = name === 'ours' && !cfg.oursArgs.includes('--no-session-affinity');
      const even = worst <= 10;
      if (!even && !sticky) pass = false;
      keyLine = sticky
        ? `; keys at the upstream ${counts.join(' / ')} (session affinity: each phase's identical body is one conversation, kept on one key; spread not judged)`
        : `; keys at the upstream ${counts.join(' / ')} (worst ${worst.toFixed(1)} % from even: ${even ? 'PASS' : 'FAIL'})`;
      const attempts: Record<string, number> = {};
      for (const s of samples) for (const [a, n] of Object.entries(s.attempts)) attempts[a] = (attempts[a] ?? 0) + n;
      if (Object.keys(attempts).length) keyLine += `; x-daidai-attempts seen ${JSON.stringify(attempts)}`;
    }
    const conns = mine.reduce((a, r) => a + (r.upstream.connections ?? 0), 0);
    if (up.kind !== 'fake') keyLine += `; ${conns.toLocaleString('en-US')} upstream connections opened over the measured phases`;
    if (checked === 0 || identical !== checked) pass = false;
    lines.push(`- ${name}: ${identical}/${checked} sampled bodies byte-identical to direct; ${requests.toLocaleString('en-US')} wrk requests, ${wrkErrors} errors${keyLine}`);
  }
  return { lines, pass };
}

export function table(rows: Row[]): string {
  const aa = cfg.targets.includes('floor2');
  const before = cfg.targets.includes('ours-before') && cfg.targets.includes('ours');
  const head = ['metric', 'unit', ...cfg.targets, 'ours/direct', 'ours/floor', ...(before ? ['ours/ours-before'] : []), ...(aa ? ['A/A: floor2/floor'] : []), 'target', 'verdict'];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.metric, r.unit, ...cfg.targets.map((n) => fmt(r.values[n]))];
    cells.push(r.ratios ? (r.vsDirect ? showRatio(r.vsDirect) : ratio(r.values.ours, r.values.direct)) : '', r.ratios ? (r.vsFloor ? showRatio(r.vsFloor) : ratio(r.values.ours, r.values.floor)) : '');
    if (before) cells.push(r.vsBefore ? `${showRatio(r.vsBefore)}${r.vsBefore.n > 1 ? ` (${r.vsBefore.q1.toFixed(2)}–${r.vsBefore.q3.toFixed(2)})` : ''}` : (r.beforeText ?? ''));
    if (aa) cells.push(r.aa ?? '');
    cells.push(r.target ?? '', r.pass === undefined ? (r.note ?? '') : `${r.pass ? 'PASS' : 'FAIL'}${r.note ? ` — ${r.note}` : ''}`);
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

export function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const nproc = spawnSync('nproc').stdout?.toString().trim() ?? String(os.cpus().length);
  return `${nproc} cores (nproc), ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

export function perRoundTable(): string {
  const lines = ['| round | target | c=1 p50 ms | c=1 p99 ms | c=64 req/s | stream16 streams/s | tavern streams/s | claude streams/s | first byte ms | total ms | proxy CPU ms (c=64) | upstream CPU ms (c=64) | upstream connections opened (c=64, stream) | CPU of other programs, worst phase | retries |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const name of cfg.targets) {
      const get = (p: Phase) => results.find((r) => r.round === round && r.target === name && r.phase === p);
      const c1 = get('c1');
      const c64 = get('c64');
      const s16 = get('stream16');
      const tt = get('ttfb');
      const mine = results.filter((r) => r.round === round && r.target === name);
      if (mine.length === 0) continue;
      const noise = Math.max(...mine.map((r) => r.foreignPct));
      const retries = mine.reduce((a, r) => a + r.attempts - 1, 0);
      lines.push(
        `| ${round} | ${name} | ${fmt((c1?.wrk?.latency_us.p50 ?? NaN) / 1000, 3)} | ${fmt((c1?.wrk?.latency_us.p99 ?? NaN) / 1000, 3)} | ${fmt(c64?.rps)} | ${fmt(s16?.rps)} | ${fmt(get('tavern')?.rps)} | ${fmt(get('claude')?.rps)} | ${fmt(median(tt?.timing?.firstByteMs ?? []), 3)} | ${fmt(median(tt?.timing?.totalMs ?? []))} | ${fmt(c64?.proxyCpuMs, 0)} | ${fmt(c64?.upstreamCpuMs, 0)} | ${c64?.upstream.connections ?? '—'}, ${s16?.upstream.connections ?? '—'} | ${noise.toFixed(0)} % | ${retries} |`,
      );
    }
  }
  return lines.join('\n');
}

const UPSTREAMS = {
  nginx: "Debian's nginx (bench/upstreamNginx.ts: fixed answers, SSE paced by the echo module; one process, its own config in a temp folder)",
  fixed: 'bench/upstreamFixed.ts (fixed-response node:http server)',
  fake: "the project's fake DaiDai (test/fake/fakeDaiDai.ts)",
};

/** The run's header: which mode ran, on what, how. */
export function headerLines(up: Upstream, seconds: number, bodyBytes: Record<string, number>): string[] {
  const md: string[] = [];
  md.push(`- mode: **${cfg.mode}**${cfg.mode === 'unpinned' ? ' (as on a user\'s machine: nothing pinned, a non-Node upstream, ours at its default log level)' : ' (stable profiles: proxies alone on one core)'}`);
  md.push(`- machine: ${machine()}`);
  md.push(`- upstream: ${UPSTREAMS[up.kind]}; ${up.keys.length} keys`);
  md.push(`- ours: \`node ${cfg.oursCli.replace(/^.*\/(dist\/)/, '$1')} serve${cfg.oursArgs.length ? ' ' + cfg.oursArgs.join(' ') : ''}\` with DAIDAI_KEYS${cfg.experiment ? ' (EXPERIMENT, not the shipped build or not its defaults)' : ' (default log level: info)'}`);
  if (cfg.baselineCli && cfg.targets.includes('ours-before')) md.push(`- ours-before: the old build \`${cfg.baselineCli}\`${baselineCommit()}, run exactly like ours; ours/ours-before is paired per round like the other ratios`);
  md.push(`- pinning: ${cfg.pin ? `taskset: the proxies on CPU ${CPU_PROXY}; upstream, wrk and the Node client on CPU ${CPU_LOAD}` : 'none'}`);
  md.push(`- rounds: ${cfg.rounds} × (${cfg.phases.join(', ')}: ${cfg.phaseSeconds} s each with wrk -t1; ${cfg.ttfbStreams} sequential 20×20 ms streams), interleaved ${cfg.targets.join(', ')}, the order changing each round (a balanced Latin square) (the large-body phases without direct); values are medians over rounds, ratios the medians of per-round ratios (rounds: their interquartile range)${cfg.targets.includes('floor2') ? '; floor2 is an A/A copy of the floor: floor2/floor is the noise of this run' : ''}`);
  md.push(`- requests: chat ${bodyBytes.chat} B JSON; SillyTavern ${bodyBytes.tavern} B, streamed; Claude Code POST /v1/messages?beta=true ${bodyBytes.claude} B, Anthropic SSE`);
  const foreign = results.map((r) => r.foreignPct);
  const retried = results.reduce((a, r) => a + r.attempts - 1, 0);
  md.push(`- noise: other programs on the machine used a median ${median(foreign).toFixed(1)} % (worst ${Math.max(...foreign).toFixed(0)} %) of one core during the measured phases; ${retried} phase(s) measured again for noise over ${cfg.noiseLimitPct} %; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  md.push(`- wall time: ${seconds.toFixed(0)} s${cfg.profile ? '; PROFILING (--cpu-prof): timings are inflated' : ''}`);
  return md;
}

/** The old build's commit, when BENCH_BASELINE lies in a git checkout. */
function baselineCommit(): string {
  const r = spawnSync('git', ['-C', dirname(dirname(cfg.baselineCli!)), 'log', '-1', '--format=%h %s'], { encoding: 'utf8' });
  const line = r.status === 0 ? r.stdout.trim() : '';
  return line ? ` (commit ${line.slice(0, 90)})` : '';
}

export function soakLines(soakResult: SoakResult): string[] {
  const md: string[] = [];
  md.push(`${soakResult.connections} concurrent streams (20 chunks 20 ms apart) for ${soakResult.seconds} s: ${soakResult.wrk.requests.toLocaleString('en-US')} streams, ${Object.values(soakResult.wrk.errors).reduce((a, b) => a + b, 0)} errors. Warm-up ${soakResult.warmupSeconds} s. RSS slope after warm-up ${soakResult.slopeMbPerMin.toFixed(2)} MB/min (a sawtooth: the old generation fills and a major GC empties it). Live heap after each major GC (MB): ${soakResult.heapAfterMajor.map((h) => h.mb.toFixed(1)).join(', ') || '—'}. ${soakResult.leak ? 'LEAK SUSPECTED: ' : ''}${soakResult.verdict}.`);
  md.push('', '| t (s) | RSS (MB) | fds | client sockets | upstream sockets | other sockets |', '|---|---|---|---|---|---|');
  const row = (label: string, x: SoakSample) => `| ${label} | ${x.rssMb.toFixed(1)} | ${x.fds} | ${x.clientSockets} | ${x.upstreamSockets} | ${x.otherSockets} |`;
  md.push(row('before', soakResult.before));
  for (const x of soakResult.samples) md.push(row(x.t.toFixed(0), x));
  md.push(row('after (+6 s idle)', soakResult.after));
  return md;
}
