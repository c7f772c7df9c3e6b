// `daidai-proxy usage`: reads the usage history that `serve` writes in the state folder and
// prints it as a table, JSON or CSV. Split from cli.ts, which keeps the proxy commands.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { t } from '../core/l10n';
import { formatUsageTable } from '../core/present/usageTable';
import { defaultStateDir, readUsageFileSync, stateFileNames, type StateIdentity } from '../core/state';
import { cacheHitShare, parseSince, usageCsv, usageReport, UsageHistory, type UsageTotals } from '../core/usage';
import { redactSecrets } from '../core/util/mask';
import { stringOption as str, UsageError, type ParsedArgs } from './args';

type Env = Readonly<Record<string, string | undefined>>;

/** Longest period `usage --since` accepts: the history keeps far less, and a typo must not print the year -711. */
const MAX_SINCE_DAYS = 3650;

/**
 * `daidai-proxy usage`: what the usage history in the state folder says, as a table, JSON or CSV.
 * Reads the file `serve` writes (it flushes about every second), never writes or moves it: a
 * running serve owns it.
 */
export function usage(args: ParsedArgs, env: Env, out: (s: string) => void, warn: (s: string) => void): number {
  if (args.values.has('json') && args.values.has('csv')) throw new UsageError(t('--json and --csv cannot be used together: choose one.'));
  const dir = str(args, 'state-dir') ?? defaultStateDir(env);
  const now = Date.now();
  let since: number;
  const period = str(args, 'since') ?? '24h';
  try {
    since = parseSince(period, now);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!(since >= now - MAX_SINCE_DAYS * 86_400_000) || since > now) {
    throw new UsageError(t('--since {0} is out of range: give a period of up to {1} days, or a past date.', period, MAX_SINCE_DAYS));
  }
  const keysFile = str(args, 'keys-file');
  const identity: StateIdentity | undefined = env.DAIDAI_EMAIL
    ? { kind: 'account', email: env.DAIDAI_EMAIL }
    : keysFile
      ? { kind: 'keys-file', path: keysFile }
      : env.DAIDAI_KEYS
        ? { kind: 'keys' }
        : undefined;
  let file: string | undefined;
  if (identity) {
    file = join(dir, stateFileNames(identity).usage);
    if (!existsSync(file)) throw new UsageError(t('No usage history for that account in {0} yet: run serve first (or pass --state-dir).', dir));
  } else {
    // Without a login or keys to say whose: the history written last.
    const found = existsSync(dir) ? readdirSync(dir).filter((f) => /^usage-.+\.json$/.test(f)) : [];
    if (found.length === 0) throw new UsageError(t('No usage history in {0} yet: run serve first (or pass --state-dir).', dir));
    found.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs);
    file = join(dir, found[0]);
    if (found.length > 1) warn(t('{0} usage histories in {1}; showing the newest ({2}). Set DAIDAI_EMAIL or DAIDAI_KEYS to choose.', found.length, dir, found[0]));
  }
  let history: UsageHistory;
  try {
    history = UsageHistory.fromData(readUsageFileSync(file), now);
  } catch (err) {
    throw new UsageError(t('The usage history {0} could not be read: {1}.', file, redactSecrets((err as Error).message)));
  }
  if (args.values.has('csv')) {
    out(usageCsv(history, since).replace(/\r?\n$/, ''));
    return 0;
  }
  const report = usageReport(history, { since, now });
  if (args.values.has('json')) {
    // What the table shows, failures and unpriced requests included: costCny leaves the unpriced ones out.
    // cacheHitShare: cache reads over all input tokens (0–1, null without input); cacheTokens beyond
    // reads + writes were recorded before the two were kept apart (the share is then a lower bound).
    const totals = (x: UsageTotals) => {
      const hit = cacheHitShare(x);
      return {
        requests: x.requests,
        failures: x.failures,
        inputTokens: x.inputTokens,
        outputTokens: x.outputTokens,
        cacheTokens: x.cacheTokens,
        cacheReadTokens: x.cacheReadTokens,
        cacheWriteTokens: x.cacheWriteTokens,
        cacheHitShare: hit === null ? null : Math.round(hit.share * 1e4) / 1e4,
        costCny: x.costCny,
        unpricedRequests: x.unpricedRequests,
      };
    };
    out(
      JSON.stringify(
        { since: report.since, total: totals(report.total), byModel: report.byModel.map((m) => ({ model: m.model, requestedAs: m.requestedAs, ...totals(m) })), byKey: report.byKey.map((k) => ({ key: k.key, ...totals(k) })) },
        null,
        2,
      ),
    );
    return 0;
  }
  out(formatUsageTable(report));
  return 0;
}

