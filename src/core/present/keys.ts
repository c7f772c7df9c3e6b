// Rows of the "Keys" tree as pure functions of the account and pool snapshots.
import { t } from '../l10n';
import type { AccountKey } from '../platform/types';
import type { KeySnapshot, KeyState, PoolSnapshot } from '../pool/types';
import { formatAgo, formatIn, formatYuan } from './format';

/** What the views need of the account (the shape of `Account.snapshot`). Holds keys in clear: never rendered as such. */
export interface AccountView {
  signedIn: boolean;
  email?: string;
  keys: readonly AccountKey[];
  totalBalance?: number;
  refreshedAt?: number;
  /** A key listing is under way. */
  refreshing?: boolean;
  error?: string;
}

export interface RowIcon {
  /** Codicon id. */
  id: string;
  /** Theme color id, when the icon is colored. */
  color?: string;
}

export interface TreeRow {
  /** Stable tree item id (keeps selection and expansion across re-renders). */
  id: string;
  kind: 'account' | 'key' | 'info';
  /** Pool id (masked key) of a key row: what key commands receive. */
  keyId?: string;
  label: string;
  description?: string;
  tooltip: string;
  /** `account`, `account:demo`, `info`, `key:<state>` or `key:<state>:manual`. */
  contextValue: string;
  icon: RowIcon;
}

export interface RowOptions {
  now: number;
  demo?: boolean;
  /** Balances below this (¥) are flagged. */
  lowBalance?: number;
}

const stateIcon: Record<KeyState, RowIcon> = {
  healthy: { id: 'pass', color: 'charts.green' },
  cooling: { id: 'watch', color: 'charts.yellow' },
  disabled: { id: 'circle-slash', color: 'charts.red' },
  exhausted: { id: 'error', color: 'charts.red' },
};

export function keyContextValue(key: Pick<KeySnapshot, 'state' | 'manuallyDisabled'>): string {
  return `key:${key.state}${key.manuallyDisabled ? ':manual' : ''}`;
}

export function keyIcon(key: Pick<KeySnapshot, 'state' | 'manuallyDisabled'>): RowIcon {
  if (key.manuallyDisabled) return { id: 'debug-pause', color: 'disabledForeground' };
  return stateIcon[key.state];
}

/** The one wording of a key's state (Keys view, dashboard, the key pick list). */
export function keyStateText(key: KeySnapshot, now: number): string {
  if (key.manuallyDisabled) return t('out of rotation');
  switch (key.state) {
    case 'healthy':
      return t('healthy');
    case 'cooling':
      return key.coolingUntil ? t('cooling, back {0}', formatIn(key.coolingUntil, now)) : t('cooling');
    case 'disabled':
      return key.disabledBy === 'revoked' ? t('revoked') : key.disabledBy === 'failures' ? t('disabled after failures') : t('disabled');
    case 'exhausted':
      return t('balance used up');
  }
}

/** Beyond this many the tooltip says how many more (a "serves anything" key can list hundreds). */
const MODELS_IN_TOOLTIP = 12;

export function keyRow(key: KeySnapshot, opts: RowOptions): TreeRow {
  const { now } = opts;
  const low = opts.lowBalance !== undefined && key.balance !== undefined && key.balance < opts.lowBalance;
  const parts: string[] = [];
  if (key.name) parts.push(key.name);
  parts.push(low ? t('{0} left (low)', formatYuan(key.balance)) : t('{0} left', formatYuan(key.balance)));
  if (key.used !== undefined) parts.push(t('{0} used', formatYuan(key.used)));
  if (key.models) parts.push(key.models.length === 1 ? t('1 model') : t('{0} models', key.models.length));
  if (key.state !== 'healthy' || key.manuallyDisabled) parts.push(keyStateText(key, now));

  const s = key.stats;
  const balance =
    key.used !== undefined ? t('Balance: {0}, used: {1}', formatYuan(key.balance), formatYuan(key.used)) : t('Balance: {0}', formatYuan(key.balance));
  const tip = [
    `${key.masked}${key.name ? ` — ${key.name}` : ''}`,
    key.reason && !key.manuallyDisabled ? t('State: {0} ({1})', keyStateText(key, now), key.reason) : t('State: {0}', keyStateText(key, now)),
    low ? t('{0} — low', balance) : balance,
    t('Requests: {0} ({1} ok, {2} failed)', s.requests, s.successes, s.failures),
  ];
  if (s.lastError) tip.push(t('Last error: {0}', s.lastError));
  tip.push(t('Last used: {0}', formatAgo(s.lastUsedAt, now)));
  if (s.avgLatencyMs !== undefined) tip.push(t('Average latency: {0} ms', Math.round(s.avgLatencyMs)));
  if (key.awaitingRecheck) tip.push(t('Kept out since the last session: it is checked again for free before it serves.'));
  if (key.models) {
    const shown = key.models.slice(0, MODELS_IN_TOOLTIP);
    tip.push(t('Serves {0} model(s): {1}', key.models.length, shown.join(', ') + (key.models.length > shown.length ? ` … (+${key.models.length - shown.length})` : '')));
  } else {
    tip.push(t('Models: not known yet (asked for any model until its list is fetched)'));
  }
  for (const x of key.exclusions) {
    tip.push(
      x.until !== undefined
        ? t('Refused {0}: {1} (asked again {2})', x.model, x.reason, formatIn(x.until, now))
        : t('Refused {0}: {1} (asked again once its model list is fetched)', x.model, x.reason),
    );
  }
  if (key.manuallyDisabled) tip.push(t('Taken out of rotation by you: right-click to put it back.'));

  return {
    id: `key/${key.id}`,
    kind: 'key',
    keyId: key.id,
    label: key.masked,
    description: parts.join(' · '),
    tooltip: tip.join('\n'),
    contextValue: keyContextValue(key),
    icon: keyIcon(key),
  };
}

export function accountRow(account: AccountView, pool: PoolSnapshot | undefined, opts: RowOptions): TreeRow {
  const total = pool?.counts.total ?? account.keys.length;
  const usable = pool?.counts.usable ?? total;
  const balance = account.totalBalance ?? sumBalances(account.keys);
  const email = account.email ?? t('(signed in)');
  const tip = [
    opts.demo ? t('Demo account: {0}', email) : t('DaiDai account: {0}', email),
    t('Total balance: {0}', formatYuan(balance)),
    t('Keys: {0} of {1} usable', usable, total),
    t('Refreshed: {0}', formatAgo(account.refreshedAt, opts.now)),
  ];
  if (opts.demo) tip.push(t('This is the built-in demo platform: its keys only work through this proxy.'));
  if (account.error) tip.push(t('Last refresh failed: {0}', account.error));
  return {
    id: 'account',
    kind: 'account',
    label: opts.demo ? t('{0} (demo)', email) : email,
    description: t('{0} · {1}/{2} keys usable', formatYuan(balance), usable, total),
    tooltip: tip.join('\n'),
    contextValue: opts.demo ? 'account:demo' : 'account',
    icon: account.error ? { id: 'warning', color: 'charts.yellow' } : { id: 'account' },
  };
}

/** One row per key of the pool, in pool order. */
export function keyRows(account: AccountView, pool: PoolSnapshot | undefined, opts: RowOptions): TreeRow[] {
  if (!account.signedIn) return [];
  return (pool?.keys ?? []).map((k) => keyRow(k, opts));
}

/** The whole tree: empty while signed out (the welcome view shows instead). */
export function treeRows(account: AccountView, pool: PoolSnapshot | undefined, opts: RowOptions): TreeRow[] {
  if (!account.signedIn) return [];
  const rows = [accountRow(account, pool, opts), ...keyRows(account, pool, opts)];
  if (rows.length === 1 && account.refreshing) {
    rows.push({ id: 'info/loading', kind: 'info', label: t('Loading keys…'), tooltip: t('Fetching the keys and balances of your account.'), contextValue: 'info', icon: { id: 'loading~spin' } });
  } else if (rows.length === 1) {
    rows.push({
      id: 'info/no-keys',
      kind: 'info',
      label: t('No usable keys on this account'),
      description: t('buy a package, then refresh'),
      tooltip: t('Only paid orders with a key and no error are used. Buy a package on the DaiDai site, then run "DaiDai: Refresh Keys and Balances".'),
      contextValue: 'info',
      icon: { id: 'info' },
    });
  }
  return rows;
}

function sumBalances(keys: readonly AccountKey[]): number | undefined {
  let sum = 0;
  let any = false;
  for (const k of keys) {
    if (k.balance !== undefined && Number.isFinite(k.balance)) {
      sum += k.balance;
      any = true;
    }
  }
  return any ? sum : undefined;
}

/** Keys whose balance is known and below the threshold (¥). A threshold of 0 or less turns this off. */
export function lowBalanceKeys(pool: PoolSnapshot | undefined, threshold: number): KeySnapshot[] {
  if (!(threshold > 0) || !pool) return [];
  return pool.keys.filter((k) => k.balance !== undefined && k.balance < threshold);
}
