// Session affinity: which key a conversation's turns go to. A new session takes whatever key the
// pool's round-robin gives among the keys serving its model; the key that answered is kept for
// (session, model), and later turns ask the pool for it first. When that key cannot serve (out,
// cooling, failing), the request fails over as usual and the key that answered becomes the
// session's key: it moves once and stays. Prompt caches are per model as well as per key, so
// Claude Code's background haiku calls in the same session keep a key of their own.
//
// Bounded memory: at most `maxSessions` entries (the least recently used go first), and an entry
// idle longer than `idleMs` is gone. A Map in least-recently-used order makes both O(1).

export interface AffinityOptions {
  /** A session idle this long starts over (default 1 h; `daidai.routing.sessionIdleMinutes`). */
  idleMs?: number;
  /** Most sessions remembered (default 10,000: about 1.5 MB). */
  maxSessions?: number;
  clock?: () => number;
}

interface Entry {
  keyId: string;
  lastUsed: number;
  /** When the entry last moved to the back of the Map's order. */
  movedAt: number;
}

/**
 * The least-recently-used order is kept to the second: a session's turns within a second of its
 * last move update it in place. Eviction stays bounded (the size limit drops from the front
 * whatever the order), and an idle entry is dropped when looked up or reached from the front.
 */
const REORDER_MS = 1000;

export const DEFAULT_SESSION_IDLE_MS = 60 * 60_000;
const DEFAULT_MAX_SESSIONS = 10_000;

export class SessionAffinity {
  private readonly map = new Map<string, Entry>();
  private idleMs: number;
  private readonly max: number;
  private readonly clock: () => number;
  private moves = 0;

  constructor(opts: AffinityOptions = {}) {
    this.idleMs = positive(opts.idleMs, DEFAULT_SESSION_IDLE_MS);
    this.max = Math.max(1, Math.floor(positive(opts.maxSessions, DEFAULT_MAX_SESSIONS)));
    this.clock = opts.clock ?? Date.now;
  }

  setIdleMs(ms: number): void {
    this.idleMs = positive(ms, DEFAULT_SESSION_IDLE_MS);
  }

  /** The key this session's turns of `model` went to, while the session is not idle too long. */
  preferred(session: string, model: string | undefined): string | undefined {
    const k = slot(session, model);
    const e = this.map.get(k);
    if (!e) return undefined;
    if (this.clock() - e.lastUsed > this.idleMs) {
      this.map.delete(k);
      return undefined;
    }
    return e.keyId;
  }

  /**
   * The key that answered this turn. Returns 'new' for a session's first turn, 'same' when it
   * stayed, 'moved' when failover took it to another key (which it now keeps).
   */
  served(session: string, model: string | undefined, keyId: string): 'new' | 'same' | 'moved' {
    const k = slot(session, model);
    const now = this.clock();
    const e = this.map.get(k);
    if (e !== undefined && now - e.lastUsed <= this.idleMs && e.keyId === keyId) {
      // The common turn: the same key again. Updated in place (no garbage per request); moved
      // to the back of the least-recently-used order at most once a second.
      if (now - e.movedAt >= REORDER_MS) {
        this.map.delete(k);
        this.map.set(k, e);
        e.movedAt = now;
      }
      e.lastUsed = now;
      return 'same';
    }
    let outcome: 'new' | 'same' | 'moved' = 'new';
    if (e !== undefined && now - e.lastUsed <= this.idleMs) outcome = 'moved';
    if (e !== undefined) this.map.delete(k); // re-inserted last: the Map's order is least recently used first
    this.map.set(k, { keyId, lastUsed: now, movedAt: now });
    if (outcome === 'moved') this.moves++;
    this.trim(now);
    return outcome;
  }

  /** Forgets every session on a key (the key left the pool). */
  forgetKey(keyId: string): void {
    for (const [k, e] of this.map) if (e.keyId === keyId) this.map.delete(k);
  }

  clear(): void {
    this.map.clear();
  }

  /** For /health: live sessions (idle ones not yet dropped may be counted) and moves so far. */
  stats(): { sessions: number; moves: number } {
    this.trim(this.clock());
    return { sessions: this.map.size, moves: this.moves };
  }

  private trim(now: number): void {
    // Least recently used first: the over-limit and the idle ones are all at the front.
    while (this.map.size > 0) {
      const first = this.map.keys().next().value!;
      const e = this.map.get(first)!;
      if (this.map.size > this.max || now - e.lastUsed > this.idleMs) this.map.delete(first);
      else break;
    }
  }
}

function slot(session: string, model: string | undefined): string {
  return model === undefined ? session : `${session}\u0000${model}`;
}

function positive(v: number | undefined, def: number): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : def;
}
