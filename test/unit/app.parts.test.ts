// The VS Code layer's small plain parts: settings parsing, the render throttle, the credential store.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { nullLogger, type Logger } from '../../src/core/util/log';
import { CREDENTIALS_SECRET, CredentialStore } from '../../src/core/app/credentialStore';
import { MemorySecretStorage } from '../helpers/memorySecretStorage';
import { changedSettings, defaultSettings, proxyOptionsOf, readSettings } from '../../src/core/app/settings';
import { throttle } from '../../src/core/util/throttle';

describe('app: settings', () => {
  it('reads every daidai.* setting by its id', () => {
    const values: Record<string, unknown> = {
      'proxy.port': 5200,
      'proxy.host': '0.0.0.0',
      'proxy.autoStart': true,
      'proxy.accessToken': ' tok ',
      'proxy.allowedOrigins': ['http://localhost:8000', 3, ''],
      'platform.baseUrl': 'http://127.0.0.1:9000/',
      'upstream.baseUrl': 'http://127.0.0.1:9000/v1',
      'failover.maxRetries': 5,
      'failover.failureThreshold': 4,
      'failover.cooldownWaitSeconds': 0.5,
      'failover.modelExclusionMinutes': 30,
      'balances.refreshMinutes': 0,
      'balances.lowThreshold': 2.5,
      'models.aliases': { 'claude-opus-4-8': ' [官Max]claude-opus-4-6-20260205 ', bad: 3, ' ': 'x', long: 'y'.repeat(300) },
      'models.familyFallback': false,
      'routing.sessionAffinity': false,
      'routing.sessionIdleMinutes': 15,
      'upstream.headersTimeoutSeconds': 30,
      'upstream.bodyTimeoutSeconds': 1e9,
    };
    const s = readSettings((id) => values[id]);
    assert.deepEqual(s, {
      proxyPort: 5200,
      proxyHost: '0.0.0.0',
      proxyAutoStart: true,
      proxyAccessToken: 'tok',
      proxyAllowedOrigins: ['http://localhost:8000'],
      platformBaseUrl: 'http://127.0.0.1:9000',
      upstreamBaseUrl: 'http://127.0.0.1:9000/v1',
      maxRetries: 5,
      failureThreshold: 4,
      cooldownWaitSeconds: 0.5,
      modelExclusionMinutes: 30,
      refreshMinutes: 0,
      lowBalance: 2.5,
      modelAliases: { 'claude-opus-4-8': '[官Max]claude-opus-4-6-20260205' },
      familyFallback: false,
      sessionAffinity: false,
      sessionIdleMinutes: 15,
      headersTimeoutSeconds: 30,
      bodyTimeoutSeconds: 3600,
    });
  });

  it('falls back to the defaults for missing or malformed values', () => {
    assert.deepEqual(readSettings(() => undefined), defaultSettings);
    const bad: Record<string, unknown> = {
      'proxy.port': 'many',
      'platform.baseUrl': 'ftp://elsewhere',
      'upstream.baseUrl': 'not a url',
      'failover.failureThreshold': 0,
      'proxy.port.x': 1,
    };
    const s = readSettings((id) => bad[id]);
    assert.equal(s.proxyPort, 5100);
    assert.equal(s.platformBaseUrl, 'https://user.daidaibird.top');
    assert.equal(s.upstreamBaseUrl, 'https://api.daidaibird.top/v1');
    assert.equal(s.failureThreshold, 1, 'clamped to the minimum');
  });

  it('maps settings to proxy options and lists what changed', () => {
    const s = { ...defaultSettings, proxyPort: 6000 };
    assert.deepEqual(proxyOptionsOf(s, 'http://x/v1'), {
      host: '127.0.0.1',
      port: 6000,
      upstreamBaseUrl: 'http://x/v1',
      maxRetries: 3,
      cooldownWaitMs: 2000,
      accessToken: '',
      allowedOrigins: [],
      headersTimeoutMs: 120_000,
      bodyTimeoutMs: 300_000,
    });
    assert.deepEqual(changedSettings(defaultSettings, s), ['proxyPort']);
    assert.deepEqual(changedSettings(s, { ...s, proxyAllowedOrigins: ['a'] }), ['proxyAllowedOrigins']);
  });
});

describe('app: throttle', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => {
    clock = sinon.useFakeTimers();
  });
  afterEach(() => clock.restore());

  it('runs the first call at once and coalesces the rest into one run per interval', () => {
    const fn = sinon.spy();
    const t = throttle(fn, 250);
    t();
    assert.equal(fn.callCount, 1);
    for (let i = 0; i < 100; i++) t();
    assert.equal(fn.callCount, 1);
    clock.tick(249);
    assert.equal(fn.callCount, 1);
    clock.tick(1);
    assert.equal(fn.callCount, 2);
    clock.tick(1000);
    assert.equal(fn.callCount, 2, 'no run without a call');
    t();
    assert.equal(fn.callCount, 3, 'an old enough last run lets the next call through at once');
  });

  it('flushes a pending run and stops after dispose', () => {
    const fn = sinon.spy();
    const t = throttle(fn, 250);
    t();
    t();
    t.flush();
    assert.equal(fn.callCount, 2);
    t.flush();
    assert.equal(fn.callCount, 2, 'nothing pending');
    t();
    t.dispose();
    clock.tick(1000);
    t();
    assert.equal(fn.callCount, 2);
  });
});

describe('app: CredentialStore', () => {
  const creds = { email: 'a@b.c', password: 'p4ss' };

  function logger(lines: string[]): Logger {
    return { ...nullLogger, warn: (m: string) => void lines.push(m) };
  }

  it('stores, reads and forgets credentials under one secret', async () => {
    const secrets = new MemorySecretStorage();
    const store = new CredentialStore(secrets, nullLogger);
    assert.equal(await store.get(), undefined);
    assert.equal(await store.set(creds), true);
    assert.deepEqual(await store.get(), creds);
    assert.deepEqual([...secrets.map.keys()], [CREDENTIALS_SECRET]);
    assert.equal(await store.clear(), true);
    assert.equal(await store.get(), undefined);
    store.dispose();
  });

  it('survives keychain errors and unreadable values, and never logs the password', async () => {
    const secrets = new MemorySecretStorage();
    const lines: string[] = [];
    const store = new CredentialStore(secrets, logger(lines));
    secrets.map.set(CREDENTIALS_SECRET, '{not json');
    assert.equal(await store.get(), undefined);
    secrets.failing = true;
    assert.equal(await store.get(), undefined);
    assert.equal(await store.set(creds), false);
    assert.equal(lines.length, 3);
    assert.ok(!lines.join('\n').includes(creds.password));
    store.dispose();
  });

  it('reports changes made by another window, not its own', async () => {
    const secrets = new MemorySecretStorage();
    const store = new CredentialStore(secrets, nullLogger);
    const changed = sinon.spy();
    store.onDidChange(changed);
    await store.set(creds);
    await new Promise((r) => setImmediate(r));
    assert.equal(changed.callCount, 0);
    secrets.storeFromElsewhere(CREDENTIALS_SECRET, JSON.stringify({ email: 'x@y.z', password: 'other' }));
    await new Promise((r) => setImmediate(r));
    assert.equal(changed.callCount, 1);
    store.dispose();
  });
});
