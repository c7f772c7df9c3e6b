// createApp(env) on 127.0.0.1 port 0 with any pool, classifier, model list, gateway watch and
// usage meter, for the forwarder's own tests.
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { Agent } from 'undici';
import { classifyFailure } from '../../../../src/core/pool/policy';
import type { FailureInput } from '../../../../src/core/pool/types';
import { createApp } from '../../../../src/core/proxy/app';
import { createProxyEnv, type ProxyEnv, type ProxyEnvInit } from '../../../../src/core/proxy/env';
import type { FailureDecision, FailureTicket, GatewayWatch } from '../../../../src/core/proxy/contracts';
import { parseUpstreamBase } from '../../../../src/core/proxy/routes';
import { defaultProxyOptions, type ProxyOptions, type RequestRecord } from '../../../../src/core/proxy/types';
import { Emitter } from '../../../../src/core/util/event';

export interface AppHarness {
  port: number;
  records: RequestRecord[];
  options: ProxyOptions;
  /** The app's environment: the in-process entry's tests run requests through the same one. */
  env: ProxyEnv;
  close(): Promise<void>;
}

export async function startApp(
  deps: Partial<Omit<ProxyEnvInit, 'options' | 'dispatcher'>> & Pick<ProxyEnvInit, 'pool'>,
  upstreamBaseUrl: string,
  options: Partial<ProxyOptions> = {},
): Promise<AppHarness> {
  const opts: ProxyOptions = { ...defaultProxyOptions, host: '127.0.0.1', port: 0, upstreamBaseUrl, ...options };
  const dispatcher = new Agent({ headersTimeout: opts.headersTimeoutMs, bodyTimeout: opts.bodyTimeoutMs, keepAliveTimeout: 10_000 });
  const records: RequestRecord[] = [];
  const env = createProxyEnv(
    {
      ...deps,
      options: opts,
      record: (r) => {
        records.push({ ...r, movedOn: r.movedOn ? [...r.movedOn] : undefined });
        deps.record?.(r);
      },
    },
    contractClassify,
    dispatcher,
  );
  env.options = opts; // the same object: a test that changes an option changes it live
  env.status = { state: 'running' };
  env.upstream = parseUpstreamBase(upstreamBaseUrl);
  const app = createApp(env);
  const server = http.createServer(app.callback());
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  return {
    port: typeof addr === 'object' && addr ? addr.port : 0,
    records,
    options: opts,
    env,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      await dispatcher.close().catch(() => dispatcher.destroy());
    },
  };
}

/**
 * The rows issue 9 adds to classifyFailure, as the contract names them, on top of today's table:
 * a refusal of the model excludes the (key, model) pair, a refusal of the content goes back to
 * the client. (Branch `pool` grows the real table; the forwarder only reads the decision.)
 */
export function contractClassify(input: FailureInput): FailureDecision {
  const body = input.body ?? '';
  const status = input.status;
  if (status !== undefined && [403, 404, 503].includes(status) && /无权使用模型|无权访问模型|无可用渠道|model_not_found|not allowed to use model|does not have access to model/i.test(body)) {
    return { action: 'exclude-model', blame: 'model', exclusion: /无可用渠道/.test(body) ? 'temporary' : 'until-refresh', reason: `HTTP ${status}: model not served` };
  }
  if (status !== undefined && (status === 400 || status === 403) && /sensitive|moderation|content policy|flagged|敏感|违规|审核/i.test(body)) {
    return { action: 'pass-to-client', blame: 'prompt', reason: `HTTP ${status}: content refused` };
  }
  return classifyFailure(input);
}

/** A GatewayWatch that records what the forwarder tells it; `outage` is set by the test. */
export class RecordingGatewayWatch implements GatewayWatch {
  outage: { reason: string; since: number } | undefined;
  readonly failures: { keyId: string; signature: string; ticket: FailureTicket | undefined }[] = [];
  successes = 0;
  private readonly emitter = new Emitter<void>();
  readonly onDidChange = this.emitter.event;

  recordFailure(keyId: string, signature: string, ticket: FailureTicket | undefined): void {
    this.failures.push({ keyId, signature, ticket });
  }

  recordSuccess(): void {
    this.successes++;
  }
}
