// The HTTP entry: a client's request on the proxy's port, as Koa hands it over (ctx.req and
// ctx.res, with ctx.respond = false). It reads the request (the body, buffered whole up to the
// limit since every attempt replays it), watches the client's hang-up, and runs the failover
// loop with the client's response as the sink. The in-process entry (inProcess.ts) is the other
// way into the same loop.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { t } from '../l10n';
import { answerTooLarge, bodyBudgetOf, HeldBytes, readBody } from './body';
import type { ProxyEnv } from './env';
import { ProxyHttpError } from './errors';
import { Exchange } from './exchange';
import { runFailover } from './loop';
import { answeredLocally, readBodyFacts } from './request';
import type { UpstreamRoute } from './routes';
import { HttpSink } from './sink';

export async function forwardWithFailover(req: IncomingMessage, res: ServerResponse, route: UpstreamRoute, env: ProxyEnv): Promise<void> {
  const headers = req.headers;
  const ex = new Exchange(env, new HttpSink(res), req.method ?? 'GET', route, headers['accept-language']);
  if (answeredLocally(ex, headers)) return;

  // One listener for the answer's end, whichever way it comes: the body's bytes go back to the
  // budget, and a client that left before its answer was whole stops the attempt.
  const held = new HeldBytes(bodyBudgetOf(env));
  res.on('close', () => {
    held.release();
    if (!res.writableFinished) ex.clientGone();
  });

  let body: Buffer;
  try {
    body = await readBody(req, env.options.bodyLimitBytes, { held, until: res });
  } catch (err) {
    if (err instanceof ProxyHttpError) {
      answerTooLarge(req, res, route.flavor, err);
      ex.finish(err.status, err.message);
      return;
    }
    ex.finish(499, t('client went away while sending the body'));
    return;
  }
  if (!readBodyFacts(ex, headers['content-type'], body)) return;
  await runFailover(ex, headers, body);
}
