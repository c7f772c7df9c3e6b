// The bench's upstreams (fixed and fake) run as forked children; the runner talks to them over
// the IPC channel: "ready" with the port, then "take" to read and reset the per-key counters.
// A child whose parent goes away exits, so a killed runner never leaves an upstream behind.

export interface UpstreamCounter {
  /** Requests by the key they carried (Authorization Bearer or x-api-key). */
  byKey: Map<string, number>;
  statuses: Map<number, number>;
  total: number;
  /** TCP connections accepted (a proxy that reuses keep-alive connections opens few). */
  connections?: number;
}

/** What crosses the IPC channel (Maps do not survive it). */
export interface UpstreamCounts {
  byKey: Record<string, number>;
  statuses: Record<string, number>;
  total: number;
  connections?: number;
}

export type ToUpstream = { type: 'take'; id: number } | { type: 'stop' };
export type FromUpstream =
  | { type: 'ready'; port: number; kind: 'fixed' | 'fake'; keys?: string[] }
  | { type: 'counts'; id: number; counts: UpstreamCounts };

export function startUpstreamControl(opts: {
  port: number;
  kind: 'fixed' | 'fake';
  keys?: string[];
  take: () => UpstreamCounter;
  close: () => void;
}): void {
  const send = (m: FromUpstream) => process.send?.(m);
  process.on('message', (m: ToUpstream) => {
    if (m.type === 'take') {
      const c = opts.take();
      send({
        type: 'counts',
        id: m.id,
        counts: {
          byKey: Object.fromEntries(c.byKey),
          statuses: Object.fromEntries([...c.statuses].map(([k, v]) => [String(k), v])),
          total: c.total,
          connections: c.connections,
        },
      });
    } else if (m.type === 'stop') {
      opts.close();
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', port: opts.port, kind: opts.kind, keys: opts.keys });
}
