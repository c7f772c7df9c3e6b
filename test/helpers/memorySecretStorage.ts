// A Map-backed SecretStorage for tests: what VS Code's SecretStorage does, without a keychain.
import type { SecretStorageLike } from '../../src/core/app/credentialStore';
import { Emitter } from '../../src/core/util/event';

export class MemorySecretStorage implements SecretStorageLike {
  readonly map = new Map<string, string>();
  private readonly emitter = new Emitter<{ key: string }>();
  readonly onDidChange = this.emitter.event;
  /** Makes every call fail, to test keychain errors. */
  failing = false;

  async get(key: string): Promise<string | undefined> {
    if (this.failing) throw new Error('keychain unavailable');
    return this.map.get(key);
  }
  async store(key: string, value: string): Promise<void> {
    if (this.failing) throw new Error('keychain unavailable');
    this.map.set(key, value);
    this.emitter.fire({ key });
  }
  async delete(key: string): Promise<void> {
    if (this.failing) throw new Error('keychain unavailable');
    this.map.delete(key);
    this.emitter.fire({ key });
  }
  /** What another window writing the same storage looks like from here. */
  storeFromElsewhere(key: string, value: string | undefined): void {
    if (value === undefined) this.map.delete(key);
    else this.map.set(key, value);
    this.emitter.fire({ key });
  }
}

