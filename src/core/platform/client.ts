// The DaiDai account API client: login, the account's keys with balances, one key's quota,
// pricing and the model monitor. undici on an injected dispatcher (never the global one: the
// extension host shares it with other extensions).

import { Agent, request, type Dispatcher } from 'undici';
import { maskKey, redactSecrets } from '../util/mask';
import { t } from '../l10n';
import { nullLogger, type Logger } from '../util/log';
import { settingsKnobs } from '../knobs';
import {
  type Json,
  isObject,
  isUsableOrder,
  ordersArray,
  parseAvailability,
  parseOrder,
  parsePrice,
  parseQuota,
  toNumber,
  toText,
  totalPagesOf,
} from './parse';
import type { AccountKey, Credentials, KeyQuota, ModelAvailability, ModelPrice, PlatformErrorKind, PlatformUser } from './types';

export interface PlatformClientOptions {
  /** Platform base, e.g. https://user.daidaibird.top (a path prefix is kept). */
  baseUrl: string;
  /** Created (and closed by close()) when not given. */
  dispatcher?: Dispatcher;
  /** Per call, connect to end of body (default 15 s). */
  timeoutMs?: number;
  logger?: Logger;
  /** What the host calls the base URL knob (default: the extension's setting). */
  baseUrlKnob?: string;
  /** Orders asked per page (default 50). */
  pageSize?: number;
  /** Safety cap on pages followed, whatever totalPages says (default 100). */
  maxPages?: number;
  /** Largest answer read (default 16 MiB): past it the call fails instead of filling memory. */
  maxAnswerBytes?: number;
}

/** A page of 50 orders or the whole price list is a few hundred KB; anything near this is not an answer. */
export const PLATFORM_ANSWER_LIMIT = 16 * 1024 * 1024;

export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
    /** HTTP status, when there was an answer. */
    readonly status?: number,
    /** The envelope's `code`, for 'refused'. */
    readonly code?: number | string,
  ) {
    super(message);
  }
}

interface CallOptions {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** Sends the token, signs in first when needed, and renews it once on 401/403. */
  auth: boolean;
}

/** Outcome of one HTTP exchange before the envelope is judged. */
interface Answer {
  status: number;
  json: unknown;
}

export class PlatformClient {
  private readonly base: string;
  private readonly host: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly maxAnswerBytes: number;
  private creds?: Credentials;
  private token?: string;
  private currentUser?: PlatformUser;
  /** One login at a time: concurrent calls that find the token expired share the renewal. */
  private loginInFlight?: Promise<PlatformUser>;
  private closed = false;
  private readonly configError?: string;
  /** What the host calls the platform address (Knobs.platformUrl), for "Check …". */
  private readonly setting: string;

  constructor(opts: PlatformClientOptions) {
    // A bad address (a typo in settings) fails each call with a clear message rather than the
    // constructor: the extension builds clients as settings change.
    this.setting = opts.baseUrlKnob ?? settingsKnobs.platformUrl;
    let url: URL | undefined;
    try {
      url = new URL(opts.baseUrl);
    } catch {
      this.configError = t('The DaiDai platform address "{0}" is not a valid URL. Check {1}.', opts.baseUrl, this.setting);
    }
    if (url && url.protocol !== 'http:' && url.protocol !== 'https:') {
      this.configError = t('The DaiDai platform address must start with https:// (got {0}). Check {1}.', url.protocol, this.setting);
    }
    this.base = url && !this.configError ? url.origin + url.pathname.replace(/\/+$/, '') : '';
    this.host = url?.host || opts.baseUrl;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
    this.ownsDispatcher = !opts.dispatcher;
    this.dispatcher = opts.dispatcher ?? new Agent({ connect: { timeout: this.timeoutMs }, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.log = opts.logger ?? nullLogger;
    this.pageSize = Math.max(1, opts.pageSize ?? 50);
    this.maxPages = Math.max(1, opts.maxPages ?? 100);
    this.maxAnswerBytes = Math.max(1024, opts.maxAnswerBytes ?? PLATFORM_ANSWER_LIMIT);
  }

  /** The signed-in user, after login(). */
  get user(): PlatformUser | undefined {
    return this.currentUser;
  }

  get signedIn(): boolean {
    return this.token !== undefined;
  }

  /**
   * Signs in and remembers the credentials in memory, for one silent re-login when the token
   * expires. A wrong password is a PlatformError 'refused' carrying the platform's message.
   */
  async login(creds: Credentials): Promise<PlatformUser> {
    const email = creds.email.trim();
    if (!email || !creds.password) throw new PlatformError('auth', t('Enter the email and password of your DaiDai account.'));
    const { status, json } = await this.exchange('POST', '/api/users/login', { userEmail: email, password: creds.password }, undefined, creds.password);
    const env = this.envelope(status, json, '/api/users/login', creds.password);
    const token = toText(env.token) ?? (isObject(env.msg) ? toText(env.msg.token) : undefined) ?? (isObject(env.data) ? toText(env.data.token) : undefined);
    if (!token) throw new PlatformError('protocol', t('The DaiDai platform at {0} accepted the sign-in but sent no session token. Check {1}.', this.host, this.setting));
    const user = this.userFrom(env, token, email);
    this.creds = { email, password: creds.password };
    this.token = token;
    this.currentUser = user;
    this.log.info(t('Signed in to {0} as {1}.', this.host, email));
    return user;
  }

  /** Forgets the token, the user and the remembered credentials. */
  logout(): void {
    this.creds = undefined;
    this.token = undefined;
    this.currentUser = undefined;
  }

  /** Every usable key of the account, once each, following every page of the orders. */
  async listKeys(): Promise<AccountKey[]> {
    const byKey = new Map<string, AccountKey>();
    let dropped = 0;
    let previousPage = '';
    let page = 1;
    for (; page <= this.maxPages; page++) {
      const env = await this.call({
        method: 'POST',
        path: '/api/general/orders',
        auth: true,
        body: () => ({ userData: this.userData(), page, pageSize: this.pageSize }),
      });
      const rows = ordersArray(env);
      if (!rows) throw new PlatformError('protocol', t('The DaiDai platform at {0} answered the key list in a form this version does not understand. Check {1}.', this.host, this.setting));
      for (const row of rows) {
        if (!isObject(row) || !isUsableOrder(row)) {
          dropped++;
          continue;
        }
        const parsed = parseOrder(row);
        if (!parsed) continue;
        const seen = byKey.get(parsed.key);
        if (!seen) byKey.set(parsed.key, parsed);
        else {
          // The same key in a renewal order: keep the first entry, fill what it lacked.
          if (seen.balance === undefined && parsed.balance !== undefined) seen.balance = parsed.balance;
          if (seen.used === undefined && parsed.used !== undefined) seen.used = parsed.used;
          if (seen.package === undefined && parsed.package !== undefined) seen.package = parsed.package;
          if (seen.createdAt === undefined && parsed.createdAt !== undefined) seen.createdAt = parsed.createdAt;
        }
      }
      const totalPages = totalPagesOf(env);
      if (rows.length === 0) break;
      if (totalPages !== undefined) {
        if (page >= totalPages) break;
      } else {
        // No page count: go on only while pages come back full and different (a server that
        // ignores `page` would otherwise hand us the same page up to the cap).
        const signature = JSON.stringify(rows);
        if (rows.length < this.pageSize || signature === previousPage) break;
        previousPage = signature;
      }
      if (page === this.maxPages) {
        this.log.warn(t('The platform reports {0} pages of orders; only the first {1} were read.', totalPages ?? t('more'), this.maxPages));
      }
    }
    const keys = [...byKey.values()];
    this.log.debug(`Listed ${keys.length} usable key(s) over ${Math.min(page, this.maxPages)} page(s); ${dropped} order(s) not usable.`);
    return keys;
  }

  /** One key's balance and usage. */
  async keyQuota(key: string): Promise<KeyQuota> {
    const env = await this.call({ method: 'POST', path: '/api/general/keyQuota', auth: true, body: () => ({ userData: this.userData(), key }) }, key);
    return parseQuota(env.msg);
  }

  /** Model prices (needs login). */
  async pricing(): Promise<ModelPrice[]> {
    const env = await this.call({ method: 'POST', path: '/api/commodity/getPricing', auth: true, body: () => ({ ...(this.currentUser ?? {}) }) });
    const list = isObject(env.msg) && Array.isArray(env.msg.list) ? env.msg.list : Array.isArray(env.msg) ? env.msg : undefined;
    if (!list) throw new PlatformError('protocol', t('The DaiDai platform at {0} answered the price list in a form this version does not understand.', this.host));
    return list.map(parsePrice).filter((p): p is ModelPrice => p !== undefined);
  }

  /** Model availability from the public monitor (no login). */
  async monitor(): Promise<ModelAvailability[]> {
    const { status, json } = await this.exchange('GET', '/api/monitors/status');
    // The monitor answers a bare array; accept the usual envelope too.
    let rows: unknown = json;
    if (!Array.isArray(json)) {
      const env = this.envelope(status, json, '/api/monitors/status');
      rows = Array.isArray(env.msg) ? env.msg : env.data;
    } else if (status < 200 || status >= 300) {
      throw this.httpError(status, '/api/monitors/status');
    }
    if (!Array.isArray(rows)) throw new PlatformError('protocol', t('The DaiDai model monitor at {0} answered in a form this version does not understand.', this.host));
    return rows.map(parseAvailability).filter((m): m is ModelAvailability => m !== undefined);
  }

  /** Closes the connection pool when this client created it. */
  async close(): Promise<void> {
    if (!this.ownsDispatcher || this.closed) return;
    this.closed = true;
    await this.dispatcher.close();
  }

  // ---- internals ------------------------------------------------------------------------

  private userData(): string {
    return JSON.stringify({ userId: this.currentUser?.userId });
  }

  /** The user object of a login answer: msg, data or user; the id may also sit in the JWT. */
  private userFrom(env: Json, token: string, email: string): PlatformUser {
    const holder = [env.msg, env.data, env.user].find(isObject) ?? {};
    const inner = isObject(holder.user) ? holder.user : holder;
    let userId = (inner.userId ?? inner.id ?? inner.user_id) as string | number | undefined;
    if (userId === undefined || userId === null || userId === '') userId = jwtUserId(token);
    if (userId === undefined) {
      throw new PlatformError('protocol', t('The DaiDai platform at {0} accepted the sign-in but did not say which user it is. Check {1}.', this.host, this.setting));
    }
    return { ...inner, userId, userEmail: toText(inner.userEmail) ?? email };
  }

  /**
   * One authenticated or anonymous platform call, judged by its envelope. With auth, an expired
   * token (HTTP 401/403, or envelope code 401) leads to one silent login and one repeat.
   * `body` is a function so the repeat carries the renewed user.
   */
  private async call(opts: Omit<CallOptions, 'body'> & { body?: () => unknown }, secret?: string): Promise<Json> {
    if (opts.auth && !this.token) {
      if (!this.creds) throw new PlatformError('auth', t('Not signed in to DaiDai. Sign in with your DaiDai email and password first.'));
      await this.renew();
    }
    const sentToken = opts.auth ? this.token : undefined;
    let answer = await this.exchange(opts.method, opts.path, opts.body?.(), sentToken, secret);
    if (opts.auth && isExpired(answer)) {
      // Another call may have renewed the token meanwhile (or be renewing it): only the first
      // to notice signs in; the others wait for it, then repeat with the new token.
      if (!this.token || this.token === sentToken) {
        this.log.info(t('The DaiDai session expired ({0}); signing in again.', opts.path));
        this.token = undefined;
        await this.renew();
      }
      answer = await this.exchange(opts.method, opts.path, opts.body?.(), this.token, secret);
      if (isExpired(answer)) {
        this.token = undefined;
        throw new PlatformError('auth', t('The DaiDai platform refused the session right after signing in again. Sign in again, or check the account on the DaiDai website.'), answer.status);
      }
    }
    return this.envelope(answer.status, answer.json, opts.path, secret);
  }

  /** Signs in again with the remembered credentials; a failure is 'auth' (network trouble stays 'network'). */
  private async renew(): Promise<void> {
    const creds = this.creds;
    if (!creds) throw new PlatformError('auth', t('The DaiDai session expired. Sign in again.'));
    if (!this.loginInFlight) {
      this.loginInFlight = this.login(creds).finally(() => (this.loginInFlight = undefined));
    }
    try {
      await this.loginInFlight;
    } catch (e) {
      if (e instanceof PlatformError && (e.kind === 'network' || e.kind === 'protocol')) throw e;
      const why = e instanceof Error ? e.message : String(e);
      throw new PlatformError('auth', t('The DaiDai session expired and signing in again failed ({0}). Sign in again.', why), e instanceof PlatformError ? e.status : undefined, e instanceof PlatformError ? e.code : undefined);
    }
  }

  /** The HTTP exchange: network errors and non-JSON bodies become PlatformErrors. */
  private async exchange(method: 'GET' | 'POST', path: string, body?: unknown, token?: string, secret?: string): Promise<Answer> {
    if (this.configError) throw new PlatformError('network', this.configError);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let status: number;
    let text: string;
    try {
      const res = await request(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.dispatcher,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      const declared = Number(res.headers['content-length']);
      const read = declared > this.maxAnswerBytes ? undefined : await readCapped(res.body, this.maxAnswerBytes);
      if (read === undefined) {
        res.body.destroy();
        throw new PlatformError(
          'protocol',
          t('The DaiDai platform at {0} answered {1} with more than {2} MiB; that is not an answer of the account site. Check {3}.', this.host, path, Math.round(this.maxAnswerBytes / (1024 * 1024)), this.setting),
          status,
        );
      }
      text = read;
    } catch (e) {
      if (e instanceof PlatformError) throw e;
      throw this.networkError(e, path, secret);
    }
    this.log.debug(`${method} ${path} → HTTP ${status}`);
    if (text.trim() === '') return { status, json: undefined };
    try {
      return { status, json: JSON.parse(text) };
    } catch {
      if (status >= 500) throw this.httpError(status, path);
      if (status === 401 || status === 403) return { status, json: undefined };
      throw new PlatformError(
        'protocol',
        t('The DaiDai platform at {0} answered {1} with something that is not JSON (HTTP {2}). Check {3}: it should be the account site, not the model gateway.', this.host, path, status, this.setting),
        status,
      );
    }
  }

  /** Judges an answer: code 200 → the envelope; else the platform's own message. */
  private envelope(status: number, json: unknown, path: string, secret?: string): Json {
    if (!isObject(json)) {
      if (status >= 400) throw this.httpError(status, path);
      throw new PlatformError('protocol', t('The DaiDai platform at {0} answered {1} in a form this version does not understand. Check {2}.', this.host, path, this.setting), status);
    }
    const code = toNumber(json.code);
    if (code === 200 && status >= 200 && status < 300) return json;
    const text = toText(json.msg) ?? toText(json.message) ?? toText(json.error);
    if (code === undefined && status >= 200 && status < 300) {
      throw new PlatformError('protocol', t('The DaiDai platform at {0} answered {1} without a result code. Check {2}.', this.host, path, this.setting), status);
    }
    if (!text && status >= 400) throw this.httpError(status, path);
    const message = text ? this.clean(text, secret) : t('The DaiDai platform refused the request (code {0}).', String(json.code ?? status));
    throw new PlatformError('refused', message, status, code ?? toText(json.code));
  }

  private httpError(status: number, path: string): PlatformError {
    if (status >= 500) {
      return new PlatformError('network', t('The DaiDai platform at {0} is unavailable right now (HTTP {1} on {2}). Try again in a moment.', this.host, status, path), status);
    }
    return new PlatformError('protocol', t('The DaiDai platform at {0} answered HTTP {1} on {2}. Check {3}.', this.host, status, path, this.setting), status);
  }

  private networkError(e: unknown, path: string, secret?: string): PlatformError {
    const err = e as { name?: string; code?: string | number; message?: string; cause?: { code?: string } };
    const code = typeof err.code === 'string' ? err.code : err.cause?.code;
    if (err.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new PlatformError('network', t('{0} did not answer {1} within {2} s. Check your connection or {3}.', this.host, path, Math.round(this.timeoutMs / 1000), this.setting));
    }
    const what = code ?? this.clean(err.message ?? String(e), secret);
    return new PlatformError('network', t('Could not reach {0} ({1}). Check your connection or {2}.', this.host, what, this.setting));
  }

  /** Platform text as shown to a person: no key, token or password in it. */
  private clean(text: string, secret?: string): string {
    let out = redactSecrets(text);
    for (const s of [secret, this.creds?.password, this.token]) {
      if (s && s.length >= 4 && out.includes(s)) out = out.split(s).join(s.startsWith('sk-') ? maskKey(s) : '[redacted]');
    }
    return out;
  }
}

function isExpired(a: Answer): boolean {
  if (a.status === 401 || a.status === 403) return true;
  // Some deployments answer HTTP 200 with code 401 for a stale token. Code 403 in the envelope
  // is left alone: it also means "not yours", which a new token would not fix.
  return isObject(a.json) && toNumber(a.json.code) === 401;
}

/** userId (or id / sub) from a JWT's payload, when the login answer does not say it. */
function jwtUserId(token: string): string | number | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Json;
    const id = payload.userId ?? payload.id ?? payload.user_id ?? payload.sub;
    return typeof id === 'string' || typeof id === 'number' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The body as text, or undefined (and the rest left unread) once it passes `cap` bytes. */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > cap) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
