// The bench's configuration: modes, targets, phases and knobs, read once from the environment
// (see bench/README.md for each knob).
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const BUILD = join(ROOT, 'bench', 'results', 'build');
export const RESULTS = join(ROOT, 'bench', 'results');

/**
 * unpinned (default): the user's machine. Nothing pinned, nginx as the upstream (a remote
 * gateway costs the user's CPU next to nothing, a Node upstream would not), ours as a user runs it.
 * pinned: proxies alone on one core, the Node upstream, wrk and the client on the other: steadier
 * figures for profiles and before/after comparisons of one change.
 */
export type Mode = 'unpinned' | 'pinned';
/**
 * floor2: an A/A copy of the floor, measured like the others: the run's own noise.
 * ours-before: an older build of ours (BENCH_BASELINE), so a change is compared with what it
 * replaces in the same run, round by round, rather than with figures taken hours apart.
 */
export type TargetName = 'direct' | 'floor' | 'floor2' | 'ours' | 'ours-before';
export type Phase = 'c1' | 'c64' | 'stream16' | 'ttfb' | 'tavern' | 'claude';
export type UpstreamKind = 'nginx' | 'fixed' | 'fake';

export const ALL_PHASES: Phase[] = ['c1', 'c64', 'stream16', 'ttfb', 'tavern', 'claude'];

const env = process.env;
const quick = env.BENCH_QUICK === '1';
/** BENCH_SOAK_ONLY=1: only ours and its soak (issue 22: 10 minutes of 200 streams), no timed rounds. */
const soakOnly = env.BENCH_SOAK_ONLY === '1';
const mode: Mode = env.BENCH_MODE === 'pinned' ? 'pinned' : 'unpinned';
const num = (name: string, full: number, fast: number, min = 1): number => {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(v) && v >= min ? v : quick ? fast : full;
};
/** BENCH_BASELINE: an old checkout's dist/cli.js, measured as the target "ours-before". */
const baselineCli = env.BENCH_BASELINE ? resolve(env.BENCH_BASELINE) : undefined;
const list = <T extends string>(raw: string | undefined, fallback: T[]): T[] => (raw ? (raw.split(',').map((s) => s.trim()).filter(Boolean) as T[]) : fallback);

export const cfg = {
  quick,
  mode,
  // 8 rounds: twice the Latin square of 4 targets; with ours-before (5 targets) 10, the square and its mirror.
  rounds: soakOnly ? 0 : Math.floor(num('BENCH_ROUNDS', baselineCli ? 10 : 8, 1)),
  soakOnly,
  phaseSeconds: num('BENCH_PHASE_SECONDS', 2, 2),
  ttfbStreams: Math.floor(num('BENCH_TTFB_STREAMS', 5, 4)),
  // 10 minutes in a full run (issue 22: RSS troughs within 10 % of their level after warm-up).
  soakSeconds: num('BENCH_SOAK_SECONDS', 600, 10, 0),
  soakConnections: Math.floor(num('BENCH_SOAK_CONNECTIONS', 200, 200)),
  upstream: (env.BENCH_UPSTREAM || (mode === 'pinned' ? 'fixed' : 'nginx')) as UpstreamKind,
  phases: soakOnly ? [] : list<Phase>(env.BENCH_PHASES, ALL_PHASES),
  targets: soakOnly ? (['ours'] as TargetName[]) : withBaseline(list<TargetName>(env.BENCH_TARGETS, ['direct', 'floor', 'floor2', 'ours'])),
  pin: mode === 'pinned' && env.BENCH_PIN !== '0',
  profile: env.BENCH_PROFILE === '1',
  /** The profiled pass that prints what each feature on the request path costs. */
  featureCost: env.BENCH_FEATURE_COST !== '0' && !soakOnly,
  featureSeconds: num('BENCH_FEATURE_SECONDS', 4, 2),
  strict: env.BENCH_STRICT === '1',
  traceGc: env.BENCH_TRACE_GC !== '0',
  /** A phase during which other programs used more than this % of one core is measured again. */
  noiseLimitPct: num('BENCH_NOISE_LIMIT', 15, 15),
  noiseRetries: Math.floor(Number(env.BENCH_NOISE_RETRIES ?? 2)),
  /** BENCH_OURS_CLI: another build of the CLI (an experiment, or a branch's feature before it lands). */
  oursCli: env.BENCH_OURS_CLI ? resolve(env.BENCH_OURS_CLI) : join(ROOT, 'dist', 'cli.js'),
  oursArgs: (env.BENCH_OURS_ARGS ?? '').split(' ').filter(Boolean),
  /** BENCH_BASELINE: the old build measured side by side as "ours-before" (same args and flags as ours). */
  baselineCli,
  experiment: Boolean(env.BENCH_OURS_CLI || env.BENCH_OURS_ARGS || env.BENCH_OURS_NODE_FLAGS),
};

/** BENCH_BASELINE adds "ours-before" to the targets (unless BENCH_TARGETS names them without it). */
function withBaseline(targets: TargetName[]): TargetName[] {
  if (!baselineCli) return targets.filter((t) => t !== 'ours-before');
  if (env.BENCH_TARGETS || targets.includes('ours-before')) return targets;
  return [...targets, 'ours-before'];
}

/** CPU sets of the pinned mode: proxies alone on one core, everything else on the other. */
export const CPU_PROXY = '1';
export const CPU_LOAD = '0';

/** Direct has no place in the large-body phases: they compare proxies (their body handling). */
export function targetsOf(phase: Phase): TargetName[] {
  return phase === 'tavern' || phase === 'claude' ? cfg.targets.filter((t) => t !== 'direct') : cfg.targets;
}
