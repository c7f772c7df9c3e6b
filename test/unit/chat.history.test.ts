// A request from VS Code's chat is marked as such in the log line, the usage history (kept
// across a save and a load) and the recent-requests CSV.
import * as assert from 'node:assert/strict';
import { requestLogLine } from '../../src/core/present/requests';
import type { RequestRecord } from '../../src/core/proxy/types';
import { recentRequestsCsv } from '../../src/core/usage/report';
import { UsageHistory } from '../../src/core/usage/history';
import { decodeUsageHistory } from '../../src/core/state/usageState';

const record = (over: Partial<RequestRecord>): RequestRecord => ({
  id: '1',
  method: 'POST',
  path: '/messages',
  model: 'claude-sonnet-4-5-20250929',
  stream: true,
  status: 200,
  keyId: 'sk-abcd…wxyz',
  attempts: 1,
  durationMs: 12,
  aborted: false,
  usage: { inputTokens: 10, outputTokens: 5 },
  ...over,
});

describe('chat: requests from VS Code chat are marked', () => {
  it('says so in the log line, and only for them', () => {
    assert.match(requestLogLine(record({ source: 'vscode-chat' })), /^\[vscode-chat\] POST \/messages model=/);
    assert.doesNotMatch(requestLogLine(record({})), /vscode-chat/);
  });

  it('keeps the mark in the usage history, across a save and a load, and in the CSV', () => {
    const h = new UsageHistory();
    const now = Date.UTC(2026, 11, 7, 10);
    h.add(record({ source: 'vscode-chat' }), now, 0.5);
    h.add(record({}), now, 0.25);
    const again = UsageHistory.fromData(decodeUsageHistory(JSON.parse(JSON.stringify(h.toJSON())))!, now);
    assert.deepEqual(again.recent().map((r) => r.source), ['vscode-chat', undefined]);
    const lines = recentRequestsCsv(again).trim().split(/\r?\n/);
    assert.match(lines[0], /,source$/);
    assert.match(lines[1], /,vscode-chat$/);
    assert.doesNotMatch(lines[2], /vscode-chat/);
  });
});
