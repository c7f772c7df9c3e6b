// The status-bar item as a pure function of the proxy status and the pool snapshot.
import type { PoolSnapshot } from '../pool/types';
import type { ProxyStatus } from '../proxy/types';

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
      lines.push(`DaiDai proxy running at ${proxy.url ?? `http://${proxy.host}:${proxy.port}/v1`}`);
      if (usable === 0) {
        kind = 'warning';
        lines.push(total === 0 ? 'No keys: log in or refresh the keys.' : 'No key is usable right now: requests will fail until one recovers.');
      }
      break;
    }
    case 'starting':
    case 'stopping':
      icon = 'loading~spin';
      text = `$(${icon}) DaiDai`;
      lines.push(proxy.state === 'starting' ? 'DaiDai proxy starting…' : 'DaiDai proxy stopping…');
      break;
    default:
      icon = 'circle-slash';
      text = `$(${icon}) DaiDai`;
      lines.push('DaiDai proxy stopped');
      if (proxy.error) {
        kind = 'error';
        lines.push(`Last start failed: ${proxy.error}`);
      }
  }

  if (counts && counts.total > 0) {
    const extra: string[] = [];
    if (counts.cooling) extra.push(`${counts.cooling} cooling`);
    if (counts.disabled) extra.push(`${counts.disabled} disabled`);
    if (counts.exhausted) extra.push(`${counts.exhausted} exhausted`);
    lines.push(`Keys: ${counts.usable} of ${counts.total} usable${extra.length ? ` (${extra.join(', ')})` : ''}`);
  }
  const served = ctx.requests?.served ?? pool?.totals.successes ?? 0;
  const failed = ctx.requests?.failed ?? pool?.totals.failures ?? 0;
  lines.push(`Requests served: ${served}, failed: ${failed}`);
  if (pool?.lastKeyId) lines.push(`Last key used: ${pool.lastKeyId}`);
  if (pool?.nextKeyId) lines.push(`Next key: ${pool.nextKeyId}`);
  if (ctx.signedIn) lines.push(`Account: ${ctx.email ?? '(signed in)'}${ctx.demo ? ' (demo)' : ''}`);
  else lines.push('Not logged in.');
  lines.push('Click for proxy actions.');

  return { text, tooltip: lines.join('\n'), icon, kind };
}

