// The usage history's file: its decoder (the only reader of the file's rows), the file itself,
// and a read-only read for `daidai-proxy usage`, which must never move a file `serve` owns.

import { readFileSync } from 'node:fs';
import { t } from '../l10n';
import { hourOf, hourRow, safeKeyId, USAGE_HISTORY_VERSION, type HourBucket, type UsageHistoryData } from '../usage/history';
import type { RecentRequest } from '../usage/types';
import { redactSecrets } from '../util/mask';
import { clip, isAmount, isCount, isRecord, isTime, rowsOf } from './decode';
import { JsonStateFile, parseEnvelope } from './jsonStateFile';
import type { StateFileDeps } from './poolState';

export const usageFileVersion = 1;

const MAX_TEXT = 200;

/** What decodeUsageHistory tells besides its result. */
export interface UsageDecodeReport {
  /** Rows dropped as damaged. */
  dropped: number;
  /** Why the whole could not be used (translated), when the result is undefined. */
  problem?: string;
}

/**
 * The usage history's data as a file holds it → the same shape with only well-formed rows:
 * damaged rows are dropped (and counted in `report.dropped`), key-like text masked, texts cut.
 * null for missing data (an empty history); undefined when it is not a usage history at all or
 * of an unknown version (`report.problem` says which), so that the file is set aside rather than
 * overwritten with an empty history.
 */
export function decodeUsageHistory(raw: unknown, report: UsageDecodeReport = { dropped: 0 }): UsageHistoryData | null | undefined {
  if (raw === undefined || raw === null) return null;
  if (!isRecord(raw)) {
    report.problem = t('The usage history is not in a form this version understands.');
    return undefined;
  }
  if (raw.version !== USAGE_HISTORY_VERSION) {
    report.problem = t('The usage history has version {0}; this version reads version {1}.', String(raw.version).slice(0, 20), USAGE_HISTORY_VERSION);
    return undefined;
  }
  const out: UsageHistoryData = { version: USAGE_HISTORY_VERSION, hours: [], utilised: [], baselines: [], recent: [] };
  for (const row of rowsOf(raw.hours)) {
    const b = readHour(row);
    if (b) out.hours.push(hourRow(b));
    else report.dropped++;
  }
  for (const row of rowsOf(raw.utilised)) {
    if (Array.isArray(row) && isTime(row[0]) && typeof row[1] === 'string' && isAmount(row[2])) out.utilised.push([hourOf(row[0]), safeKeyId(row[1]), row[2]]);
    else report.dropped++;
  }
  for (const row of rowsOf(raw.baselines)) {
    if (Array.isArray(row) && typeof row[0] === 'string' && isAmount(row[1]) && isTime(row[2])) out.baselines.push([safeKeyId(row[0]), row[1], row[2]]);
    else report.dropped++;
  }
  for (const row of rowsOf(raw.recent)) {
    const r = readRecent(row);
    if (r) out.recent.push(r);
    else report.dropped++;
  }
  return out;
}

/**
 * A bucket row (HourRow). The fields after the tenth are read where they make sense and left out
 * otherwise, keeping the row: a row of an earlier build has none of them, and its cache tokens
 * stay of unknown kind (neither counted as reads nor as writes: the cache-hit share is then
 * shown as a lower bound, never guessed).
 */
function readHour(row: unknown): HourBucket | undefined {
  if (!Array.isArray(row) || row.length < 10) return undefined;
  const [hour, key, model, requests, failures, inputTokens, outputTokens, cacheTokens, costCny, unpricedRequests, cacheRead, cacheWrite, requested] = row as unknown[];
  if (!isTime(hour) || typeof key !== 'string' || typeof model !== 'string') return undefined;
  if (!isCount(requests) || !isCount(failures) || !isCount(inputTokens) || !isCount(outputTokens) || !isCount(cacheTokens) || !isCount(unpricedRequests)) return undefined;
  if (!isAmount(costCny) || failures > requests || unpricedRequests > requests) return undefined;
  const split = isCount(cacheRead) && isCount(cacheWrite) && cacheRead + cacheWrite <= cacheTokens;
  const clippedModel = clip(model, MAX_TEXT);
  const asked = typeof requested === 'string' ? clip(requested, MAX_TEXT) : '';
  return {
    hour: hourOf(hour),
    key: safeKeyId(key),
    model: clippedModel,
    requested: asked === clippedModel ? '' : asked,
    requests,
    failures,
    inputTokens,
    outputTokens,
    cacheTokens,
    cacheReadTokens: split ? cacheRead : 0,
    cacheWriteTokens: split ? cacheWrite : 0,
    costCny,
    unpricedRequests,
  };
}

function readRecent(v: unknown): RecentRequest | undefined {
  if (!isRecord(v)) return undefined;
  if (!isTime(v.at) || typeof v.route !== 'string' || !isCount(v.status) || !isCount(v.attempts) || !isAmount(v.durationMs)) return undefined;
  if (v.costCny !== null && !isAmount(v.costCny)) return undefined;
  const model = typeof v.model === 'string' ? clip(v.model, MAX_TEXT) : '';
  const r: RecentRequest = {
    at: v.at,
    method: typeof v.method === 'string' ? clip(v.method, MAX_TEXT) : 'POST',
    route: clip(v.route, MAX_TEXT),
    model,
    key: typeof v.key === 'string' ? safeKeyId(v.key) : '',
    status: v.status,
    attempts: v.attempts,
    stream: v.stream === true,
    costCny: v.costCny as number | null,
    durationMs: v.durationMs,
    failed: v.failed === true,
    aborted: v.aborted === true,
  };
  if (typeof v.requestedModel === 'string' && v.requestedModel && v.requestedModel !== v.model) r.requestedModel = clip(v.requestedModel, MAX_TEXT);
  for (const f of ['inputTokens', 'outputTokens', 'cacheTokens'] as const) {
    if (v[f] === undefined) continue;
    if (!isCount(v[f])) return undefined;
    r[f] = v[f] as number;
  }
  // The split of cacheTokens (later builds): kept only when it adds up; otherwise of unknown kind.
  const read = v.cacheReadTokens ?? 0;
  const write = v.cacheWriteTokens ?? 0;
  if (isCount(read) && isCount(write) && read + write > 0 && read + write <= (r.cacheTokens ?? 0)) {
    if (read) r.cacheReadTokens = read;
    if (write) r.cacheWriteTokens = write;
  }
  if (typeof v.error === 'string' && v.error) r.error = clip(redactSecrets(v.error), MAX_TEXT);
  if (typeof v.source === 'string' && v.source) r.source = clip(v.source, MAX_TEXT);
  return r;
}

/** The usage history's file. Empty is `null`; what is read has passed decodeUsageHistory. */
export class UsageFile extends JsonStateFile<UsageHistoryData | null> {
  constructor(path: string, deps: StateFileDeps = {}) {
    super({
      ...deps,
      path,
      version: usageFileVersion,
      empty: () => null,
      validate: (data) => decodeUsageHistory(data),
    });
  }
}

/**
 * Reads a usage file once and leaves it where it is (`daidai-proxy usage`: a running serve owns
 * the file). Throws an Error that says why the file cannot be used.
 */
export function readUsageFileSync(path: string): UsageHistoryData | null {
  const report: UsageDecodeReport = { dropped: 0 };
  const parsed = parseEnvelope(readFileSync(path, 'utf8'), usageFileVersion, (data) => decodeUsageHistory(data, report));
  if (parsed.ok) return parsed.value;
  if (parsed.version !== undefined) throw new Error(t('The usage history has version {0}; this version reads version {1}.', String(parsed.version).slice(0, 20), usageFileVersion));
  throw new Error(report.problem ?? t('The usage history is not in a form this version understands.'));
}
