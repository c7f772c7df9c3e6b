import * as assert from 'node:assert/strict';
import type { KeySnapshot, PoolSnapshot } from '../../src/core/pool/types';
import type { ProxyStatus } from '../../src/core/proxy/types';
import {
  accountRow,
  clients,
  clientSnippets,
  formatAgo,
  formatYuan,
  keyRows,
  lowBalanceKeys,
  requestLogLine,
  statusModel,
  treeRows,
  type AccountView,
} from '../../src/core/present';

const NOW = 1_700_000_000_000;
const SECRET_A = 'sk-aaaa1111bbbb2222cccc3333dddd4444';
const SECRET_B = 'sk-eeee5555ffff6666gggg7777hhhh8888';

function key(over: Partial<KeySnapshot> & { id: string }): KeySnapshot {
  return {
    masked: over.id,
    state: 'healthy',
    manuallyDisabled: false,
    consecutiveFailures: 0,
    stats: { requests: 0, successes: 0, failures: 0 },
    exclusions: [],
    ...over,
  };
}

function pool(keys: KeySnapshot[], over: Partial<PoolSnapshot> = {}): PoolSnapshot {
  const counts = { total: keys.length, healthy: 0, cooling: 0, disabled: 0, exhausted: 0, usable: 0 };
  for (const k of keys) {
    counts[k.state]++;
    if (k.state === 'healthy' && !k.manuallyDisabled) counts.usable++;
  }
  return { keys, counts, totals: { requests: 0, successes: 0, failures: 0 }, resets: 0, excludedPairs: 0, ...over };
}

const account: AccountView = {
  signedIn: true,
  email: 'user@example.com',
  keys: [
    { key: SECRET_A, name: 'Claude Max', balance: 12.5, used: 3.2 },
    { key: SECRET_B, name: 'GPT pack', balance: 0.4, used: 9 },
  ],
  totalBalance: 12.9,
  refreshedAt: NOW - 30_000,
};

const running: ProxyStatus = { state: 'running', host: '127.0.0.1', port: 5100, url: 'http://127.0.0.1:5100/v1', startedAt: NOW };

describe('present: formatting', () => {
  it('formats yuan with two decimals and unknowns as ¥?', () => {
    assert.equal(formatYuan(12.5), '¥12.50');
    assert.equal(formatYuan(0), '¥0.00');
    assert.equal(formatYuan(undefined), '¥?');
    assert.equal(formatYuan(Number.NaN), '¥?');
  });
  it('formats ages', () => {
    assert.equal(formatAgo(undefined, NOW), 'never');
    assert.equal(formatAgo(NOW - 500, NOW), 'just now');
    assert.equal(formatAgo(NOW - 12_000, NOW), '12 s ago');
    assert.equal(formatAgo(NOW - 5 * 60_000, NOW), '5 min ago');
    assert.equal(formatAgo(NOW - 3 * 3600_000, NOW), '3 h ago');
  });
});

describe('present: statusModel', () => {
  it('shows usable/total keys while running', () => {
    const p = pool([key({ id: 'sk-aaaa…4444' }), key({ id: 'sk-eeee…8888', state: 'cooling' })], {
      lastKeyId: 'sk-aaaa…4444',
      nextKeyId: 'sk-aaaa…4444',
    });
    const m = statusModel(running, p, { signedIn: true, email: 'user@example.com', requests: { served: 7, failed: 2 } });
    assert.equal(m.text, '$(radio-tower) DaiDai 1/2');
    assert.equal(m.kind, 'normal');
    assert.match(m.tooltip, /http:\/\/127\.0\.0\.1:5100\/v1/);
    assert.match(m.tooltip, /Requests served: 7, failed: 2/);
    assert.match(m.tooltip, /Last key used: sk-aaaa…4444/);
    assert.match(m.tooltip, /Next key: sk-aaaa…4444/);
    assert.match(m.tooltip, /1 cooling/);
  });

  it('warns when no key is usable while running', () => {
    const p = pool([key({ id: 'k1', state: 'exhausted' }), key({ id: 'k2', state: 'healthy', manuallyDisabled: true })]);
    const m = statusModel(running, p, { signedIn: true });
    assert.equal(m.text, '$(radio-tower) DaiDai 0/2');
    assert.equal(m.kind, 'warning');
    assert.match(m.tooltip, /No key is usable/);
  });

  it('warns with no keys at all', () => {
    const m = statusModel(running, pool([]), { signedIn: false });
    assert.equal(m.kind, 'warning');
    assert.match(m.tooltip, /No keys/);
    assert.match(m.tooltip, /Not logged in/);
  });

  it('shows the proxy another window runs, from its /health, without offering to stop it here', () => {
    const m = statusModel({ state: 'stopped' }, pool([key({ id: 'k1' })]), {
      signedIn: true,
      peer: { url: 'http://127.0.0.1:5100/v1', keys: { usable: 5, total: 6 } },
    });
    assert.equal(m.text, '$(radio-tower) DaiDai 5/6 · other window');
    assert.equal(m.kind, 'normal');
    assert.match(m.tooltip, /another window at http:\/\/127\.0\.0\.1:5100\/v1/);
    assert.doesNotMatch(m.tooltip, /Keys: \d+ of/, 'this window’s own pool is not what serves');
    assert.doesNotMatch(m.tooltip, /Requests served|Next key/, 'nor its own counters');
    const none = statusModel({ state: 'stopped' }, undefined, { signedIn: true, peer: { url: 'http://127.0.0.1:5100/v1', keys: { usable: 0, total: 2 } } });
    assert.equal(none.kind, 'warning');
  });

  it('says when the gateway is unreachable, with the reason, in the warning colour', () => {
    const p = pool([key({ id: 'k1' }), key({ id: 'k2' })]);
    const since = new Date(2026, 11, 1, 9, 5, 7).getTime();
    const m = statusModel(running, p, { signedIn: true, gateway: { reason: 'connection refused on 2 keys', since } });
    assert.equal(m.text, '$(warning) DaiDai 2/2 · gateway unreachable');
    assert.equal(m.kind, 'warning');
    assert.match(m.tooltip, /unreachable since 09:05:07: connection refused on 2 keys/);
  });

  it('shows a stopped proxy, and a failed start as an error', () => {
    const stopped = statusModel({ state: 'stopped' }, pool([key({ id: 'k1' })]), { signedIn: true });
    assert.equal(stopped.text, '$(circle-slash) DaiDai');
    assert.equal(stopped.kind, 'normal');
    const failed = statusModel({ state: 'stopped', error: 'Port 5100 is in use.' }, undefined, { signedIn: true });
    assert.equal(failed.kind, 'error');
    assert.match(failed.tooltip, /Port 5100 is in use/);
  });

  it('falls back to the pool totals when no request counts are given', () => {
    const p = pool([key({ id: 'k1' })], { totals: { requests: 5, successes: 4, failures: 1 } });
    assert.match(statusModel(running, p, { signedIn: true }).tooltip, /Requests served: 4, failed: 1/);
  });
});

describe('present: tree rows', () => {
  const p = pool([
    key({ id: 'sk-aaaa…4444', name: 'Claude Max', balance: 12.5, used: 3.2, stats: { requests: 3, successes: 2, failures: 1, lastError: 'HTTP 503', lastUsedAt: NOW - 5000, avgLatencyMs: 420.4 } }),
    key({ id: 'sk-eeee…8888', name: 'GPT pack', balance: 0.4, used: 9, state: 'cooling', coolingUntil: NOW + 12_000, reason: 'HTTP 429' }),
    key({ id: 'sk-iiii…9999', state: 'disabled', manuallyDisabled: true }),
    key({ id: 'sk-jjjj…0000', state: 'exhausted', reason: 'balance used up' }),
  ]);

  it('shows how many models a key serves, lists them, and the (key, model) pairs it was refused', () => {
    const now = 1_700_000_000_000;
    const models = Array.from({ length: 14 }, (_, i) => `model-${String(i).padStart(2, '0')}`);
    const p = pool([
      key({
        id: 'sk-aaaa…4444',
        models,
        exclusions: [
          { model: 'gpt-4o-mini', reason: 'no channel for this model in its group', until: now + 9 * 60_000 },
          { model: 'gpt-4.1', reason: 'this key may not use the model' },
        ],
      }),
      key({ id: 'sk-bbbb…5555', models: ['[官Max]claude-sonnet-4-5-20250929'] }),
      key({ id: 'sk-cccc…6666', state: 'disabled', disabledBy: 'revoked', reason: 'key refused (HTTP 401)' }),
    ]);
    const rows = treeRows({ signedIn: true, keys: [], totalBalance: 0 }, p, { now }).filter((r) => r.kind === 'key');
    assert.match(rows[0].description!, /14 models/);
    assert.match(rows[1].description!, /1 model\b/);
    const tip = rows[0].tooltip.split('\n');
    assert.ok(tip.includes('Serves 14 model(s): model-00, model-01, model-02, model-03, model-04, model-05, model-06, model-07, model-08, model-09, model-10, model-11 … (+2)'), tip.join('\n'));
    assert.ok(tip.includes('Refused gpt-4o-mini: no channel for this model in its group (asked again in 9 min)'), tip.join('\n'));
    assert.ok(tip.includes('Refused gpt-4.1: this key may not use the model (asked again once its model list is fetched)'), tip.join('\n'));
    assert.match(rows[2].description!, /revoked/);
    assert.match(rows[2].tooltip, /Models: not known yet/);
  });

  it('gives one row per key with state context values and icons', () => {
    const rows = keyRows(account, p, { now: NOW, lowBalance: 1 });
    assert.deepEqual(
      rows.map((r) => [r.label, r.contextValue, r.icon.id]),
      [
        ['sk-aaaa…4444', 'key:healthy', 'pass'],
        ['sk-eeee…8888', 'key:cooling', 'watch'],
        ['sk-iiii…9999', 'key:disabled:manual', 'debug-pause'],
        ['sk-jjjj…0000', 'key:exhausted', 'error'],
      ],
    );
    assert.equal(rows[0].keyId, 'sk-aaaa…4444');
    assert.equal(rows[0].description, 'Claude Max · ¥12.50 left · ¥3.20 used');
    assert.match(rows[0].tooltip, /Requests: 3 \(2 ok, 1 failed\)/);
    assert.match(rows[0].tooltip, /Last error: HTTP 503/);
    assert.match(rows[0].tooltip, /Last used: 5 s ago/);
    assert.match(rows[0].tooltip, /Average latency: 420 ms/);
    assert.match(rows[1].description!, /¥0\.40 left \(low\)/);
    assert.match(rows[1].description!, /cooling, back in 12 s/);
    assert.match(rows[1].tooltip, /HTTP 429/);
    assert.match(rows[2].description!, /out of rotation/);
    assert.match(rows[3].description!, /balance used up/);
  });

  it('never puts a key in clear in any row', () => {
    const rows = treeRows(account, p, { now: NOW });
    const text = JSON.stringify(rows);
    assert.ok(!text.includes(SECRET_A));
    assert.ok(!text.includes(SECRET_B));
  });

  it('starts with an account row with the total balance and usable count', () => {
    const rows = treeRows(account, p, { now: NOW });
    assert.equal(rows.length, 5);
    assert.equal(rows[0].kind, 'account');
    assert.equal(rows[0].label, 'user@example.com');
    assert.equal(rows[0].description, '¥12.90 · 1/4 keys usable');
    assert.match(rows[0].tooltip, /Refreshed: 30 s ago/);
  });

  it('marks the demo account and a failed refresh', () => {
    const row = accountRow({ ...account, error: 'network down' }, p, { now: NOW, demo: true });
    assert.equal(row.contextValue, 'account:demo');
    assert.equal(row.label, 'user@example.com (demo)');
    assert.equal(row.icon.id, 'warning');
    assert.match(row.tooltip, /Last refresh failed: network down/);
  });

  it('sums key balances when the account has no total', () => {
    const row = accountRow({ ...account, totalBalance: undefined }, undefined, { now: NOW });
    assert.equal(row.description, '¥12.90 · 2/2 keys usable');
  });

  it('is empty while signed out and explains an account without keys', () => {
    assert.deepEqual(treeRows({ signedIn: false, keys: [] }, p, { now: NOW }), []);
    const rows = treeRows({ signedIn: true, email: 'a@b', keys: [] }, pool([]), { now: NOW });
    assert.deepEqual(rows.map((r) => r.kind), ['account', 'info']);
    assert.equal(rows[1].label, 'No usable keys on this account');
    const loading = treeRows({ signedIn: true, email: 'a@b', keys: [], refreshing: true }, pool([]), { now: NOW });
    assert.equal(loading[1].label, 'Loading keys…');
  });

  it('lists low balances only above a positive threshold', () => {
    assert.deepEqual(lowBalanceKeys(p, 1).map((k) => k.id), ['sk-eeee…8888']);
    assert.deepEqual(lowBalanceKeys(p, 0), []);
    assert.deepEqual(lowBalanceKeys(p, 20).map((k) => k.id), ['sk-aaaa…4444', 'sk-eeee…8888']);
  });
});

describe('present: requestLogLine', () => {
  it('says which (key, model) pairs it stepped over and when a key was a last resort', () => {
    const line = requestLogLine({
      id: 'r3', method: 'POST', path: '/v1/chat/completions', model: 'gpt-4o-mini', stream: false, status: 200, keyId: 'sk-cccc…6666',
      attempts: 1, durationMs: 80, aborted: false, tier: 'failing',
      movedOn: [{ keyId: 'sk-aaaa…4444', reason: 'gpt-4o-mini not served by sk-aaaa…4444, moved on' }],
    });
    assert.equal(line, 'POST /v1/chat/completions model=gpt-4o-mini → 200 key=sk-cccc…6666 attempts=1 (a key taken out by failures, as a last resort) 80 ms — gpt-4o-mini not served by sk-aaaa…4444, moved on');
  });

  it('names method, path, model, status, masked key, attempts and duration', () => {
    const line = requestLogLine({ id: 'r1', method: 'POST', path: '/v1/chat/completions', model: 'gpt-4o', stream: true, status: 200, keyId: 'sk-aaaa…4444', attempts: 2, durationMs: 123.4, aborted: false });
    assert.equal(line, 'POST /v1/chat/completions model=gpt-4o stream → 200 key=sk-aaaa…4444 attempts=2 123 ms');
    const failed = requestLogLine({ id: 'r2', method: 'GET', path: '/v1/models', stream: false, status: 503, attempts: 4, durationMs: 10, aborted: false, error: 'every key failed' });
    assert.equal(failed, 'GET /v1/models → 503 key=(none) attempts=4 10 ms — every key failed');
  });

  it('names an in-process caller (VS Code chat) first', () => {
    const line = requestLogLine({ id: 'r4', method: 'POST', path: '/chat/completions', model: 'gpt-4o', stream: true, status: 200, keyId: 'sk-aaaa…4444', attempts: 1, durationMs: 5, aborted: false, source: 'vscode-chat' });
    assert.equal(line, '[vscode-chat] POST /chat/completions model=gpt-4o stream → 200 key=sk-aaaa…4444 attempts=1 5 ms');
  });
});

describe('present: clientSnippets', () => {
  const url = 'http://127.0.0.1:5100/v1';

  it('has a snippet for every client, each naming the right base URL', () => {
    for (const c of clients) {
      const s = clientSnippets(url, c.id, { running: true });
      assert.ok(s.markdown.includes(s.baseUrl), `${c.id} shows its base URL`);
      assert.ok(!s.markdown.includes('not running'), `${c.id} does not nag when running`);
    }
  });

  it('gives Claude Code the origin without /v1', () => {
    const s = clientSnippets(url, 'claude-code');
    assert.equal(s.baseUrl, 'http://127.0.0.1:5100');
    assert.match(s.markdown, /ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:5100\n/);
    assert.match(s.markdown, /ANTHROPIC_AUTH_TOKEN=anything/);
    assert.ok(!s.markdown.includes('ANTHROPIC_BASE_URL=http://127.0.0.1:5100/v1'));
  });

  it('gives OpenAI-style clients /v1, even from a URL without it or with a trailing slash', () => {
    assert.equal(clientSnippets('http://127.0.0.1:5100/', 'sillytavern').baseUrl, url);
    assert.equal(clientSnippets('http://127.0.0.1:5100/v1/', 'continue').baseUrl, url);
    assert.match(clientSnippets(url, 'continue').markdown, /apiBase: "http:\/\/127\.0\.0\.1:5100\/v1"/);
    assert.match(clientSnippets(url, 'openai-sdk').markdown, /baseURL: 'http:\/\/127\.0\.0\.1:5100\/v1'/);
    assert.match(clientSnippets(url, 'curl').markdown, /curl http:\/\/127\.0\.0\.1:5100\/v1\/chat\/completions/);
  });

  it('names the access-token setting instead of the token, and says when the proxy is stopped', () => {
    const s = clientSnippets(url, 'claude-code', { accessTokenSet: true, running: false });
    assert.match(s.markdown, /ANTHROPIC_AUTH_TOKEN='<your daidai\.proxy\.accessToken>'/);
    assert.match(s.markdown, /Start Proxy/);
  });
});
