// The gateway monitor: model lists per key, background re-checks, outage detection.
export * from './types';
export { systemClock, type GatewayClock, type TimerHandle } from './clock';
export { createGatewayProbe, parseModelList, MODEL_LIST_LIMIT, type GatewayProbeOptions } from './probe';
export { gatewaySignature, describeSignature, failureFamily, networkWords, GATEWAY_NETWORK_CODES, SIGNATURE_BODY_BYTES } from './signature';
export { ModelCatalog, modelListBody, CATALOG_CONCURRENCY, CATALOG_TIMEOUT_MS, CATALOG_RETRY_FIRST_MS, CATALOG_RETRY_MAX_MS, type ModelCatalogOptions } from './modelCatalog';
export { KeyRechecker, RECHECK_FIRST_MS, RECHECK_MAX_MS, RECHECK_TIMEOUT_MS, type KeyRecheckerOptions } from './keyRechecker';
export {
  OutageDetector,
  gatewayAnswered,
  OUTAGE_WINDOW_MS,
  OUTAGE_SINGLE_KEY_FAILURES,
  PROBE_FIRST_MS,
  PROBE_MAX_MS,
  PROBE_TIMEOUT_MS,
  type OutageDetectorOptions,
} from './outageDetector';
export { GatewayMonitor, type GatewayMonitorDeps } from './monitor';
