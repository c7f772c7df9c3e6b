// The Koa application: error handling first, then local-safety guards, then the few routes of
// our own (/health, /), then the pass-through for every API path.
import Router from '@koa/router';
import Koa from 'koa';
import type { Dispatcher } from 'undici';
import type { PoolSnapshot } from '../pool/types';
import type { Logger } from '../util/log';
import { bilingual, t } from '../l10n';
import { redactSecrets } from '../util/mask';
import { ProxyHttpError, sendError, type ApiFlavor } from './errors';
import type { Classify, ForwardPool, GatewayModel, GatewayWatch, UsageMeter } from './contracts';
import { forwardWithFailover, type ForwardDeps } from './forward';
import { healthReport } from './health';
import { upstreamRoute, type UpstreamRoute } from './routes';
import { ACCESS_TOKEN_REFUSED, isLoopbackAddress, isLoopbackHost, originAllowed, presentedToken, tokenMatches } from './safety';
import type { ProxyOptions, ProxyStatus, RequestRecord } from './types';

export interface AppDeps {
  pool: ForwardPool & { snapshot(): PoolSnapshot };
  dispatcher: Dispatcher;
  upstream: { origin: string; basePath: string };
  /** Read on every request, so option changes apply live. */
  options: () => ProxyOptions;
  status: () => ProxyStatus;
  classify: Classify;
  logger: Logger;
  onRecord?: (record: RequestRecord) => void;
  version?: string;
  /** emailHash of the account served, for /health (another window compares it). */
  healthAccount?: () => string | undefined;
  /** The union of every key's model list (gateway ModelCatalog.union); undefined while none is known. */
  models?: () => GatewayModel[] | undefined;
  /** The outage detector (gateway OutageDetector). */
  gateway?: GatewayWatch;
  /** Token usage off each 2xx answer (usage createUsageMeter()). */
  usage?: UsageMeter;
  /** Set while the gateway is considered down, for /health. */
  gatewayHealth?: () => { reason: string; since: number } | undefined;
}

interface State {
  route?: UpstreamRoute;
  flavor: ApiFlavor;
}

type Composed = (ctx: Koa.ParameterizedContext<State>) => Promise<unknown>;
type WithHandleRequest = { handleRequest(ctx: Koa.ParameterizedContext<State>, fn: Composed): Promise<unknown> };

/**
 * Koa, with one step less on the API paths. Koa's handleRequest also hangs on-finished
 * listeners on every response and its socket, to report errors of a streamed ctx.body. The API
 * paths write their answer themselves (`ctx.respond = false`), watch the client's hang-up on
 * their own and turn every error into the client's format in errorMiddleware, so there those
 * listeners work for nobody: a few µs per request. Our own routes keep Koa's whole handling.
 * The route is worked out here once, for the guard and the pass-through.
 */
class ProxyApplication extends Koa<State> {
  handleRequest(ctx: Koa.ParameterizedContext<State>, fn: Composed): Promise<unknown> {
    const route = upstreamRoute(ctx.req.url ?? '/');
    ctx.state.route = route;
    ctx.state.flavor = route?.flavor ?? 'openai';
    // A CORS preflight is answered the Koa way (ctx.status), so it keeps Koa's handling too.
    if (route === undefined || ctx.method === 'OPTIONS') return (Koa.prototype as unknown as WithHandleRequest).handleRequest.call(this, ctx, fn);
    return fn(ctx).then(
      () => {
        // Only a bug gets here: an API path that answered through ctx.body would never be sent.
        if (ctx.respond !== false) ctx.onerror(new Error(`${ctx.method} ${ctx.path} was answered through ctx.body on an API path`));
      },
      (err: Error) => ctx.onerror(err),
    );
  }
}

export function createApp(deps: AppDeps): Koa<State> {
  const app = new ProxyApplication();
  app.silent = true; // errorMiddleware reports; Koa's default would print stacks to stderr
  const router = new Router<State>();

  router.get('/health', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = healthReport(deps.pool.snapshot(), deps.status(), Date.now(), { version: deps.version, account: deps.healthAccount?.(), gateway: deps.gatewayHealth?.() });
  });
  // Claude Code probes the base URL with `HEAD /` before its first call.
  router.head('/', (ctx) => {
    ctx.status = 200;
  });
  router.get('/', (ctx) => {
    // From the address we listen on, not ctx.origin: Koa 3 takes that from the request's Origin
    // header (`null/v1` for a sandboxed page).
    const base = deps.status().url?.replace(/\/v1$/, '');
    ctx.body = {
      name: 'DaiDai Aggregator proxy',
      version: deps.version,
      openaiBaseUrl: base ? `${base}/v1` : null,
      anthropicBaseUrl: base ?? null,
      health: base ? `${base}/health` : null,
    };
  });

  const forwardDeps: ForwardDeps = {
    pool: deps.pool,
    dispatcher: deps.dispatcher,
    upstream: deps.upstream,
    options: deps.options,
    classify: deps.classify,
    logger: deps.logger,
    onRecord: deps.onRecord,
    models: deps.models,
    gateway: deps.gateway,
    usage: deps.usage,
  };

  app.use(errorMiddleware(deps.logger));
  app.use(guardMiddleware(deps.options));
  // API paths go straight to the pass-through: the router only holds our own few routes, and
  // matching it on every proxied request would be pure overhead.
  app.use(async (ctx, next) => {
    if (ctx.state.route === undefined) return next();
    if (ctx.state.route.unsafe) {
      throw new ProxyHttpError(400, bilingual('The path {0} leaves the API (a "..", "." or backslash in it): the proxy forwards only API paths under /v1.', ctx.req.headers['accept-language'], JSON.stringify((ctx.req.url ?? '').slice(0, 200))), 'invalid_path');
    }
    ctx.respond = false; // we write the response ourselves, as it streams
    await forwardWithFailover(ctx.req, ctx.res, ctx.state.route, forwardDeps);
  });
  app.use(router.routes());
  app.use((ctx) => {
    throw new ProxyHttpError(404, bilingual('Unknown path {0}. The API is under /v1 (for example /v1/chat/completions).', ctx.req.headers['accept-language'], ctx.path), 'not_found');
  });
  return app;
}

/** Turns any error into the client's own error format; logs without secrets. */
function errorMiddleware(logger: Logger): Koa.Middleware<State> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const flavor = ctx.state.flavor ?? 'openai';
      if (err instanceof ProxyHttpError) {
        sendError(ctx.res, flavor, err.status, err.message, err.code, err.headers);
      } else {
        logger.error(t('proxy error on {0}: {1}', `${ctx.method} ${ctx.path}`, redactSecrets((err as Error)?.message ?? String(err))));
        sendError(ctx.res, flavor, 500, bilingual('The DaiDai proxy hit an internal error; see its log.', ctx.req.headers['accept-language']), 'internal_error');
      }
      ctx.respond = false;
    }
  };
}

/** Host (DNS rebinding), Origin (cross-site pages), CORS preflight and the optional access token. */
function guardMiddleware(options: () => ProxyOptions): Koa.Middleware<State> {
  // A client sends the same Host on every request, and the listen address changes only with
  // the settings: both answers are kept for the last value seen.
  let bindSeen: string | undefined;
  let bindLoopback = true;
  let hostSeen: string | undefined = '\u0000';
  let hostLoopback = false;
  return async (ctx, next) => {
    const opts = options();
    const headers = ctx.req.headers;

    if (opts.host !== bindSeen) {
      bindSeen = opts.host;
      bindLoopback = isLoopbackAddress(opts.host);
    }
    if (headers.host !== hostSeen) {
      hostSeen = headers.host;
      hostLoopback = isLoopbackHost(hostSeen);
    }
    if (bindLoopback && !hostLoopback) {
      throw new ProxyHttpError(403, bilingual('This proxy only answers requests addressed to localhost or 127.0.0.1.', headers['accept-language']), 'forbidden_host');
    }

    const origin = headers.origin;
    if (origin !== undefined) {
      if (!originAllowed(origin, opts.allowedOrigins)) {
        throw new ProxyHttpError(
          403,
          bilingual('Browser requests from {0} are not allowed. Add the origin to daidai.proxy.allowedOrigins to allow it.', headers['accept-language'], origin.slice(0, 100)),
          'forbidden_origin',
        );
      }
      ctx.set('access-control-allow-origin', origin);
      ctx.set('vary', 'Origin');
      if (ctx.method === 'OPTIONS') {
        ctx.set('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
        ctx.set('access-control-allow-headers', headers['access-control-request-headers'] ?? 'authorization, content-type, x-api-key, anthropic-version');
        ctx.set('access-control-max-age', '600');
        ctx.status = 204;
        return;
      }
      // With respond = false Koa will not write these; copy them onto the raw response.
      ctx.res.setHeader('access-control-allow-origin', origin);
      ctx.res.setHeader('access-control-expose-headers', 'x-daidai-key, x-daidai-attempts');
      ctx.res.setHeader('vary', 'Origin');
    } else {
      const site = headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') {
        throw new ProxyHttpError(403, bilingual('Cross-site browser requests are not allowed.', headers['accept-language']), 'forbidden_origin');
      }
    }

    // Every path, /health and / included: they show key ids, states and counters.
    if (opts.accessToken && !tokenMatches(presentedToken(headers), opts.accessToken)) {
      throw new ProxyHttpError(
        401,
        bilingual('This proxy requires its access token (daidai.proxy.accessToken) as the API key.', headers['accept-language']),
        ACCESS_TOKEN_REFUSED,
      );
    }
    await next();
  };
}
