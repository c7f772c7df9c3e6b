// Usage capture, cost, history and the report's numbers; their text is in present/.
export * from './types';
export { createUsageMeter, normalizeUsage, totalInputTokens, TAIL_BYTES, HEAD_BYTES } from './meter';
export { costOf, priceOf, PriceBook, requestCost, stripChannel } from './price';
export {
  UsageHistory,
  USAGE_HISTORY_VERSION,
  HOUR_MS,
  DAY_MS,
  hourOf,
  isFailure,
  isModelList,
  safeKeyId,
  type HourBucket,
  type HourRow,
  type UtilisedBucket,
  type UsageHistoryData,
  type UsageHistoryOptions,
} from './history';
export {
  usageReport,
  cacheHitShare,
  requestedAsByModel,
  usageCsv,
  recentRequestsCsv,
  parseSince,
  roundYuan,
  emptySum,
  groupBuckets,
  sumBuckets,
  totalsOf,
  utilisedByKey,
  csvField,
  type UsageReport,
  type ModelUsage,
  type RequestedAs,
  type KeyUsage,
  type CsvOptions,
} from './report';
