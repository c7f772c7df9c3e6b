// Small process/network helpers of the e2e harness. No test logic here.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (bound then released; good enough for a one-machine test). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port, false when refused. */
export function portAccepts(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

import { waitUntil } from '../helpers/wait';

export { waitUntil };

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, echoing its output with a prefix, and returns the output too. */
export function run(cmd: string, args: string[], opts: SpawnOptions & { prefix?: string; quiet?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (b: Buffer) => {
      const s = b.toString();
      output += s;
      if (!opts.quiet) process.stdout.write(opts.prefix ? s.replace(/^(?=.)/gm, opts.prefix) : s);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

const running = new Set<Background>();

/** Kills every Background group still alive: for a watchdog or an interrupted run. */
export function killAllBackground(): void {
  for (const b of running) {
    if (b.child.pid === undefined) continue;
    try {
      process.kill(-b.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  running.clear();
}

/** A long-running child in its own process group, its output teed into a log file. */
export class Background {
  readonly child: ChildProcess;
  private out = '';
  private exited: Promise<void>;

  constructor(readonly name: string, cmd: string, args: string[], opts: SpawnOptions & { logFile: string }) {
    const log = createWriteStream(opts.logFile);
    this.child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (b: Buffer) => {
      const s = b.toString();
      this.out += s;
      // Keep memory bounded: only the tail is ever printed.
      if (this.out.length > 2_000_000) this.out = this.out.slice(-1_000_000);
      log.write(b);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    running.add(this);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        running.delete(this);
        log.end();
        resolve();
      }),
    );
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until the output matches, failing early if the process exits. */
  async waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return waitUntil(`${this.name} to print ${re}`, () => {
      const m = this.out.match(re);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
      return undefined;
    }, timeoutMs);
  }

  /** SIGTERM to the whole group (code-server forks its extension host), SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    const pid = this.child.pid;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const killer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 5000);
    await this.exited;
    clearTimeout(killer);
  }
}

/** Every file under dir whose path matches, newest last. */
export function findFiles(dir: string, re: RegExp, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) findFiles(p, re, out);
    else if (re.test(p)) out.push(p);
  }
  return out;
}

export function tail(text: string, lines: number): string {
  const all = text.split('\n');
  return all.slice(-lines).join('\n');
}

export function readTail(file: string, lines: number): string {
  try {
    return tail(readFileSync(file, 'utf8'), lines);
  } catch (e) {
    return `(cannot read ${file}: ${String(e)})`;
  }
}
