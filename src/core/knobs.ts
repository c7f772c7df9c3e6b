// What each host calls the knobs a message may point at. The core says "change {port}"; the
// extension fills in its setting (`daidai.proxy.port`), the CLI its flag (`--port`) or variable
// (`DAIDAI_ACCESS_TOKEN`). A user reads the name of something they can actually change.
// Plain strings, so that proxy/ and platform/ need not depend on app/ (the manifest test
// checks that each one names a real setting).

export interface Knobs {
  /** The proxy's port. */
  port: string;
  /** The listen address. */
  host: string;
  /** The access token clients must send. */
  accessToken: string;
  /** The browser origins allowed to call the proxy. */
  allowedOrigins: string;
  /** The DaiDai account API's address. */
  platformUrl: string;
  /** The model gateway's address (with /v1). */
  upstreamUrl: string;
  /** How to give the proxy keys: log in, or plain keys. */
  login: string;
}

/** The extension's knobs: its settings, and its Log In command. */
export const settingsKnobs: Knobs = {
  port: 'daidai.proxy.port',
  host: 'daidai.proxy.host',
  accessToken: 'daidai.proxy.accessToken',
  allowedOrigins: 'daidai.proxy.allowedOrigins',
  platformUrl: 'daidai.platform.baseUrl',
  upstreamUrl: 'daidai.upstream.baseUrl',
  login: 'DaiDai: Login',
};
