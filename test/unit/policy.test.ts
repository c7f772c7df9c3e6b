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
  REFUSAL_WORDING,
  refusalKind,
  SATURATED_COOLDOWN_MS,
} from '../../src/core/pool/policy';
import { decisionCountsAsFailure, decisionRetries, type Blame, type FailureAction, type FailureInput } from '../../src/core/pool/types';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

interface Row {
  name: string;
  input: FailureInput;
  action: FailureAction;
  retry: boolean;
  counts: boolean;
  cooldownMs?: number;
  reason?: RegExp;
  blame?: Blame;
  exclusion?: 'temporary' | 'until-refresh';
}

const openaiError = (message: string, type: string, code: string | null = null) =>
  JSON.stringify({ error: { message, type, param: null, code } });
/** A new-api style gateway refusal, with the request id such gateways append. */
const gatewayError = (message: string, code: string | null = null) =>
  JSON.stringify({ error: { message: `${message} (request id: 20250101120000abcdef)`, type: 'new_api_error', param: '', code } });
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
  ...[400, 405, 409, 413, 415, 422].map(
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
  // Issue 9: refusals that blame the model, the prompt, the group, the account, or the key.
  ...([403, 404, 503] as const).flatMap((status): Row[] => [
    ...[
      ['zh 无权使用模型', gatewayError('该令牌无权使用模型：gpt-4o-mini')],
      ['zh 无权访问模型', gatewayError('该令牌无权访问模型 gpt-4o')],
      ['en OpenAI model does not exist', openaiError('The model `gpt-9` does not exist or you do not have access to it.', 'invalid_request_error', 'model_not_found')],
      ['en does not have access to model', gatewayError('This key does not have access to model claude-opus-4-1')],
      ['en not allowed to use model', gatewayError('token is not allowed to use model gpt-4o')],
      ['en model not supported', gatewayError('model [官Max]claude-sonnet-4-5-20250929 is not supported')],
      ['en code model_not_found alone', gatewayError('request refused', 'model_not_found')],
      ['Anthropic not_found_error for the model', anthropicError('not_found_error', 'model: claude-3-opus-20240229')],
    ].map(([what, body]): Row => ({
      name: `${status} ${what} → exclude the pair until the next list`,
      input: { status, body },
      action: 'exclude-model',
      retry: true,
      counts: false,
      blame: 'model',
      exclusion: 'until-refresh',
    })),
    ...[
      ['zh 无可用渠道', gatewayError('当前分组 claude-max 下对于模型 gpt-4o-mini 无可用渠道', 'model_not_found')],
      ['en no available channel', gatewayError('No available channel for model gpt-4o-mini under group claude-max', 'model_not_found')],
    ].map(([what, body]): Row => ({
      name: `${status} ${what} → exclude the pair for a while`,
      input: { status, body },
      action: 'exclude-model',
      retry: true,
      counts: false,
      blame: 'model',
      exclusion: 'temporary',
      reason: /no channel/,
    })),
  ]),
  { name: '404 Anthropic not_found_error about something else stays the client\'s', input: { status: 404, body: anthropicError('not_found_error', 'Not Found') }, action: 'pass-to-client', retry: false, counts: false, blame: 'client' },
  { name: '400 with model-refusal words stays the client\'s', input: { status: 400, body: gatewayError('该令牌无权使用模型：gpt-4o-mini') }, action: 'pass-to-client', retry: false, counts: false, blame: 'client' },
  { name: '500 with model-refusal words stays a gateway failure', input: { status: 500, body: gatewayError('当前分组 a 下对于模型 b 无可用渠道') }, action: 'retry-next-key', retry: true, counts: true, blame: 'gateway' },

  ...([400, 403] as const).flatMap((status): Row[] =>
    [
      ['new-api sensitive_words_detected', gatewayError('sensitive words detected', 'sensitive_words_detected')],
      ['zh 敏感 (sensitive words detected)', gatewayError('您的请求包含敏感内容… (sensitive words detected)', 'sensitive_words_detected')],
      ['zh 违规', gatewayError('输入内容违规，请修改后重试')],
      ['zh 审核', gatewayError('内容审核未通过')],
      ['Azure content_filter', openaiError("The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", 'invalid_request_error', 'content_filter')],
      ['OpenAI content_policy_violation', openaiError('Your request was rejected as a result of our safety system.', 'invalid_request_error', 'content_policy_violation')],
      ['DashScope data_inspection_failed', JSON.stringify({ code: 'DataInspectionFailed', message: 'Input data may contain inappropriate content.', error: { code: 'data_inspection_failed' } })],
      ['Anthropic content filtering', anthropicError('invalid_request_error', 'Output blocked by content filtering policy')],
      ['en flagged by moderation', openaiError('Your request was flagged by our moderation system.', 'invalid_request_error')],
    ].map(([what, body]): Row => ({
      name: `${status} ${what} → the prompt's: back to the client, no retry`,
      input: { status, body },
      action: 'pass-to-client',
      retry: false,
      counts: false,
      blame: 'prompt',
      reason: /moderation/,
    })),
  ),
  { name: '500 with moderation words stays a gateway failure', input: { status: 500, body: gatewayError('审核服务不可用') }, action: 'retry-next-key', retry: true, counts: true, blame: 'gateway' },

  { name: '429 zh group saturated → short cool-down, the gateway\'s', input: { status: 429, now: NOW, body: gatewayError('当前分组上游负载已饱和，请稍后再试') }, action: 'cool-down', retry: true, counts: false, blame: 'gateway', cooldownMs: SATURATED_COOLDOWN_MS, reason: /saturated/ },
  { name: '429 en group saturated with Retry-After 2', input: { status: 429, now: NOW, retryAfter: '2', body: gatewayError('the upstream load is saturated, please try again later') }, action: 'cool-down', retry: true, counts: false, blame: 'gateway', cooldownMs: 2_000 },
  { name: '429 plain rate limit is the key\'s', input: { status: 429, now: NOW }, action: 'cool-down', retry: true, counts: false, blame: 'key', cooldownMs: DEFAULT_COOLDOWN_MS },

  ...([401, 403] as const).map((status): Row => ({
    name: `${status} zh key quota used up (pre_consume_token_quota_failed) → exhausted`,
    input: { status, body: gatewayError('该令牌额度已用尽', 'pre_consume_token_quota_failed') },
    action: 'exhausted',
    retry: true,
    counts: false,
    blame: 'key',
  })),
  { name: '403 en key quota code only → exhausted', input: { status: 403, body: gatewayError('token quota refused', 'pre_consume_token_quota_failed') }, action: 'exhausted', retry: true, counts: false, blame: 'key' },

  ...([402, 403, 429] as const).flatMap((status): Row[] => [
    {
      name: `${status} zh 用户额度不足 → the account's: every key would hear the same, so back to the client`,
      input: { status, now: NOW, body: gatewayError('用户额度不足, 剩余额度: ¥0.00', 'insufficient_user_quota') },
      action: 'pass-to-client',
      retry: false,
      counts: false,
      blame: 'account',
      reason: /account quota/,
    },
    {
      name: `${status} en insufficient_user_quota → the account's`,
      input: { status, now: NOW, body: gatewayError('insufficient user quota', 'insufficient_user_quota') },
      action: 'pass-to-client',
      retry: false,
      counts: false,
      blame: 'account',
    },
  ]),

  ...[
    [401, '无效的令牌'],
    [401, '该令牌已过期'],
    [401, '该令牌状态不可用'],
    [400, '无效的令牌'],
    [400, 'Incorrect API key provided: sk-ab***yz'],
    [400, 'API key expired. Please renew the API key.'],
  ].map(([status, message]): Row => ({
    name: `${status} key invalid: ${message} → disable the key`,
    input: { status: status as number, body: gatewayError(message as string) },
    action: 'disable-key',
    retry: true,
    counts: false,
    blame: 'key',
  })),
  { name: 'network errors blame the gateway', input: { errorCode: 'ECONNREFUSED' }, action: 'retry-next-key', retry: true, counts: true, blame: 'gateway' },
  { name: 'client abort blames the client', input: { errorCode: 'AbortError' }, action: 'pass-to-client', retry: false, counts: false, blame: 'client' },
  { name: '502 blames the gateway', input: { status: 502 }, action: 'retry-next-key', retry: true, counts: true, blame: 'gateway' },
  { name: '401 blames the key', input: { status: 401 }, action: 'disable-key', retry: true, counts: false, blame: 'key' },
  { name: '402 blames the key', input: { status: 402 }, action: 'exhausted', retry: true, counts: false, blame: 'key' },
  { name: '422 blames the client', input: { status: 422 }, action: 'pass-to-client', retry: false, counts: false, blame: 'client' },
];

describe('classifyFailure', () => {
  for (const row of rows) {
    it(row.name, () => {
      const d = classifyFailure(row.input);
      assert.equal(d.action, row.action);
      assert.equal(decisionRetries(d), row.retry, 'retries');
      assert.equal(decisionCountsAsFailure(d), row.counts, 'counts as failure');
      if (row.blame) assert.equal(d.blame, row.blame, 'blame');
      assert.equal(d.exclusion, row.exclusion, 'exclusion');
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

describe('refusal wording', () => {
  it('keeps a Chinese and an English list for every kind, and each word is read as its kind', () => {
    for (const [kind, lists] of Object.entries(REFUSAL_WORDING)) {
      assert.ok(lists.zh.length > 0 && lists.en.length > 0, kind);
      for (const w of [...lists.zh, ...lists.en]) {
        if (typeof w !== 'string') continue;
        assert.equal(refusalKind(`{"error":{"message":"xx ${w.toUpperCase()} yy"}}`), kind, w);
      }
    }
  });
  it('says nothing of ordinary errors', () => {
    for (const body of ['', 'Bad gateway', '{"error":{"message":"messages: field required"}}', 'invalid model', '<html>502</html>']) {
      assert.equal(refusalKind(body), undefined, body);
    }
  });
  it('a model refusal on 403 never disables the key, a moderation 403 neither', () => {
    for (const body of [gatewayError('该令牌无权使用模型：gpt-4o-mini'), gatewayError('sensitive words detected', 'sensitive_words_detected')]) {
      const d = classifyFailure({ status: 403, body });
      assert.notEqual(d.action, 'disable-key', body);
      assert.equal(decisionCountsAsFailure(d), false);
    }
  });
});
