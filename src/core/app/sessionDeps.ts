// What a Session is built with: its ports (logger, credentials, settings, the account and demo
// factories) and where it keeps state. The extension, the CLI and the tests each pass their own.
import type { Dispatcher } from 'undici';
import type { DemoDaiDai } from '../demo/types';
import type { NetworkSettings } from '../net/dispatchers';
import { Account } from '../platform/account';
import { PlatformClient } from '../platform/client';
import type { Credentials, ModelAvailability, ModelPrice } from '../platform/types';
import type { AccountView } from '../present';
import type { Event } from '../util/event';
import { settingsKnobs, type Knobs } from '../knobs';
import type { Logger } from '../util/log';
import type { DaiDaiSettings } from './settings';

/** What the session uses of core/platform/account.ts's Account. */
export interface AccountLike {
  readonly snapshot: AccountView;
  readonly onDidChange: Event<unknown>;
  signIn(creds: Credentials): Promise<unknown>;
  signOut(): unknown;
  refresh(): Promise<unknown>;
  dispose?(): unknown;
  /** The platform's price list and model monitor, when the account can ask for them. */
  readonly client?: { pricing(): Promise<ModelPrice[]>; monitor(): Promise<ModelAvailability[]> };
}

/** Where the login is kept: VS Code's SecretStorage in the extension, the environment in the CLI. */
export interface CredentialsPort {
  get(): Promise<Credentials | undefined>;
  /** False when the store refused (the login still holds for this session). */
  set(creds: Credentials): Promise<boolean>;
  clear(): Promise<boolean>;
  /** Another window stored or forgot the credentials. */
  readonly onDidChange: Event<void>;
}

export interface SessionDeps {
  logger: Logger;
  credentials: CredentialsPort;
  settings: DaiDaiSettings;
  /** Builds an account (and its platform client) for a platform base URL; default: the real platform client. */
  createAccount?(platformBaseUrl: string, logger: Logger, dispatcher: Dispatcher): AccountLike;
  /** The embedded demo platform for "Try the Demo Account"; default: src/core/demo's. */
  createDemo?(): DemoDaiDai;
  version?: string;
  /** How often another window's proxy is polled (default PEER_POLL_MS; tests go faster). */
  peerPollMs?: number;
  /**
   * What to do when our own proxy already serves the port: 'share' (the extension: use it and take
   * the port over when it stops) or 'refuse' (the CLI: startProxy throws PeerProxyRunning).
   */
  peers?: 'share' | 'refuse';
  /**
   * Where what the pool learned and the usage history are kept (the extension's globalStorageUri,
   * the CLI's --state-dir). Undefined: nothing is kept (tests, and the demo never is).
   */
  stateDir?: string;
  /**
   * The HTTP proxy to reach the platform and the gateway through (VS Code's http.proxy settings,
   * the CLI's HTTPS_PROXY / NO_PROXY); default: direct. Changed later by Session.applyNetwork().
   */
  network?: NetworkSettings;
  /**
   * Keep the demo account's usage history in `stateDir` (the CLI's `demo`, so that `usage` shows
   * what was tried); default: the demo keeps nothing (the extension).
   */
  keepDemoUsage?: boolean;
  /** What messages call the host's knobs: the extension's settings (default) or the CLI's flags. */
  knobs?: Knobs;
}

/** The real platform: an Account over a PlatformClient for that base URL. */
export function createPlatformAccount(platformBaseUrl: string, logger: Logger, dispatcher?: Dispatcher, knobs: Knobs = settingsKnobs): AccountLike {
  return new Account(new PlatformClient({ baseUrl: platformBaseUrl, logger, dispatcher, baseUrlKnob: knobs.platformUrl }), { logger });
}

/** What applying new settings did, for the message the user sees. */
export interface SettingsOutcome {
  /** Setting ids (`daidai.…`) that made us restart the running proxy. */
  restartedFor: string[];
  /** Set when the restart failed. */
  restartError?: string;
}
