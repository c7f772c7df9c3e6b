// The dashboard's and the Models view's commands (Open Dashboard, Export Usage…, Copy Model ID,
// Connect a Client with This Model…) against sinon stubs of the window, on a real session.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { CommandHandlers } from '../../src/core/app/commands';
import { Session, type CredentialsPort } from '../../src/core/app/session';
import { defaultSettings } from '../../src/core/app/settings';
import type { Ui } from '../../src/core/app/ui';
import { stubUi, type StubbedUi } from '../helpers/stubUi';
import type { Logger } from '../../src/core/util/log';
import { maskKey } from '../../src/core/util/mask';


const CLEAR_A = 'sk-dashboardTestKeyAAAAAAAAAAAA1111';
const CLEAR_B = 'sk-dashboardTestKeyBBBBBBBBBBBB2222';
const quiet: Logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
const credentials: CredentialsPort = { get: async () => undefined, set: async () => true, clear: async () => true, onDidChange: () => ({ dispose() {} }) };

describe('app: dashboard and Models view commands', () => {
  let sandbox: sinon.SinonSandbox;
  let session: Session;
  let ui: StubbedUi;
  let h: CommandHandlers;
  const settle = () => new Promise((r) => setImmediate(r));

  beforeEach(() => {
    sandbox = sinon.createSandbox();
    session = new Session({ logger: quiet, credentials, settings: { ...defaultSettings, proxyPort: 0, refreshMinutes: 0 } });
    ui = stubUi(sandbox);
    h = new CommandHandlers(session, ui as Ui, quiet);
  });

  afterEach(async () => {
    sandbox.restore();
    await session.dispose();
  });

  function keysWithModels(): void {
    session.pool.setKeys([{ key: CLEAR_A, name: 'A' }, { key: CLEAR_B, name: 'B' }]);
    const [a, b] = session.pool.snapshot().keys;
    session.pool.setModels(a!.id, ['[官Max]claude-sonnet-4-5-20250929', 'gpt-4o-mini']);
    session.pool.setModels(b!.id, ['gpt-4o-mini']);
  }

  it('Open Dashboard shows the panel', () => {
    h.openDashboard();
    assert.equal(ui.showDashboard.callCount, 1);
  });

  it('the status-bar menu offers the dashboard', async () => {
    await h.statusBarMenu();
    const items = ui.showQuickPick.firstCall.args[0] as { label: string }[];
    assert.ok(items.some((i) => /Open Dashboard/.test(i.label)), items.map((i) => i.label).join(' | '));
  });

  it('Copy Model ID copies the id it is given, prefix and all, with a short confirmation', async () => {
    assert.equal(await h.copyModelId('[官Max]claude-sonnet-4-5-20250929'), '[官Max]claude-sonnet-4-5-20250929');
    assert.deepEqual(ui.writeClipboard.firstCall.args, ['[官Max]claude-sonnet-4-5-20250929']);
    assert.deepEqual(ui.flashMessage.firstCall.args, ['Copied [官Max]claude-sonnet-4-5-20250929']);
    assert.equal(ui.showInformationMessage.callCount, 0, 'no toast that stays around');
  });

  it('Copy Model ID from the palette asks which, from the models the keys serve', async () => {
    keysWithModels();
    ui.showQuickPick.callsFake(async (items: { label: string }[]) => items[1]);
    assert.equal(await h.copyModelId(), 'gpt-4o-mini');
    const items = ui.showQuickPick.firstCall.args[0] as { label: string; description: string }[];
    assert.deepEqual(items.map((i) => i.label), ['[官Max]claude-sonnet-4-5-20250929', 'gpt-4o-mini']);
    assert.match(items[1]!.description, /2 keys/);
    assert.deepEqual(ui.writeClipboard.firstCall.args, ['gpt-4o-mini']);
  });

  it('Copy Model ID says so when no model is known yet, and copies nothing', async () => {
    assert.equal(await h.copyModelId(), undefined);
    await settle();
    assert.equal(ui.writeClipboard.callCount, 0);
    assert.match(String(ui.showInformationMessage.firstCall.args[0]), /No model is known yet/);
  });

  it('Connect a Client with This Model puts the model into the snippet and copies the base URL', async () => {
    const id = await h.connectClientWithModel('[官Max]claude-sonnet-4-5-20250929', 'continue');
    assert.equal(id, 'continue');
    const [name, markdown] = ui.showMarkdown.firstCall.args as [string, string];
    assert.equal(name, 'connect-continue.md');
    assert.match(markdown, /model: "\[官Max\]claude-sonnet-4-5-20250929"/);
    assert.match(String(ui.writeClipboard.firstCall.args[0]), /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('Connect a Client with This Model asks for the client, titled with the model', async () => {
    ui.showQuickPick.callsFake(async (items: { id: string }[]) => items.find((i) => i.id === 'curl'));
    assert.equal(await h.connectClientWithModel('gpt-4o-mini'), 'curl');
    assert.match(String(ui.showQuickPick.firstCall.args[1].title), /gpt-4o-mini/);
    assert.match(ui.showMarkdown.firstCall.args[1] as string, /"model":"gpt-4o-mini"/);
  });

  describe('Export Usage…', () => {
    const NOW = new Date(2026, 11, 1, 9, 30).getTime();
    function record(keyId: string, model: string, status = 200) {
      session.history.add(
        { method: 'POST', path: '/v1/chat/completions?x=1', status, attempts: 1, durationMs: 120, aborted: false, model, keyId, stream: false, usage: { inputTokens: 100, outputTokens: 20 } },
        NOW - 60_000,
        status === 200 ? 0.0123 : 0,
      );
    }

    beforeEach(() => {
      record(maskKey(CLEAR_A), '[官Max]claude-sonnet-4-5-20250929');
      record(maskKey(CLEAR_B), 'gpt-4o-mini');
      record(maskKey(CLEAR_B), 'gpt-4o-mini', 503);
    });

    it('writes the hourly rows to the file picked, under a dated default name, and says where', async () => {
      ui.showQuickPick.callsFake(async (items: { kind: string }[]) => items.find((i) => i.kind === 'hourly'));
      ui.saveTextFile.resolves('/home/me/daidai-usage-2026-12-01.csv');
      assert.equal(await h.exportUsage(NOW), '/home/me/daidai-usage-2026-12-01.csv');
      const [name, csv] = ui.saveTextFile.firstCall.args as [string, string];
      assert.equal(name, 'daidai-usage-2026-12-01.csv');
      assert.ok(csv.startsWith('\ufeffhour_start,key,model,requested_model,requests,'), csv.slice(0, 60));
      const lines = csv.trim().split('\r\n');
      assert.equal(lines.length, 3, 'a header and one row per hour × key × model');
      assert.ok(csv.includes(maskKey(CLEAR_A)) && csv.includes('[官Max]claude-sonnet-4-5-20250929'));
      for (const clear of [CLEAR_A, CLEAR_B]) assert.ok(!csv.includes(clear), 'no key in clear in the file');
      await settle();
      assert.match(String(ui.showInformationMessage.firstCall.args[0]), /Usage exported to \/home\/me\/daidai-usage-2026-12-01\.csv/);
    });

    it('writes the recent requests one by one when asked for those', async () => {
      ui.showQuickPick.callsFake(async (items: { kind: string }[]) => items.find((i) => i.kind === 'recent'));
      ui.saveTextFile.resolves('/tmp/r.csv');
      await h.exportUsage(NOW);
      const [name, csv] = ui.saveTextFile.firstCall.args as [string, string];
      assert.equal(name, 'daidai-requests-2026-12-01.csv');
      assert.ok(csv.startsWith('\ufefftime,method,route,model,requested_model,key,status,'));
      assert.equal(csv.trim().split('\r\n').length, 4);
      assert.ok(csv.includes(',503,'));
    });

    it('does nothing when the dialog or the pick is cancelled', async () => {
      assert.equal(await h.exportUsage(NOW), undefined);
      assert.equal(ui.saveTextFile.callCount, 0);
      ui.showQuickPick.callsFake(async (items: unknown[]) => items[0]);
      assert.equal(await h.exportUsage(NOW), undefined);
      await settle();
      assert.equal(ui.saveTextFile.callCount, 1);
      assert.equal(ui.showInformationMessage.callCount, 0);
    });

    it('says so when writing fails', async () => {
      ui.showQuickPick.callsFake(async (items: unknown[]) => items[0]);
      ui.saveTextFile.rejects(new Error('EACCES: permission denied'));
      assert.equal(await h.exportUsage(NOW), undefined);
      await settle();
      assert.match(String(ui.showErrorMessage.firstCall.args[0]), /Exporting the usage failed: EACCES/);
    });
  });
});
