// Two processes (two CLIs, two VS Code windows) may keep one usage history file. Each one writes
// only what it added itself (its delta over what it last read or wrote) onto what the file holds
// at that moment, so that neither loses the other's requests (issue 22: 10 requests on one CLI
// and 7 on another showed 7). Pure functions over the file form.
import { bucketOfRow, hourRow, hourRowId as hourId, mergeInto, USAGE_HISTORY_VERSION, type HourBucket, type UsageHistoryData } from './history';
import type { RecentRequest } from './types';

/** The file form of an empty history. */
export function emptyUsage(): UsageHistoryData {
  return { version: USAGE_HISTORY_VERSION, hours: [], utilised: [], baselines: [], recent: [] };
}

const spentId = (r: UsageHistoryData['utilised'][number]) => `${r[0]}\u0000${r[1]}`;
/** A recent request has no id of its own: when, what, by which key, how it ended. */
const recentId = (r: RecentRequest) => `${r.at}\u0000${r.route}\u0000${r.key}\u0000${r.model}\u0000${r.status}\u0000${r.durationMs}\u0000${r.attempts}`;

/**
 * What `now` holds beyond `base`: the requests counted since `base` was read or written, the
 * account spend seen since, the newer baselines and the recent requests not in `base`.
 */
export function usageDelta(now: UsageHistoryData, base: UsageHistoryData | null): UsageHistoryData {
  const out = emptyUsage();
  const before = new Map((base?.hours ?? []).map((r) => [hourId(r), r]));
  for (const r of now.hours) {
    const b = before.get(hourId(r));
    if (!b) {
      out.hours.push(r);
      continue;
    }
    const n = bucketOfRow(r);
    const o = bucketOfRow(b);
    const d: HourBucket = {
      ...n,
      requests: n.requests - o.requests,
      failures: n.failures - o.failures,
      inputTokens: n.inputTokens - o.inputTokens,
      outputTokens: n.outputTokens - o.outputTokens,
      cacheTokens: n.cacheTokens - o.cacheTokens,
      cacheReadTokens: n.cacheReadTokens - o.cacheReadTokens,
      cacheWriteTokens: n.cacheWriteTokens - o.cacheWriteTokens,
      costCny: round8(n.costCny - o.costCny),
      unpricedRequests: n.unpricedRequests - o.unpricedRequests,
    };
    // Only growth is ours: a bucket that shrank was pruned or bounded, not un-counted.
    const grew = d.requests > 0 && [d.failures, d.inputTokens, d.outputTokens, d.cacheTokens, d.cacheReadTokens, d.cacheWriteTokens, d.costCny, d.unpricedRequests].every((v) => v >= 0);
    if (grew) out.hours.push(hourRow(d));
  }
  // The account's own spend per key and hour is the same figure in every process that saw it:
  // the larger reading wins on merge (never a sum, which would count it twice).
  const spent = new Map((base?.utilised ?? []).map((r) => [spentId(r), r[2]]));
  for (const r of now.utilised) if (r[2] > (spent.get(spentId(r)) ?? 0)) out.utilised.push(r);
  const seenAt = new Map((base?.baselines ?? []).map((r) => [r[0], r[2]]));
  for (const r of now.baselines) if (r[2] > (seenAt.get(r[0]) ?? 0)) out.baselines.push(r);
  const known = new Set((base?.recent ?? []).map(recentId));
  for (const r of now.recent) if (!known.has(recentId(r))) out.recent.push(r);
  return out;
}

/** `disk` with `delta` added: counters summed, the larger spend, the newer baseline, the recent requests of both. */
export function addUsage(disk: UsageHistoryData | null, delta: UsageHistoryData, maxRecent = 1000): UsageHistoryData {
  const out = emptyUsage();
  const hours = new Map<string, HourBucket>();
  for (const r of [...(disk?.hours ?? []), ...delta.hours]) {
    const id = hourId(r);
    const had = hours.get(id);
    if (!had) hours.set(id, bucketOfRow(r));
    else mergeInto(had, bucketOfRow(r));
  }
  out.hours = [...hours.values()].map(hourRow);
  const spent = new Map<string, UsageHistoryData['utilised'][number]>();
  for (const r of [...(disk?.utilised ?? []), ...delta.utilised]) {
    const had = spent.get(spentId(r));
    if (!had || r[2] > had[2]) spent.set(spentId(r), r);
  }
  out.utilised = [...spent.values()];
  const baselines = new Map<string, UsageHistoryData['baselines'][number]>();
  for (const r of [...(disk?.baselines ?? []), ...delta.baselines]) {
    const had = baselines.get(r[0]);
    if (!had || r[2] >= had[2]) baselines.set(r[0], r);
  }
  out.baselines = [...baselines.values()];
  const recent = new Map<string, RecentRequest>();
  for (const r of [...(disk?.recent ?? []), ...delta.recent]) recent.set(recentId(r), r);
  out.recent = [...recent.values()].sort((a, b) => a.at - b.at).slice(-maxRecent);
  return out;
}

function round8(n: number): number {
  return Math.round(n * 1e8) / 1e8;
}
