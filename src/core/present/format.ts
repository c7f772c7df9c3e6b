// Small formatting helpers shared by the view models. Pure: no vscode, no clock of their own.
import { language, t } from '../l10n';

export { formatYuan } from '../util/yuan';

/** A short "how long ago" for tooltips: `just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAgo(epochMs: number | undefined, now: number): string {
  if (epochMs === undefined) return t('never');
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 2) return t('just now');
  if (s < 60) return t('{0} s ago', s);
  const min = Math.floor(s / 60);
  if (min < 60) return t('{0} min ago', min);
  const h = Math.floor(min / 60);
  if (h < 48) return t('{0} h ago', h);
  return t('{0} d ago', Math.floor(h / 24));
}

/** A duration until a future time: `in 12 s`, `in 3 min`. */
export function formatIn(epochMs: number, now: number): string {
  const s = Math.max(0, Math.ceil((epochMs - now) / 1000));
  if (s < 60) return t('in {0} s', s);
  const min = Math.ceil(s / 60);
  if (min < 60) return t('in {0} min', min);
  return t('in {0} h', Math.ceil(min / 60));
}

/** `a, b, c`; in Chinese with the enumeration comma, `a、b、c`. */
export function formatList(items: readonly string[]): string {
  return items.join(language() === 'zh-cn' ? '、' : ', ');
}
