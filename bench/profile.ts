// Reads a V8 .cpuprofile (from `node --cpu-prof`) of a bundled process and says where the time
// went: self and inclusive time per function, mapped through the bundle's source map back to the
// original file (node_modules/koa/..., src/core/proxy/...), and grouped into buckets (Koa,
// router, undici, our proxy code, pool, logging, Node's http/net/streams, GC).
// Usage: node bench/results/build/profile.js FILE.cpuprofile [ROOT] [REQUESTS SERVED]
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** Self samples per (generated, 1-based) line of the function. */
  positionTicks?: { line: number; ticks: number }[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FrameCost {
  name: string;
  where: string;
  bucket: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  buckets: { bucket: string; selfMs: number; pct: number }[];
  inclusive: { bucket: string; totalMs: number; pct: number }[];
  top: FrameCost[];
  /** Our code and its dependencies by inclusive time: what each piece costs with what it calls. */
  topInclusive: FrameCost[];
  /**
   * Each sample charged to the nearest frame of ours or of a dependency on its stack (so the
   * socket write under our `res.write` is ours, the one under undici's is undici's); samples
   * with no such frame keep their own bucket (Node's http server parsing, GC, ...).
   */
  attributed: { owner: string; ms: number; pct: number }[];
  /** The same, per function of ours or of a dependency. */
  attributedFunctions: FrameCost[];
}

// ---- source maps (VLQ) ------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

interface Segment {
  col: number;
  src: number;
  line: number;
}

class SourceMap {
  private readonly lines: Segment[][] = [];
  constructor(
    readonly sources: string[],
    mappings: string,
  ) {
    let src = 0;
    let line = 0;
    for (const lineText of mappings.split(';')) {
      const segs: Segment[] = [];
      let genCol = 0;
      for (const seg of lineText.split(',')) {
        if (!seg) continue;
        const v = decodeVlq(seg);
        genCol += v[0];
        if (v.length >= 4) {
          src += v[1];
          line += v[2];
          segs.push({ col: genCol, src, line });
        }
      }
      this.lines.push(segs);
    }
  }

  /** The original source of a generated 0-based (line, column). */
  lookup(line: number, column: number): { source: string; line: number } | undefined {
    const segs = this.lines[line];
    if (!segs || segs.length === 0) return undefined;
    let best: Segment | undefined;
    for (const s of segs) {
      if (s.col <= column) best = s;
      else break;
    }
    best ??= segs[0];
    return { source: this.sources[best.src], line: best.line + 1 };
  }
}

function decodeVlq(s: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of s) {
    const d = B64_INDEX.get(ch) ?? 0;
    value += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

const maps = new Map<string, SourceMap | null>();
function mapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const file = fileURLToPath(url);
    const code = readFileSync(file, 'utf8');
    const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(code);
    let raw: string | undefined;
    if (m?.[1].startsWith('data:')) raw = Buffer.from(m[1].slice(m[1].indexOf(',') + 1), 'base64').toString('utf8');
    else if (m) raw = readFileSync(resolve(dirname(file), m[1]), 'utf8');
    else if (existsSync(file + '.map')) raw = readFileSync(file + '.map', 'utf8');
    if (raw) {
      const j = JSON.parse(raw) as { sources: string[]; mappings: string; sourceRoot?: string };
      map = new SourceMap(j.sources.map((s) => resolve(dirname(file), j.sourceRoot ?? '', s)), j.mappings);
    }
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

// ---- buckets ----------------------------------------------------------------------------------

function bucketOf(source: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native (program)';
  if (fn === '(root)') return 'root';
  const s = source.replace(/\\/g, '/');
  if (s.includes('node_modules/@koa/router')) return '@koa/router';
  if (s.includes('node_modules/koa-compose')) return 'koa (compose)';
  if (s.includes('node_modules/koa/')) return 'koa';
  if (s.includes('node_modules/undici')) return 'undici';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s);
  if (nm) return `dep: ${nm[1]}`;
  const ours = /src\/core\/([^/]+)\/([^/]+)\.ts$/.exec(s);
  if (ours) return ours[1] === 'proxy' ? `ours: proxy/${ours[2]}` : `ours: ${ours[1]}`;
  if (/src\/cli\.ts$/.test(s)) return 'ours: cli';
  if (/bench\//.test(s)) return 'bench code';
  if (s.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(s);
    const mod = m?.[1] ?? 'internal';
    if (/^(http|_http|http_parser)/.test(mod) || s.includes('/http')) return 'node: http';
    if (s.includes('/streams') || mod === 'stream' || s.includes('stream_base')) return 'node: streams';
    if (mod === 'net' || s.includes('/net')) return 'node: net';
    if (s.includes('/timers') || mod === 'timers') return 'node: timers';
    return `node: ${mod}`;
  }
  if (!s) return fn ? `native: ${fn}` : 'native';
  return 'other';
}

// ---- analysis ---------------------------------------------------------------------------------

export function analyzeProfile(file: string, root = process.cwd()): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  // Where each node's function comes from, once.
  const info = new Map<number, { key: string; name: string; where: string; bucket: string }>();
  for (const n of p.nodes) {
    const cf = n.callFrame;
    let source = cf.url;
    let line = cf.lineNumber + 1;
    if (cf.url.startsWith('file://')) {
      const m = mapFor(cf.url)?.lookup(cf.lineNumber, cf.columnNumber);
      source = m ? m.source : fileURLToPath(cf.url);
      line = m ? m.line : line;
    }
    const shown = source.startsWith('/') ? relative(root, source) : source;
    const name = cf.functionName || '(anonymous)';
    const where = shown ? `${shown}:${line}` : '';
    info.set(n.id, { key: `${name}@${where}`, name, where, bucket: bucketOf(source, cf.functionName) });
  }

  const ownOrDep = (b: string) => b.startsWith('ours') || b.startsWith('koa') || b.startsWith('@koa') || b.startsWith('undici') || b.startsWith('dep:');
  const attributed = new Map<string, number>();
  const attributedFn = new Map<string, number>();
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const bucketSelf = new Map<string, number>();
  const bucketTotal = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // timeDeltas[i] is the gap before sample i; the time a sample stands for is the next gap.
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    const id = p.samples[i];
    const me = info.get(id)!;
    self.set(me.key, (self.get(me.key) ?? 0) + dt);
    bucketSelf.set(me.bucket, (bucketSelf.get(me.bucket) ?? 0) + dt);
    if (me.bucket !== 'idle') busy += dt;
    let owner: { key: string; bucket: string } | undefined;
    for (let at: number | undefined = id, depth = 0; at !== undefined && depth < 1000; at = parent.get(at), depth++) {
      const f = info.get(at)!;
      if (ownOrDep(f.bucket)) {
        owner = f;
        break;
      }
    }
    const ownerBucket = owner?.bucket ?? me.bucket;
    attributed.set(ownerBucket, (attributed.get(ownerBucket) ?? 0) + dt);
    if (owner) attributedFn.set(owner.key, (attributedFn.get(owner.key) ?? 0) + dt);
    const seenKeys = new Set<string>();
    const seenBuckets = new Set<string>();
    for (let at: number | undefined = id, depth = 0; at !== undefined && depth < 1000; at = parent.get(at), depth++) {
      const f = info.get(at)!;
      if (!seenKeys.has(f.key)) {
        seenKeys.add(f.key);
        total.set(f.key, (total.get(f.key) ?? 0) + dt);
      }
      if (!seenBuckets.has(f.bucket)) {
        seenBuckets.add(f.bucket);
        bucketTotal.set(f.bucket, (bucketTotal.get(f.bucket) ?? 0) + dt);
      }
    }
  }
  const keyInfo = new Map([...info.values()].map((v) => [v.key, v]));
  const top = [...self.entries()]
    .filter(([k]) => keyInfo.get(k)?.bucket !== 'idle')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 30)
    .map(([k, ms]) => {
      const f = keyInfo.get(k)!;
      return { name: f.name, where: f.where, bucket: f.bucket, selfMs: ms, totalMs: total.get(k) ?? ms };
    });
  const topInclusive = [...total.entries()]
    .filter(([k]) => ownOrDep(keyInfo.get(k)?.bucket ?? ''))
    .sort((a, b) => b[1] - a[1])
    .slice(0, 40)
    .map(([k, ms]) => {
      const f = keyInfo.get(k)!;
      return { name: f.name, where: f.where, bucket: f.bucket, selfMs: self.get(k) ?? 0, totalMs: ms };
    });
  const pct = (ms: number) => (busy > 0 ? (ms / busy) * 100 : 0);
  return {
    file,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busy,
    buckets: [...bucketSelf.entries()].filter(([b]) => b !== 'idle').sort((a, b) => b[1] - a[1]).map(([bucket, ms]) => ({ bucket, selfMs: ms, pct: pct(ms) })),
    inclusive: [...bucketTotal.entries()]
      .filter(([b]) => b !== 'idle' && b !== 'root')
      .sort((a, b) => b[1] - a[1])
      .map(([bucket, ms]) => ({ bucket, totalMs: ms, pct: pct(ms) })),
    top,
    topInclusive,
    attributed: [...attributed.entries()].filter(([b]) => b !== 'idle').sort((a, b) => b[1] - a[1]).map(([owner, ms]) => ({ owner, ms, pct: pct(ms) })),
    attributedFunctions: [...attributedFn.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 40)
      .map(([k, ms]) => {
        const f = keyInfo.get(k)!;
        return { name: f.name, where: f.where, bucket: f.bucket, selfMs: ms, totalMs: total.get(k) ?? ms };
      }),
  };
}

/** `requests`: how many requests the process served while profiled, to show µs per request. */
export function formatProfile(s: ProfileSummary, topN = 25, requests = 0): string {
  const lines: string[] = [];
  const perReq = (ms: number) => (requests > 0 ? `  ${((ms * 1000) / requests).toFixed(1).padStart(6)} µs/req` : '');
  lines.push(`wall ${(s.wallMs / 1000).toFixed(1)} s, busy (not idle) ${(s.busyMs / 1000).toFixed(1)} s${requests > 0 ? `, ${requests} requests: ${((s.busyMs * 1000) / requests).toFixed(1)} µs busy per request` : ''}`);
  lines.push('', 'self time by bucket (% of busy):');
  for (const b of s.buckets.slice(0, 20)) lines.push(`  ${b.pct.toFixed(1).padStart(5)} %  ${b.selfMs.toFixed(0).padStart(7)} ms  ${b.bucket}`);
  lines.push('', 'time charged to the nearest frame of ours or of a dependency (% of busy):');
  for (const b of s.attributed.slice(0, 20)) lines.push(`  ${b.pct.toFixed(1).padStart(5)} %  ${b.ms.toFixed(0).padStart(7)} ms${perReq(b.ms)}  ${b.owner}`);
  lines.push('', `the same per function (top ${topN}):`, '  charged %  charged ms  function  (source)  [bucket]');
  for (const f of s.attributedFunctions.slice(0, topN)) {
    lines.push(`  ${((f.selfMs / (s.busyMs || 1)) * 100).toFixed(1).padStart(8)} %  ${f.selfMs.toFixed(0).padStart(9)}${perReq(f.selfMs)}  ${f.name}  (${f.where})  [${f.bucket}]`);
  }
  lines.push('', 'inclusive time by bucket (time with a frame of the bucket on the stack):');
  for (const b of s.inclusive.slice(0, 20)) lines.push(`  ${b.pct.toFixed(1).padStart(5)} %  ${b.totalMs.toFixed(0).padStart(7)} ms  ${b.bucket}`);
  lines.push('', `top ${topN} functions by self time:`, '   self %   self ms  total ms  function  (source)  [bucket]');
  const busy = s.busyMs || 1;
  for (const f of s.top.slice(0, topN)) {
    lines.push(`  ${((f.selfMs / busy) * 100).toFixed(1).padStart(6)} %  ${f.selfMs.toFixed(0).padStart(7)}  ${f.totalMs.toFixed(0).padStart(8)}  ${f.name}  (${f.where})  [${f.bucket}]`);
  }
  lines.push('', `our code and dependencies by inclusive time (top ${topN}):`, '  total %  total ms   self ms  function  (source)  [bucket]');
  for (const f of s.topInclusive.slice(0, topN)) {
    lines.push(`  ${((f.totalMs / busy) * 100).toFixed(1).padStart(6)} %  ${f.totalMs.toFixed(0).padStart(7)}  ${f.selfMs.toFixed(0).padStart(8)}  ${f.name}  (${f.where})  [${f.bucket}]`);
  }
  return lines.join('\n');
}

// Run directly (not when bundled into the runner, where `require.main === module` is the runner).
if (/profile\.[jt]s$/.test(process.argv[1] ?? '')) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/results/build/profile.js FILE.cpuprofile [ROOT] [REQUESTS SERVED]\n');
    process.exit(2);
  }
  process.stdout.write(formatProfile(analyzeProfile(file, process.argv[3] ?? process.cwd()), 40, Number(process.argv[4] ?? 0)) + '\n');
}

// ---- per-feature cost -------------------------------------------------------------------------

/** A feature on the request path, recognised by the source file (and function) of a frame. */
export interface FeatureRule {
  feature: string;
  /** Matched against the frame's source path relative to the root, `/`-separated. */
  source?: RegExp;
  /** Matched against the function name. */
  fn?: RegExp;
  /**
   * Matched against the text of the original source line: the function's own time on such
   * lines goes to the feature (JSON.parse has no frame of its own: its time is its caller's line).
   */
  line?: RegExp;
  /** Only for a frame whose nearest caller in src/ matches (a Buffer decode called by forward.ts, say). */
  within?: RegExp;
}

/**
 * Each sample charged to a feature: the nearest frame on its stack that a rule matches (from
 * the sampled frame up), so a socket write under the usage tap is usage's, and one under
 * undici's is forwarding's. Samples no rule claims go by their bucket (GC, Node's http/net).
 * Returns ms per feature and the profile's busy ms.
 */
export function featureCosts(file: string, root: string, rules: readonly FeatureRule[]): { busyMs: number; features: Map<string, number> } {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const featureOfNode = new Map<number, string | undefined>();
  const bucketOfNode = new Map<number, string>();
  /** Share of a node's self time spent on lines a `line` rule claims, and for which feature. */
  const lineShare = new Map<number, { feature: string; share: number }>();
  const lineRules = rules.filter((r) => r.line);
  const sourceLines = new Map<string, string[] | undefined>();
  const textOf = (file: string, line: number): string => {
    if (!sourceLines.has(file)) {
      try {
        sourceLines.set(file, readFileSync(file, 'utf8').split('\n'));
      } catch {
        sourceLines.set(file, undefined);
      }
    }
    return sourceLines.get(file)?.[line - 1] ?? '';
  };
  const shownOf = new Map<number, string>();
  for (const n of p.nodes) {
    const cf = n.callFrame;
    let source = cf.url;
    const map = cf.url.startsWith('file://') ? mapFor(cf.url) : null;
    if (map) source = map.lookup(cf.lineNumber, cf.columnNumber)?.source ?? source;
    shownOf.set(n.id, (source.startsWith('/') ? relative(root, source) : source.startsWith('file://') ? relative(root, fileURLToPath(source)) : source).replace(/\\/g, '/'));
  }
  /** The nearest caller (itself excluded) whose source is in src/. */
  const ourCaller = (id: number): string => {
    for (let at = parent.get(id), depth = 0; at !== undefined && depth < 1000; at = parent.get(at), depth++) {
      const s = shownOf.get(at)!;
      if (s.startsWith('src/')) return s;
    }
    return '';
  };
  for (const n of p.nodes) {
    const cf = n.callFrame;
    let source = cf.url;
    const map = cf.url.startsWith('file://') ? mapFor(cf.url) : null;
    if (cf.url.startsWith('file://')) {
      const m = map?.lookup(cf.lineNumber, cf.columnNumber);
      source = m ? m.source : fileURLToPath(cf.url);
    }
    const shown = (source.startsWith('/') ? relative(root, source) : source).replace(/\\/g, '/');
    const matches = (r: FeatureRule) => (r.source || r.fn) && (!r.source || r.source.test(shown)) && (!r.fn || r.fn.test(cf.functionName)) && (!r.within || r.within.test(ourCaller(n.id)));
    featureOfNode.set(n.id, rules.find((r) => !r.line && matches(r))?.feature);
    bucketOfNode.set(n.id, bucketOf(source, cf.functionName));
    const lr = lineRules.filter((r) => (!r.source || r.source.test(shown)) && (!r.fn || r.fn.test(cf.functionName)));
    if (lr.length && map && n.positionTicks?.length) {
      let all = 0;
      const claimed = new Map<string, number>();
      for (const t of n.positionTicks) {
        all += t.ticks;
        const m = map.lookup(t.line - 1, 0);
        const text = m ? textOf(m.source, m.line) : '';
        const r = lr.find((x) => x.line!.test(text));
        if (r) claimed.set(r.feature, (claimed.get(r.feature) ?? 0) + t.ticks);
      }
      const best = [...claimed].sort((a, b) => b[1] - a[1])[0];
      if (best && all > 0) lineShare.set(n.id, { feature: best[0], share: best[1] / all });
    }
  }
  const features = new Map<string, number>();
  const add = (f: string, ms: number) => features.set(f, (features.get(f) ?? 0) + ms);
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    let dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    const id = p.samples[i];
    const bucket = bucketOfNode.get(id)!;
    if (bucket === 'idle') continue;
    busy += dt;
    const ls = lineShare.get(id);
    if (ls) {
      add(ls.feature, dt * ls.share);
      dt *= 1 - ls.share;
    }
    let feature: string | undefined;
    for (let at: number | undefined = id, depth = 0; at !== undefined && depth < 1000 && !feature; at = parent.get(at), depth++) feature = featureOfNode.get(at);
    add(feature ?? (bucket === 'GC' ? 'garbage collection' : bucket.startsWith('node:') ? "Node's http server, sockets, streams" : 'V8 / native, other'), dt);
  }
  return { busyMs: busy, features };
}
