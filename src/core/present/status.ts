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
  /** Our proxy runs in another window (or a daidai-proxy) on the port: this window uses it. */
  peer?: { url: string; keys?: { usable: number; total: number } };
  /** The gateway is considered down (every attempt failed the same way on several keys). */
  gateway?: { reason: string; since: number };
}

export function statusModel(proxy: ProxyStatus, pool: PoolSnapshot | undefined, ctx: StatusContext): StatusModel {
  const lines: string[] = [];
  let icon: string;
  let text: string;
  let kind: StatusKind = 'normal';
  const counts = pool?.counts;

  const peer = proxy.state === 'stopped' ? ctx.peer : undefined;
  switch (peer ? 'peer' : proxy.state) {
    case 'peer': {
      icon = 'radio-tower';
      const k = peer!.keys;
      text = `$(${icon}) DaiDai${k ? ` ${k.usable}/${k.total}` : ''} · ${t('other window')}`;
      lines.push(t('DaiDai proxy running in another window at {0}: this window uses it.', peer!.url));
      lines.push(t('Stop it in the window that runs it; this window takes over when it closes.'));
      if (k && k.usable === 0) kind = 'warning';
      break;
    }
    case 'running': {
      icon = 'radio-tower';
      const usable = counts?.usable ?? 0;
      const total = counts?.total ?? 0;
      text = `$(${icon}) DaiDai ${usable}/${total}`;
      lines.push(t('DaiDai proxy running at {0}', proxy.url ?? `http://${proxy.host}:${proxy.port}/v1`));
      if (ctx.gateway) {
        kind = 'warning';
        text = `$(warning) DaiDai ${usable}/${total} · ${t('gateway unreachable')}`;
        lines.push(t('The DaiDai gateway has been unreachable since {0}: {1}. Requests fail fast until it answers again; keys are not blamed.', clockTime(ctx.gateway.since), ctx.gateway.reason));
      } else if (usable === 0) {
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

  if (counts && counts.total > 0 && !peer) {
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
  // Another window serves: this window's own counters and next key say nothing about it.
  if (!peer) {
    const served = ctx.requests?.served ?? pool?.totals.successes ?? 0;
    const failed = ctx.requests?.failed ?? pool?.totals.failures ?? 0;
    lines.push(t('Requests served: {0}, failed: {1}', served, failed));
    if (pool?.lastKeyId) lines.push(t('Last key used: {0}', pool.lastKeyId));
    if (pool?.nextKeyId) lines.push(t('Next key: {0}', pool.nextKeyId));
  }
  if (ctx.signedIn) {
    const email = ctx.email ?? t('(signed in)');
    lines.push(ctx.demo ? t('Account: {0} (demo)', email) : t('Account: {0}', email));
  } else lines.push(t('Not logged in.'));
  lines.push(t('Click for proxy actions.'));

  return { text, tooltip: lines.join('\n'), kind };
}

/** HH:MM:SS in local time: when something started today. */
function clockTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

