// One log line per proxied request. The record holds no secret (the key id is masked).
import { t } from '../l10n';
import type { RequestRecord } from '../proxy/types';

export function requestLogLine(r: RequestRecord): string {
  const parts = [`${r.method} ${r.path}`];
  if (r.model) parts.push(t('model={0}', r.model));
  if (r.stream) parts.push(t('stream'));
  parts.push(`→ ${r.aborted ? t('{0} (client went away)', r.status) : r.status}`);
  parts.push(t('key={0}', r.keyId ?? t('(none)')));
  parts.push(t('attempts={0}', r.attempts));
  // A key that was not the first choice (a last resort, or one waited for) is worth saying.
  if (r.tier === 'failing') parts.push(t('(a key taken out by failures, as a last resort)'));
  else if (r.tier === 'cooling') parts.push(t('(waited for a key to cool down)'));
  parts.push(t('{0} ms', Math.round(r.durationMs)));
  if (r.movedOn) for (const m of r.movedOn) parts.push(`— ${m.reason}`);
  if (r.error) parts.push(`— ${r.error}`);
  return parts.join(' ');
}

/** Whether a finished request counts as served (for the status bar's counters). */
export function requestServed(r: RequestRecord): boolean {
  return !r.aborted && r.status > 0 && r.status < 400;
}
