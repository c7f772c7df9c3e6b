// The signed-in DaiDai account as the rest of the product sees it: a readonly snapshot of its
// usable keys and balances, swapped on every change, with an event the pool and views follow.

import { eachLimited } from '../util/limit';
import { Emitter, type Disposable, type Event } from '../util/event';
import { t } from '../l10n';
import { formatYuan } from '../util/yuan';
import { nullLogger, type Logger } from '../util/log';
import { maskKey, redactSecrets } from '../util/mask';
import { PlatformError, type PlatformClient } from './client';
import type { AccountKey, AccountSnapshot, Credentials } from './types';

export interface AccountOptions {
  logger?: Logger;
  /** Clock for refreshedAt (default Date.now). */
  clock?: () => number;
  /** keyQuota calls at once for keys listed without a balance (default 3). */
  quotaConcurrency?: number;
}

const SIGNED_OUT: AccountSnapshot = Object.freeze({ signedIn: false, keys: Object.freeze([]) as readonly AccountKey[], totalBalance: 0, refreshing: false });

/** Sum of known balances, rounded to 1e-6 so float noise never shows. */
export function totalBalance(keys: readonly AccountKey[]): number {
  let sum = 0;
  for (const k of keys) if (typeof k.balance === 'number' && Number.isFinite(k.balance)) sum += k.balance;
  return Math.round(sum * 1e6) / 1e6;
}

export class Account implements Disposable {
  private current: AccountSnapshot = SIGNED_OUT;
  private readonly changed = new Emitter<AccountSnapshot>();
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly quotaConcurrency: number;
  /** Bumped by signIn/signOut so a refresh that finishes late cannot resurrect an old session. */
  private generation = 0;
  private inFlight?: Promise<AccountSnapshot>;

  readonly onDidChange: Event<AccountSnapshot> = this.changed.event;

  /** The account takes ownership of `client`: dispose() closes it. */
  constructor(
    readonly client: PlatformClient,
    opts: AccountOptions = {},
  ) {
    this.log = opts.logger ?? nullLogger;
    this.clock = opts.clock ?? Date.now;
    this.quotaConcurrency = opts.quotaConcurrency ?? 3;
  }

  get snapshot(): AccountSnapshot {
    return this.current;
  }

  /**
   * Signs in and loads the keys. Rejects (with a PlatformError whose message can be shown as it
   * is) when the login or the first key listing fails; the snapshot then carries the error too.
   */
  async signIn(creds: Credentials): Promise<AccountSnapshot> {
    const gen = ++this.generation;
    this.inFlight = undefined;
    this.client.logout();
    this.set({ ...SIGNED_OUT, refreshing: true });
    let email: string;
    try {
      const user = await this.client.login(creds);
      email = typeof user.userEmail === 'string' && user.userEmail ? user.userEmail : creds.email.trim();
    } catch (e) {
      if (gen === this.generation) this.set({ ...SIGNED_OUT, ...errorFields(e) });
      throw e;
    }
    if (gen !== this.generation) return this.current;
    this.set({ signedIn: true, email, keys: SIGNED_OUT.keys, totalBalance: 0, refreshing: true });
    return this.refresh();
  }

  /** Forgets the session and the keys. */
  signOut(): void {
    this.generation++;
    this.inFlight = undefined;
    this.client.logout();
    if (this.current !== SIGNED_OUT) this.set(SIGNED_OUT);
  }

  /**
   * Reloads the keys and balances (keys listed without a balance get a keyQuota call). Calls made
   * while one is running share it. On failure the previous keys stay, with `error` set, and the
   * promise rejects.
   */
  refresh(): Promise<AccountSnapshot> {
    if (!this.current.signedIn) return Promise.reject(new PlatformError('auth', t('Not signed in to DaiDai. Sign in first.')));
    if (!this.inFlight) {
      const gen = this.generation;
      const run = this.load(gen).finally(() => {
        if (this.inFlight === run) this.inFlight = undefined;
      });
      this.inFlight = run;
    }
    return this.inFlight;
  }

  dispose(): void {
    this.generation++;
    this.changed.dispose();
    this.client.close().catch(() => undefined);
  }

  private async load(gen: number): Promise<AccountSnapshot> {
    if (!this.current.refreshing) this.set({ ...this.current, refreshing: true });
    try {
      const keys = await this.client.listKeys();
      const missing = keys.filter((k) => k.balance === undefined);
      await eachLimited(missing, this.quotaConcurrency, async (k) => {
        if (gen !== this.generation) return;
        try {
          const q = await this.client.keyQuota(k.key);
          if (q.balance !== undefined) k.balance = q.balance;
          if (k.used === undefined && q.used !== undefined) k.used = q.used;
        } catch (e) {
          // One key's balance is not worth failing the whole refresh for.
          this.log.warn(t('Could not read the balance of {0}: {1}', maskKey(k.key), e instanceof Error ? e.message : String(e)));
        }
      });
      if (gen !== this.generation) return this.current;
      const frozen = Object.freeze(keys.map((k) => Object.freeze(k))) as readonly AccountKey[];
      this.set({
        signedIn: true,
        email: this.current.email,
        keys: frozen,
        totalBalance: totalBalance(frozen),
        refreshedAt: this.clock(),
        refreshing: false,
      });
      this.log.info(t('DaiDai account: {0} usable key(s), {1} in total.', frozen.length, formatYuan(this.current.totalBalance)));
      return this.current;
    } catch (e) {
      if (gen === this.generation) {
        const { refreshing: _r, error: _e, errorKind: _k, ...rest } = this.current;
        this.set({ ...rest, refreshing: false, ...errorFields(e) });
      }
      throw e;
    }
  }

  private set(next: AccountSnapshot): void {
    this.current = Object.freeze(next);
    this.changed.fire(this.current);
  }
}

function errorFields(e: unknown): Pick<AccountSnapshot, 'error' | 'errorKind'> {
  if (e instanceof PlatformError) return { error: e.message, errorKind: e.kind };
  return { error: redactSecrets(e instanceof Error ? e.message : String(e)) };
}
