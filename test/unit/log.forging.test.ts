// Issue 22, item 4: a value from outside (a model id in a client's body, a path, a gateway's
// words) must not forge log lines or carry a key into the log.
import * as assert from 'node:assert/strict';
import { requestLogLine } from '../../src/core/present/requests';
import type { RequestRecord } from '../../src/core/proxy/types';
import { consoleLogger, logText, logValue } from '../../src/core/util/log';

const KEY = 'sk-ForgedKeyForgedKeyForgedKey0123456789abcdefghij';
const FORGED = `gpt-4o\n2026-12-07T09:00:00.000Z [error] FORGED ${KEY}`;

const record = (over: Partial<RequestRecord>): RequestRecord => ({ id: '1', method: 'POST', path: '/v1/chat/completions', stream: false, status: 200, keyId: 'sk-aaaa…4444', attempts: 1, durationMs: 5, aborted: false, ...over });

describe('log lines: values from outside are escaped, bounded and masked', () => {
  it('a model id with a newline and a key stays inside its field, on one line, with the key masked', () => {
    const line = requestLogLine(record({ model: FORGED }));
    assert.ok(!/[\r\n]/.test(line), line);
    assert.ok(!line.includes(KEY), 'the key is in clear');
    assert.match(line, /model="gpt-4o\\n2026-12-07T09:00:00\.000Z \[error\] FORGED sk-Forg…ghij" → 200 key=sk-aaaa…4444 attempts=1 5 ms$/);
  });

  it('every other outside text too: CR, ESC, NEL, the line separator and bidi overrides become escapes', () => {
    const line = requestLogLine(record({ path: '/v1/x\u2028y', model: 'a\rb\u001b[31mc\u0085d\u202ee', error: 'gateway said: one\ntwo', movedOn: [{ keyId: 'k', reason: 'm\nnot served' }] }));
    assert.ok(!/[\r\n\u001b\u0085\u2028\u202e]/.test(line), JSON.stringify(line));
    assert.match(line, /^POST \/v1\/x\\u2028y model=a\\rb\\x1b\[31mc\\x85d\\u202ee /);
    assert.match(line, / — m\\nnot served — gateway said: one\\ntwo$/);
  });

  it('a huge model id is cut, saying by how much', () => {
    const v = logValue('m'.repeat(5000));
    assert.equal(v, 'm'.repeat(200) + '…(+4800)');
    assert.ok(requestLogLine(record({ model: 'x'.repeat(100_000) })).length < 400);
  });

  it('plain values come back as they are; quotes and backslashes cannot fake a field', () => {
    assert.equal(logValue('[官Max]claude-opus-4-6-20260205-thinking'), '[官Max]claude-opus-4-6-20260205-thinking');
    assert.equal(logValue('gpt-4o key=sk-x'), '"gpt-4o key=sk-x"');
    assert.equal(logValue('a"b'), '"a\\"b"');
    assert.equal(logValue('a\\nb'), 'a\\\\nb', 'a literal backslash-n is not mistaken for an escaped newline');
  });

  it('the console logger keeps every message on one line and masks keys, whatever the caller passed', () => {
    const lines: string[] = [];
    const log = consoleLogger('trace', (l) => lines.push(l));
    log.info(`model ${FORGED} excluded`);
    log.warn('x', `extra\r\n${KEY}`);
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.ok(!/[\r\n]/.test(l), l);
      assert.ok(!l.includes(KEY), l);
    }
    assert.match(lines[0], /\[info\] model gpt-4o\\n2026-12-07T09:00:00\.000Z \[error\] FORGED sk-Forg…ghij excluded$/);
    assert.equal(logText('plain text, 中文'), 'plain text, 中文');
  });
});
