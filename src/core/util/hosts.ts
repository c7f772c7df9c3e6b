// How a listen address is reached and written in a URL: the one place that knows a wildcard bind
// (0.0.0.0, ::) is reached on loopback and that an IPv6 address takes brackets.

/** The host to connect to for a listen host: a wildcard bind is reached on 127.0.0.1. */
export function loopbackHost(host: string): string {
  const h = host.trim();
  return h === '' || h === '0.0.0.0' || h === '::' || h === '[::]' ? '127.0.0.1' : h;
}

/** A host as a URL writes it: IPv6 in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The host of the URL clients use for a listen host: `0.0.0.0` → `127.0.0.1`, `::1` → `[::1]`. */
export function connectHost(host: string): string {
  return urlHost(loopbackHost(host));
}
