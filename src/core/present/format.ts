// Small formatting helpers shared by the view models. Pure: no vscode, no clock of their own.

/** `12.5` → `¥12.50`; unknown → `¥?`. */
export function formatYuan(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '¥?';
  return `¥${value.toFixed(2)}`;
}

/** A short "how long ago" for tooltips: `just now`, `12 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function formatAgo(epochMs: number | undefined, now: number): string {
  if (epochMs === undefined) return 'never';
  const s = Math.max(0, Math.round((now - epochMs) / 1000));
  if (s < 2) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}

/** A duration until a future time: `in 12 s`, `in 3 min`. */
export function formatIn(epochMs: number, now: number): string {
  const s = Math.max(0, Math.ceil((epochMs - now) / 1000));
  if (s < 60) return `in ${s} s`;
  const min = Math.ceil(s / 60);
  if (min < 60) return `in ${min} min`;
  return `in ${Math.ceil(min / 60)} h`;
}
