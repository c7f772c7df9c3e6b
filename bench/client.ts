// The bench's Node client, run in its own process (never inside a measured one). Two jobs that
// wrk cannot do:
//   timing  — sequential streams: time to response headers, to the first body byte, to the end,
//             and how many separate reads the body came in (a buffering proxy collapses them);
//   sample  — the same requests to direct and to a target, bodies compared byte for byte.
// Input: one JSON argument (ClientJob); output: one JSON line on stdout (ClientResult).
import { readFileSync } from 'node:fs';
import * as http from 'node:http';

export interface BenchRequest {
  path: string;
  body: string;
  headers: Record<string, string>;
}

export type ClientJob =
  | { mode: 'timing'; base: string; auth: string; request: BenchRequest; count: number; warmup: number }
  | { mode: 'sample'; directBase: string; directAuth: string; base: string; auth: string; requests: BenchRequest[]; rounds: number; concurrency: number };

export interface TimingResult {
  mode: 'timing';
  headersMs: number[];
  firstByteMs: number[];
  totalMs: number[];
  /** Time from the first to the last body byte: the stream's own pacing, kept by a non-buffering proxy. */
  spreadMs: number[];
  reads: number[];
  errors: string[];
}

export interface SampleResult {
  mode: 'sample';
  checked: number;
  identical: number;
  mismatches: { path: string; stream: boolean; directBytes: number; targetBytes: number; firstDiffAt: number; status: number }[];
  errors: string[];
  /** Values of x-daidai-attempts seen on the target's answers (ours only). */
  attempts: Record<string, number>;
  /** Masked keys seen in x-daidai-key (ours only), with counts. */
  keyHeaders: Record<string, number>;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  reads: number;
  headersAt: number;
  firstByteAt: number;
  endAt: number;
  startAt: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

function send(base: string, auth: string, r: BenchRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(base.replace(/\/$/, '') + r.path);
    const body = Buffer.from(r.body);
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: { ...r.headers, 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${auth}` },
    });
    const timer = setTimeout(() => req.destroy(new Error('client: no complete answer within 30 s')), 30_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const headersAt = nowMs();
      let firstByteAt = 0;
      let reads = 0;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (reads++ === 0) firstByteAt = nowMs();
        parts.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const endAt = nowMs();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), reads, headersAt, firstByteAt: firstByteAt || endAt, endAt, startAt });
      });
      res.on('error', reject);
    });
    const startAt = nowMs();
    req.end(body);
  });
}

async function timing(job: Extract<ClientJob, { mode: 'timing' }>): Promise<TimingResult> {
  const out: TimingResult = { mode: 'timing', headersMs: [], firstByteMs: [], totalMs: [], spreadMs: [], reads: [], errors: [] };
  for (let i = 0; i < job.warmup + job.count; i++) {
    try {
      const a = await send(job.base, job.auth, job.request);
      if (a.status !== 200) throw new Error(`HTTP ${a.status}`);
      if (i < job.warmup) continue;
      out.headersMs.push(a.headersAt - a.startAt);
      out.firstByteMs.push(a.firstByteAt - a.startAt);
      out.totalMs.push(a.endAt - a.startAt);
      out.spreadMs.push(a.endAt - a.firstByteAt);
      out.reads.push(a.reads);
    } catch (e) {
      out.errors.push((e as Error).message);
    }
  }
  return out;
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function sample(job: Extract<ClientJob, { mode: 'sample' }>): Promise<SampleResult> {
  const out: SampleResult = { mode: 'sample', checked: 0, identical: 0, mismatches: [], errors: [], attempts: {}, keyHeaders: {} };
  const work: BenchRequest[] = [];
  for (let r = 0; r < job.rounds; r++) work.push(...job.requests);
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const r = work[next++];
      try {
        const [d, t] = await Promise.all([send(job.directBase, job.directAuth, r), send(job.base, job.auth, r)]);
        out.checked++;
        const att = t.headers['x-daidai-attempts'];
        if (typeof att === 'string') out.attempts[att] = (out.attempts[att] ?? 0) + 1;
        const key = t.headers['x-daidai-key'];
        if (typeof key === 'string') out.keyHeaders[key] = (out.keyHeaders[key] ?? 0) + 1;
        if (d.status === t.status && d.body.equals(t.body)) out.identical++;
        else {
          out.mismatches.push({
            path: r.path, stream: r.body.includes('"stream":true'), directBytes: d.body.length, targetBytes: t.body.length,
            firstDiffAt: firstDiff(d.body, t.body), status: t.status,
          });
        }
      } catch (e) {
        out.errors.push((e as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, worker));
  return out;
}

async function main(): Promise<void> {
  // `@file`: the job in a file (a 100 KB body does not fit a command line everywhere).
  const arg = process.argv[2] ?? '{}';
  const job = JSON.parse(arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg) as ClientJob;
  const result = job.mode === 'timing' ? await timing(job) : await sample(job);
  process.stdout.write(JSON.stringify(result) + '\n');
  agent.destroy();
}

main().catch((e: Error) => {
  process.stderr.write(`bench client: ${e.message}\n`);
  process.exit(1);
});
