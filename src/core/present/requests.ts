// One log line per proxied request. The record holds no secret (the key id is masked).
import type { RequestRecord } from '../proxy/types';

export function requestLogLine(r: RequestRecord): string {
  const parts = [`${r.method} ${r.path}`];
  if (r.model) parts.push(`model=${r.model}`);
  if (r.stream) parts.push('stream');
  parts.push(`→ ${r.aborted ? `${r.status} (client went away)` : r.status}`);
  parts.push(`key=${r.keyId ?? '(none)'}`);
  parts.push(`attempts=${r.attempts}`);
  parts.push(`${Math.round(r.durationMs)} ms`);
  if (r.error) parts.push(`— ${r.error}`);
  return parts.join(' ');
}

/** Whether a finished request counts as served (for the status bar's counters). */
export function requestServed(r: RequestRecord): boolean {
  return !r.aborted && r.status > 0 && r.status < 400;
}
