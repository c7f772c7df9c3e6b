import * as assert from 'node:assert/strict';
import {
  classifyFailure,
  DEFAULT_COOLDOWN_MS,
  EXHAUSTED_KEYWORDS,
  EXHAUSTED_RE,
  looksExhausted,
  MAX_COOLDOWN_MS,
  MIN_COOLDOWN_MS,
  parseRetryAfter,
} from '../../src/core/pool/policy';
import type { FailureAction, FailureInput } from '../../src/core/pool/types';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

interface Row {
  name: string;
  input: FailureInput;
  action: FailureAction;
  retry: boolean;
  counts: boolean;
  cooldownMs?: number;
  reason?: RegExp;
}

const openaiError = (message: string, type: string, code: string | null = null) =>
  JSON.stringify({ error: { message, type, param: null, code } });
const anthropicError = (type: string, message: string) => JSON.stringify({ type: 'error', error: { type, message } });

const rows: Row[] = [
  // network errors → next key, counted
  ...(
    [
      ['ECONNRESET', /connection reset/],
      ['ECONNREFUSED', /connection refused/],
      ['EPIPE', /connection broken/],
      ['ETIMEDOUT', /timeout/],
      ['ENOTFOUND', /host not found/],
      ['EAI_AGAIN', /DNS/],
      ['UND_ERR_SOCKET', /socket/],
      ['UND_ERR_CONNECT_TIMEOUT', /connect timeout/],
      ['UND_ERR_HEADERS_TIMEOUT', /^timeout before headers$/],
      ['UND_ERR_BODY_TIMEOUT', /timeout in body/],
      ['UND_ERR_CLOSED', /connection closed/],
      ['TimeoutError', /timeout/],
      ['ESOMETHINGNEW', /^network error \(ESOMETHINGNEW\)$/],
    ] as const
  ).map(([code, reason]): Row => ({
    name: `network ${code}`,
    input: { errorCode: code },
    action: 'retry-next-key',
    retry: true,
    counts: true,
    reason,
  })),
  { name: 'no status, no code', input: {}, action: 'retry-next-key', retry: true, counts: true, reason: /^network error$/ },
  {
    name: 'unknown code with odd characters is sanitised',
    input: { errorCode: 'E<b>sk-secretsecretsecret</b>' },
    action: 'retry-next-key',
    retry: true,
    counts: true,
    reason: /^network error \(Ebsksecretsecretsecretb\)$/,
  },
  { name: 'client abort', input: { errorCode: 'UND_ERR_ABORTED' }, action: 'pass-to-client', retry: false, counts: false },
  { name: 'AbortError', input: { errorCode: 'AbortError' }, action: 'pass-to-client', retry: false, counts: false },

  // 5xx and 408 → next key, counted
  ...[500, 502, 503, 504, 501, 520, 529, 408].map(
    (status): Row => ({
      name: `HTTP ${status}`,
      input: { status, body: 'upstream went away' },
      action: 'retry-next-key',
      retry: true,
      counts: true,
      reason: new RegExp(`^HTTP ${status}$`),
    }),
  ),

  // 429 → cool-down
  { name: '429 no Retry-After', input: { status: 429, now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: 30_000, reason: /^rate limited, cooling 30 s$/ },
  { name: '429 Retry-After 7', input: { status: 429, retryAfter: '7', now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: 7_000, reason: /cooling 7 s/ },
  { name: '429 Retry-After 0 → min 1 s', input: { status: 429, retryAfter: '0', now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: MIN_COOLDOWN_MS },
  { name: '429 Retry-After huge → capped', input: { status: 429, retryAfter: '999999999', now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: MAX_COOLDOWN_MS, reason: /cooling 10 min/ },
  { name: '429 Retry-After garbage → default', input: { status: 429, retryAfter: 'soon-ish', now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: DEFAULT_COOLDOWN_MS },
  { name: '429 Retry-After negative → default', input: { status: 429, retryAfter: '-5', now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: DEFAULT_COOLDOWN_MS },
  { name: '429 Retry-After null', input: { status: 429, retryAfter: null, now: NOW }, action: 'cool-down', retry: true, counts: false, cooldownMs: DEFAULT_COOLDOWN_MS },
  {
    name: '429 Retry-After HTTP date 45 s ahead',
    input: { status: 429, retryAfter: new Date(NOW + 45_000).toUTCString(), now: NOW },
    action: 'cool-down',
    retry: true,
    counts: false,
    cooldownMs: 45_000,
  },
  {
    name: '429 Retry-After HTTP date in the past → min',
    input: { status: 429, retryAfter: new Date(NOW - 60_000).toUTCString(), now: NOW },
    action: 'cool-down',
    retry: true,
    counts: false,
    cooldownMs: MIN_COOLDOWN_MS,
  },
  {
    name: '429 Retry-After date a day ahead → capped',
    input: { status: 429, retryAfter: new Date(NOW + 86_400_000).toUTCString(), now: NOW },
    action: 'cool-down',
    retry: true,
    counts: false,
    cooldownMs: MAX_COOLDOWN_MS,
  },
  {
    name: '429 OpenAI rate limit wording stays a cool-down',
    input: {
      status: 429,
      now: NOW,
      body: openaiError('Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000.', 'tokens', 'rate_limit_exceeded'),
    },
    action: 'cool-down',
    retry: true,
    counts: false,
  },
  {
    name: '429 "quota exceeded ... per minute" is a rate window, not an empty wallet',
    input: { status: 429, now: NOW, body: 'Quota exceeded for quota metric "Generate Content API requests per minute"' },
    action: 'cool-down',
    retry: true,
    counts: false,
  },
  { name: '429 请求过于频繁', input: { status: 429, now: NOW, body: '{"error":{"message":"请求过于频繁，请稍后再试"}}' }, action: 'cool-down', retry: true, counts: false },

  // 401/403 → disable
  { name: '401 invalid key', input: { status: 401, body: openaiError('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key') }, action: 'disable-key', retry: true, counts: false, reason: /HTTP 401/ },
  { name: '403 revoked', input: { status: 403, body: '{"error":{"message":"该令牌已被禁用"}}' }, action: 'disable-key', retry: true, counts: false, reason: /HTTP 403/ },
  { name: '401 empty body', input: { status: 401 }, action: 'disable-key', retry: true, counts: false },

  // exhausted
  { name: '402 any body', input: { status: 402, body: 'whatever' }, action: 'exhausted', retry: true, counts: false, reason: /balance used up/ },
  { name: '402 no body', input: { status: 402 }, action: 'exhausted', retry: true, counts: false },
  {
    name: '429 insufficient_quota (OpenAI) → exhausted, not cooling',
    input: {
      status: 429,
      retryAfter: '20',
      now: NOW,
      body: openaiError('You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'),
    },
    action: 'exhausted',
    retry: true,
    counts: false,
  },
  { name: '401 余额不足', input: { status: 401, body: '{"error":{"message":"账户余额不足，请充值"}}' }, action: 'exhausted', retry: true, counts: false },
  { name: '403 额度已用尽 (new-api)', input: { status: 403, body: '{"error":{"message":"该令牌额度已用尽","type":"new_api_error"}}' }, action: 'exhausted', retry: true, counts: false },
  { name: '403 user quota is not enough', input: { status: 403, body: '{"error":{"message":"user quota is not enough"}}' }, action: 'exhausted', retry: true, counts: false },
  { name: '400 Anthropic credit balance too low', input: { status: 400, body: anthropicError('invalid_request_error', 'Your credit balance is too low to access the Anthropic API.') }, action: 'exhausted', retry: true, counts: false },
  { name: '400 insufficient balance', input: { status: 400, body: '{"error":{"message":"Insufficient Balance"}}' }, action: 'exhausted', retry: true, counts: false },
  { name: '429 quota exceeded', input: { status: 429, now: NOW, body: 'Quota exceeded' }, action: 'exhausted', retry: true, counts: false },
  { name: '403 额度不足', input: { status: 403, body: '额度不足' }, action: 'exhausted', retry: true, counts: false },
  { name: '403 欠费', input: { status: 403, body: '账户已欠费' }, action: 'exhausted', retry: true, counts: false },
  { name: '403 已用完', input: { status: 403, body: '今日额度已用完' }, action: 'exhausted', retry: true, counts: false },
  { name: '500 with insufficient_quota body', input: { status: 500, body: 'insufficient_quota' }, action: 'exhausted', retry: true, counts: false },

  // client errors → pass through
  ...[400, 404, 405, 409, 413, 415, 422].map(
    (status): Row => ({
      name: `HTTP ${status} client error`,
      input: { status, body: openaiError('The model `gpt-9` does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found') },
      action: 'pass-to-client',
      retry: false,
      counts: false,
      reason: new RegExp(`^HTTP ${status}$`),
    }),
  ),
  { name: '400 invalid model', input: { status: 400, body: '{"error":{"message":"invalid model"}}' }, action: 'pass-to-client', retry: false, counts: false },
  { name: '400 context too long', input: { status: 400, body: "This model's maximum context length is 8192 tokens" }, action: 'pass-to-client', retry: false, counts: false },
];

describe('classifyFailure', () => {
  for (const row of rows) {
    it(row.name, () => {
      const d = classifyFailure(row.input);
      assert.equal(d.action, row.action);
      assert.equal(d.retry, row.retry, 'retry');
      assert.equal(d.countsAsFailure, row.counts, 'countsAsFailure');
      if (row.cooldownMs !== undefined) assert.equal(d.cooldownMs, row.cooldownMs);
      if (row.action !== 'cool-down') assert.equal(d.cooldownMs, undefined);
      if (row.reason) assert.match(d.reason, row.reason);
      assert.ok(d.reason.length > 0 && d.reason.length <= 80, `reason short: ${d.reason}`);
    });
  }

  it('never echoes the body or a key in the reason', () => {
    const secret = 'sk-abcdefghijklmnopqrstuvwxyz0123456789';
    const bodies = [
      `{"error":{"message":"Incorrect API key provided: ${secret}"}}`,
      `quota exceeded for ${secret}`,
      `invalid model, key ${secret}`,
    ];
    for (const status of [400, 401, 402, 403, 404, 429, 500, 503]) {
      for (const body of bodies) {
        const d = classifyFailure({ status, body, retryAfter: secret, now: NOW });
        assert.ok(!d.reason.includes(secret), `HTTP ${status}: ${d.reason}`);
        assert.ok(!d.reason.includes('Incorrect'), `HTTP ${status}: ${d.reason}`);
      }
    }
  });

  it('honours custom default and cap', () => {
    assert.equal(classifyFailure({ status: 429 }, { defaultCooldownMs: 5_000 }).cooldownMs, 5_000);
    assert.equal(classifyFailure({ status: 429, retryAfter: '120' }, { maxCooldownMs: 60_000 }).cooldownMs, 60_000);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('30', NOW), 30_000);
    assert.equal(parseRetryAfter(' 2 ', NOW), 2_000);
    assert.equal(parseRetryAfter('1.5', NOW), 1_500);
    assert.equal(parseRetryAfter('0', NOW), 0);
  });
  it('reads an HTTP date relative to now', () => {
    assert.equal(parseRetryAfter('Wed, 15 Jan 2025 12:01:00 GMT', NOW), 60_000);
    assert.equal(parseRetryAfter('Wed, 15 Jan 2025 11:00:00 GMT', NOW), 0);
  });
  it('gives undefined for absent or garbage values', () => {
    for (const v of [undefined, null, '', '   ', 'abc', '-3', '1e3', '12s', 'NaN', 'Infinity']) {
      assert.equal(parseRetryAfter(v, NOW), undefined, String(v));
    }
  });
});

describe('exhausted wording', () => {
  it('EXHAUSTED_RE matches every listed keyword, with _ or space', () => {
    for (const k of EXHAUSTED_KEYWORDS) {
      assert.ok(EXHAUSTED_RE.test(k), k);
      assert.ok(EXHAUSTED_RE.test(`xx ${k.toUpperCase()} yy`), k);
    }
    assert.ok(EXHAUSTED_RE.test('insufficient quota'));
    assert.ok(EXHAUSTED_RE.test('QUOTA_EXCEEDED'));
  });
  it('does not fire on ordinary client errors', () => {
    for (const body of ['invalid model', 'model not found', 'messages: field required', 'Unauthorized', '']) {
      assert.equal(looksExhausted(body), false, body);
    }
  });
});
