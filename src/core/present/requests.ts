// One log line per proxied request. The record holds no secret (the key id is masked); what
// came from outside (the path, the model id from the client's body, a gateway's words) is
// escaped and bounded, so that it can neither forge a line nor hide a key.
// The field names (`model=`, `key=`, `attempts=`, `ms`) are the same in every language: people
// grep for them and log tools parse them; the words around them follow the language.
import { language, t, type Language } from '../l10n';
import type { RequestRecord } from '../proxy/types';
import { logText, logValue } from '../util/log';

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
  stream: string;
  clientGone: Fill;
  none: string;
  failing: string;
  cooling: string;
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
    stream: t('stream'),
    clientGone: split(t('{0} (client went away)')),
    none: t('(none)'),
    failing: t('(a key taken out by failures, as a last resort)'),
    cooling: t('(waited for a key to cool down)'),
  };
  return words;
}

export function requestLogLine(r: RequestRecord): string {
  const w = wordsNow();
  // An in-process caller (VS Code's chat) is named first: its requests never came by the port.
  let line = `${logValue(r.method, 20)} ${logValue(r.path, 300)}`;
  if (r.source) line = `[${logValue(r.source, 40)}] ${line}`;
  // A resolved model shows both ids: `model=claude-opus-4-8 → [官Max]claude-opus-4-6-20260205`.
  if (r.model) line += ' model=' + (r.requestedModel === undefined ? logValue(r.model) : `${logValue(r.requestedModel)} → ${logValue(r.model)}`);
  if (r.stream) line += ' ' + w.stream;
  line += ' → ' + (r.aborted ? fill(w.clientGone, r.status) : r.status);
  line += ' key=' + (r.keyId ?? w.none);
  line += ' attempts=' + r.attempts;
  // A key that was not the first choice (a last resort, or one waited for) is worth saying.
  if (r.tier === 'failing') line += ' ' + w.failing;
  else if (r.tier === 'cooling') line += ' ' + w.cooling;
  line += ` ${Math.round(r.durationMs)} ms`;
  if (r.movedOn) for (const m of r.movedOn) line += ` — ${logText(m.reason, 300)}`;
  if (r.error) line += ` — ${logText(r.error, 500)}`;
  return line;
}

/** Whether a finished request counts as served (for the status bar's counters). */
export function requestServed(r: RequestRecord): boolean {
  return !r.aborted && r.status > 0 && r.status < 400;
}
