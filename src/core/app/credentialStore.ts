// The only code that touches the account's credentials. They live in VS Code's SecretStorage
// (the OS keychain), never in settings, globalState or logs. Written against the small
// SecretStorageLike interface, so it runs (and is tested) in plain Node.
import type { Credentials } from '../platform/types';
import type { CredentialsPort } from './session';
import { Emitter, type Event } from '../util/event';
import { t } from '../l10n';
import type { Logger } from '../util/log';
import { redactSecrets } from '../util/mask';

/** What we use of vscode.SecretStorage. */
export interface SecretStorageLike {
  get(key: string): Thenable<string | undefined>;
  store(key: string, value: string): Thenable<void>;
  delete(key: string): Thenable<void>;
  readonly onDidChange: (listener: (e: { key: string }) => unknown) => { dispose(): unknown };
}

export const CREDENTIALS_SECRET = 'daidai.credentials';

export class CredentialStore implements CredentialsPort {
  private readonly changeEmitter = new Emitter<void>();
  private readonly subscription: { dispose(): unknown };
  /** What we last read or wrote, so our own writes are not reported as another window's. */
  private known: string | undefined;

  /** Fires when another window stored or forgot the credentials. */
  readonly onDidChange: Event<void> = this.changeEmitter.event;

  constructor(
    private readonly secrets: SecretStorageLike,
    private readonly logger: Logger,
  ) {
    this.subscription = secrets.onDidChange((e) => {
      if (e.key === CREDENTIALS_SECRET) void this.checkForeignChange();
    });
  }

  /** The stored credentials; undefined when none, unreadable or the keychain fails (logged). */
  async get(): Promise<Credentials | undefined> {
    let raw: string | undefined;
    try {
      raw = await this.secrets.get(CREDENTIALS_SECRET);
    } catch (err) {
      this.logger.warn(t('Could not read the stored DaiDai login from the system keychain: {0}', errorText(err)));
      return undefined;
    }
    this.known = raw;
    if (!raw) return undefined;
    try {
      const v = JSON.parse(raw) as Partial<Credentials>;
      if (typeof v.email === 'string' && typeof v.password === 'string' && v.email && v.password) return { email: v.email, password: v.password };
    } catch {
      // fall through
    }
    this.logger.warn(t('The stored DaiDai login is unreadable; log in again.'));
    return undefined;
  }

  /** Stores the credentials; false when the keychain refused (logged): the login still holds for this session. */
  async set(creds: Credentials): Promise<boolean> {
    const raw = JSON.stringify({ email: creds.email, password: creds.password });
    this.known = raw;
    return this.write(() => this.secrets.store(CREDENTIALS_SECRET, raw), 'store');
  }

  async clear(): Promise<boolean> {
    this.known = undefined;
    return this.write(() => this.secrets.delete(CREDENTIALS_SECRET), 'forget');
  }

  dispose(): void {
    this.subscription.dispose();
    this.changeEmitter.dispose();
  }

  private async write(op: () => Thenable<void>, verb: 'store' | 'forget'): Promise<boolean> {
    try {
      await op();
      return true;
    } catch (err) {
      this.logger.warn(verb === 'store' ? t('Could not store the DaiDai login in the system keychain: {0}', errorText(err)) : t('Could not forget the DaiDai login in the system keychain: {0}', errorText(err)));
      return false;
    }
  }

  private async checkForeignChange(): Promise<void> {
    let raw: string | undefined;
    try {
      raw = await this.secrets.get(CREDENTIALS_SECRET);
    } catch {
      return;
    }
    if (raw === this.known) return;
    this.known = raw;
    this.changeEmitter.fire();
  }
}

function errorText(err: unknown): string {
  // Keychain errors should carry no secret; redact anyway, and keep them short.
  return redactSecrets(err instanceof Error ? err.message : String(err)).slice(0, 200);
}
