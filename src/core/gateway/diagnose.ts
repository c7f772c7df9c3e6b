// Start-up diagnosis: one GET {upstream}/models with one key, read for what would make every
// request fail, said in one line that names the knob to change. Without it a wrong
// `--upstream-url` (no /v1: every request 404s) or a gateway that is down shows only as
// "model lists: 0 of 3 keys fetched", or not at all until the first request.
import { t } from '../l10n';
import type { GatewayProbe, ProbeResult } from './types';

/**
 * Pure: what a probe's result says about the gateway address, as one sentence for the log, or
 * undefined when the gateway answered as a gateway (a model list, or a refusal of the key: that
 * is the key's business, which the pool handles).
 */
export function gatewayDiagnosis(result: ProbeResult, upstreamBaseUrl: string, upstreamKnob: string): string | undefined {
  if (result.ok) return undefined;
  const base = upstreamBaseUrl.replace(/\/+$/, '');
  const url = `${base}/models`;
  const lacksV1 = !/\/v1$/.test(base);
  if (result.status === undefined) {
    return t('The gateway {0} cannot be reached ({1}): requests will fail until it answers. Check {2} and the network.', base, result.reason, upstreamKnob);
  }
  if (result.status === 404 || result.status === 405) {
    return lacksV1
      ? t('The gateway answered HTTP {0} to GET {1}: {2} probably lacks /v1 (try {3}/v1). Every request would fail the same way.', result.status, url, upstreamKnob, base)
      : t('The gateway answered HTTP {0} to GET {1}: is {2} the model gateway? Every request would fail the same way.', result.status, url, upstreamKnob);
  }
  if (result.status >= 200 && result.status < 300) {
    // 200 with a page that is not a model list: a website, not the API.
    return lacksV1
      ? t('GET {0} did not answer a model list: {1} probably lacks /v1 (try {2}/v1).', url, upstreamKnob, base)
      : t('GET {0} did not answer a model list: is {1} the model gateway?', url, upstreamKnob);
  }
  if (result.status >= 500) {
    return t('The gateway {0} answers with errors ({1}): requests may fail until it recovers.', base, result.reason);
  }
  return undefined; // 401/403/429…: about the key, not the address
}

/** One probe with `key` (none: nothing to say), read by `gatewayDiagnosis`. */
export async function diagnoseGateway(probe: GatewayProbe, key: string | undefined, upstreamBaseUrl: string, upstreamKnob: string, timeoutMs: number): Promise<string | undefined> {
  if (!key) return undefined;
  return gatewayDiagnosis(await probe.models(key, timeoutMs), upstreamBaseUrl, upstreamKnob);
}
