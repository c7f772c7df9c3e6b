// One log line per proxied request. The record holds no secret (the key id is masked).
import { language, t, type Language } from '../l10n';
import type { RequestRecord } from '../proxy/types';

/** A message with one `{0}`, split around it once: filling it is two joins, not a regex. */
type Fill = readonly [before: string, after: string];

function split(template: string): Fill {
  const at = template.indexOf('{0}');
  return at === -1 ? [template, ''] : [template.slice(0, at), template.slice(at + 3)];
}

function fill(f: Fill, value: string | number): string {
  return f[0] + value + f[1];
}

interface Words {
  lang: Language;
  model: Fill;
  stream: string;
  clientGone: Fill;
  key: Fill;
  none: string;
  attempts: Fill;
  failing: string;
  cooling: string;
  ms: Fill;
}

let words: Words | undefined;

/**
 * The line's words in the current language, looked up once per language: the line is built
 * for every request, and a lookup with placeholders costs more than the rest of the line.
 * (t() without arguments gives the template with its `{0}` in place.)
 */
function wordsNow(): Words {
  const lang = language();
  if (words?.lang === lang) return words;
  words = {
    lang,
    model: split(t('model={0}')),
    stream: t('stream'),
    clientGone: split(t('{0} (client went away)')),
    key: split(t('key={0}')),
    none: t('(none)'),
    attempts: split(t('attempts={0}')),
    failing: t('(a key taken out by failures, as a last resort)'),
    cooling: t('(waited for a key to cool down)'),
    ms: split(t('{0} ms')),
  };
  return words;
}

export function requestLogLine(r: RequestRecord): string {
  const w = wordsNow();
  // An in-process caller (VS Code's chat) is named first: its requests never came by the port.
  let line = r.source ? `[${r.source}] ${r.method} ${r.path}` : `${r.method} ${r.path}`;
  // A resolved model shows both ids: `model=claude-opus-4-8 → [官Max]claude-opus-4-6-20260205`.
  if (r.model) line += ' ' + fill(w.model, r.requestedModel === undefined ? r.model : `${r.requestedModel} → ${r.model}`);
  if (r.stream) line += ' ' + w.stream;
  line += ' → ' + (r.aborted ? fill(w.clientGone, r.status) : r.status);
  line += ' ' + fill(w.key, r.keyId ?? w.none);
  line += ' ' + fill(w.attempts, r.attempts);
  // A key that was not the first choice (a last resort, or one waited for) is worth saying.
  if (r.tier === 'failing') line += ' ' + w.failing;
  else if (r.tier === 'cooling') line += ' ' + w.cooling;
  line += ' ' + fill(w.ms, Math.round(r.durationMs));
  if (r.movedOn) for (const m of r.movedOn) line += ` — ${m.reason}`;
  if (r.error) line += ` — ${r.error}`;
  return line;
}

/** Whether a finished request counts as served (for the status bar's counters). */
export function requestServed(r: RequestRecord): boolean {
  return !r.aborted && r.status > 0 && r.status < 400;
}
