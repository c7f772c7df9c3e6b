// Debian's nginx as the bench's upstream: the remote gateway stand-in of the unpinned mode. A
// real gateway costs the user's machine nothing; a Node upstream on the same two cores would
// take a third of them and make every proxy look cheaper. nginx serves fixed OpenAI answers,
// paced SSE (the echo module, which Debian's nginx-light ships, flushes and sleeps between
// events) and Anthropic SSE, from its own config in a temp folder, as one process
// (`master_process off`) so that its CPU is one /proc entry. Its access log is how the runner
// counts requests by key, statuses and connections opened.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answers } from './upstreamAnswers';
import type { UpstreamCounts } from './upstreamIpc';

const ECHO_MODULE = '/usr/lib/nginx/modules/ngx_http_echo_module.so';

/** Is a usable nginx (with the echo module) on this machine? */
export function nginxAvailable(): boolean {
  return spawnSync('nginx', ['-v']).error === undefined && existsSync(ECHO_MODULE);
}

/** A string for the nginx config: single-quoted, with the escapes its parser knows. */
function q(s: string): string {
  if (s.includes('$')) throw new Error('nginx would read $ as a variable');
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** echo directives that send `events`, `perWrite` per packet, sleeping `delayMs` between packets. */
function echoStream(events: string[], perWrite: number, delayMs: number): string {
  const out: string[] = [];
  for (let i = 0; i < events.length; i += perWrite) {
    if (i > 0 && delayMs > 0) out.push(`echo_sleep ${(delayMs / 1000).toFixed(3)};`);
    out.push(`echo -n ${q(events.slice(i, i + perWrite).join(''))};`, 'echo_flush;');
  }
  return out.join('\n      ');
}

export function nginxConfig(dir: string, port: number, eventsPerWrite: number): string {
  const sse = (name: string, events: string[], perWrite: number, delayMs: number) => `
    location = /_answer/${name} {
      internal;
      default_type text/event-stream;
      add_header cache-control no-cache;
      ${echoStream(events, perWrite, delayMs)}
    }`;
  return `
load_module ${ECHO_MODULE};
daemon off;
master_process off;
worker_rlimit_nofile 65536;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  log_format bench '$connection $status "$http_authorization" "$http_x_api_key"';
  access_log ${dir}/access.log bench buffer=64k flush=100ms;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  client_max_body_size 16m;
  client_body_buffer_size 1m;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  tcp_nodelay on;
  server_tokens off;
  # x-demo-chunks / x-demo-chunk-delay-ms pick the answer, as they do at the fake and the Node upstream.
  map "$http_x_demo_chunks:$http_x_demo_chunk_delay_ms" $openai_answer {
    default json;
    "5:" sse5;
    "50:" sse50;
    "20:20" sse20x20;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location = /v1/chat/completions {
      rewrite ^ /_answer/$openai_answer last;
    }
    location = /v1/messages {
      rewrite ^ /_answer/anthropic50 last;
    }
    # Ours asks each key for its model list in the background (free on the gateway); answered
    # like a gateway does, and not counted: it is no request of the measured phases.
    location = /v1/models {
      access_log off;
      default_type application/json;
      return 200 ${q(answers.modelList)};
    }
    location = /_answer/json {
      internal;
      default_type application/json;
      return 200 ${q(answers.chatJson)};
    }
    ${sse('sse5', answers.openaiEvents(5), eventsPerWrite, 0)}
    ${sse('sse50', answers.openaiEvents(50), eventsPerWrite, 0)}
    ${sse('sse20x20', answers.openaiEvents(20), 1, 20)}
    ${sse('anthropic50', answers.anthropicEvents(50), eventsPerWrite, 0)}
    location / {
      default_type application/json;
      return 404 '{"error":{"message":"not found","type":"invalid_request_error","code":null}}';
    }
  }
}
`;
}

export interface NginxUpstream {
  base: string;
  pid: number;
  cp: ChildProcess;
  take(): Promise<UpstreamCounts>;
  stop(): Promise<void>;
}

export async function startNginx(port: number, eventsPerWrite: number, track: (cp: ChildProcess) => ChildProcess): Promise<NginxUpstream> {
  const dir = mkdtempSync(join(tmpdir(), 'daidai-bench-nginx-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig(dir, port, eventsPerWrite));
  const test = spawnSync('nginx', ['-t', '-q', '-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { encoding: 'utf8' });
  if (test.status !== 0) throw new Error(`nginx rejected the bench's config (${conf}): ${(test.stderr || test.stdout).trim().slice(-600)}`);
  const cp = track(spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: ['ignore', 'inherit', 'inherit'] }));
  const log = join(dir, 'access.log');
  let offset = 0;
  let partial = '';
  let maxConnection = 0;
  const take = async (): Promise<UpstreamCounts> => {
    const c: UpstreamCounts = { byKey: {}, statuses: {}, total: 0, connections: 0 };
    let text = '';
    try {
      const size = statSync(log).size;
      if (size > offset) {
        const fd = openSync(log, 'r');
        const buf = Buffer.alloc(size - offset);
        readSync(fd, buf, 0, buf.length, offset);
        closeSync(fd);
        offset = size;
        text = buf.toString('utf8');
      }
    } catch {
      return c; // no request logged yet
    }
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    const seen = new Set<number>();
    for (const line of lines) {
      // 1234 200 "Bearer sk-…" "-"
      const m = /^(\d+) (\d+) "([^"]*)" "([^"]*)"$/.exec(line);
      if (!m) continue;
      const conn = Number(m[1]);
      const auth = m[3];
      const key = auth.startsWith('Bearer ') ? auth.slice(7) : m[4] !== '-' ? m[4] : '(none)';
      c.byKey[key] = (c.byKey[key] ?? 0) + 1;
      c.statuses[m[2]] = (c.statuses[m[2]] ?? 0) + 1;
      c.total++;
      // nginx numbers connections in the order it accepts them: a number above every one seen
      // before is a connection opened since.
      if (conn > maxConnection) seen.add(conn);
    }
    for (const n of seen) maxConnection = Math.max(maxConnection, n);
    c.connections = seen.size;
    return c;
  };
  return {
    base: `http://127.0.0.1:${port}/v1`,
    pid: cp.pid!,
    cp,
    take,
    async stop() {
      cp.kill('SIGQUIT');
      await new Promise<void>((res) => {
        const t = setTimeout(() => {
          cp.kill('SIGKILL');
          res();
        }, 5_000);
        if (cp.exitCode !== null || cp.signalCode !== null) {
          clearTimeout(t);
          res();
        } else
          cp.once('exit', () => {
            clearTimeout(t);
            res();
          });
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
