// The request path's one environment: every collaborator and every live setting the proxy's
// parts read, in one object that ProxyServer owns and hands by reference to the Koa app, the
// HTTP adapter, the in-process entry and the failover loop. A missing collaborator is a null
// object, so the path calls it without asking first.
import type { Dispatcher } from 'undici';
import { settingsKnobs, type Knobs } from '../knobs';
import { BodyBudget } from './bodyBudget';
import type { PoolSnapshot } from '../pool/types';
import { RequestRouter } from '../routing/router';
import { nullLogger, type Logger } from '../util/log';
import type { Classify, ForwardPool, GatewayModel, GatewayWatch, UsageMeter } from './contracts';
import { defaultProxyOptions, type ProxyOptions, type ProxyStatus, type RequestRecord } from './types';

export type ProxyPool = ForwardPool & { snapshot(): PoolSnapshot };

export interface ProxyEnv {
  readonly pool: ProxyPool;
  readonly classify: Classify;
  readonly logger: Logger;
  /** The union of every key's model list (gateway ModelCatalog.union); undefined while none is known (then /v1/models is forwarded). */
  readonly models: () => GatewayModel[] | undefined;
  /** The outage detector: told about every gateway-shaped failure and every sign of life. */
  readonly gateway: GatewayWatch;
  /** Reads token usage off 2xx answers on their way to the client. */
  readonly usage: UsageMeter;
  /** Model resolution and session affinity (src/core/routing). */
  readonly router: RequestRouter;
  /** Each finished request, HTTP or in-process (ProxyServer fires onDidRequest). */
  readonly record: (record: RequestRecord) => void;
  readonly version: string | undefined;
  /** emailHash of the account served, for /health (another window compares it). */
  readonly healthAccount: () => string | undefined;
  /** Set while the gateway is considered down, for /health. */
  readonly gatewayHealth: () => { reason: string; since: number } | undefined;
  /** What messages call the host's knobs: the extension's settings, or the CLI's flags. */
  readonly knobs: Knobs;
  /** Live: replaced whole when the settings change; read once per request. */
  options: ProxyOptions;
  status: ProxyStatus;
  /** The upstream connection pool and where it points: set when the proxy starts (or serves in process while stopped). */
  dispatcher: Dispatcher;
  upstream: { origin: string; basePath: string };
  /** The memory all request bodies in flight may hold together (body.ts sizes it from the options). */
  readonly bodyBudget: BodyBudget;
}

/** What the composition root gives (ProxyServer's constructor); everything but the pool may be left out. */
export interface ProxyEnvInit {
  pool: ProxyPool;
  options?: Partial<ProxyOptions>;
  logger?: Logger;
  /** Injected by tests (MockAgent) or shared by the composition root; otherwise ProxyServer keeps one Agent of its own. */
  dispatcher?: Dispatcher;
  classify?: Classify;
  version?: string;
  healthAccount?: () => string | undefined;
  models?: () => GatewayModel[] | undefined;
  gateway?: GatewayWatch;
  usage?: UsageMeter;
  gatewayHealth?: () => { reason: string; since: number } | undefined;
  record?: (record: RequestRecord) => void;
  /** Built from the settings by the composition root; without one, models resolve and sessions do not stick. */
  router?: RequestRouter;
  /** Default: the extension's settings. */
  knobs?: Knobs;
}

const nothing = (): undefined => undefined;
const noDisposable = { dispose: () => undefined };

/** No outage detector: never down, told nothing. */
export const nullGatewayWatch: GatewayWatch = {
  outage: undefined,
  recordFailure: () => undefined,
  recordSuccess: () => undefined,
  onDidChange: () => noDisposable,
};

/** No usage meter: no tap, so the answer is only passed on. */
export const nullUsageMeter: UsageMeter = { tap: nothing };

/**
 * The environment with every gap filled once. `upstream` is the caller's to set before the
 * first request (ProxyServer does on start), and `dispatcher` when it changes.
 */
export function createProxyEnv(init: ProxyEnvInit, classify: Classify, dispatcher: Dispatcher): ProxyEnv {
  return {
    pool: init.pool,
    classify: init.classify ?? classify,
    logger: init.logger ?? nullLogger,
    models: init.models ?? nothing,
    gateway: init.gateway ?? nullGatewayWatch,
    usage: init.usage ?? nullUsageMeter,
    router: init.router ?? new RequestRouter({ sessionAffinity: false }),
    record: init.record ?? nothing,
    version: init.version,
    healthAccount: init.healthAccount ?? nothing,
    gatewayHealth: init.gatewayHealth ?? nothing,
    knobs: init.knobs ?? settingsKnobs,
    options: withDefaults(init.options ?? {}),
    status: { state: 'stopped' },
    dispatcher: init.dispatcher ?? dispatcher,
    upstream: { origin: '', basePath: '' },
    bodyBudget: new BodyBudget(0),
  };
}

/** Options over the defaults; an undefined value keeps the default (or the current value). */
export function withDefaults(partial: Partial<ProxyOptions>, base: ProxyOptions = defaultProxyOptions): ProxyOptions {
  const out = { ...base };
  for (const k of Object.keys(partial) as Array<keyof ProxyOptions>) {
    if (partial[k] !== undefined) (out as Record<string, unknown>)[k] = partial[k];
  }
  return out;
}
