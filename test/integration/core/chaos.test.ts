// Seeded chaos on loopback (issue 10): the fake gateway misbehaves on 30 % of the attempts made
// with two of three keys (502/503 with Retry-After, 429, HTML 500, connection reset, hang then
// reset, and a few streams cut mid-way), while 1,000 mixed requests run 16 at a time. The fault
// of an attempt is a pure function of (seed, request, key), so a seed always plans the same
// chaos whatever order the requests happen to interleave in.
import * as assert from 'node:assert/strict';
import {
  createFakeDaiDai,
  DEMO_USABLE_KEYS,
  embeddingVector,
  replyText,
  streamedReplyText,
  type FakeDaiDai,
  type Fault,
  type FaultRequest,
} from '../../fake/fakeDaiDai';
import { fnv1a, mulberry32 } from '../../../src/core/demo/fixtures';
import { requestLogLine } from '../../../src/core/present';
import { maskKey } from '../../../src/core/util/mask';
import { startApp } from './helpers/app';
import { ContractPoolDouble } from './helpers/contractPool';
import { harnessPerTest } from './helpers/harness';
import { capturingLogger } from './helpers/logger';
import { anthropicStreamText, httpRequest, openaiStreamText, type HttpResult } from './helpers/http';

const SEED = 20261201;
const REQUESTS = 1000;
const CONCURRENCY = 16;
const MAX_RETRIES = 3;
const CHUNKS = 4;

/**
 * The pools run on a clock 25 times faster than the wall's, so that a Retry-After of 1-2 s rests
 * a key for 40-80 ms: the flaky keys keep getting attempts and the run stays within seconds.
 */
function fastClock(): () => number {
  const t0 = Date.now();
  return () => t0 + (Date.now() - t0) * 25;
}

type Kind = 'chat' | 'chat-stream' | 'messages' | 'messages-stream' | 'embeddings';
const KINDS: readonly Kind[] = ['chat', 'chat-stream', 'messages', 'messages-stream', 'embeddings'];

/** The fault (or none) for request `id` on key number `keyIndex`; pure. */
export function plannedFault(seed: number, id: number, keyIndex: number, stream: boolean): Fault | undefined {
  if (keyIndex === 2) return undefined; // the third key is clean
  const rnd = mulberry32(fnv1a(`${seed}:${id}:${keyIndex}`));
  if (rnd() >= 0.3) return undefined;
  const retryAfter = rnd() < 0.5 ? '1' : '2';
  const r = rnd();
  if (stream && r < 0.2) return { cutAfterChunks: 2 };
  if (r < 0.25) return { status: rnd() < 0.5 ? 502 : 503, retryAfter, html: rnd() < 0.3 };
  if (r < 0.45) return { status: 429, retryAfter };
  if (r < 0.6) return { status: 500, html: true };
  if (r < 0.8) return { resetConnection: true };
  return { hangMs: 2 + Math.floor(rnd() * 10) };
}

interface Outcome {
  id: number;
  kind: Kind;
  res?: HttpResult;
  error?: string;
}

function idOf(path: string): number {
  const m = /[?&]chaos=(\d+)/.exec(path);
  return m ? Number(m[1]) : -1;
}

async function runChaos(port: number, fake: FakeDaiDai, keys: readonly string[]): Promise<{ outcomes: Outcome[]; cuts: Set<number> }> {
  const cuts = new Set<number>();
  keys.forEach((key, keyIndex) => {
    fake.setFault(key, (req: FaultRequest) => {
      const id = idOf(req.path);
      const fault = plannedFault(SEED, id, keyIndex, req.stream);
      if (fault?.cutAfterChunks !== undefined) cuts.add(id);
      return fault;
    });
  });
  const outcomes: Outcome[] = new Array(REQUESTS);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const id = next++;
      if (id >= REQUESTS) return;
      const kind = KINDS[id % KINDS.length];
      const text = `chaos ${id}`;
      try {
        outcomes[id] = { id, kind, res: await send(port, kind, id, text) };
      } catch (err) {
        outcomes[id] = { id, kind, error: (err as Error).message };
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { outcomes, cuts };
}

function send(port: number, kind: Kind, id: number, text: string): Promise<HttpResult> {
  const q = `?chaos=${id}`;
  const chunks = { 'x-demo-chunks': String(CHUNKS) };
  switch (kind) {
    case 'chat':
    case 'chat-stream':
      return httpRequest(port, `/v1/chat/completions${q}`, {
        headers: { authorization: 'Bearer sk-client', ...chunks },
        body: { model: 'gpt-4o', stream: kind === 'chat-stream', messages: [{ role: 'user', content: text }] },
      });
    case 'messages':
    case 'messages-stream':
      return httpRequest(port, `/v1/messages${q}`, {
        headers: { 'x-api-key': 'sk-client', 'anthropic-version': '2023-06-01', ...chunks },
        body: { model: 'claude-sonnet-4-5-20250929', max_tokens: 64, stream: kind === 'messages-stream', messages: [{ role: 'user', content: text }] },
      });
    case 'embeddings':
      return httpRequest(port, `/v1/embeddings${q}`, { headers: { authorization: 'Bearer sk-client' }, body: { model: 'text-embedding-3-small', input: text } });
  }
}

/** Whether the answer is exactly what the fake gives for this request with no fault. */
function exact(o: Outcome): boolean {
  const res = o.res!;
  if (res.status !== 200) return false;
  const text = `chaos ${o.id}`;
  switch (o.kind) {
    case 'chat':
      return res.json().choices[0].message.content === replyText(text);
    case 'chat-stream':
      return openaiStreamText(res.text) === streamedReplyText(text, CHUNKS) && res.text.endsWith('data: [DONE]\n\n');
    case 'messages':
      return res.json().content[0].text === replyText(text);
    case 'messages-stream':
      return anthropicStreamText(res.text) === streamedReplyText(text, CHUNKS) && res.text.includes('event: message_stop');
    case 'embeddings':
      return JSON.stringify(res.json().data[0].embedding) === JSON.stringify(embeddingVector(text, 16));
  }
}

/** A cut stream must end in an error event the client can show, never in a fake end. */
function signalledCut(o: Outcome): boolean {
  const res = o.res!;
  if (res.status !== 200) return false;
  if (o.kind === 'chat-stream') return res.text.includes('"code":"stream_interrupted"') && !res.text.includes('[DONE]');
  if (o.kind === 'messages-stream') return res.text.includes('event: error') && !res.text.includes('event: message_stop');
  return false;
}

function judge(outcomes: Outcome[], cuts: Set<number>, fake: FakeDaiDai, flakyKeys: readonly string[]): void {
  const attempts = new Map<number, number>();
  for (const r of fake.requests) {
    const id = idOf(r.path);
    attempts.set(id, (attempts.get(id) ?? 0) + 1);
  }
  const problems: string[] = [];
  /** Answered, not cut, but not the exact reply: what the 99.9 % allows a few of. */
  const wrong: string[] = [];
  let clean = 0;
  let cleanOk = 0;
  let cutSeen = 0;
  for (const o of outcomes) {
    if (!o.res) {
      clean++;
      wrong.push(`#${o.id} ${o.kind}: no answer (${o.error})`);
      continue;
    }
    if (/<html|<body|<center>/i.test(o.res.text)) problems.push(`#${o.id}: HTML reached the client`);
    const n = attempts.get(o.id) ?? 0;
    if (n > 1 + MAX_RETRIES) problems.push(`#${o.id}: ${n} attempts`);
    // A request is "cut" only if its stream was answered by the key whose fault cut it.
    const wasCut = cuts.has(o.id) && o.res.status === 200 && !exact(o);
    if (wasCut) {
      cutSeen++;
      if (!signalledCut(o)) problems.push(`#${o.id} ${o.kind}: cut mid-stream without an error event: ${o.res.text.slice(-200)}`);
      continue;
    }
    clean++;
    if (exact(o)) cleanOk++;
    else wrong.push(`#${o.id} ${o.kind}: ${o.res.status} ${o.res.text.slice(0, 200)}`);
  }
  // The faults fall on 30 % of the attempts made with the two flaky keys (the 429s and Retry-Afters
  // rest those keys, so they get fewer attempts than the clean one).
  const flaky = fake.requests.filter((r) => r.key !== undefined && flakyKeys.includes(r.key));
  const faulted = flaky.filter((r) => r.status !== 200).length;
  assert.ok(flaky.length >= 50, `only ${flaky.length} attempts on the flaky keys`);
  assert.ok(faulted / flaky.length > 0.15 && faulted / flaky.length < 0.45, `${faulted} of ${flaky.length} attempts on the flaky keys faulted`);
  assert.ok(cutSeen > 0, 'no stream was cut: the plan lost its mid-stream faults');
  // At least 99.9 % of the requests no cut reached succeed with the exact reply (the issue's
  // figure: one in a thousand may fail); everything else listed is never allowed.
  assert.ok(cleanOk / clean >= 0.999, `${cleanOk}/${clean} requests without a mid-stream cut succeeded exactly: ${wrong.slice(0, 5).join('; ')}`);
  assert.deepEqual(problems, []);
  if (process.env.CHAOS_STATS) console.log(`  chaos: ${flaky.length} flaky attempts, ${faulted} faulted, ${cutSeen} cut, ${clean} clean (${cleanOk} exact), ${fake.requests.length} attempts`);
}

/**
 * The log during chaos stays readable: one line per request, saying which key and how many
 * attempts; what the pool and the proxy add at the levels a user sees (info and up) is a few lines,
 * not a line per fault; no key in clear, no HTML, no stack trace, no line longer than a screen.
 */
function judgeLog(lines: readonly string[], requestLines: readonly string[], keys: readonly string[], restingFaults: number): void {
  assert.equal(requestLines.length, REQUESTS, 'one request line per request');
  for (const l of requestLines) assert.match(l, /^(POST|GET) \/\S+ .*→ \d{3}.* key=\S+ attempts=\d+ /, l);
  const shown = lines.filter((l) => !l.startsWith('trace ') && !l.startsWith('debug '));
  const all = [...shown, ...requestLines];
  for (const l of all) {
    for (const k of keys) assert.ok(!l.includes(k), `a key in clear in the log: ${l.slice(0, 120)}`);
    assert.ok(!/<html|<body|<center>/i.test(l), `HTML in the log: ${l.slice(0, 120)}`);
    assert.ok(!/\n\s+at /.test(l), `a stack trace in the log: ${l.slice(0, 200)}`);
    assert.ok(l.length <= 600, `a ${l.length}-character log line: ${l.slice(0, 120)}…`);
  }
  // Over a hundred faults happened. Besides the request lines, the pool says when a rate-limited
  // key starts a cool-down (one line, saying for how long; its end is not repeated at info) and
  // nothing per retried fault: a few dozen lines for 1,000 requests, not hundreds.
  assert.ok(shown.length <= 2 + restingFaults, `${shown.length} lines besides the request lines for ${restingFaults} faults that rest a key (a storm): ${shown.slice(0, 5).join(' | ')}`);
  assert.ok(shown.length <= REQUESTS * 0.05, `${shown.length} lines besides the request lines`);
  assert.ok(!shown.some((l) => l.includes('cooling → healthy')), 'the end of every cool-down was logged at info');
  const warnings = shown.filter((l) => l.startsWith('warn ') || l.startsWith('error '));
  assert.ok(warnings.length <= 10, `${warnings.length} warnings: ${warnings.slice(0, 5).join(' | ')}`);
}

describe('chaos: seeded faults on two of three keys, 1,000 mixed requests at concurrency 16 (loopback)', function () {
  this.timeout(60_000);
  const { start, defer } = harnessPerTest();
  const keys = DEMO_USABLE_KEYS.slice(0, 3);

  it('the plan is a pure function of the seed', () => {
    const plan = (seed: number) => Array.from({ length: 200 }, (_, id) => JSON.stringify([0, 1, 2].map((k) => plannedFault(seed, id, k, id % 2 === 0) ?? null)));
    assert.deepEqual(plan(SEED), plan(SEED));
    assert.notDeepEqual(plan(SEED), plan(SEED + 1));
    const faulted = plan(SEED).filter((p) => p !== '[null,null,null]').length;
    assert.ok(faulted > 60 && faulted < 140, `${faulted} of 200 requests meet a fault on key 0 or 1 (about 51 % expected)`);
  });

  it('through ProxyServer and the KeyPool: exact replies, signalled cuts, bounded attempts, no HTML, a readable log', async () => {
    // A high threshold keeps the two flaky keys in rotation for the whole run; with the default
    // they would soon be taken out (nothing re-checks them here) and only the clean key would be tested.
    const logger = capturingLogger();
    const h = await start({
      keys,
      proxy: { maxRetries: MAX_RETRIES, cooldownWaitMs: 50 },
      pool: { failureThreshold: 1_000_000, clock: fastClock() },
      fake: { streamChunks: CHUNKS },
      logger,
    });
    // The request lines the user reads (the app service writes one per request from these records).
    const requestLines: string[] = [];
    defer(() => sub.dispose());
    const sub = h.proxy.onDidRequest((r) => requestLines.push(requestLogLine(r)));
    const { outcomes, cuts } = await runChaos(h.port, h.fake, keys);
    judge(outcomes, cuts, h.fake, keys.slice(0, 2));
    assert.ok(h.keyState(keys[2]).stats.successes > 0);
    // The faults that rest a key (429, and 502/503 with Retry-After): each may be worth one line.
    const restingFaults = h.fake.requests.filter((r) => r.status === 429 || r.status === 502 || r.status === 503).length;
    judgeLog(logger.lines, requestLines, keys, restingFaults);
  });

  it('through createApp and a pool of the contract\'s shape (tiers, cool-down waits)', async () => {
    const fake = createFakeDaiDai({ keys: keys.map((key, i) => ({ key, name: `chaos ${i}`, balance: 1000, used: 0 })), costPerRequest: 0, streamChunks: CHUNKS });
    await fake.start(0, '127.0.0.1');
    defer(() => fake.stop());
    const pool = new ContractPoolDouble(keys.map((key) => ({ key })), fastClock(), 1_000_000);
    const app = await startApp({ pool }, fake.gatewayUrl, { maxRetries: MAX_RETRIES, cooldownWaitMs: 50 });
    defer(() => app.close());
    const { outcomes, cuts } = await runChaos(app.port, fake, keys);
    judge(outcomes, cuts, fake, keys.slice(0, 2));
    const tiers = new Set(app.records.map((r) => r.tier));
    assert.ok(tiers.has('usable'));
    assert.ok(app.records.every((r) => r.keyId === undefined || keys.some((k) => maskKey(k) === r.keyId)));
  });
});
