// One gateway exchange of the demo platform and how an answer is written to it: at once, slowed
// event by event (the demo's streams), or ended by resetting the socket (the tests' cut streams).

import type * as http from 'node:http';
import type { GatewayReply } from './gatewayRoutes';
import type { FakeUsage } from './pricing';
import { errorBody, type ApiFormat } from './replies';
import type { GatewayRequestLog } from './types';

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

/** One gateway exchange in flight: what the stream loop and the close handler share. */
export interface Exchange {
  entry: GatewayRequestLog;
  res: http.ServerResponse;
  /** We destroyed the socket ourselves: not the client going away. */
  selfClosed: boolean;
  closed: boolean;
}

/** What the writer needs of the server: its timers (cleared by stop()) and whether it stopped. */
export interface ExchangeHost {
  later(fn: () => void, ms: number): void;
  readonly stopped: boolean;
}

export function send(ex: Exchange, status: number, headers: http.OutgoingHttpHeaders, body: string | Buffer): void {
  if (ex.closed) return;
  ex.entry.status = status;
  ex.res.writeHead(status, headers);
  ex.res.end(body);
}

export function sendError(ex: Exchange, format: ApiFormat, status: number, message: string): void {
  send(ex, status, JSON_HEADERS, errorBody(format, status, message));
}

/** Ends the exchange by destroying its socket (a gateway that gives up mid-answer). */
export function resetExchange(ex: Exchange): void {
  ex.selfClosed = true;
  ex.res.socket?.destroy();
}

/**
 * Writes SSE events. Without a delay they go out in one write (the benchmark's case); with one,
 * headers go out at once and each event after `delay` ms. `ending` 'reset' destroys the socket
 * after the last event instead of ending the answer.
 */
export function streamEvents(host: ExchangeHost, ex: Exchange, events: string[], delay: number, ending: 'end' | 'reset' = 'end'): void {
  if (ex.closed) return;
  ex.entry.status = 200;
  const res = ex.res;
  res.writeHead(200, SSE_HEADERS);
  const complete = ending === 'end';
  const cutNow = () => resetExchange(ex);
  if (delay <= 0) {
    if (complete) {
      res.end(events.join(''));
    } else if (events.length === 0) {
      res.flushHeaders();
      cutNow();
    } else {
      res.write(events.join(''), cutNow);
    }
    return;
  }
  res.flushHeaders();
  let i = 0;
  const next = (): void => {
    if (ex.closed || host.stopped) return;
    if (i >= events.length) {
      if (complete) res.end();
      else cutNow();
      return;
    }
    const last = i === events.length - 1;
    res.write(events[i++], last && !complete ? cutNow : undefined);
    if (last && !complete) return;
    if (i >= events.length && complete) {
      res.end();
      return;
    }
    host.later(next, delay);
  };
  next();
}

/** What a route's answer does to the key it was made with. */
export type ChargeFn = (usage: FakeUsage) => void;

/** A route handler's answers, bound to one exchange, its key's charge and its delay between events. */
export class ExchangeReply implements GatewayReply {
  constructor(
    protected readonly host: ExchangeHost,
    protected readonly ex: Exchange,
    protected readonly format: ApiFormat,
    protected readonly delay: number,
    private readonly chargeFn: ChargeFn,
  ) {}

  error(status: number, message: string): void {
    sendError(this.ex, this.format, status, message);
  }

  json(body: string | Buffer): void {
    send(this.ex, 200, JSON_HEADERS, body);
  }

  answer(body: string): void {
    if (this.delay > 0) this.host.later(() => send(this.ex, 200, JSON_HEADERS, body), this.delay);
    else send(this.ex, 200, JSON_HEADERS, body);
  }

  stream(events: string[]): void {
    streamEvents(this.host, this.ex, events, this.delay);
  }

  charge(usage: FakeUsage): void {
    this.chargeFn(usage);
  }
}
