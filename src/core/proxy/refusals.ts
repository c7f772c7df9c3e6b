// Requests the guard refused (Host, Origin, cross-site, access token), in the log. Whoever debugs
// a blocked browser client, or watches a proxy opened with `--host 0.0.0.0`, needs to see them;
// a page or a scanner that hammers the proxy must not flood the log. So: the first refusal of a
// kind from a given origin/host/address at once, then at most one line a minute for it, saying
// how many were left out. Never a token: only whether one was sent.
import { t } from '../l10n';
import { logValue, type Logger } from '../util/log';

export type RefusalKind = 'host' | 'origin' | 'cross-site' | 'token';

export interface Refusal {
  kind: RefusalKind;
  method: string;
  path: string;
  /** The client's address. */
  remote?: string;
  /** The Host header (kind 'host'), the Origin (kind 'origin'), Sec-Fetch-Site ('cross-site'). */
  value?: string;
  /** Kind 'token': whether the request carried a token at all (a wrong one) or none. */
  tokenSent?: boolean;
  /** The host's name for the knob that would let it through. */
  knob?: string;
}

export interface RefusalLogOptions {
  /** One line per kind and source within this window (default 60 s). */
  windowMs?: number;
  now?: () => number;
  /** Sources remembered at most (default 256); past it the oldest are forgotten. */
  maxSources?: number;
}

export type RefusalLog = (r: Refusal) => void;

export function refusalLog(logger: Logger, opts: RefusalLogOptions = {}): RefusalLog {
  const windowMs = opts.windowMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const maxSources = opts.maxSources ?? 256;
  const seen = new Map<string, { at: number; left: number }>();
  return (r) => {
    const source = `${r.kind}\u0000${r.kind === 'token' ? `${r.remote ?? ''}\u0000${r.tokenSent ? 'wrong' : 'none'}` : r.value ?? ''}`;
    const time = now();
    const last = seen.get(source);
    if (last && time - last.at < windowMs) {
      last.left++;
      return;
    }
    const left = last?.left ?? 0;
    seen.delete(source);
    if (seen.size >= maxSources) seen.delete(seen.keys().next().value!);
    seen.set(source, { at: time, left: 0 });
    const what = `${logValue(r.method, 20)} ${logValue(r.path, 200)}`;
    const from = logValue(r.remote ?? '?', 60);
    const value = logValue(r.value ?? '', 200);
    let line: string;
    switch (r.kind) {
      case 'host':
        line = t('Refused {0} from {1}: Host {2} is not localhost or 127.0.0.1 (the guard against DNS rebinding).', what, from, value || '(none)');
        break;
      case 'origin':
        line = t('Refused {0} from {1}: browser origin {2} is not allowed (add it to {3} to allow it).', what, from, value, r.knob ?? 'allowedOrigins');
        break;
      case 'cross-site':
        line = t('Refused {0} from {1}: a cross-site browser request (Sec-Fetch-Site: {2}).', what, from, value);
        break;
      case 'token':
        line = r.tokenSent
          ? t('Refused {0} from {1}: wrong access token ({2}).', what, from, r.knob ?? 'accessToken')
          : t('Refused {0} from {1}: no access token ({2}).', what, from, r.knob ?? 'accessToken');
        break;
    }
    if (left > 0) line += ' ' + t('({0} more like it since the last such line)', left);
    logger.warn(line);
  };
}
