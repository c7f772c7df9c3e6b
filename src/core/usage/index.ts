// Usage capture, cost, history and reports (issue 14). See docs/CONTRACTS-WIP.md, "Usage".
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
  safeKeyId,
  type HourBucket,
  type UtilisedBucket,
  type UsageHistoryData,
  type UsageHistoryOptions,
} from './history';
export {
  usageReport,
  formatUsageTable,
  usageCsv,
  recentRequestsCsv,
  parseSince,
  formatCny,
  formatCount,
  costText,
  csvField,
  displayWidth,
  plainText,
  type UsageReport,
  type ModelUsage,
  type KeyUsage,
  type Translate,
  type CsvOptions,
} from './report';
export {
  dashboardModel,
  forecastText,
  percentile,
  formatDuration,
  type DashboardModel,
  type DashboardInput,
  type PeriodView,
  type TotalsView,
  type ModelSpendRow,
  type KeySpendRow,
  type SeriesPoint,
  type BalanceView,
  type LiveView,
  type KeyStateRow,
  type RecentRow,
} from './dashboard';
