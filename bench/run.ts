// `npm run bench`: what our proxy costs a request, side by side with a direct connection and a
// minimal reference proxy (the floor), measured in one run on this machine. See bench/README.md
// for what it measures and the knobs (BENCH_QUICK, BENCH_SOAK_SECONDS, ...).
//
// Every party runs in its own process: the upstream, the floor, ours (`node dist/cli.js serve`),
// wrk (the load generator) and the Node client (stream timing and byte comparison). The runner
// only starts them, reads /proc, and does the arithmetic.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync, openSync, closeSync, readSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchRequest, ClientJob, SampleResult, TimingResult } from './client';
import { analyzeProfile, formatProfile } from './profile';
import type { FromUpstream, ToUpstream, UpstreamCounts } from './upstreamIpc';

// ---- configuration --------------------------------------------------------------------------

const ROOT = resolve(__dirname, '..', '..', '..');
const BUILD = join(ROOT, 'bench', 'results', 'build');
const RESULTS = join(ROOT, 'bench', 'results');

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const num = (name: string, full: number, fast: number, min = 1): number => {
  const raw = env[name];
  const v = raw === undefined || raw === '' ? NaN : Number(raw);
  return Number.isFinite(v) && v >= min ? v : quick ? fast : full;
};
const cfg = {
  quick,
  rounds: Math.floor(num('BENCH_ROUNDS', 10, 1)),
  phaseSeconds: num('BENCH_PHASE_SECONDS', 2, 2),
  ttfbStreams: Math.floor(num('BENCH_TTFB_STREAMS', 6, 5)),
  soakSeconds: num('BENCH_SOAK_SECONDS', 60, 10, 0),
  soakConnections: Math.floor(num('BENCH_SOAK_CONNECTIONS', 200, 200)),
  upstream: (env.BENCH_UPSTREAM ?? 'fixed') as 'fixed' | 'fake',
  phases: (env.BENCH_PHASES ?? 'c1,c64,stream16,ttfb').split(',').map((s) => s.trim()) as Phase[],
  targets: (env.BENCH_TARGETS ?? 'direct,floor,ours').split(',').map((s) => s.trim()) as TargetName[],
  pin: env.BENCH_PIN !== '0',
  profile: env.BENCH_PROFILE === '1',
  strict: env.BENCH_STRICT === '1',
  traceGc: env.BENCH_TRACE_GC !== '0',
  /** A phase during which other programs used more than this % of one core is measured again. */
  noiseLimitPct: num('BENCH_NOISE_LIMIT', 15, 15),
  noiseRetries: Math.floor(Number(env.BENCH_NOISE_RETRIES ?? 2)),
};

type TargetName = 'direct' | 'floor' | 'ours';

/** CPU sets: proxies alone on one core, everything else (upstream, wrk, client) on the other. */
const CPU_PROXY = '1';
const CPU_LOAD = '0';

// ---- child processes: tracked, and all killed on exit, Ctrl-C or failure ----------------------

const children = new Set<ChildProcess>();
let shuttingDown = false;

function track(cp: ChildProcess): ChildProcess {
  children.add(cp);
  cp.on('exit', () => children.delete(cp));
  return cp;
}

function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const cp of children) {
    try {
      cp.kill(signal);
    } catch {
      // already gone
    }
  }
}

process.on('exit', () => killAll('SIGKILL'));
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (shuttingDown) return;
    shuttingDown = true;
    process.stderr.write(`\nbench: ${sig}, stopping every child process.\n`);
    killAll('SIGKILL');
    process.exit(130);
  });
}

function pinned(cpu: string, cmd: string, args: string[]): [string, string[]] {
  return cfg.pin ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function waitExit(cp: ChildProcess, ms: number): Promise<boolean> {
  if (cp.exitCode !== null || cp.signalCode !== null) return Promise.resolve(true);
  return new Promise((res) => {
    const t = setTimeout(() => res(false), ms);
    cp.once('exit', () => {
      clearTimeout(t);
      res(true);
    });
  });
}

/** Runs a command to its end, capturing stdout; rejects on a non-zero exit or after `timeoutMs`. */
function runToEnd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  return new Promise((res, rej) => {
    const cp = track(spawn(cmd, args, { env: opts.env ?? env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    cp.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    cp.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      cp.kill('SIGKILL');
      rej(new Error(`${cmd} ${args.join(' ').slice(0, 120)} did not finish within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);
    cp.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) res(out);
      else rej(new Error(`${cmd} exited with ${code}: ${(err || out).trim().slice(-600)}`));
    });
  });
}

// ---- /proc readings -----------------------------------------------------------------------------

const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100);

/** utime + stime of a process, in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** Busy CPU time of the whole machine (all cores), in ms. */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * TICK_MS;
}

/** CPU of the runner and of the children it has reaped (wrk, the client), in ms. */
function runnerCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

interface FdCounts {
  fds: number;
  /** TCP connections accepted on the proxy's port (clients). */
  clientSockets: number;
  /** TCP connections to the upstream's port (the proxy's keep-alive pool). */
  upstreamSockets: number;
  /** Every other socket (listening socket, pipes to the terminal are not sockets). */
  otherSockets: number;
}

/** Local and remote ports of every TCP socket on the machine, by socket inode. */
function tcpPortsByInode(): Map<string, { local: number; remote: number; state: string }> {
  const out = new Map<string, { local: number; remote: number; state: string }>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const c = line.trim().split(/\s+/);
      if (c.length < 10) continue;
      const port = (a: string) => parseInt(a.slice(a.lastIndexOf(':') + 1), 16);
      out.set(c[9], { local: port(c[1]), remote: port(c[2]), state: c[3] });
    }
  }
  return out;
}

function fdCounts(pid: number, proxyPort: number, upstreamPort: number): FdCounts {
  const dir = `/proc/${pid}/fd`;
  const names = readdirSync(dir);
  const tcp = tcpPortsByInode();
  const out: FdCounts = { fds: names.length, clientSockets: 0, upstreamSockets: 0, otherSockets: 0 };
  for (const n of names) {
    let link = '';
    try {
      link = readlinkSync(join(dir, n));
    } catch {
      continue; // closed while we looked
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (!m) continue;
    const t = tcp.get(m[1]);
    // 0A is LISTEN: the proxy's own listening socket is not a client.
    if (t && t.local === proxyPort && t.state !== '0A') out.clientSockets++;
    else if (t && t.remote === upstreamPort) out.upstreamSockets++;
    else out.otherSockets++;
  }
  return out;
}

// ---- small helpers ------------------------------------------------------------------------------

function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => res(a.port));
    });
  });
}

function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => (body += d));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

async function waitListening(port: number, cp: ChildProcess, what: string, logHint: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cp.exitCode !== null) throw new Error(`${what} exited (code ${cp.exitCode}) before it listened.\n${logHint()}`);
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within 20 s.\n${logHint()}`);
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- wrk ----------------------------------------------------------------------------------------

function ensureWrk(): void {
  if (spawnSync('wrk', ['-v']).error === undefined) return;
  process.stderr.write('bench: wrk is missing; installing Debian\'s wrk with apt-get (needs root)...\n');
  const opts = { stdio: 'inherit' as const, env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } };
  spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], opts);
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', 'wrk'], opts);
  if (r.status !== 0 || spawnSync('wrk', ['-v']).error !== undefined) {
    throw new Error('wrk is not installed and `apt-get install wrk` failed. Install wrk (Debian package "wrk") and run the bench again.');
  }
}

interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; max: number; mean: number };
}

interface Load {
  connections: number;
  seconds: number;
  stream: boolean;
  chunks?: number;
  delayMs?: number;
  timeoutSeconds?: number;
}

const userText = 'Summarise the following notes in one sentence. ' + 'The proxy must be close to free. '.repeat(24);
function chatBody(stream: boolean, text = userText): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a terse assistant used by the DaiDai benchmark.' },
      { role: 'user', content: text },
    ],
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });
}

/** Every request wrk sent each target over the run, warm-up and soak included (for profiles). */
const servedByWrk = new Map<TargetName, number>();

async function wrk(t: Target, load: Load): Promise<WrkResult> {
  const [cmd, args] = pinned(CPU_LOAD, 'wrk', [
    '-t1', `-c${load.connections}`, `-d${load.seconds}s`, `--timeout`, `${load.timeoutSeconds ?? 5}s`,
    '-s', join(ROOT, 'bench', 'wrk.lua'), `${t.base}/chat/completions`,
  ]);
  const out = await runToEnd(cmd, args, {
    timeoutMs: (load.seconds + 30) * 1000,
    env: {
      ...env,
      BENCH_BODY: chatBody(load.stream),
      BENCH_AUTH: t.auth,
      BENCH_CHUNKS: load.chunks !== undefined ? String(load.chunks) : '',
      BENCH_DELAY_MS: load.delayMs !== undefined ? String(load.delayMs) : '',
    },
  });
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out.slice(-800)}`);
  const result = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkResult;
  servedByWrk.set(t.name, (servedByWrk.get(t.name) ?? 0) + result.requests);
  return result;
}

async function client<T extends TimingResult | SampleResult>(job: ClientJob): Promise<T> {
  const [cmd, args] = pinned(CPU_LOAD, process.execPath, [join(BUILD, 'client.js'), JSON.stringify(job)]);
  const out = await runToEnd(cmd, args, { timeoutMs: 120_000 });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}

// ---- the parties ----------------------------------------------------------------------------

interface Target {
  name: TargetName;
  /** Base URL including /v1. */
  base: string;
  /** What the client sends as its bearer token. Direct sends a real key; proxies get any token. */
  auth: string;
  /** The measured proxy's pid (undefined for direct). */
  pid?: number;
  cp?: ChildProcess;
  log?: string;
}

interface Upstream {
  kind: 'fixed' | 'fake';
  base: string;
  keys: string[];
  pid: number;
  cp: ChildProcess;
  take(): Promise<UpstreamCounts>;
}

async function startUpstream(kind: 'fixed' | 'fake'): Promise<Upstream> {
  const file = join(BUILD, kind === 'fake' ? 'upstreamFake.js' : 'upstreamFixed.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: the fake (src/core/demo/fakeDaiDai.ts) is not in the tree yet. Use BENCH_UPSTREAM=fixed.`);
  const [cmd, args] = pinned(CPU_LOAD, process.execPath, [file]);
  const cp = track(spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const waiting = new Map<number, (c: UpstreamCounts) => void>();
  let seq = 0;
  const ready = await new Promise<Extract<FromUpstream, { type: 'ready' }>>((res, rej) => {
    const t = setTimeout(() => rej(new Error('the upstream did not start within 20 s')), 20_000);
    cp.on('message', (m: FromUpstream) => {
      if (m.type === 'ready') {
        clearTimeout(t);
        res(m);
      } else if (m.type === 'counts') {
        waiting.get(m.id)?.(m.counts);
        waiting.delete(m.id);
      }
    });
    cp.once('exit', (code) => rej(new Error(`the upstream exited with ${code} before it was ready`)));
  });
  const keys = ready.keys ?? [1, 2, 3].map((i) => `sk-bench${String(i).repeat(43)}`);
  return {
    kind,
    base: `http://127.0.0.1:${ready.port}/v1`,
    keys,
    pid: cp.pid!,
    cp,
    take: () =>
      new Promise((res, rej) => {
        const id = ++seq;
        const t = setTimeout(() => rej(new Error('the upstream did not answer a count request within 10 s')), 10_000);
        waiting.set(id, (c) => {
          clearTimeout(t);
          res(c);
        });
        cp.send({ type: 'take', id } satisfies ToUpstream);
      }),
  };
}

async function startProxy(name: 'floor' | 'ours', up: Upstream): Promise<Target> {
  const port = await freePort();
  mkdirSync(RESULTS, { recursive: true });
  const log = join(RESULTS, `${name}.log`);
  const fd = openSync(log, 'w');
  const profArgs = cfg.profile ? ['--cpu-prof', '--cpu-prof-dir', join(RESULTS, 'prof', name)] : [];
  // One line per garbage collection in the proxy's log: the bench reads the pauses per phase.
  if (cfg.traceGc) profArgs.push('--trace-gc');
  let script: string[];
  let childEnv: NodeJS.ProcessEnv;
  if (name === 'floor') {
    script = [join(BUILD, 'floor.js'), String(port), up.base];
    childEnv = { ...env, BENCH_KEYS: up.keys.join(',') };
  } else {
    // BENCH_OURS_CLI: another build of the CLI (an experiment), measured the same way.
    const cli = env.BENCH_OURS_CLI ? resolve(env.BENCH_OURS_CLI) : join(ROOT, 'dist', 'cli.js');
    if (!existsSync(cli)) throw new Error(`${cli} is missing: \`npm run build\` must succeed first (the bench script runs it).`);
    const extra = (env.BENCH_OURS_ARGS ?? '').split(' ').filter(Boolean);
    script = [cli, 'serve', '--port', String(port), '--host', '127.0.0.1', '--upstream-url', up.base, ...extra];
    childEnv = { ...env, DAIDAI_KEYS: up.keys.join(','), DAIDAI_EMAIL: '', DAIDAI_PASSWORD: '' };
  }
  const [cmd, args] = pinned(CPU_PROXY, process.execPath, [...profArgs, ...script]);
  const cp = track(spawn(cmd, args, { env: childEnv, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  await waitListening(port, cp, name === 'ours' ? 'our proxy (dist/cli.js serve)' : 'the floor proxy', () => tail(log));
  return { name, base: `http://127.0.0.1:${port}/v1`, auth: 'any-client-token', pid: cp.pid!, cp, log };
}

// ---- measurements ---------------------------------------------------------------------------

type Phase = 'c1' | 'c64' | 'stream16' | 'ttfb';

interface PhaseResult {
  round: number;
  phase: Phase;
  target: TargetName;
  wrk?: WrkResult;
  timing?: TimingResult;
  sample?: SampleResult;
  rps?: number;
  /** CPU of the measured proxy during the phase (ms). */
  proxyCpuMs?: number;
  upstreamCpuMs: number;
  upstream: UpstreamCounts;
  /** The proxy's garbage collections during the phase (from --trace-gc in its log). */
  gc?: GcPauses;
  /** CPU other programs used during the phase, % of one core (noise). */
  foreignPct: number;
  /** Attempts this phase took (noise retries). */
  attempts: number;
}

const results: PhaseResult[] = [];
const errors: string[] = [];

function sampleRequests(): BenchRequest[] {
  const r: BenchRequest[] = [];
  for (const text of ['Hello there.', userText, '你好，世界 — unicode survives the proxy: ✓ 🐦']) {
    r.push({ path: '/chat/completions', body: chatBody(false, text), headers: {} });
  }
  r.push({ path: '/chat/completions', body: chatBody(true, 'Stream five chunks.'), headers: { 'x-demo-chunks': '5' } });
  r.push({ path: '/chat/completions', body: chatBody(true, userText), headers: { 'x-demo-chunks': '50' } });
  return r;
}

/** Noise retries left for the whole run, so that a busy machine cannot stretch it past its time. */
let retryBudget = quick ? 3 : 12;

/** Pids of our long-lived processes (upstream, proxies): their CPU is ours, not noise. */
const ownPids: number[] = [];

interface NoiseMark {
  at: number;
  busy: number;
  own: number;
}

function noiseMark(): NoiseMark {
  let own = runnerCpuMs();
  for (const pid of ownPids) {
    try {
      own += cpuMs(pid);
    } catch {
      // exited
    }
  }
  return { at: Date.now(), busy: machineBusyMs(), own };
}

/** CPU that other programs on this machine used since `m`, in % of one core. */
function foreignPctSince(m: NoiseMark): number {
  const now = noiseMark();
  return Math.max(0, ((now.busy - m.busy - (now.own - m.own)) / Math.max(1, now.at - m.at)) * 100);
}

/**
 * Measures one phase; when other programs took more than BENCH_NOISE_LIMIT % of a core meanwhile
 * (this machine is shared), measures it again, up to twice, and keeps the quietest attempt.
 */
async function measure(round: number, phase: Phase, t: Target, up: Upstream, direct: Target): Promise<PhaseResult> {
  let best: PhaseResult | undefined;
  for (let attempt = 1; attempt <= 1 + Math.min(cfg.noiseRetries, retryBudget); attempt++) {
    if (attempt > 1) retryBudget--;
    const mark = noiseMark();
    const r = await measureOnce(round, phase, t, up, direct);
    r.foreignPct = foreignPctSince(mark);
    r.attempts = attempt;
    if (!best || r.foreignPct < best.foreignPct) best = { ...r, attempts: attempt };
    if (r.foreignPct <= cfg.noiseLimitPct) break;
    const again = attempt <= Math.min(cfg.noiseRetries, retryBudget);
    process.stderr.write(`bench: round ${round} ${phase} ${t.name}: other programs used ${r.foreignPct.toFixed(0)} % of a core meanwhile${again ? ', measuring again' : ''}\n`);
  }
  return best!;
}

async function measureOnce(round: number, phase: Phase, t: Target, up: Upstream, direct: Target): Promise<PhaseResult> {
  await up.take(); // reset the upstream's counters
  const cpu0 = t.pid ? cpuMs(t.pid) : 0;
  const upCpu0 = cpuMs(up.pid);
  const logAt = t.log && cfg.traceGc ? statSync(t.log).size : 0;
  const s = cfg.phaseSeconds;
  const res: Partial<PhaseResult> = { round, phase, target: t.name };
  if (phase === 'c1') res.wrk = await wrk(t, { connections: 1, seconds: s, stream: false });
  else if (phase === 'c64') {
    // Sample bodies for byte-identity while the target is under load.
    const sampling = client<SampleResult>({
      mode: 'sample', directBase: direct.base, directAuth: direct.auth, base: t.base, auth: t.auth,
      requests: sampleRequests(), rounds: quick ? 2 : 4, concurrency: 2,
    });
    res.wrk = await wrk(t, { connections: 64, seconds: s, stream: false });
    res.sample = await sampling;
  } else if (phase === 'stream16') res.wrk = await wrk(t, { connections: 16, seconds: s, stream: true, chunks: 50 });
  else {
    res.timing = await client<TimingResult>({
      mode: 'timing', base: t.base, auth: t.auth, count: cfg.ttfbStreams, warmup: 1,
      request: { path: '/chat/completions', body: chatBody(true), headers: { 'x-demo-chunks': '20', 'x-demo-chunk-delay-ms': '20' } },
    });
  }
  if (res.wrk) res.rps = res.wrk.requests / (res.wrk.duration_us / 1e6);
  res.proxyCpuMs = t.pid ? cpuMs(t.pid) - cpu0 : undefined;
  if (t.log && cfg.traceGc) res.gc = gcSince(t.log, logAt);
  res.upstreamCpuMs = cpuMs(up.pid) - upCpu0;
  // Requests a proxy still had queued when wrk hung up reach the upstream a moment later (much
  // later on a busy machine): count until the upstream has been quiet for 250 ms, so that they
  // are not taken for the next target's.
  res.upstream = await up.take();
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const late = await up.take();
    if (late.total === 0) break;
    mergeCounts(res.upstream, late);
  }
  const r = res as PhaseResult;
  checkPhase(r, t, up);
  return r;
}

interface GcPauses {
  scavenges: number;
  scavengeMs: number;
  majors: number;
  majorMs: number;
}

/** What a proxy wrote to its log after byte `from` (undefined when the log cannot be read). */
function logSince(log: string, from: number): string | undefined {
  try {
    const fd = openSync(log, 'r');
    const size = statSync(log).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buf, 0, buf.length, from);
    closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return undefined;
  }
}

/** Sums the pauses of the `--trace-gc` lines a proxy wrote to its log after byte `from`. */
function gcSince(log: string, from: number): GcPauses {
  const out: GcPauses = { scavenges: 0, scavengeMs: 0, majors: 0, majorMs: 0 };
  const text = logSince(log, from);
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    // [pid:0x…]   7492 ms: Scavenge 57.9 (77.8) -> 50.0 (80.1) MB, 12.57 / 0.00 ms  (…)
    const m = /\] +[\d.]+ ms: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Compact)[^,]*, ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (!m) continue;
    if (m[1] === 'Scavenge' || m[1] === 'Minor Mark-Compact') {
      out.scavenges++;
      out.scavengeMs += Number(m[2]);
    } else {
      out.majors++;
      out.majorMs += Number(m[2]);
    }
  }
  return out;
}

function mergeCounts(into: UpstreamCounts, more: UpstreamCounts): void {
  into.total += more.total;
  if (more.connections !== undefined) into.connections = (into.connections ?? 0) + more.connections;
  for (const [k, n] of Object.entries(more.byKey)) into.byKey[k] = (into.byKey[k] ?? 0) + n;
  for (const [k, n] of Object.entries(more.statuses)) into.statuses[k] = (into.statuses[k] ?? 0) + n;
}

function checkPhase(r: PhaseResult, t: Target, up: Upstream): void {
  const where = `round ${r.round} ${r.phase} ${r.target}`;
  const e = r.wrk?.errors;
  if (e && e.connect + e.read + e.write + e.status + e.timeout > 0) errors.push(`${where}: wrk errors ${JSON.stringify(e)}`);
  if (r.timing?.errors.length) errors.push(`${where}: ${r.timing.errors.length} stream errors, e.g. ${r.timing.errors[0]}`);
  if (r.sample) {
    if (r.sample.errors.length) errors.push(`${where}: ${r.sample.errors.length} sample errors, e.g. ${r.sample.errors[0]}`);
    if (r.sample.mismatches.length) errors.push(`${where}: ${r.sample.mismatches.length} bodies differ from direct, e.g. ${JSON.stringify(r.sample.mismatches[0])}`);
  }
  for (const [status, n] of Object.entries(r.upstream.statuses)) {
    // 0: the fake had not answered yet when the counts were read (the phase's last requests).
    if (status !== '200' && status !== '0') errors.push(`${where}: upstream answered HTTP ${status} ${n} times`);
  }
  const allowed = t.name === 'direct' ? new Set([t.auth]) : new Set(up.keys);
  for (const [key, n] of Object.entries(r.upstream.byKey)) {
    if (!allowed.has(key)) errors.push(`${where}: ${n} upstream requests carried an unexpected key (${key === t.auth ? "the client's own token" : `…${key.slice(-6)}`})`);
  }
}

// ---- soak -----------------------------------------------------------------------------------

interface SoakSample extends FdCounts {
  t: number;
  rssMb: number;
}

interface SoakResult {
  seconds: number;
  connections: number;
  wrk: WrkResult;
  before: SoakSample;
  samples: SoakSample[];
  after: SoakSample;
  warmupSeconds: number;
  growthMb: number;
  growthPct: number;
  slopeMbPerMin: number;
  leak: boolean;
  verdict: string;
  /** Live heap after each major GC during the soak (from --trace-gc). */
  heapAfterMajor: { atMs: number; mb: number }[];
}

async function soak(t: Target, up: Upstream): Promise<SoakResult> {
  const pid = t.pid!;
  const proxyPort = Number(new URL(t.base).port);
  const upstreamPort = Number(new URL(up.base).port);
  const soakSample = (t0: number): SoakSample => ({ t: (Date.now() - t0) / 1000, rssMb: statusKb(pid, 'VmRSS') / 1024, ...fdCounts(pid, proxyPort, upstreamPort) });
  const before = soakSample(Date.now());
  const logAt = t.log && cfg.traceGc ? statSync(t.log).size : 0;
  const every = Math.max(1, Math.min(5, cfg.soakSeconds / 20)) * 1000;
  const samples: SoakSample[] = [];
  let done = false;
  const load = wrk(t, { connections: cfg.soakConnections, seconds: cfg.soakSeconds, stream: true, chunks: 20, delayMs: 20, timeoutSeconds: 10 }).finally(() => {
    done = true;
  });
  const started = Date.now();
  for (let i = 0; i < 10_000 && !done; i++) {
    await Promise.race([sleep(every), load.catch(() => undefined)]);
    if (!done) samples.push(soakSample(started));
  }
  const w = await load;
  const heapAfterMajor = t.log && cfg.traceGc ? majorGcHeaps(t.log, logAt) : [];
  // wrk has closed its connections: the proxy must close its side too. Its keep-alive pool to
  // the upstream may stay (bounded by the pool, closed after the idle timeout).
  await sleep(6_000);
  const after = soakSample(started);

  // RSS under load is a sawtooth (the old generation fills, a major GC empties it), so compare
  // its troughs: the lowest sample of the first and of the second half after the warm-up.
  const warmupSeconds = Math.max(5, cfg.soakSeconds * 0.25);
  const steady = samples.filter((x) => x.t >= warmupSeconds);
  const half = Math.max(1, Math.floor(steady.length / 2));
  const first = Math.min(...steady.slice(0, half).map((x) => x.rssMb));
  const last = Math.min(...steady.slice(half).map((x) => x.rssMb));
  const growthMb = steady.length >= 2 ? last - first : 0;
  const growthPct = (growthMb / first) * 100;
  const slopeMbPerMin = slope(steady.map((x) => [x.t, x.rssMb])) * 60;
  // The live heap right after each major GC is the sharpest leak signal: objects that survive a
  // full collection. Compare the first and last few after the warm-up.
  const heaps = heapAfterMajor.filter((h) => h.atMs - heapAfterMajor[0]?.atMs >= warmupSeconds * 1000 || heapAfterMajor.length < 4);
  const kk = Math.min(3, Math.floor(heaps.length / 2));
  const heapFirst = kk > 0 ? median(heaps.slice(0, kk).map((h) => h.mb)) : NaN;
  const heapLast = kk > 0 ? median(heaps.slice(-kk).map((h) => h.mb)) : NaN;
  const heapGrowth = heapLast - heapFirst;
  const rssLeak = steady.length >= 4 && growthMb > 8 && growthPct > 10;
  const heapLeak = Number.isFinite(heapGrowth) && heapGrowth > Math.max(3, heapFirst * 0.15);
  const socketLeak = after.clientSockets > 0;
  const leak = rssLeak || heapLeak || socketLeak;
  const heapText = Number.isFinite(heapGrowth)
    ? `live heap after major GCs ${heapFirst.toFixed(1)} → ${heapLast.toFixed(1)} MB (${heaps.length} major GCs)`
    : 'no major GC during the soak';
  const verdict = leak
    ? [
        rssLeak ? `RSS troughs grew ${growthMb.toFixed(1)} MB (${growthPct.toFixed(0)} %) after warm-up` : '',
        heapLeak ? `live heap after major GCs grew ${heapGrowth.toFixed(1)} MB` : '',
        socketLeak ? `${after.clientSockets} client sockets stayed open after every client had gone` : '',
      ]
        .filter(Boolean)
        .join('; ')
    : `flat: RSS troughs ${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB after warm-up; ${heapText}; 6 s after the load: ${after.clientSockets} client sockets, ${after.upstreamSockets} idle upstream keep-alive sockets`;
  return { seconds: cfg.soakSeconds, connections: cfg.soakConnections, wrk: w, before, samples, after, warmupSeconds, growthMb, growthPct, slopeMbPerMin, leak, verdict, heapAfterMajor };
}

/** Heap size right after each major GC (`--trace-gc` lines in the log after byte `from`). */
function majorGcHeaps(log: string, from: number): { atMs: number; mb: number }[] {
  const out: { atMs: number; mb: number }[] = [];
  const text = logSince(log, from);
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const m = /\] +([\d.]+) ms: Mark-(?:Compact|Sweep) [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    if (m) out.push({ atMs: Number(m[1]), mb: Number(m[2]) });
  }
  return out;
}

function slope(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

// ---- report ---------------------------------------------------------------------------------

interface Row {
  metric: string;
  unit: string;
  values: Partial<Record<TargetName, number>>;
  target?: string;
  pass?: boolean;
  /** Show ratios ours/direct and ours/floor. */
  ratios: boolean;
  /** Per-round paired ratios, shown in place of the ratio of the medians. */
  vsDirect?: Stat;
  vsFloor?: Stat;
  note?: string;
}

function fmt(v: number | undefined, digits = 2): string {
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
  for (const name of cfg.targets) {
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

interface Stat {
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
  if (!cfg.targets.includes(a) || !cfg.targets.includes(b)) return undefined;
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

function buildRows(rss: Partial<Record<TargetName, number>>, soakResult?: SoakResult): Row[] {
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
  const row = (metric: string, unit: string, phase: Phase, f: (r: PhaseResult) => number | undefined, extra: Partial<Row> = {}): Row => ({
    metric,
    unit,
    values: perTarget(phase, f),
    ratios: true,
    vsDirect: paired(phase, f, 'ours', 'direct', 'ratio'),
    vsFloor: paired(phase, f, 'ours', 'floor', 'ratio'),
    ...extra,
  });
  const le = (a?: number, b?: number) => (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) ? undefined : a <= b);
  const has = (n: TargetName) => cfg.targets.includes(n);
  const both = has('ours') && has('floor');

  rows.push(row('chat c=1: p50 latency', 'ms', 'c1', pick.p50));
  const p99 = paired('c1', pick.p99, 'ours', 'floor', 'ratio');
  rows.push(row('chat c=1: p99 latency', 'ms', 'c1', pick.p99, { target: 'ours ≤ 1.5× floor', pass: both ? le(p99?.median, 1.5) : undefined, note: iqrRatio(p99) }));
  const added = addedOverDirect('c1', pick.p50);
  rows.push({
    metric: 'chat c=1: added p50 over direct', unit: 'ms', values: { ...added, direct: undefined }, ratios: false,
    target: 'ours ≤ 1.3× floor', pass: both ? le(added.ours, 1.3 * (added.floor ?? NaN)) : undefined,
    note: both ? `ours/floor ${ratio(added.ours, added.floor)}` : undefined,
  });
  const c64 = paired('c64', pick.rps, 'ours', 'floor', 'ratio');
  rows.push(row('chat c=64: throughput', 'req/s', 'c64', pick.rps, { target: 'ours ≥ 0.85× floor', pass: both ? le(0.85, c64?.median) : undefined, note: iqrRatio(c64) }));
  const s16 = paired('stream16', pick.rps, 'ours', 'floor', 'ratio');
  rows.push(row('stream 50 chunks c=16: throughput', 'streams/s', 'stream16', pick.rps, { target: 'ours ≥ 0.85× floor', pass: both ? le(0.85, s16?.median) : undefined, note: iqrRatio(s16) }));
  const ttfb = paired('ttfb', pick.ttfb, 'ours', 'floor', 'diff');
  rows.push(row('stream 20×20 ms: first byte', 'ms', 'ttfb', pick.ttfb, { target: 'ours ≤ floor + 0.3 ms', pass: both ? le(ttfb?.median, 0.3) : undefined, note: both ? `ours − floor ${iqrDiff(ttfb)}` : undefined }));
  const total = paired('ttfb', pick.total, 'ours', 'direct', 'diff');
  rows.push(row('stream 20×20 ms: total time', 'ms', 'ttfb', pick.total, { target: 'ours ≤ direct + 2 ms', pass: has('ours') ? le(total?.median, 2) : undefined, note: has('ours') ? `ours − direct ${iqrDiff(total)}` : undefined }));
  const spread = paired('ttfb', pick.spread, 'ours', 'direct', 'ratio');
  const reads = perTarget('ttfb', pick.reads);
  rows.push(row('stream 20×20 ms: first→last byte', 'ms', 'ttfb', pick.spread, {
    target: 'ours ≥ 0.95× direct (not buffered)', pass: has('ours') ? le(0.95, spread?.median) : undefined,
    note: `reads per stream: ${cfg.targets.map((n) => `${n} ${fmt(reads[n], 0)}`).join(', ')}`,
  }));
  rows.push({ metric: 'peak RSS (VmHWM) before the soak', unit: 'MB', values: rss, ratios: false, target: 'ours ≤ 1.3× floor', pass: both ? le(rss.ours, 1.3 * (rss.floor ?? NaN)) : undefined, note: both ? `ours/floor ${ratio(rss.ours, rss.floor)}` : undefined });
  const cpuReq = paired('c64', pick.cpu, 'ours', 'floor', 'ratio');
  rows.push({ ...row('CPU per request (c=64)', 'µs', 'c64', pick.cpu), ratios: false, vsDirect: undefined, note: both ? `ours/floor ${showRatio(cpuReq)} (${iqrRatio(cpuReq)})` : undefined });
  if (cfg.traceGc) {
    const gcPick = (r: PhaseResult) => (r.gc && r.wrk ? ((r.gc.scavengeMs + r.gc.majorMs) * 1000) / r.wrk.requests : undefined);
    const gcRatio = paired('c64', gcPick, 'ours', 'floor', 'ratio');
    const majors = perTarget('c64', (r) => r.gc?.majors);
    rows.push({
      ...row('GC pauses per request (c=64)', 'µs', 'c64', gcPick), ratios: false, vsDirect: undefined,
      note: both ? `ours/floor ${showRatio(gcRatio)} (${iqrRatio(gcRatio)}); major GCs per phase: floor ${fmt(majors.floor, 0)}, ours ${fmt(majors.ours, 0)}` : undefined,
    });
  }
  const cpuStream = paired('stream16', pick.cpu, 'ours', 'floor', 'ratio');
  rows.push({ ...row('CPU per 50-chunk stream (c=16)', 'µs', 'stream16', pick.cpu), ratios: false, vsDirect: undefined, note: both ? `ours/floor ${showRatio(cpuStream)} (${iqrRatio(cpuStream)})` : undefined });
  for (const r of rows) if (r.metric.startsWith('CPU') || r.metric.startsWith('GC')) delete r.values.direct;
  if (soakResult) {
    rows.push({
      metric: `soak: ${soakResult.connections} streams × ${soakResult.seconds} s, RSS trough growth after warm-up`, unit: 'MB', values: { ours: soakResult.growthMb }, ratios: false,
      target: 'flat (no leak)', pass: !soakResult.leak, note: soakResult.verdict,
    });
  }
  return rows;
}

function correctnessLines(up: Upstream): { lines: string[]; pass: boolean } {
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
      const even = worst <= 10;
      if (!even) pass = false;
      keyLine = `; keys at the upstream ${counts.join(' / ')} (worst ${worst.toFixed(1)} % from even: ${even ? 'PASS' : 'FAIL'})`;
      const attempts: Record<string, number> = {};
      for (const s of samples) for (const [a, n] of Object.entries(s.attempts)) attempts[a] = (attempts[a] ?? 0) + n;
      if (Object.keys(attempts).length) keyLine += `; x-daidai-attempts seen ${JSON.stringify(attempts)}`;
    }
    const conns = mine.reduce((a, r) => a + (r.upstream.connections ?? 0), 0);
    if (up.kind === 'fixed') keyLine += `; ${conns.toLocaleString('en-US')} upstream connections opened over the measured phases`;
    if (checked === 0 || identical !== checked) pass = false;
    lines.push(`- ${name}: ${identical}/${checked} sampled bodies byte-identical to direct; ${requests.toLocaleString('en-US')} wrk requests, ${wrkErrors} errors${keyLine}`);
  }
  return { lines, pass };
}

function table(rows: Row[]): string {
  const head = ['metric', 'unit', ...cfg.targets, 'ours/direct', 'ours/floor', 'target', 'verdict'];
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [r.metric, r.unit, ...cfg.targets.map((n) => fmt(r.values[n]))];
    cells.push(r.ratios ? (r.vsDirect ? showRatio(r.vsDirect) : ratio(r.values.ours, r.values.direct)) : '', r.ratios ? (r.vsFloor ? showRatio(r.vsFloor) : ratio(r.values.ours, r.values.floor)) : '');
    cells.push(r.target ?? '', r.pass === undefined ? (r.note ?? '') : `${r.pass ? 'PASS' : 'FAIL'}${r.note ? ` (${r.note})` : ''}`);
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const nproc = spawnSync('nproc').stdout?.toString().trim() ?? String(os.cpus().length);
  return `${nproc} cores (nproc), ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}, Node ${process.version}`;
}

function perRoundTable(): string {
  const lines = ['| round | target | c=1 p50 ms | c=1 p99 ms | c=64 req/s | stream16 streams/s | first byte ms | total ms | proxy CPU ms (c=64) | upstream CPU ms (c=64) | upstream connections opened (c=64, stream) | CPU of other programs, worst phase | retries |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const name of cfg.targets) {
      const get = (p: Phase) => results.find((r) => r.round === round && r.target === name && r.phase === p);
      const c1 = get('c1');
      const c64 = get('c64');
      const s16 = get('stream16');
      const tt = get('ttfb');
      const mine = results.filter((r) => r.round === round && r.target === name);
      const noise = Math.max(...mine.map((r) => r.foreignPct));
      const retries = mine.reduce((a, r) => a + r.attempts - 1, 0);
      lines.push(
        `| ${round} | ${name} | ${fmt((c1?.wrk?.latency_us.p50 ?? NaN) / 1000, 3)} | ${fmt((c1?.wrk?.latency_us.p99 ?? NaN) / 1000, 3)} | ${fmt(c64?.rps)} | ${fmt(s16?.rps)} | ${fmt(median(tt?.timing?.firstByteMs ?? []), 3)} | ${fmt(median(tt?.timing?.totalMs ?? []))} | ${fmt(c64?.proxyCpuMs, 0)} | ${fmt(c64?.upstreamCpuMs, 0)} | ${c64?.upstream.connections ?? '—'}, ${s16?.upstream.connections ?? '—'} | ${noise.toFixed(0)} % | ${retries} |`,
      );
    }
  }
  return lines.join('\n');
}

// ---- main -----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  ensureWrk();
  if (cfg.pin && (os.cpus().length < 2 || spawnSync('taskset', ['-V']).error)) {
    process.stderr.write('bench: taskset or a second core is missing; running unpinned.\n');
    cfg.pin = false;
  }
  process.stderr.write(`bench: ${quick ? 'QUICK run' : 'full run'}: ${cfg.rounds} round(s) of ${cfg.phaseSeconds} s phases, soak ${cfg.soakSeconds} s; upstream=${cfg.upstream}; pinning ${cfg.pin ? `proxies on CPU ${CPU_PROXY}, upstream+wrk+client on CPU ${CPU_LOAD}` : 'off'}\n`);

  const up = await startUpstream(cfg.upstream);
  ownPids.push(up.pid);
  const direct: Target = { name: 'direct', base: up.base, auth: up.keys[0] };
  const targets: Target[] = [];
  for (const name of cfg.targets) {
    if (name === 'direct') targets.push(direct);
    else targets.push(await startProxy(name, up));
  }
  for (const t of targets) if (t.pid) ownPids.push(t.pid);
  const byName = (n: TargetName) => targets.find((t) => t.name === n);

  process.stderr.write('bench: warming up every target...\n');
  for (const t of targets) {
    await wrk(t, { connections: 64, seconds: quick ? 1 : 2, stream: false });
    if (cfg.phases.includes('stream16') || cfg.phases.includes('ttfb')) await wrk(t, { connections: 16, seconds: 1, stream: true, chunks: 50 });
  }
  await sleep(300);
  await up.take();

  const phases = cfg.phases;
  for (let round = 1; round <= cfg.rounds; round++) {
    for (const phase of phases) {
      for (const t of targets) {
        const r = await measure(round, phase, t, up, direct);
        results.push(r);
        const show = r.wrk ? `${fmt(r.rps)} req/s, p50 ${fmt(r.wrk.latency_us.p50 / 1000, 3)} ms, p99 ${fmt(r.wrk.latency_us.p99 / 1000, 3)} ms` : `first byte ${fmt(median(r.timing?.firstByteMs ?? []), 3)} ms, total ${fmt(median(r.timing?.totalMs ?? []))} ms`;
        process.stderr.write(`bench: round ${round}/${cfg.rounds} ${phase.padEnd(8)} ${t.name.padEnd(6)} ${show}\n`);
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

  // Stop the proxies gracefully (so --cpu-prof can write its profile), then the upstream.
  for (const t of targets) {
    if (!t.cp) continue;
    t.cp.kill('SIGINT');
    if (!(await waitExit(t.cp, 10_000))) t.cp.kill('SIGKILL');
  }
  up.cp.send({ type: 'stop' } satisfies ToUpstream);
  if (!(await waitExit(up.cp, 5_000))) up.cp.kill('SIGKILL');

  const rows = buildRows(rss, soakResult);
  const correctness = correctnessLines(up);
  const seconds = (Date.now() - started) / 1000;
  const logSizes = targets.filter((t) => t.log).map((t) => `${t.name} ${statSync(t.log!).size.toLocaleString('en-US')} bytes`).join(', ');

  const md: string[] = [];
  md.push(`# Benchmark run ${new Date().toISOString()}${quick ? ' (QUICK: indicative only)' : ''}`);
  md.push('');
  md.push(`- machine: ${machine()}`);
  md.push(`- upstream: ${up.kind === 'fixed' ? 'bench/upstreamFixed.ts (fixed-response node:http server)' : 'the project\'s fake DaiDai (src/core/demo/fakeDaiDai.ts)'}; ${up.keys.length} keys`);
  if (env.BENCH_OURS_CLI || env.BENCH_OURS_ARGS) md.push(`- ours: ${env.BENCH_OURS_CLI ?? 'dist/cli.js'} serve ${env.BENCH_OURS_ARGS ?? ''} (EXPERIMENT, not the shipped build)`);
  md.push(`- pinning: ${cfg.pin ? `taskset: floor and ours on CPU ${CPU_PROXY}; upstream, wrk and the Node client on CPU ${CPU_LOAD}` : 'none'}`);
  md.push(`- rounds: ${cfg.rounds} × (c=1, c=64, stream c=16: ${cfg.phaseSeconds} s each with wrk -t1; ${cfg.ttfbStreams} sequential 20×20 ms streams), interleaved ${cfg.targets.join(', ')}; values are medians over rounds, ratios the medians of per-round ratios (rounds: their interquartile range)`);
  md.push(`- request: POST /v1/chat/completions, ${Buffer.byteLength(chatBody(false))} byte JSON body`);
  const foreign = results.map((r) => r.foreignPct);
  const retried = results.reduce((a, r) => a + r.attempts - 1, 0);
  md.push(`- noise: other programs on the machine used a median ${median(foreign).toFixed(1)} % (worst ${Math.max(...foreign).toFixed(0)} %) of one core during the measured phases; ${retried} phase(s) measured again for noise over ${cfg.noiseLimitPct} %; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  md.push(`- wall time: ${seconds.toFixed(0)} s${cfg.profile ? '; PROFILING (--cpu-prof): timings are inflated' : ''}`);
  md.push('');
  md.push(table(rows));
  md.push('');
  md.push(`## Correctness: ${correctness.pass ? 'PASS' : 'FAIL'}`);
  md.push(...correctness.lines);
  if (errors.length) md.push('', '### Errors', ...errors.slice(0, 30).map((e) => `- ${e}`), errors.length > 30 ? `- … ${errors.length - 30} more` : '');
  md.push('', '## Per round', '', perRoundTable());
  if (soakResult) {
    md.push('', '## Soak (ours)', '');
    md.push(`${soakResult.connections} concurrent streams (20 chunks 20 ms apart) for ${soakResult.seconds} s: ${soakResult.wrk.requests.toLocaleString('en-US')} streams, ${Object.values(soakResult.wrk.errors).reduce((a, b) => a + b, 0)} errors. Warm-up ${soakResult.warmupSeconds} s. RSS slope after warm-up ${soakResult.slopeMbPerMin.toFixed(2)} MB/min (a sawtooth: the old generation fills and a major GC empties it). Live heap after each major GC (MB): ${soakResult.heapAfterMajor.map((h) => h.mb.toFixed(1)).join(', ') || '—'}. ${soakResult.leak ? 'LEAK SUSPECTED: ' : ''}${soakResult.verdict}.`);
    md.push('', '| t (s) | RSS (MB) | fds | client sockets | upstream sockets | other sockets |', '|---|---|---|---|---|---|');
    const row = (label: string, x: SoakSample) => `| ${label} | ${x.rssMb.toFixed(1)} | ${x.fds} | ${x.clientSockets} | ${x.upstreamSockets} | ${x.otherSockets} |`;
    md.push(row('before', soakResult.before));
    for (const x of soakResult.samples) md.push(row(x.t.toFixed(0), x));
    md.push(row('after (+6 s idle)', soakResult.after));
  }
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
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.md'), text);
  process.stdout.write('\n' + text);
  process.stderr.write(`bench: wrote bench/results/latest.md (${seconds.toFixed(0)} s).\n`);

  const failed = rows.some((r) => r.pass === false) || !correctness.pass;
  process.exitCode = cfg.strict && failed ? 1 : 0;
}

main().catch((e: Error) => {
  process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
  killAll('SIGKILL');
  process.exit(1);
});
