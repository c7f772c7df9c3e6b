// The Koa application: error handling first, then local-safety guards, then the few routes of
// our own (/health, /), then the pass-through for every API path.
// The Koa application, through Koa's public API only. One entry middleware works out the route,
// runs the local-safety guard, hands API paths to the pass-through (which answers itself:
// `ctx.respond = false`) and turns every error into the client's own format; behind it only our
// own few routes (/health, /) and the 404. One middleware rather than three: each step of Koa's
// chain is a promise per request (docs/PERFORMANCE.md).
import Router from '@koa/router';
import Koa from 'koa';
import { bilingual, t } from '../l10n';
import { redactSecrets } from '../util/mask';
import type { ProxyEnv } from './env';
import { answerError, ProxyHttpError, type ApiFlavor } from './errors';
import { forwardWithFailover } from './forward';
import { healthReport } from './health';
import { refusalLog, type Refusal, type RefusalKind, type RefusalLog } from './refusals';
import { unknownPath, unsafePath, upstreamRoute } from './routes';
import { HttpSink } from './sink';
import { ACCESS_TOKEN_REFUSED, isLoopbackAddress, isLoopbackHost, originAllowed, presentedToken, tokenMatches } from './safety';

export function createApp(env: ProxyEnv): Koa {
  const app = new Koa();
  app.silent = true; // the entry middleware reports; Koa's default would print stacks to stderr
  const router = new Router();

  router.get('/health', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = healthReport(env.pool.snapshot(), env.status, Date.now(), { version: env.version, account: env.healthAccount(), gateway: env.gatewayHealth(), routing: env.router.health() });
  });
  // Claude Code probes the base URL with `HEAD /` before its first call.
  router.head('/', (ctx) => {
    ctx.status = 200;
  });
  router.get('/', (ctx) => {
    // From the address we listen on, not ctx.origin: Koa 3 takes that from the request's Origin
    // header (`null/v1` for a sandboxed page).
    const base = env.status.url?.replace(/\/v1$/, '');
    ctx.body = {
      name: 'DaiDai Aggregator proxy',
      version: env.version,
      openaiBaseUrl: base ? `${base}/v1` : null,
      anthropicBaseUrl: base ?? null,
      health: base ? `${base}/health` : null,
    };
  });

  app.use(entryMiddleware(env));
  app.use(router.routes());
  app.use((ctx) => {
    // Our own paths exist, only not for this method: 405 naming the ones they take, not "Unknown path".
    const allow = ctx.path === '/health' ? 'GET, HEAD' : ctx.path === '/' ? 'GET, HEAD' : undefined;
    if (allow) {
      throw new ProxyHttpError(405, bilingual('{0} is not allowed on {1}: use {2}.', ctx.req.headers['accept-language'], ctx.method, ctx.path, allow), 'method_not_allowed', { allow });
    }
    throw unknownPath(ctx.path, ctx.req.headers['accept-language']);
  });
  return app;
}

/**
 * Works out the route once; guards; sends API paths straight to the pass-through (the router
 * only holds our own few routes: matching it on every proxied request would be pure overhead);
 * turns any error into the client's own error format (OpenAI or Anthropic by path) and logs it
 * without secrets.
 */
function entryMiddleware(env: ProxyEnv): Koa.Middleware {
  const guard = requestGuard(env, refusalLog(env.logger));
  const logger = env.logger;
  return async (ctx, next) => {
    const route = upstreamRoute(ctx.req.url ?? '/');
    try {
      if (!guard(ctx)) return; // a CORS preflight, answered
      if (route === undefined) return await next();
      if (route.unsafe) throw unsafePath(ctx.req.url ?? '', ctx.req.headers['accept-language']);
      ctx.respond = false; // we write the response ourselves, as it streams
      await forwardWithFailover(ctx.req, ctx.res, route, env);
    } catch (err) {
      const flavor: ApiFlavor = route === undefined ? 'openai' : route.flavor;
      if (err instanceof ProxyHttpError) {
        answerError(new HttpSink(ctx.res), flavor, err.status, err.message, err.code, err.headers);
      } else {
        logger.error(t('proxy error on {0}: {1}', `${ctx.method} ${ctx.path}`, redactSecrets((err as Error)?.message ?? String(err))));
        answerError(new HttpSink(ctx.res), flavor, 500, bilingual('The DaiDai proxy hit an internal error; see its log.', ctx.req.headers['accept-language']), 'internal_error');
      }
      ctx.respond = false;
    }
  };
}

/**
 * Host (DNS rebinding), Origin (cross-site pages), CORS preflight and the optional access token.
 * Throws a ProxyHttpError to refuse; false when it answered a CORS preflight.
 */
function requestGuard(env: ProxyEnv, logRefusal: RefusalLog): (ctx: Koa.Context) => boolean {
  // A client sends the same Host on every request, and the listen address changes only with
  // the settings: both answers are kept for the last value seen.
  let bindSeen: string | undefined;
  let bindLoopback = true;
  let hostSeen: string | undefined = '\u0000';
  let hostLoopback = false;
  return (ctx) => {
    const opts = env.options;
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
      logRefusal(refusal(ctx, 'host', headers.host));
      throw new ProxyHttpError(403, bilingual('This proxy only answers requests addressed to localhost or 127.0.0.1.', headers['accept-language']), 'forbidden_host');
    }

    const origin = headers.origin;
    if (origin !== undefined) {
      if (!originAllowed(origin, opts.allowedOrigins)) {
        logRefusal(refusal(ctx, 'origin', origin, env.knobs.allowedOrigins));
        throw new ProxyHttpError(
          403,
          bilingual('Browser requests from {0} are not allowed. Add the origin to {1} to allow it.', headers['accept-language'], origin.slice(0, 100), env.knobs.allowedOrigins),
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
        return false;
      }
      // With respond = false Koa will not write these; copy them onto the raw response.
      ctx.res.setHeader('access-control-allow-origin', origin);
      ctx.res.setHeader('access-control-expose-headers', 'x-daidai-key, x-daidai-attempts');
      ctx.res.setHeader('vary', 'Origin');
    } else {
      const site = headers['sec-fetch-site'];
      if (site === 'cross-site' || site === 'same-site') {
        logRefusal(refusal(ctx, 'cross-site', site));
        throw new ProxyHttpError(403, bilingual('Cross-site browser requests are not allowed.', headers['accept-language']), 'forbidden_origin');
      }
    }

    // Every path, /health and / included: they show key ids, states and counters.
    if (opts.accessToken && !tokenMatches(presentedToken(headers), opts.accessToken)) {
      logRefusal(refusal(ctx, 'token', undefined, env.knobs.accessToken));
      throw new ProxyHttpError(
        401,
        bilingual('This proxy requires its access token ({0}) as the API key.', headers['accept-language'], env.knobs.accessToken),
        ACCESS_TOKEN_REFUSED,
      );
    }
    return true;
  };
}

/** What the refusal log is told of a refused request (only a refusal builds one). */
function refusal(ctx: Koa.Context, kind: RefusalKind, value?: string, knob?: string): Refusal {
  const tokenSent = kind === 'token' ? presentedToken(ctx.req.headers) !== undefined : undefined;
  return { kind, method: ctx.method, path: ctx.path, remote: ctx.req.socket.remoteAddress, value, knob, tokenSent };
}
