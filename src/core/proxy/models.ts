// GET /v1/models from the union of every key's list: any one key's answer shows only its own
// package's models, so a client would never see the rest of the account. Pure.
import { bilingual } from '../l10n';
import type { GatewayModel } from './contracts';
import type { ApiFlavor } from './errors';

export type ModelsAnswer =
  | { kind: 'json'; status: 200; body: string }
  | { kind: 'error'; status: 404; message: string; code: string };

/** `/models`, `/models/{id}` (query ignored), or undefined for any other path. */
export function modelsPath(upstreamPath: string): { id?: string } | undefined {
  const q = upstreamPath.indexOf('?');
  const path = q === -1 ? upstreamPath : upstreamPath.slice(0, q);
  if (path === '/models') return {};
  if (!path.startsWith('/models/') || path.length === 8) return undefined;
  let id = path.slice(8);
  try {
    id = decodeURIComponent(id);
  } catch {
    // Not percent-encoding after all: compare as sent.
  }
  return { id };
}

/**
 * The answer for a models path. Each id once (the first description wins), in the order given:
 * the gateway monitor keeps that order stable. Anthropic clients (they send anthropic-version)
 * also get the paging fields of Anthropic's list.
 */
export function modelsAnswer(models: readonly GatewayModel[], want: { id?: string }, flavor: ApiFlavor, acceptLanguage?: string): ModelsAnswer {
  const seen = new Set<string>();
  const data: GatewayModel[] = [];
  for (const m of models) {
    if (typeof m.id !== 'string' || seen.has(m.id)) continue;
    seen.add(m.id);
    data.push(m);
  }
  if (want.id !== undefined) {
    const found = data.find((m) => m.id === want.id);
    if (!found) {
      return {
        kind: 'error',
        status: 404,
        message: bilingual('The model "{0}" is not served by any key of this account.', acceptLanguage, want.id),
        code: 'model_not_found',
      };
    }
    return { kind: 'json', status: 200, body: JSON.stringify(found) };
  }
  const list: Record<string, unknown> = { object: 'list', data };
  if (flavor === 'anthropic') {
    list.has_more = false;
    list.first_id = data.length ? data[0].id : null;
    list.last_id = data.length ? data[data.length - 1].id : null;
  }
  return { kind: 'json', status: 200, body: JSON.stringify(list) };
}
