// The bench's process plumbing: child processes (tracked, all killed on exit), pinning, /proc
// readings (CPU, RSS, sockets, the machine's noise), the proxies' --trace-gc logs, Debian
// packages (wrk, nginx), and driving wrk and the Node client.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import type { ClientJob, SampleResult, TimingResult } from './client';
import { BUILD, CPU_LOAD, RESULTS, ROOT, cfg } from './config';

const env = process.env;

// ---- child processes: tracked, and all killed on exit, Ctrl-C or failure ----------------------

const children = new Set<ChildProcess>();
let shuttingDown = false;

export function track(cp: ChildProcess): ChildProcess {
  children.add(cp);
  cp.on('exit', () => children.delete(cp));
  return cp;
}

export function killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const cp of children) {
    try {
      cp.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Kills every child on exit, Ctrl-C or failure, so that no proxy or upstream outlives the run. */
export function killChildrenOnExit(): void {
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
}

export function pinned(cpu: string, cmd: string, args: string[]): [string, string[]] {
  return cfg.pin ? ['taskset', ['-c', cpu, cmd, ...args]] : [cmd, args];
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function waitExit(cp: ChildProcess, ms: number): Promise<boolean> {
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
export function runToEnd(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
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

export const TICK_MS = 1000 / (Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100);

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** Busy CPU time of the whole machine (all cores), in ms. */
export function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] ?? 0)) * TICK_MS;
}

/** CPU of the runner and of the children it has reaped (wrk, the client), in ms. */
export function runnerCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS;
}

export function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export interface FdCounts {
  fds: number;
  /** TCP connections accepted on the proxy's port (clients). */
  clientSockets: number;
  /** TCP connections to the upstream's port (the proxy's keep-alive pool). */
  upstreamSockets: number;
  /** Every other socket (listening socket, pipes to the terminal are not sockets). */
  otherSockets: number;
}

/** Local and remote ports of every TCP socket on the machine, by socket inode. */
export function tcpPortsByInode(): Map<string, { local: number; remote: number; state: string }> {
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

export function fdCounts(pid: number, proxyPort: number, upstreamPort: number): FdCounts {
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

export function median(xs: number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => res(a.port));
    });
  });
}

export function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string }> {
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

export async function waitListening(port: number, cp: ChildProcess, what: string, logHint: () => string): Promise<void> {
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

export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---- the proxies' --trace-gc lines ---------------------------------------------------------

export interface GcPauses {
  scavenges: number;
  scavengeMs: number;
  majors: number;
  majorMs: number;
}

/** What a proxy wrote to its log after byte `from` (undefined when the log cannot be read). */
export function logSince(log: string, from: number): string | undefined {
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
export function gcSince(log: string, from: number): GcPauses {
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

/** Heap size right after each major GC (`--trace-gc` lines in the log after byte `from`). */
export function majorGcHeaps(log: string, from: number): { atMs: number; mb: number }[] {
  const out: { atMs: number; mb: number }[] = [];
  const text = logSince(log, from);
  if (text === undefined) return out;
  for (const line of text.split('\n')) {
    const m = /\] +([\d.]+) ms: Mark-(?:Compact|Sweep) [\d.]+ \([\d.]+\) -> ([\d.]+) \(/.exec(line);
    if (m) out.push({ atMs: Number(m[1]), mb: Number(m[2]) });
  }
  return out;
}

// ---- noise: CPU that other programs used ---------------------------------------------------

/** Pids of our long-lived processes (upstream, proxies): their CPU is ours, not noise. */
export const ownPids: number[] = [];

export interface NoiseMark {
  at: number;
  busy: number;
  own: number;
}

export function noiseMark(): NoiseMark {
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
export function foreignPctSince(m: NoiseMark): number {
  const now = noiseMark();
  return Math.max(0, ((now.busy - m.busy - (now.own - m.own)) / Math.max(1, now.at - m.at)) * 100);
}

// ---- wrk and the Node client ---------------------------------------------------------------

export interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; max: number; mean: number };
}

/** One request as wrk and the client send it. */
export interface Shape {
  name: string;
  /** After the base URL's /v1. */
  path: string;
  body: string;
  /** Besides content-type and the token (x-demo-chunks / x-demo-chunk-delay-ms, anthropic-*). */
  headers: Record<string, string>;
  /** The token goes in x-api-key (Claude Code with ANTHROPIC_API_KEY) instead of Authorization. */
  xApiKey?: boolean;
}

export interface Load {
  connections: number;
  seconds: number;
  shape: Shape;
  timeoutSeconds?: number;
}

export interface WrkTarget {
  name: string;
  /** Base URL including /v1. */
  base: string;
  auth: string;
}

/** Installs Debian packages when `probe` fails (root; the machines of this project are). */
export function ensureDebianPackages(what: string, packages: string[], probe: () => boolean): void {
  if (probe()) return;
  process.stderr.write(`bench: ${what} is missing; installing Debian's ${packages.join(', ')} with apt-get (needs root)...\n`);
  // No service start: the bench runs its own nginx on a free loopback port, with its own config.
  const opts = { stdio: 'inherit' as const, env: { ...env, DEBIAN_FRONTEND: 'noninteractive', RUNLEVEL: '1' } };
  spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'update', '-qq'], opts);
  const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', '--no-install-recommends', ...packages], opts);
  if (r.status !== 0 || !probe()) {
    throw new Error(`${what} is not installed and \`apt-get install ${packages.join(' ')}\` failed. Install it and run the bench again.`);
  }
}

export function ensureWrk(): void {
  ensureDebianPackages('wrk', ['wrk'], () => spawnSync('wrk', ['-v']).error === undefined);
}

/** Every request wrk sent each target over the run, warm-up and soak included (for profiles). */
export const servedByWrk = new Map<string, number>();

const bodyFiles = new Map<string, string>();
/** wrk reads the body from a file: a 100 KB body does not fit an environment variable everywhere. */
function bodyFile(shape: Shape): string {
  let f = bodyFiles.get(shape.body);
  if (!f) {
    f = join(RESULTS, `body-${shape.name}-${bodyFiles.size}.json`);
    writeFileSync(f, shape.body);
    bodyFiles.set(shape.body, f);
  }
  return f;
}

export async function wrk(t: WrkTarget, load: Load): Promise<WrkResult> {
  const [cmd, args] = pinned(CPU_LOAD, 'wrk', [
    '-t1', `-c${load.connections}`, `-d${load.seconds}s`, `--timeout`, `${load.timeoutSeconds ?? 5}s`,
    '-s', join(ROOT, 'bench', 'wrk.lua'), `${t.base}${load.shape.path}`,
  ]);
  const out = await runToEnd(cmd, args, {
    timeoutMs: (load.seconds + 30) * 1000,
    env: {
      ...env,
      BENCH_BODY_FILE: bodyFile(load.shape),
      BENCH_AUTH: t.auth,
      BENCH_AUTH_HEADER: load.shape.xApiKey ? 'x-api-key' : 'authorization',
      BENCH_HEADERS: Object.entries(load.shape.headers).map(([k, v]) => `${k}: ${v}`).join('\n'),
    },
  });
  const line = out.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${out.slice(-800)}`);
  const result = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkResult;
  servedByWrk.set(t.name, (servedByWrk.get(t.name) ?? 0) + result.requests);
  return result;
}

let clientJobs = 0;

export async function client<T extends TimingResult | SampleResult>(job: ClientJob): Promise<T> {
  const jobFile = join(RESULTS, `client-job-${++clientJobs}.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const [cmd, args] = pinned(CPU_LOAD, process.execPath, [join(BUILD, 'client.js'), `@${jobFile}`]);
  const out = await runToEnd(cmd, args, { timeoutMs: 120_000 }).finally(() => rmSync(jobFile, { force: true }));
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}
