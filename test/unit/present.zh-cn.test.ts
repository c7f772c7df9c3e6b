// The view models in Chinese (present.test.ts holds them in English, the default).
import * as assert from 'node:assert/strict';
import { setLanguage } from '../../src/core/l10n';
import type { KeySnapshot, PoolSnapshot } from '../../src/core/pool/types';
import type { ProxyStatus } from '../../src/core/proxy/types';
import {
  accountRow,
  clients,
  clientSnippets,
  formatAgo,
  formatIn,
  formatYuan,
  keyRows,
  requestLogLine,
  statusModel,
  treeRows,
  type AccountView,
} from '../../src/core/present';

const NOW = 1_700_000_000_000;

function key(over: Partial<KeySnapshot> & { id: string }): KeySnapshot {
  return { masked: over.id, state: 'healthy', manuallyDisabled: false, consecutiveFailures: 0, stats: { requests: 0, successes: 0, failures: 0 }, exclusions: [], ...over };
}

function pool(keys: KeySnapshot[], over: Partial<PoolSnapshot> = {}): PoolSnapshot {
  const counts = { total: keys.length, healthy: 0, cooling: 0, disabled: 0, exhausted: 0, usable: 0 };
  for (const k of keys) {
    counts[k.state]++;
    if (k.state === 'healthy' && !k.manuallyDisabled) counts.usable++;
  }
  return { keys, counts, totals: { requests: 0, successes: 0, failures: 0 }, resets: 0, excludedPairs: 0, ...over };
}

const account: AccountView = { signedIn: true, email: 'user@example.com', keys: [], totalBalance: 12.9, refreshedAt: NOW - 30_000 };
const running: ProxyStatus = { state: 'running', host: '127.0.0.1', port: 5100, url: 'http://127.0.0.1:5100/v1', startedAt: NOW };

/**
 * English words left in a Chinese text, once what stays as it is (names, ids, URLs, codes, e-mail
 * addresses, masked keys) is taken out. A machine-translation leftover shows up here.
 */
function englishLeftovers(text: string): string[] {
  const stripped = text
    .replace(/https?:\/\/\S+/g, '')
    .replace(/\S+@\S+/g, '')
    .replace(/sk-[\w…]+/g, '')
    .replace(/\b(DaiDai|HTTP|Claude|Max|GPT|pack|Aggregator)\b/g, '');
  return stripped.match(/[A-Za-z]{3,}/g) ?? [];
}

describe('present: in Chinese', () => {
  before(() => setLanguage('zh-cn'));
  after(() => setLanguage('en'));

  it('formats money as in English and times in Chinese', () => {
    assert.equal(formatYuan(12.5), '¥12.50');
    assert.equal(formatAgo(undefined, NOW), '从未');
    assert.equal(formatAgo(NOW - 500, NOW), '刚刚');
    assert.equal(formatAgo(NOW - 12_000, NOW), '12 秒前');
    assert.equal(formatAgo(NOW - 5 * 60_000, NOW), '5 分钟前');
    assert.equal(formatAgo(NOW - 3 * 3600_000, NOW), '3 小时前');
    assert.equal(formatAgo(NOW - 72 * 3600_000, NOW), '3 天前');
    assert.equal(formatIn(NOW + 12_000, NOW), '12 秒后');
    assert.equal(formatIn(NOW + 150_000, NOW), '3 分钟后');
  });

  it('gives the status bar a Chinese tooltip and the same text', () => {
    const p = pool([key({ id: 'sk-aaaa…4444' }), key({ id: 'sk-eeee…8888', state: 'cooling' }), key({ id: 'sk-iiii…9999', state: 'disabled' })], {
      lastKeyId: 'sk-aaaa…4444',
      nextKeyId: 'sk-aaaa…4444',
    });
    const m = statusModel(running, p, { signedIn: true, email: 'user@example.com', demo: true, requests: { served: 7, failed: 2 } });
    assert.equal(m.text, '$(radio-tower) DaiDai 1/3');
    assert.deepEqual(m.tooltip.split('\n'), [
      'DaiDai 代理正在运行：http://127.0.0.1:5100/v1',
      '密钥：3 个中 1 个可用（1 个冷却中、1 个已停用）',
      '已完成请求：7，失败：2',
      '最近使用的密钥：sk-aaaa…4444',
      '下一个密钥：sk-aaaa…4444',
      '账号：user@example.com（演示）',
      '单击查看代理操作。',
    ]);
    assert.deepEqual(englishLeftovers(m.tooltip), []);
  });

  it('explains a stopped proxy, a failed start and a missing login in Chinese', () => {
    const failed = statusModel({ state: 'stopped', error: 'EADDRINUSE' }, undefined, { signedIn: false });
    assert.equal(failed.kind, 'error');
    assert.deepEqual(failed.tooltip.split('\n'), ['DaiDai 代理已停止', '上次启动失败：EADDRINUSE', '已完成请求：0，失败：0', '未登录。', '单击查看代理操作。']);
    const empty = statusModel(running, pool([]), { signedIn: true });
    assert.match(empty.tooltip, /没有密钥：请登录或刷新密钥。/);
    assert.match(empty.tooltip, /账号：（已登录）/);
  });

  it('gives tree rows in Chinese, with money and masked keys as they are', () => {
    const p = pool([
      key({ id: 'sk-aaaa…4444', name: 'Claude Max', balance: 12.5, used: 3.2, stats: { requests: 3, successes: 2, failures: 1, lastError: 'HTTP 503', lastUsedAt: NOW - 5000, avgLatencyMs: 420.4 } }),
      key({ id: 'sk-eeee…8888', name: 'GPT pack', balance: 0.4, used: 9, state: 'cooling', coolingUntil: NOW + 12_000, reason: 'HTTP 429' }),
      key({ id: 'sk-iiii…9999', state: 'disabled', manuallyDisabled: true }),
      key({ id: 'sk-jjjj…0000', state: 'exhausted' }),
    ]);
    const rows = keyRows(account, p, { now: NOW, lowBalance: 1 });
    assert.deepEqual(
      rows.map((r) => [r.label, r.contextValue]),
      [
        ['sk-aaaa…4444', 'key:healthy'],
        ['sk-eeee…8888', 'key:cooling'],
        ['sk-iiii…9999', 'key:disabled:manual'],
        ['sk-jjjj…0000', 'key:exhausted'],
      ],
      'ids and context values do not depend on the language',
    );
    assert.equal(rows[0].description, 'Claude Max · 剩余 ¥12.50 · 已用 ¥3.20');
    assert.deepEqual(rows[0].tooltip.split('\n'), [
      'sk-aaaa…4444 — Claude Max',
      '状态：正常',
      '余额：¥12.50，已用：¥3.20',
      '请求：3（成功 2，失败 1）',
      '最近错误：HTTP 503',
      '最近使用：5 秒前',
      '平均延迟：420 毫秒',
      '模型：暂不清楚（在获取到它的模型列表之前，任何模型都会尝试用它）',
    ]);
    assert.equal(rows[1].description, 'GPT pack · 剩余 ¥0.40（偏低） · 已用 ¥9.00 · 冷却中，12 秒后恢复');
    assert.match(rows[1].tooltip, /状态：冷却中，12 秒后恢复（HTTP 429）/);
    assert.match(rows[1].tooltip, /余额：¥0\.40，已用：¥9\.00（偏低）/);
    assert.equal(rows[2].description, '剩余 ¥? · 已移出轮询');
    assert.match(rows[2].tooltip, /你已手动将它移出轮询：右键单击可放回。/);
    assert.equal(rows[3].description, '剩余 ¥? · 余额已用尽');
    for (const r of rows) assert.deepEqual(englishLeftovers(`${r.description}\n${r.tooltip}`), [], r.label);
  });

  it('gives the account row and the info rows in Chinese', () => {
    const p = pool([key({ id: 'k1' }), key({ id: 'k2', state: 'cooling' })]);
    const row = accountRow({ ...account, error: 'network down' }, p, { now: NOW, demo: true });
    assert.equal(row.label, 'user@example.com（演示）');
    assert.equal(row.description, '¥12.90 · 1/2 个密钥可用');
    assert.deepEqual(row.tooltip.split('\n'), [
      '演示账号：user@example.com',
      '总余额：¥12.90',
      '密钥：2 个中 1 个可用',
      '上次刷新：30 秒前',
      '这是内置的演示平台：它的密钥只能通过本代理使用。',
      '上次刷新失败：network down',
    ]);
    assert.match(accountRow(account, p, { now: NOW }).tooltip, /^呆呆鸟账号：user@example\.com/);
    const none = treeRows({ signedIn: true, email: 'a@b', keys: [] }, pool([]), { now: NOW });
    assert.equal(none[1].label, '此账号没有可用的密钥');
    assert.equal(none[1].description, '购买套餐后刷新');
    assert.match(none[1].tooltip, /“DaiDai: 刷新密钥和余额”/);
    const loading = treeRows({ signedIn: true, email: 'a@b', keys: [], refreshing: true }, pool([]), { now: NOW });
    assert.equal(loading[1].label, '正在加载密钥…');
  });

  it('writes the request log words in Chinese, with the same values and the same field names (model=, key=, attempts=, ms: grep and log tools read them)', () => {
    assert.equal(
      requestLogLine({ id: 'r1', method: 'POST', path: '/v1/chat/completions', model: 'gpt-4o', stream: true, status: 200, keyId: 'sk-aaaa…4444', attempts: 2, durationMs: 123.4, aborted: false }),
      'POST /v1/chat/completions model=gpt-4o 流式 → 200 key=sk-aaaa…4444 attempts=2 123 ms',
    );
    assert.equal(
      requestLogLine({ id: 'r2', method: 'POST', path: '/v1/messages', stream: false, status: 499, attempts: 1, durationMs: 10, aborted: true }),
      'POST /v1/messages → 499（客户端已断开） key=（无） attempts=1 10 ms',
    );
  });

  it('translates the client list and the snippets’ prose, never their code', () => {
    assert.equal(clients.find((c) => c.id === 'openai-sdk')!.detail, 'Node.js 和 Python');
    const url = 'http://127.0.0.1:5100/v1';
    for (const c of clients) {
      const zh = clientSnippets(url, c.id, { running: false });
      setLanguage('en');
      const en = clientSnippets(url, c.id, { running: false });
      setLanguage('zh-cn');
      assert.equal(zh.baseUrl, en.baseUrl);
      assert.match(zh.markdown, /^# 将 .+ 连接到 DaiDai Aggregator$/m, c.id);
      assert.match(zh.markdown, /代理还没有运行：请先运行 \*\*DaiDai: 启动代理\*\*/, c.id);
      // The fenced code is the same in both languages, except comments in it.
      const code = (md: string) => (md.match(/```[\s\S]*?```/g) ?? []).map((b) => b.replace(/^# .*$/gm, '#'));
      assert.deepEqual(code(zh.markdown), code(en.markdown), `${c.id}: code blocks`);
    }
    const st = clientSnippets(url, 'sillytavern', { running: true });
    assert.match(st.markdown, /5\. Custom API Key：随便填（代理会换成你的一个呆呆鸟密钥）。/);
    const cline = clientSnippets(url, 'cline', { accessTokenSet: true });
    assert.match(cline.markdown, /3\. API key：填 `daidai\.proxy\.accessToken` 设置的值（代理要求提供）。/);
  });
});

describe('present: language follows setLanguage at call time', () => {
  after(() => setLanguage('en'));

  it('switches a client detail and a row back and forth', () => {
    const c = clients.find((x) => x.id === 'curl')!;
    assert.equal(c.detail, 'A chat request and a streamed one');
    setLanguage('zh-cn');
    assert.equal(c.detail, '一个普通对话请求和一个流式请求');
    assert.equal(treeRows({ signedIn: true, keys: [] }, pool([]), { now: NOW })[1].label, '此账号没有可用的密钥');
    setLanguage('en');
    assert.equal(c.detail, 'A chat request and a streamed one');
    assert.equal(treeRows({ signedIn: true, keys: [] }, pool([]), { now: NOW })[1].label, 'No usable keys on this account');
  });
});
