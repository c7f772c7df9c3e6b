// The fake DaiDai of the tests and the benchmark: the demo platform the product ships
// (src/core/demo/demoDaiDai.ts) plus fault injection, a request log with waits, platform call
// counts and balance controls, built on the demo server's protected seams. None of this ships.

import * as http from 'node:http';
import { DemoDaiDaiServer, money, type KeyState, type ReplyPace } from '../../src/core/demo/demoDaiDai';
import { ExchangeReply, JSON_HEADERS, resetExchange, send, streamEvents, type ChargeFn, type Exchange } from '../../src/core/demo/exchange';
import type { GatewayReply } from '../../src/core/demo/gatewayRoutes';
import { errorBody, type ApiFormat } from '../../src/core/demo/replies';
import type { FakeDaiDai, FakeDaiDaiOptions, Fault, FaultFn, GatewayRequestLog } from './types';

export type { FakeAccount, FakeDaiDai, FakeDaiDaiOptions, FakeKey, Fault, FaultFn, FaultRequest, GatewayRequestLog } from './types';
export {
  DEMO_ACCOUNT,
  DEMO_KEYS,
  DEMO_USABLE_KEYS,
  DEMO_MODELS,
  DEMO_PACKAGE_KEYS,
  DEMO_PACKAGE_MODELS,
  DEMO_PACKAGE_MODELS_BY_GROUP,
  DEMO_PRICING,
  DEMO_MONITOR,
  DEMO_PACKAGE_PRICING,
  DEMO_PACKAGE_MONITOR,
  demoKey,
  seededRandom,
} from '../../src/core/demo/fixtures';
export {
  replyText,
  streamedReplyText,
  splitPieces,
  embeddingVector,
  fakePromptTokens,
  fakeInputTokens,
  fakeCompletionTokens,
  fakeEmbeddingTokens,
  gatewayRequestId,
  MODERATED_WORDS,
  MODERATION_MESSAGE,
} from '../../src/core/demo/replies';
export { fakeCostOf, fakePriceOf, stripChannelPrefix, type FakePrice, type FakePricingRow, type FakeUsage } from '../../src/core/demo/pricing';

const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8' };
const MAX_CHUNKS = 10_000;
const MAX_DELAY_MS = 60_000;

type FaultSource = Fault | FaultFn;

/** The error page nginx answers in front of a gateway whose upstream failed, for any status. */
export function nginxErrorPage(status: number, reason: string): string {
  const title = `${status} ${reason}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

function headerInt(v: string | string[] | undefined, min: number, max: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n)) return undefined;
  return Math.min(max, Math.max(min, n));
}

function askFault(fn: FaultFn, entry: GatewayRequestLog): Fault | undefined {
  return fn({ seq: entry.seq, model: entry.model, stream: entry.stream === true, path: entry.path });
}

/** Answers that a fault cuts: a non-streamed body halfway, a stream after N events. */
class CutReply extends ExchangeReply {
  constructor(host: FakeDaiDaiServer, ex: Exchange, format: ApiFormat, delay: number, charge: ChargeFn, private readonly cut: number) {
    super(host, ex, format, delay, charge);
  }

  override answer(body: string): void {
    const ex = this.ex;
    if (ex.closed) return;
    ex.entry.status = 200;
    const buf = Buffer.from(body);
    ex.res.writeHead(200, { ...JSON_HEADERS, 'content-length': String(buf.length) });
    ex.res.write(buf.subarray(0, Math.floor(buf.length / 2)), () => resetExchange(ex));
  }

  override stream(events: string[]): void {
    const limit = Math.max(0, Math.min(this.cut, events.length));
    if (limit === events.length) streamEvents(this.host, this.ex, events, this.delay);
    else streamEvents(this.host, this.ex, events.slice(0, limit), this.delay, 'reset');
  }
}

class FakeDaiDaiServer extends DemoDaiDaiServer implements FakeDaiDai {
  private readonly waiters = new Set<{ pred: (r: GatewayRequestLog) => boolean; resolve: (r: GatewayRequestLog) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly faults = new Map<string, FaultSource>();
  private gatewayFault: FaultSource | undefined;
  private readonly platformFaults = new Map<string, Fault>();
  private readonly calls: Record<string, number> = {};
  /** Exchanges a fault cuts, and after how many events. */
  private readonly cuts = new WeakMap<Exchange, number>();
  private log: GatewayRequestLog[] = [];
  private readonly logLimit: number;

  constructor(opts: FakeDaiDaiOptions = {}) {
    super(opts);
    this.logLimit = Math.max(1, opts.requestLogLimit ?? 10_000);
  }

  // ---- control --------------------------------------------------------------------------

  setFault(key: string, fault: FaultSource | undefined): void {
    if (fault) this.faults.set(key, typeof fault === 'function' ? fault : { ...fault });
    else this.faults.delete(key);
  }

  setGatewayFault(fault: FaultSource | undefined): void {
    this.gatewayFault = fault === undefined || typeof fault === 'function' ? fault : { ...fault };
  }

  clearFaults(): void {
    this.faults.clear();
    this.platformFaults.clear();
    this.gatewayFault = undefined;
  }

  setPlatformFault(path: string, fault: Fault | undefined): void {
    if (fault) this.platformFaults.set(path, { ...fault });
    else this.platformFaults.delete(path);
  }

  get requests(): readonly GatewayRequestLog[] {
    return this.log;
  }

  clearRequests(): void {
    this.log = [];
  }

  waitForRequest(pred: (r: GatewayRequestLog) => boolean, timeoutMs = 5000): Promise<GatewayRequestLog> {
    const found = this.log.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`No matching gateway request within ${timeoutMs} ms (${this.log.length} logged).`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  get platformCalls(): Readonly<Record<string, number>> {
    return this.calls;
  }

  resetPlatformCalls(): void {
    for (const k of Object.keys(this.calls)) delete this.calls[k];
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  setBalance(key: string, balance: number): void {
    const s = this.state.get(key);
    if (!s) throw new Error('setBalance: that key is not one of the fake account\'s keys.');
    s.balance = money(balance);
  }

  balanceOf(key: string): number | undefined {
    return this.state.get(key)?.balance;
  }

  // ---- the demo server's seams ------------------------------------------------------------

  protected override stopping(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Error('The fake DaiDai stopped before a matching request arrived.'));
    }
    this.waiters.clear();
  }

  protected override interceptPlatform(res: http.ServerResponse, pathname: string): boolean {
    this.calls[pathname] = (this.calls[pathname] ?? 0) + 1;
    const fault = this.takeFault(this.platformFaults, pathname);
    if (!fault) return false;
    if (this.applyBlockingFault(res, fault)) return true;
    if (fault.html) {
      const status = fault.status ?? 502;
      res.writeHead(status, fault.retryAfter ? { ...HTML_HEADERS, 'retry-after': fault.retryAfter } : HTML_HEADERS);
      res.end(nginxErrorPage(status, http.STATUS_CODES[status] ?? 'Error'));
      return true;
    }
    if (!fault.status) return false;
    const body = fault.body === undefined ? JSON.stringify({ code: fault.status, msg: `Demo fault: HTTP ${fault.status}` }) : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
    const headers: http.OutgoingHttpHeaders = { ...JSON_HEADERS };
    if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
    res.writeHead(fault.status, headers);
    res.end(body);
    return true;
  }

  protected override requestArrived(entry: GatewayRequestLog): void {
    this.log.push(entry);
    if (this.log.length > this.logLimit) this.log.splice(0, this.log.length - Math.floor(this.logLimit / 2));
  }

  protected override requestChanged(entry: GatewayRequestLog): void {
    if (this.waiters.size === 0) return;
    for (const w of this.waiters) {
      let hit = false;
      try {
        hit = w.pred(entry);
      } catch {
        hit = false;
      }
      if (hit) {
        clearTimeout(w.timer);
        this.waiters.delete(w);
        w.resolve(entry);
      }
    }
  }

  protected override interceptGateway(ex: Exchange, format: ApiFormat, req: http.IncomingMessage, pace: ReplyPace): ReplyPace | 'answered' {
    const entry = ex.entry;
    // The gateway's front fails before any key is looked at; then the key's own misbehaviour.
    const fault = this.takeGatewayFault(entry) ?? this.takeFault(this.faults, entry.key, entry);
    if (fault) {
      if (this.applyBlockingFault(ex.res, fault, ex)) return 'answered';
      if (fault.html) {
        const status = fault.status ?? 502;
        const headers: http.OutgoingHttpHeaders = fault.retryAfter ? { ...HTML_HEADERS, 'retry-after': fault.retryAfter } : HTML_HEADERS;
        send(ex, status, headers, nginxErrorPage(status, http.STATUS_CODES[status] ?? 'Error'));
        return 'answered';
      }
      if (fault.status) {
        const headers: http.OutgoingHttpHeaders = { ...JSON_HEADERS };
        if (fault.retryAfter) headers['retry-after'] = fault.retryAfter;
        const body = fault.body === undefined ? errorBody(format, fault.status, `Demo fault: HTTP ${fault.status} for this key.`) : typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body);
        send(ex, fault.status, headers, body);
        return 'answered';
      }
      if (fault.cutAfterChunks !== undefined) this.cuts.set(ex, fault.cutAfterChunks);
    }
    return {
      chunks: headerInt(req.headers['x-demo-chunks'], 1, MAX_CHUNKS) ?? pace.chunks,
      delayMs: fault?.chunkDelayMs ?? headerInt(req.headers['x-demo-chunk-delay-ms'], 0, MAX_DELAY_MS) ?? pace.delayMs,
    };
  }

  protected override replyFor(ex: Exchange, format: ApiFormat, delayMs: number, ks: KeyState, model: string): GatewayReply {
    const reply = super.replyFor(ex, format, delayMs, ks, model);
    const cut = this.cuts.get(ex);
    if (cut === undefined) return reply;
    return new CutReply(this, ex, format, delayMs, (usage) => reply.charge(usage), cut);
  }

  // ---- faults -----------------------------------------------------------------------------

  private takeFault(map: Map<string, FaultSource>, id: string | undefined, entry?: GatewayRequestLog): Fault | undefined {
    if (id === undefined || map.size === 0) return undefined;
    const f = map.get(id);
    if (!f) return undefined;
    if (typeof f === 'function') return entry ? askFault(f, entry) : undefined;
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) map.delete(id);
    }
    return f;
  }

  /** The whole gateway's fault for this request, counted down like a key's. */
  private takeGatewayFault(entry: GatewayRequestLog): Fault | undefined {
    const f = this.gatewayFault;
    if (!f) return undefined;
    if (typeof f === 'function') return askFault(f, entry);
    if (f.times !== undefined) {
      f.times -= 1;
      if (f.times <= 0) this.gatewayFault = undefined;
    }
    return f;
  }

  /** Destroys or stalls the exchange when the fault says so; true when nothing more must be sent. */
  private applyBlockingFault(res: http.ServerResponse, fault: Fault, ex?: Exchange): boolean {
    if (fault.resetConnection) {
      if (ex) ex.selfClosed = true;
      res.socket?.destroy();
      return true;
    }
    if (fault.hangMs !== undefined && fault.hangMs >= 0) {
      this.later(() => {
        if (res.writableEnded || res.destroyed) return;
        if (ex) ex.selfClosed = true;
        res.socket?.destroy();
      }, fault.hangMs);
      return true;
    }
    // Hang: send nothing; the client's timeout or abort ends it, or stop() does.
    return fault.hang === true;
  }
}

/** A fake DaiDai platform + gateway with test controls; call start() to listen. */
export function createFakeDaiDai(opts?: FakeDaiDaiOptions): FakeDaiDai {
  return new FakeDaiDaiServer(opts);
}
