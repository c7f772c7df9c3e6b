// The status-bar item as a pure function of the proxy status and the pool snapshot.
import { t } from '../l10n';
import type { PoolSnapshot } from '../pool/types';
import type { ProxyStatus } from '../proxy/types';
import { formatList } from './format';

/** How the item should look: `warning`/`error` map to the status bar's warning/error background. */
export type StatusKind = 'normal' | 'warning' | 'error';

export interface StatusModel {
  text: string;
  tooltip: string;
  /** Codicon id at the start of `text`. */
  icon: string;
  kind: StatusKind;
}

/** Client-level request counts, as the proxy reported them (one per client request, whatever the attempts). */
export interface RequestCounts {
  served: number;
  failed: number;
}

export interface StatusContext {
  signedIn: boolean;
  email?: string;
  demo?: boolean;
  requests?: RequestCounts;
}

export function statusModel(proxy: ProxyStatus, pool: PoolSnapshot | undefined, ctx: StatusContext): StatusModel {
  const lines: string[] = [];
  let icon: string;
  let text: string;
  let kind: StatusKind = 'normal';
  const counts = pool?.counts;

  switch (proxy.state) {
    case 'running': {
      icon = 'radio-tower';
      const usable = counts?.usable ?? 0;
      const total = counts?.total ?? 0;
      text = `$(${icon}) DaiDai ${usable}/${total}`;
      lines.push(t('DaiDai proxy running at {0}', proxy.url ?? `http://${proxy.host}:${proxy.port}/v1`));
      if (usable === 0) {
        kind = 'warning';
        lines.push(total === 0 ? t('No keys: log in or refresh the keys.') : t('No key is usable right now: requests will fail until one recovers.'));
      }
      break;
    }
    case 'starting':
    case 'stopping':
      icon = 'loading~spin';
      text = `$(${icon}) DaiDai`;
      lines.push(proxy.state === 'starting' ? t('DaiDai proxy starting…') : t('DaiDai proxy stopping…'));
      break;
    default:
      icon = 'circle-slash';
      text = `$(${icon}) DaiDai`;
      lines.push(t('DaiDai proxy stopped'));
      if (proxy.error) {
        kind = 'error';
        lines.push(t('Last start failed: {0}', proxy.error));
      }
  }

  if (counts && counts.total > 0) {
    const extra: string[] = [];
    if (counts.cooling) extra.push(t('{0} cooling', counts.cooling));
    if (counts.disabled) extra.push(t('{0} disabled', counts.disabled));
    if (counts.exhausted) extra.push(t('{0} exhausted', counts.exhausted));
    lines.push(
      extra.length
        ? t('Keys: {0} of {1} usable ({2})', counts.usable, counts.total, formatList(extra))
        : t('Keys: {0} of {1} usable', counts.usable, counts.total),
    );
  }
  const served = ctx.requests?.served ?? pool?.totals.successes ?? 0;
  const failed = ctx.requests?.failed ?? pool?.totals.failures ?? 0;
  lines.push(t('Requests served: {0}, failed: {1}', served, failed));
  if (pool?.lastKeyId) lines.push(t('Last key used: {0}', pool.lastKeyId));
  if (pool?.nextKeyId) lines.push(t('Next key: {0}', pool.nextKeyId));
  if (ctx.signedIn) {
    const email = ctx.email ?? t('(signed in)');
    lines.push(ctx.demo ? t('Account: {0} (demo)', email) : t('Account: {0}', email));
  } else lines.push(t('Not logged in.'));
  lines.push(t('Click for proxy actions.'));

  return { text, tooltip: lines.join('\n'), icon, kind };
}

