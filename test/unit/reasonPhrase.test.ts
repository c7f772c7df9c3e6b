// Reason phrases (SillyTavern 1.19 shows a user only the reason phrase of a non-streamed error):
// printable ASCII, and true: never an id or a message with its letters dropped.
import * as assert from 'node:assert/strict';
import { reasonPhrase } from '../../src/core/proxy/errors';
import { giveUpAnswer, noModelAnswer } from '../../src/core/proxy/giveUp';
import { gatewayDiagnosis } from '../../src/core/gateway/diagnose';

const ascii = (s: string) => /^[\x20-\x7e]*$/.test(s);

describe('reason phrases: ASCII and true', () => {
  it('an ASCII message is its own phrase', () => {
    assert.equal(reasonPhrase('No key of this account serves model "gpt-4o-minii". Models it serves: gpt-4o-mini.', 'model_not_found', 404), 'No key of this account serves model "gpt-4o-minii". Models it serves: gpt-4o-mini.');
  });

  it('a message with a Chinese id gives the code\'s own sentence, not the id with its letters dropped', () => {
    const a = noModelAnswer('[官Max]claude-opus-4-1', ['[官Max]claude-opus-4-1-20250805'], undefined);
    const phrase = reasonPhrase(a.message, a.code, a.status);
    assert.ok(ascii(phrase), phrase);
    assert.doesNotMatch(phrase, /\[Max\]/, 'a broken id');
    assert.equal(phrase, 'No key of this account serves the model asked for; the response body lists the models it serves');
    const b = noModelAnswer('gpt-4o-maxi', ['[官Max]gpt-4o-max'], undefined);
    assert.equal(reasonPhrase(b.message, b.code, b.status), 'No key of this account serves model "gpt-4o-maxi". The response body lists the models it serves.', 'the ASCII sentence before the first Chinese id is kept');
  });

  it('the gateway\'s Chinese words (无效的令牌) are not shown as "()": the phrase points at the body', () => {
    const failures = [{ keyId: 'sk-abcd…wxyz', decision: { action: 'disable-key' as const, blame: 'key' as const, reason: 'key refused (HTTP 401): invalid or revoked' }, status: 401, body: Buffer.from(JSON.stringify({ error: { message: '无效的令牌' } })) }];
    const a = giveUpAnswer(failures, 1, { now: 0 });
    const phrase = reasonPhrase(a.message, a.code, a.status);
    assert.ok(ascii(phrase), phrase);
    assert.doesNotMatch(phrase, /\(\)|""/);
    assert.match(phrase, /invalid or revoked/);
  });

  it('an unknown code falls back to the status words; a bilingual message keeps its English', () => {
    assert.equal(reasonPhrase('Quelque chose é', 'nope', 502), 'Bad Gateway (details in the response body)');
    assert.equal(reasonPhrase('Request body too large. / 请求体太大。', 'request_too_large', 413), 'Request body too large.');
  });

  it('a long ASCII list is cut between items, never inside an id', () => {
    const ids = Array.from({ length: 40 }, (_, i) => `model-number-${i}`);
    const phrase = reasonPhrase(`No key serves "x". Models it serves: ${ids.join(', ')}.`, 'model_not_found', 404);
    assert.ok(phrase.length <= 200, String(phrase.length));
    assert.match(phrase, /model-number-\d+\.\.\.$/);
    const last = /(model-number-\d+)\.\.\.$/.exec(phrase)![1];
    assert.ok(ids.includes(last), `${last} is a whole id`);
  });
});

describe('start-up diagnosis of the gateway address (one probe, one line)', () => {
  const knob = '--upstream-url';
  it('a 404 on a base without /v1 says to add /v1', () => {
    const line = gatewayDiagnosis({ ok: false, status: 404, reason: 'HTTP 404' }, 'http://127.0.0.1:5300', knob)!;
    assert.match(line, /--upstream-url probably lacks \/v1 \(try http:\/\/127\.0\.0\.1:5300\/v1\)/);
  });
  it('a refused connection says the gateway cannot be reached, naming the knob', () => {
    assert.match(gatewayDiagnosis({ ok: false, errorCode: 'ECONNREFUSED', reason: 'connection refused (ECONNREFUSED)' }, 'http://127.0.0.1:9/v1', knob)!, /cannot be reached \(connection refused \(ECONNREFUSED\)\).*Check --upstream-url/);
  });
  it('a website instead of the API (200, no model list) is said too', () => {
    assert.match(gatewayDiagnosis({ ok: false, status: 200, reason: 'the answer is not a model list' }, 'https://example.com', knob)!, /did not answer a model list: --upstream-url probably lacks \/v1/);
  });
  it('a model list, or a refusal of the key, is not the address\'s fault: nothing to say', () => {
    assert.equal(gatewayDiagnosis({ ok: true, models: [{ id: 'm' }] }, 'http://x/v1', knob), undefined);
    assert.equal(gatewayDiagnosis({ ok: false, status: 401, reason: 'HTTP 401' }, 'http://x/v1', knob), undefined);
  });
});
