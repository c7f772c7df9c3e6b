// The parties of a run: the upstream (nginx, the Node fixed upstream or the fake) and the
// proxies (the floor, its A/A copy, ours), each in its own process, started and stopped here.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD, CPU_LOAD, CPU_PROXY, RESULTS, cfg, type TargetName, type UpstreamKind } from './config';
import { startNginx } from './upstreamNginx';
import { freePort, pinned, tail, track, waitExit, waitListening } from './procs';
import type { FromUpstream, ToUpstream, UpstreamCounts } from './upstreamIpc';

export interface Target {
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

export interface Upstream {
  kind: UpstreamKind;
  base: string;
  keys: string[];
  pid: number;
  /** Reads and resets the counters (requests by key, statuses, connections opened). */
  take(): Promise<UpstreamCounts>;
  stop(): Promise<void>;
}

const BENCH_KEYS = [1, 2, 3].map((i) => `sk-bench${String(i).repeat(43)}`);
const eventsPerWrite = Math.max(1, Number(process.env.BENCH_EVENTS_PER_WRITE) || 5);

export async function startUpstream(kind: UpstreamKind): Promise<Upstream> {
  if (kind === 'nginx') {
    const port = await freePort();
    const n = await startNginx(port, eventsPerWrite, track);
    await waitListening(port, n.cp, 'nginx (the upstream)', () => '(see its error.log in the temp folder)');
    return { kind, base: n.base, keys: BENCH_KEYS, pid: n.pid, take: n.take, stop: n.stop };
  }
  const file = join(BUILD, kind === 'fake' ? 'upstreamFake.js' : 'upstreamFixed.js');
  if (!existsSync(file)) throw new Error(`${file} is missing: the fake (test/fake/fakeDaiDai.ts) is not in the tree yet. Use BENCH_UPSTREAM=fixed or nginx.`);
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
  return {
    kind,
    base: `http://127.0.0.1:${ready.port}/v1`,
    keys: ready.keys ?? BENCH_KEYS,
    pid: cp.pid!,
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
    async stop() {
      cp.send({ type: 'stop' } satisfies ToUpstream);
      if (!(await waitExit(cp, 5_000))) cp.kill('SIGKILL');
    },
  };
}

export interface ProxyOptions {
  /** `--cpu-prof` into this folder. */
  profileDir?: string;
  /** Log file name (default: the target's name). */
  logName?: string;
  /** No --trace-gc (the per-feature pass reads no GC lines). */
  noTraceGc?: boolean;
}

export async function startProxy(name: Exclude<TargetName, 'direct'>, up: Upstream, opts: ProxyOptions = {}): Promise<Target> {
  const port = await freePort();
  mkdirSync(RESULTS, { recursive: true });
  const log = join(RESULTS, `${opts.logName ?? name}.log`);
  const fd = openSync(log, 'w');
  const profArgs = opts.profileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.profileDir] : [];
  // One line per garbage collection in the proxy's log: the bench reads the pauses per phase.
  if (cfg.traceGc && !opts.noTraceGc) profArgs.push('--trace-gc');
  let script: string[];
  let childEnv: NodeJS.ProcessEnv;
  const oursLike = name === 'ours' || name === 'ours-before';
  if (!oursLike) {
    script = [join(BUILD, 'floor.js'), String(port), up.base];
    childEnv = { ...process.env, BENCH_KEYS: up.keys.join(',') };
  } else {
    const cli = name === 'ours' ? cfg.oursCli : cfg.baselineCli!;
    if (!existsSync(cli)) throw new Error(name === 'ours' ? `${cli} is missing: \`npm run build\` must succeed first (the bench script runs it).` : `${cli} (BENCH_BASELINE) is missing: build the old checkout first (\`npm run build\` there).`);
    // The very service the extension runs, at the log level a user has (info unless BENCH_OURS_ARGS says otherwise).
    // The old build gets the same flags, so that the two differ only in their code.
    profArgs.push(...(process.env.BENCH_OURS_NODE_FLAGS ?? '').split(' ').filter(Boolean));
    script = [cli, 'serve', '--port', String(port), '--host', '127.0.0.1', '--upstream-url', up.base, ...cfg.oursArgs];
    childEnv = { ...process.env, DAIDAI_KEYS: up.keys.join(','), DAIDAI_EMAIL: '', DAIDAI_PASSWORD: '' };
  }
  const [cmd, args] = pinned(CPU_PROXY, process.execPath, [...profArgs, ...script]);
  const cp = track(spawn(cmd, args, { env: childEnv, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  await waitListening(port, cp, name === 'ours' ? 'our proxy (dist/cli.js serve)' : name === 'ours-before' ? 'the old build of ours (BENCH_BASELINE)' : 'the floor proxy', () => tail(log));
  return { name, base: `http://127.0.0.1:${port}/v1`, auth: 'any-client-token', pid: cp.pid!, cp, log };
}

/** Stops a proxy gracefully (so --cpu-prof can write its profile). */
export async function stopProxy(t: Target): Promise<void> {
  if (!t.cp) return;
  t.cp.kill('SIGINT');
  if (!(await waitExit(t.cp, 10_000))) t.cp.kill('SIGKILL');
}
