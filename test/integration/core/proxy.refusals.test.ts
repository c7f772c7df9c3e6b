// Refused requests leave a log line (issue 21): the Host, Origin/Sec-Fetch-Site and access-token
// checks say who was refused and why, once a minute per source, never with a token. And the
// proxy's own paths answer other methods with 405, not "Unknown path".
import * as assert from 'node:assert/strict';
import { settingsKnobs } from '../../../src/core/knobs';
import { requestLogLine } from '../../../src/core/present/requests';
import type { RequestRecord } from '../../../src/core/proxy/types';
import { refusalLog } from '../../../src/core/proxy/refusals';
import { harnessPerTest } from './helpers/harness';
import { httpRequest } from './helpers/http';
import { capturingLogger } from './helpers/logger';

const TOKEN = 'my-secret-access-token-123';

describe('refused requests in the log (Host, Origin, token)', function () {
  this.timeout(20_000);
  const { start } = harnessPerTest();

  it('a foreign Host, a foreign origin, a cross-site page, a missing and a wrong token: one warn line each, with the reason', async () => {
    const logger = capturingLogger();
    const h = await start({ logger, proxy: { accessToken: TOKEN } });
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await httpRequest(h.port, '/v1/models', { headers: { ...auth, host: 'evil.example:5100' } })).status, 403);
    assert.equal((await httpRequest(h.port, '/v1/models', { headers: { ...auth, origin: 'http://evil.example' } })).status, 403);
    assert.equal((await httpRequest(h.port, '/v1/models', { headers: { ...auth, 'sec-fetch-site': 'cross-site' } })).status, 403);
    assert.equal((await httpRequest(h.port, '/v1/models')).status, 401);
    assert.equal((await httpRequest(h.port, '/v1/models', { headers: { authorization: 'Bearer not-the-token-456' } })).status, 401);
    const refused = logger.lines.filter((l) => l.startsWith('warn Refused'));
    assert.equal(refused.length, 5, logger.lines.join('\n'));
    assert.match(refused[0], /^warn Refused GET \/v1\/models from 127\.0\.0\.1: Host evil\.example:5100 is not localhost or 127\.0\.0\.1/);
    assert.match(refused[1], /browser origin http:\/\/evil\.example is not allowed \(add it to daidai\.proxy\.allowedOrigins to allow it\)/);
    assert.match(refused[2], /a cross-site browser request \(Sec-Fetch-Site: cross-site\)/);
    assert.match(refused[3], /: no access token \(daidai\.proxy\.accessToken\)\.$/);
    assert.match(refused[4], /: wrong access token \(daidai\.proxy\.accessToken\)\.$/);
    for (const l of logger.lines) {
      assert.ok(!l.includes(TOKEN), 'the token in the log');
      assert.ok(!l.includes('not-the-token-456'), 'the presented token in the log');
    }
  });

  it('a page hammering the proxy costs one line a minute, not one per request; a hostile Origin cannot forge a line', async () => {
    const logger = capturingLogger();
    const h = await start({ logger });
    for (let i = 0; i < 30; i++) assert.equal((await httpRequest(h.port, '/v1/models', { headers: { origin: 'http://evil.example' } })).status, 403);
    assert.equal(logger.lines.filter((l) => l.includes('Refused')).length, 1, logger.lines.join('\n'));

    let now = 0;
    const lines: string[] = [];
    const log = refusalLog({ ...capturingLogger(), warn: (m: string) => lines.push(m) }, { now: () => now });
    const r = { kind: 'origin' as const, method: 'GET', path: '/v1/models', remote: '127.0.0.1', value: 'http://a.example\n2026-12-07T00:00:00.000Z [error] FORGED', knob: settingsKnobs.allowedOrigins };
    for (let i = 0; i < 10; i++) log(r);
    now = 61_000;
    log(r);
    assert.equal(lines.length, 2);
    assert.match(lines[1], /\(9 more like it since the last such line\)$/);
    for (const l of lines) assert.ok(!l.includes('\n'), l);
  });

  it('PUT /health and POST / answer 405 naming the methods they take, not "Unknown path"', async () => {
    const h = await start();
    const put = await httpRequest(h.port, '/health', { method: 'PUT', body: '{}' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, 'GET, HEAD');
    assert.match(put.json().error.message, /^PUT is not allowed on \/health: use GET, HEAD\.$/);
    const post = await httpRequest(h.port, '/', { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal((await httpRequest(h.port, '/health')).status, 200);
    assert.equal((await httpRequest(h.port, '/nowhere')).status, 404);
  });

  it('a 413 is logged as a 413, not as "client went away" (the connection closes after the answer)', async () => {
    const h = await start({ proxy: { bodyLimitBytes: 1024 } });
    const records: RequestRecord[] = [];
    h.proxy.onDidRequest((r) => records.push(r));
    const res = await httpRequest(h.port, '/v1/chat/completions', { body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'x'.repeat(4096) }] } });
    assert.equal(res.status, 413);
    await new Promise((r) => setTimeout(r, 300)); // the close comes after the answer; the line is formatted later
    assert.equal(records.length, 1);
    assert.equal(records[0].aborted, false);
    assert.match(requestLogLine(records[0]), /→ 413 key=/);
    assert.doesNotMatch(requestLogLine(records[0]), /client went away/);
  });
});
