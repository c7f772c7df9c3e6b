// What the failover loop asks before it picks a key: which model to send (resolution against the
// ids the account's keys serve) and which key the conversation prefers (session affinity). One
// object per proxy, built from the settings; the loop reaches it through ProxyEnv. Resolution is
// rebuilt only when the keys' model lists change (the union's identity) or the settings do.
import type { IncomingHttpHeaders } from 'node:http';
import { SessionAffinity } from './affinity';
import { ModelResolver, type Resolution } from './modelResolve';
import { sessionIdOf } from './sessionId';

const RECENT_RESOLUTIONS = 50;

/** How requested models were resolved lately, and the conversations kept on their keys. */
export interface HealthRouting {
  familyFallback: boolean;
  aliases: number;
  /** Requested id → id sent, for the ids resolved to another lately (newest last, at most 50). */
  resolved: Record<string, string>;
  sessionAffinity: boolean;
  /** Conversations remembered (each on its key). */
  sessions: number;
  /** Conversations moved to another key by failover so far. */
  sessionMoves: number;
}

export interface RoutingOptions {
  /** `daidai.models.aliases` (and the CLI's `--model-alias`): requested id → id to send. */
  aliases: Readonly<Record<string, string>>;
  /** `daidai.models.familyFallback`. */
  familyFallback: boolean;
  /** `daidai.routing.sessionAffinity`. */
  sessionAffinity: boolean;
  /** `daidai.routing.sessionIdleMinutes`. */
  sessionIdleMinutes: number;
}

export const defaultRoutingOptions: RoutingOptions = {
  aliases: {},
  familyFallback: true,
  sessionAffinity: true,
  sessionIdleMinutes: 60,
};

/** Paths whose body names a model the gateway routes by (resolution applies). */
const MODEL_ROUTES = new Set(['/chat/completions', '/completions', '/embeddings', '/messages', '/messages/count_tokens', '/responses']);
/** Paths of a conversation's turns (affinity applies): count_tokens and embeddings hold no cache. */
const SESSION_ROUTES = new Set(['/chat/completions', '/completions', '/messages', '/responses']);

function routeOf(path: string): string {
  const q = path.indexOf('?');
  const p = q === -1 ? path : path.slice(0, q);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export class RequestRouter {
  private opts: RoutingOptions;
  private readonly affinity: SessionAffinity;
  private resolver: ModelResolver | undefined;
  private resolverFor: readonly { id: string }[] | undefined;
  /** Requested → served of the latest resolutions to another id, for /health. */
  private readonly recent = new Map<string, string>();
  /** Ids no list names that the gateway refused when tried: answered locally until the lists change. */
  private readonly refused = new Set<string>();

  constructor(opts: Partial<RoutingOptions> = {}, clock?: () => number) {
    this.opts = { ...defaultRoutingOptions, ...opts };
    this.affinity = new SessionAffinity({ idleMs: this.opts.sessionIdleMinutes * 60_000, clock });
  }

  setOptions(opts: Partial<RoutingOptions>): void {
    const next = { ...this.opts, ...opts };
    if (JSON.stringify(next.aliases) !== JSON.stringify(this.opts.aliases) || next.familyFallback !== this.opts.familyFallback) this.resolver = undefined;
    if (!next.sessionAffinity) this.affinity.clear();
    this.affinity.setIdleMs(next.sessionIdleMinutes * 60_000);
    this.opts = next;
  }

  get options(): Readonly<RoutingOptions> {
    return this.opts;
  }

  /**
   * What to send for `requested` on `path` (a path below the upstream base), given the union of
   * the keys' lists; undefined when resolution does not apply (no model, no lists yet, a path
   * that routes by no model).
   */
  resolve(path: string, requested: string | undefined, served: readonly { id: string }[] | undefined): Resolution | undefined {
    if (requested === undefined || served === undefined || served.length === 0) return undefined;
    if (!MODEL_ROUTES.has(routeOf(path))) return undefined;
    if (this.resolver === undefined || this.resolverFor !== served) {
      this.resolver = new ModelResolver(
        served.map((m) => m.id),
        { aliases: this.opts.aliases, familyFallback: this.opts.familyFallback },
      );
      this.resolverFor = served;
      this.recent.clear();
      this.refused.clear();
    }
    const r = this.resolver.resolve(requested);
    this.noteResolved(r);
    return r;
  }

  /**
   * Whether `model` should be tried on a key although the pool says no key serves it: only when
   * the keys' lists are known and none names it (a cached list must never refuse what the gateway
   * would serve), and the gateway has not refused it since the lists last changed. A model whose
   * pairs were all refused by the gateway itself is not tried again.
   */
  tryUnlisted(model: string, served: readonly { id: string }[] | undefined): boolean {
    if (served === undefined || this.refused.has(model)) return false;
    if (this.resolverFor !== served) return !served.some((m) => m.id === model);
    return !this.resolver!.servedIds.includes(model);
  }

  /** The gateway refused an unlisted model too. */
  refusedUnlisted(model: string): void {
    if (this.refused.size >= 256) this.refused.clear();
    this.refused.add(model);
  }

  /** The conversation a request belongs to, when affinity is on and the path is a turn of one. */
  sessionOf(path: string, headers: IncomingHttpHeaders, body: Buffer): string | undefined {
    if (!this.opts.sessionAffinity || !SESSION_ROUTES.has(routeOf(path))) return undefined;
    return sessionIdOf(headers, body)?.id;
  }

  /** The key the session's turns of `model` went to (for the pool's `prefer`). */
  preferred(session: string | undefined, model: string | undefined): string | undefined {
    return session === undefined ? undefined : this.affinity.preferred(session, model);
  }

  /** The key that answered the session's turn: kept for its next turns. */
  served(session: string | undefined, model: string | undefined, keyId: string): 'new' | 'same' | 'moved' | undefined {
    return session === undefined ? undefined : this.affinity.served(session, model, keyId);
  }

  /** For /health: the settings, the ids resolved to others lately, the sessions kept. */
  health(): HealthRouting {
    const { sessions, moves } = this.affinity.stats();
    return {
      familyFallback: this.opts.familyFallback,
      aliases: Object.keys(this.opts.aliases).length,
      resolved: Object.fromEntries(this.recent),
      sessionAffinity: this.opts.sessionAffinity,
      sessions,
      sessionMoves: moves,
    };
  }

  private noteResolved(r: Resolution): void {
    if (r.kind === 'none' || r.kind === 'exact') return;
    if (this.recent.get(r.requested) === r.served) return;
    this.recent.delete(r.requested);
    this.recent.set(r.requested, r.served);
    if (this.recent.size > RECENT_RESOLUTIONS) this.recent.delete(this.recent.keys().next().value!);
  }
}
