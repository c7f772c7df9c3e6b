// The answers the proxy makes for the gateway (src/core/proxy/giveUp.ts), as pure functions:
// which status, which words, which headers. The loopback tests show them on the wire.
import * as assert from 'node:assert/strict';
import type { FailureDecision } from '../../../src/core/pool/types';
import { gatewayMessage, giveUpAnswer, htmlRefusalAnswer, noModelAnswer, outageAnswer, type FailedAttempt } from '../../../src/core/proxy/giveUp';

const A = 'sk-abcd…wxyz';
const B = 'sk-efgh…stuv';
const now = Date.UTC(2026, 11, 1, 7, 0, 0);

const retry = (reason: string): FailureDecision => ({ action: 'retry-next-key', blame: 'gateway', reason });
const json = (o: object) => Buffer.from(JSON.stringify(o));

describe('give-up answers (pure)', () => {
  it('no key at all → 503 no_keys; every key resting → 503 with Retry-After in whole seconds', () => {
    assert.equal(giveUpAnswer([], 0, { now }).code, 'no_keys');
    const resting = giveUpAnswer([], 0, { now, nextUsableAt: now + 4200 });
    assert.equal(resting.status, 503);
    assert.equal(resting.code, 'keys_cooling');
    assert.equal(resting.headers['retry-after'], '5');
    assert.equal(giveUpAnswer([], 0, { now, nextUsableAt: now - 1 }).code, 'no_keys', 'a past time is no reason to wait');
  });

  it('the last failure\'s status is kept for 429/502/503/504; any other becomes 502', () => {
    for (const [status, want] of [
      [429, 429],
      [502, 502],
      [503, 503],
      [504, 504],
      [500, 502],
      [520, 502],
    ] as const) {
      const f: FailedAttempt[] = [{ keyId: A, decision: retry(`HTTP ${status}`), status, headers: {}, body: Buffer.from('x') }];
      assert.equal(giveUpAnswer(f, 1, { now }).status, want, `${status}`);
    }
  });

  it('Retry-After only from a last 429', () => {
    const limited: FailedAttempt = { keyId: B, decision: { action: 'cool-down', blame: 'key', reason: 'HTTP 429' }, status: 429, headers: { 'retry-after': '7' } };
    const down: FailedAttempt = { keyId: A, decision: retry('HTTP 503'), status: 503, headers: { 'retry-after': '9' } };
    assert.equal(giveUpAnswer([down, limited], 2, { now }).headers['retry-after'], '7');
    assert.equal(giveUpAnswer([limited, down], 2, { now }).headers['retry-after'], undefined);
  });

  it('names every key tried and the gateway\'s own JSON message, never its HTML', () => {
    const a = giveUpAnswer(
      [
        { keyId: A, decision: retry('HTTP 502'), status: 502, body: Buffer.from('<html><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>') },
        { keyId: B, decision: retry('HTTP 503'), status: 503, body: json({ error: { message: '  upstream\n overloaded  ', type: 'new_api_error' } }) },
      ],
      2,
      { now },
    );
    assert.equal(a.status, 503);
    assert.match(a.message, new RegExp(`${A}: HTTP 502; ${B}: HTTP 503 "upstream overloaded"`));
    assert.doesNotMatch(a.message, /nginx|<h1>/);
    assert.equal(a.headers['x-daidai-attempts'], '2');
  });

  it('network failures: 504 when every one timed out, 502 otherwise', () => {
    const t = (code: string): FailedAttempt => ({ keyId: A, decision: retry(code), errorCode: code });
    assert.equal(giveUpAnswer([t('UND_ERR_HEADERS_TIMEOUT'), t('UND_ERR_HEADERS_TIMEOUT')], 2, { now }).status, 504);
    assert.equal(giveUpAnswer([t('UND_ERR_HEADERS_TIMEOUT'), t('ECONNRESET')], 2, { now }).status, 502);
  });

  it('every failure a refusal of the model → 404 model_not_found; revoked keys → 403 keys_revoked (not retried, no balance advice); exhausted → 503 keys_refused', () => {
    const excl: FailedAttempt = { keyId: A, decision: { action: 'exclude-model', blame: 'model', reason: 'not served' }, status: 503 };
    const a = giveUpAnswer([excl, { ...excl, keyId: B }], 2, { now, model: 'gpt-4o' });
    assert.equal(a.status, 404);
    assert.match(a.message, /^No key of this account serves model "gpt-4o"/);
    const revoked: FailedAttempt = { keyId: B, decision: { action: 'disable-key', blame: 'key', reason: 'HTTP 401' }, status: 401 };
    const allRevoked = giveUpAnswer([excl, revoked], 2, { now, model: 'gpt-4o' });
    assert.equal(allRevoked.code, 'keys_revoked');
    assert.equal(allRevoked.status, 403, 'clients retry 503; a revoked key does not come back by retrying');
    assert.doesNotMatch(allRevoked.message, /balance/i);
    assert.match(allRevoked.message, /invalid or revoked/);
    const exhausted: FailedAttempt = { keyId: A, decision: { action: 'exhausted', blame: 'key', reason: 'balance used up' }, status: 403 };
    const mixed = giveUpAnswer([exhausted, revoked], 2, { now, model: 'gpt-4o' });
    assert.equal(mixed.code, 'keys_refused');
    assert.equal(mixed.status, 503);
    assert.match(mixed.message, /balances/);
  });

  it('the outage answer says why and since when; 504 for timeouts', () => {
    const a = outageAnswer({ reason: 'connection refused (ECONNREFUSED) on 3 keys', since: now - 3 * 60_000 }, now);
    assert.equal(a.status, 502);
    assert.equal(a.code, 'gateway_unreachable');
    assert.match(a.message, /unreachable \(connection refused \(ECONNREFUSED\) on 3 keys, since 06:57:00 UTC, 3 min ago\)/);
    assert.equal(outageAnswer({ reason: 'timeout before headers (UND_ERR_HEADERS_TIMEOUT) on 2 keys', since: now }, now).status, 504);
  });

  it('the local 404 lists the closest ids first, each once, then a few more and how many are left', () => {
    const all = Array.from({ length: 20 }, (_, i) => `m-${i}`);
    const a = noModelAnswer('gpt-5', ['gpt-4o', 'm-3'], all);
    assert.equal(a.status, 404);
    const listed = a.message.replace(/^.*Models it serves: /, '').replace(/\.$/, '');
    assert.ok(listed.startsWith('gpt-4o, m-3, m-0, m-1'), listed);
    assert.match(listed, /, and 9 more$/);
    assert.match(noModelAnswer('x', [], undefined).message, /none known yet/);
  });

  it('an HTML refusal in words: its status, the page title, the masked key', () => {
    const a = htmlRefusalAnswer(413, Buffer.from('<html><head><title>413 Request Entity Too Large</title></head></html>'), A, 1);
    assert.equal(a.status, 413);
    assert.match(a.message, /HTTP 413 \(413 Request Entity Too Large\) as an HTML page/);
    assert.equal(a.headers['x-daidai-key'], 'sk-abcd...wxyz');
  });

  it('gatewayMessage reads error.message, message or a string error; nothing from HTML or broken JSON; keys redacted', () => {
    assert.equal(gatewayMessage(json({ error: { message: 'a' } })), 'a');
    assert.equal(gatewayMessage(json({ message: 'b' })), 'b');
    assert.equal(gatewayMessage(json({ error: 'c' })), 'c');
    assert.equal(gatewayMessage(Buffer.from('<html>x</html>')), undefined);
    assert.equal(gatewayMessage(Buffer.from('{"error":')), undefined);
    assert.equal(gatewayMessage(json({ error: { message: 'bad key sk-0123456789abcdefghijklmn' } })), 'bad key sk-0123…klmn');
    assert.equal(gatewayMessage(json({ error: { message: 'x'.repeat(500) } }))?.length, 160);
  });
});
