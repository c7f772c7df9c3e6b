// What the pool learned survives the application service (issue 11): a new Session over the same
// state folder, as after a window reload, keeps a hand-disabled key out and its counters; Reset Key
// States forgets it all; the files hold no key in clear.
import * as assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sinon from 'sinon';
import { CommandHandlers } from '../../src/core/app/commands';
import { CredentialStore } from '../../src/core/app/credentialStore';
import { Session } from '../../src/core/app/session';
import { defaultSettings, type DaiDaiSettings } from '../../src/core/app/settings';
import type { Ui } from '../../src/core/app/ui';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_USABLE_KEYS } from '../fake/fakeDaiDai';
import type { FakeDaiDai } from '../fake/types';
import { nullLogger } from '../../src/core/util/log';
import { maskKey } from '../../src/core/util/mask';
import { MemorySecretStorage } from '../helpers/memorySecretStorage';

describe('app: the pool’s state across sessions (a window reload, a restart)', function () {
  this.timeout(20_000);
  let fake: FakeDaiDai;
  let dir: string;
  const sessions: Session[] = [];

  function session(): Session {
    const settings: DaiDaiSettings = { ...defaultSettings, platformBaseUrl: fake.url, upstreamBaseUrl: fake.gatewayUrl, proxyPort: 0, refreshMinutes: 0 };
    const s = new Session({ logger: nullLogger, credentials: new CredentialStore(new MemorySecretStorage(), nullLogger), settings, stateDir: dir });
    sessions.push(s);
    return s;
  }

  beforeEach(async () => {
    fake = createFakeDaiDai();
    await fake.start(0, '127.0.0.1');
    dir = mkdtempSync(join(tmpdir(), 'daidai-app-state-'));
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.dispose();
    await fake.stop();
  });

  it('a key taken out by hand stays out in the next session, and Reset Key States brings it back', async () => {
    const creds = { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password };
    const first = session();
    await first.login(creds, { remember: false });
    const id = maskKey(DEMO_USABLE_KEYS[1]);
    assert.ok(first.setKeyDisabled(id, true));
    await first.dispose(); // flushes, as deactivate does

    const files = readdirSync(dir);
    assert.ok(files.some((f) => f.startsWith('pool-')), files.join(', '));
    for (const f of files) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const k of DEMO_USABLE_KEYS) assert.ok(!text.includes(k), `${f} holds a key in clear`);
      assert.ok(!text.includes(DEMO_ACCOUNT.password), `${f} holds the password`);
    }

    const second = session();
    await second.login(creds, { remember: false });
    const kept = second.pool.snapshot().keys.find((k) => k.id === id)!;
    assert.equal(kept.manuallyDisabled, true, 'still out of rotation after the reload');

    const sandbox = sinon.createSandbox();
    try {
      const ui = { confirm: sandbox.stub().resolves(true), showInformationMessage: sandbox.stub().resolves(undefined) } as unknown as Ui;
      assert.equal(await new CommandHandlers(second, ui, nullLogger).resetKeyStates(), true);
    } finally {
      sandbox.restore();
    }
    assert.equal(second.pool.snapshot().keys.find((k) => k.id === id)!.manuallyDisabled, false, 'reset brought it back');
    await second.dispose();

    const third = session();
    await third.login(creds, { remember: false });
    assert.equal(third.pool.snapshot().keys.find((k) => k.id === id)!.manuallyDisabled, false, 'the reset was written too');
  });

  it('the demo account keeps nothing', async () => {
    const s = session();
    await s.tryDemo();
    assert.ok(s.setKeyDisabled(s.pool.snapshot().keys[0].id, true));
    await s.dispose();
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('pool-')), []);
  });
});
