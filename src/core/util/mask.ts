// Every place that shows a key to a person, a log or /health goes through maskKey.

/** `sk-abcdefgh…wxyz` → `sk-abcd…wxyz`. Short or odd strings are hidden entirely. */
export function maskKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) return '(none)';
  const prefix = key.startsWith('sk-') ? 'sk-' : '';
  const body = key.slice(prefix.length);
  if (body.length < 12) return `${prefix}…${body.length ? body.slice(-2) : ''}`;
  return `${prefix}${body.slice(0, 4)}…${body.slice(-4)}`;
}

/**
 * Removes anything that looks like a secret from free text (error messages from the platform
 * or the network may echo a key or a bearer token back).
 */
export function redactSecrets(text: string): string {
  if (!text) return text;
  return text
    .replace(/sk-[A-Za-z0-9_-]{8,}/g, (m) => maskKey(m))
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1[redacted]')
    .replace(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[token redacted]');
}

/** A person-readable message for any error, free of secrets. */
export function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : 'unknown error';
  return redactSecrets(text);
}
