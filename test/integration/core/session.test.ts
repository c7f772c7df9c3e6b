// The session and its command handlers end to end, driven like VS Code would drive them, against
// the fake DaiDai platform on 127.0.0.1, with the VS Code window replaced by sinon stubs. The
// handlers alone, over a fake SessionPort and no HTTP, are test/unit/app.commands.test.ts.
import * as assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import * as sinon from 'sinon';
import { createFakeDaiDai, DEMO_ACCOUNT, DEMO_MODELS, DEMO_USABLE_KEYS } from '../../fake/fakeDaiDai';
import type { FakeDaiDai } from '../../fake/types';
import { Account } from '../../../src/core/platform/account';
import { PlatformClient } from '../../../src/core/platform/client';
import { treeRows } from '../../../src/core/present';
import type { Logger } from '../../../src/core/util/log';
import { setLanguage } from '../../../src/core/l10n';
import { maskKey } from '../../../src/core/util/mask';
import { CommandHandlers } from '../../../src/core/app/commands';
import { CREDENTIALS_SECRET, CredentialStore } from '../../../src/core/app/credentialStore';
import { MemorySecretStorage } from '../../helpers/memorySecretStorage';
import { stubUi, type StubbedUi } from '../../helpers/stubUi';
import { Session } from '../../../src/core/app/session';
import { defaultSettings, type DaiDaiSettings } from '../../../src/core/app/settings';
import type { Ui } from '../../../src/core/app/ui';


interface Harness {
  fake: FakeDaiDai;
  secrets: MemorySecretStorage;
  credentials: CredentialStore;
  session: Session;
  ui: StubbedUi;
  handlers: CommandHandlers;
  lines: string[];
  accounts: Account[];
}

function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (m: string | Error, ...args: unknown[]) => {
    lines.push(`[${level}] ${m instanceof Error ? m.message : m}${args.length ? ' ' + args.map(String).join(' ') : ''}`);
  };
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('app: command handlers and session', function () {
  let sandbox: sinon.SinonSandbox;
  let h: Harness;
  const open: Array<{ close(): unknown }> = [];

  async function setup(over: Partial<DaiDaiSettings> = {}, secrets = new MemorySecretStorage()): Promise<Harness> {
    const fake = createFakeDaiDai();
    await fake.start(0, '127.0.0.1');
    const lines: string[] = [];
    const logger = recordingLogger(lines);
    const credentials = new CredentialStore(secrets, logger);
    const accounts: Account[] = [];
    const settings: DaiDaiSettings = {
      ...defaultSettings,
      platformBaseUrl: fake.url,
      upstreamBaseUrl: fake.gatewayUrl,
      proxyPort: 0,
      refreshMinutes: 0,
      ...over,
    };
    const session = new Session({
      logger,
      credentials,
      settings,
      createAccount: (baseUrl) => {
        const a = new Account(new PlatformClient({ baseUrl, logger }), { logger });
        accounts.push(a);
        return a;
      },
    });
    const ui = stubUi(sandbox);
    const handlers = new CommandHandlers(session, ui as Ui, logger);
    h = { fake, secrets, credentials, session, ui, handlers, lines, accounts };
    return h;
  }

  function answerLogin(email: string, password: string): void {
    h.ui.showInputBox.onFirstCall().resolves(email).onSecondCall().resolves(password);
  }

  /** `text` names the conversation: the same text is the same session (affinity keeps its key). */
  async function chat(url: string, stream = false, text = 'hi'): Promise<{ status: number; text: string; key: string | null }> {
    const res = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer anything' },
      body: JSON.stringify({ model: DEMO_MODELS[4], stream, messages: [{ role: 'user', content: text }] }),
    });
    return { status: res.status, text: await res.text(), key: res.headers.get('x-daidai-key') };
  }

  /** Lets notifications' `.then` handlers run. */
  const settle = () => new Promise((r) => setImmediate(r));

  beforeEach(() => {
    sandbox = sinon.createSandbox();
  });

  afterEach(async () => {
    sandbox.restore();
    for (const o of open.splice(0)) o.close();
    if (h) {
      await h.session.dispose();
      h.credentials.dispose();
      await h.fake.stop();
    }
  });

  it('logs in with email then password, stores the credentials, and fills the pool', async () => {
    await setup();
    answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
    assert.equal(await h.handlers.login(), true);

    const [emailBox, passwordBox] = h.ui.showInputBox.getCalls().map((c) => c.args[0]);
    assert.notEqual(emailBox.password, true);
    assert.equal(passwordBox.password, true);
    assert.equal(passwordBox.ignoreFocusOut, true);
    assert.equal(emailBox.validateInput('not an email'), 'Enter the email address you log in to DaiDai with.');
    assert.equal(emailBox.validateInput('a@b.c'), undefined);
    assert.equal(h.ui.withProgress.callCount, 1);

    assert.equal(h.session.mode, 'account');
    assert.equal(h.session.pool.snapshot().counts.total, DEMO_USABLE_KEYS.length);
    assert.deepEqual(JSON.parse(h.secrets.map.get(CREDENTIALS_SECRET)!), { email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    assert.match(h.ui.showInformationMessage.firstCall.args[0], new RegExp(`Logged in as ${DEMO_ACCOUNT.email}: ${DEMO_USABLE_KEYS.length} keys`));

    const rows = treeRows(h.session.accountView, h.session.pool.snapshot(), { now: Date.now() });
    assert.equal(rows.length, 1 + DEMO_USABLE_KEYS.length);
    assert.deepEqual(rows.slice(1).map((r) => r.label), DEMO_USABLE_KEYS.map(maskKey));
    const everything = JSON.stringify(rows) + h.lines.join('\n');
    for (const k of DEMO_USABLE_KEYS) assert.ok(!everything.includes(k), 'no key in clear in rows or logs');
    assert.ok(!everything.includes(DEMO_ACCOUNT.password), 'no password in rows or logs');
  });

  it('shows the platform message when the login fails, and stores nothing', async () => {
    await setup();
    answerLogin(DEMO_ACCOUNT.email, 'wrong password');
    assert.equal(await h.handlers.login(), false);
    assert.equal(h.session.mode, 'signed-out');
    assert.equal(h.secrets.map.size, 0);
    assert.match(h.ui.showErrorMessage.firstCall.args[0], /DaiDai login failed: .*邮箱或密码错误/);
    assert.ok(!h.lines.join('\n').includes('wrong password'));
  });

  it('does not call the platform when the login is cancelled', async () => {
    await setup();
    h.ui.showInputBox.resolves(undefined);
    assert.equal(await h.handlers.login(), false);
    assert.equal(h.ui.showInputBox.callCount, 1);
    assert.equal(h.fake.platformCalls['/api/users/login'] ?? 0, 0);
  });

  it('logs in silently on startup with stored credentials and auto-starts the proxy', async () => {
    const secrets = new MemorySecretStorage();
    secrets.map.set(CREDENTIALS_SECRET, JSON.stringify({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password }));
    await setup({ proxyAutoStart: true }, secrets);
    await h.handlers.restoreOnStartup();
    assert.equal(h.session.mode, 'account');
    assert.equal(h.session.proxyStatus.state, 'running');
    assert.equal(h.ui.showInputBox.callCount, 0);
    assert.equal(h.ui.showWarningMessage.callCount, 0);
  });

  it('does nothing on startup without stored credentials, and warns when they no longer work', async () => {
    await setup({ proxyAutoStart: true });
    await h.handlers.restoreOnStartup();
    assert.equal(h.session.mode, 'signed-out');
    assert.equal(h.session.proxyStatus.state, 'stopped');
    assert.equal(h.fake.platformCalls['/api/users/login'] ?? 0, 0);

    h.secrets.map.set(CREDENTIALS_SECRET, JSON.stringify({ email: DEMO_ACCOUNT.email, password: 'changed since' }));
    await h.handlers.restoreOnStartup();
    assert.equal(h.session.mode, 'signed-out');
    assert.match(h.ui.showWarningMessage.firstCall.args[0], /could not log in with your stored login/);
  });

  it('proxies a chat and a stream, counts them, and logs each request with the masked key', async () => {
    await setup();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    assert.equal(await h.handlers.startProxy(), true);
    const url = h.session.proxyUrl();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.match(h.ui.showInformationMessage.lastCall.args[0], /DaiDai proxy running at .* over 6 of 6 keys/);

    const counted = sandbox.spy();
    h.session.onDidCountRequest(counted);
    const plain = await chat(url);
    assert.equal(plain.status, 200);
    const streamed = await chat(url, true);
    assert.equal(streamed.status, 200);
    assert.match(streamed.text, /data: \[DONE\]/);

    assert.deepEqual(h.session.requests, { served: 2, failed: 0 });
    assert.equal(counted.callCount, 2);
    // The record's path is the route under /v1 (`/chat/completions`), whatever form the client used.
    const logged = h.lines.filter((l) => /POST (\/v1)?\/chat\/completions /.test(l));
    assert.equal(logged.length, 2);
    // The header is ASCII (`sk-abcd...wxyz`); the log uses the pool id (`sk-abcd…wxyz`).
    const servedBy = plain.key!.replace('...', '…');
    assert.ok(logged[0].includes(`key=${servedBy}`), logged[0]);
    assert.ok(DEMO_USABLE_KEYS.map(maskKey).includes(servedBy));
    for (const k of DEMO_USABLE_KEYS) assert.ok(!h.lines.join('\n').includes(k));

    await h.handlers.stopProxy();
    assert.equal(h.session.proxyStatus.state, 'stopped');
  });

  it('says which port is taken and offers the settings when the proxy cannot start', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    open.push(blocker);
    const port = (blocker.address() as { port: number }).port;
    await setup({ proxyPort: port });
    assert.equal(await h.handlers.startProxy(), false);
    const [message, ...buttons] = h.ui.showErrorMessage.firstCall.args;
    assert.match(message, new RegExp(`Port ${port} is in use`));
    assert.ok(buttons.includes('Open Settings'));
  });

  it('logout stops the proxy and forgets credentials, keys and balances', async () => {
    await setup();
    answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
    await h.handlers.login();
    await h.handlers.startProxy();
    await h.handlers.logout();
    assert.equal(h.session.proxyStatus.state, 'stopped');
    assert.equal(h.secrets.map.size, 0);
    assert.equal(h.session.pool.snapshot().counts.total, 0);
    assert.equal(h.session.accountView.signedIn, false);
    assert.deepEqual(treeRows(h.session.accountView, h.session.pool.snapshot(), { now: Date.now() }), []);
  });

  it('copies a key only after the modal confirmation', async () => {
    await setup();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    const row = treeRows(h.session.accountView, h.session.pool.snapshot(), { now: Date.now() })[2];

    h.ui.confirm.resolves(false);
    assert.equal(await h.handlers.copyKey(row), false);
    assert.equal(h.ui.writeClipboard.callCount, 0);
    assert.match(h.ui.confirm.firstCall.args[0], new RegExp(`Copy the key ${row.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    h.ui.confirm.resolves(true);
    assert.equal(await h.handlers.copyKey(row), true);
    assert.equal(h.ui.writeClipboard.callCount, 1);
    const copied = h.ui.writeClipboard.firstCall.args[0] as string;
    assert.equal(copied, DEMO_USABLE_KEYS[1]);
    assert.ok(!h.lines.join('\n').includes(copied));
  });

  it('takes a key out of rotation and puts it back', async () => {
    await setup();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    const rowsOf = () => treeRows(h.session.accountView, h.session.pool.snapshot(), { now: Date.now() });
    const row = rowsOf()[1];
    assert.equal(row.contextValue, 'key:healthy');
    assert.equal(await h.handlers.disableKey(row), true);
    assert.match(rowsOf()[1].contextValue, /^key:[a-z]+:manual$/);
    assert.equal(h.session.pool.snapshot().counts.usable, DEMO_USABLE_KEYS.length - 1);

    // From the palette there is no row: the handler asks which key, offering only the disabled one.
    h.ui.showQuickPick.callsFake(async (items: Array<{ key: unknown }>) => items[0]);
    assert.equal(await h.handlers.enableKey(undefined), true);
    assert.equal(h.ui.showQuickPick.firstCall.args[0].length, 1);
    assert.equal(rowsOf()[1].contextValue, 'key:healthy');
  });

  it('connects Claude Code with the origin without /v1 and copies it', async () => {
    await setup();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    await h.session.startProxy();
    h.ui.showQuickPick.callsFake(async (items: Array<{ id: string }>) => items.find((i) => i.id === 'claude-code'));
    assert.equal(await h.handlers.connectClient(), 'claude-code');
    const origin = h.session.proxyUrl().replace(/\/v1$/, '');
    assert.equal(h.ui.writeClipboard.firstCall.args[0], origin);
    const [name, markdown] = h.ui.showMarkdown.firstCall.args;
    assert.equal(name, 'connect-claude-code.md');
    assert.ok(markdown.includes(`ANTHROPIC_BASE_URL=${origin}\n`));
  });

  it('runs the demo account for this session only, through its own fake platform', async () => {
    await setup({ platformBaseUrl: 'http://127.0.0.1:9', upstreamBaseUrl: 'http://127.0.0.1:9/v1' });
    assert.equal(await h.handlers.tryDemo(), true);
    assert.equal(h.session.mode, 'demo');
    assert.equal(h.session.isDemo, true);
    assert.equal(h.secrets.map.size, 0, 'demo credentials are not stored');
    assert.equal(h.session.pool.snapshot().counts.total, DEMO_USABLE_KEYS.length);

    await h.session.startProxy();
    const res = await chat(h.session.proxyUrl());
    assert.equal(res.status, 200, res.text);
    assert.equal(h.session.settings.upstreamBaseUrl, 'http://127.0.0.1:9/v1', 'settings untouched');

    await h.handlers.logout();
    assert.equal(h.session.mode, 'signed-out');
    assert.equal(h.session.isDemo, false);
  });

  it('warns once per key about a low balance', async () => {
    await setup({ lowBalance: 1 });
    const warned = sandbox.spy();
    h.session.onDidFindLowBalance(warned);
    h.session.onDidFindLowBalance((keys) => h.handlers.warnLowBalance(keys));
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    await h.session.refresh();
    assert.equal(warned.callCount, 1);
    const low = warned.firstCall.args[0] as Array<{ balance: number }>;
    assert.ok(low.length >= 1 && low.every((k) => k.balance < 1));
    assert.match(h.ui.showWarningMessage.firstCall.args[0], /below ¥1\.00/);
    assert.equal(h.ui.showWarningMessage.callCount, 1);
  });

  it('restarts a running proxy when its port changes; the failure threshold applies without one', async () => {
    await setup();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    const first = await h.session.startProxy();
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const freePort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));

    const outcome = await h.session.applySettings({ ...h.session.settings, proxyPort: freePort, failureThreshold: 5 });
    assert.deepEqual(outcome.restartedFor, ['daidai.proxy.port']);
    assert.equal(h.session.proxyStatus.state, 'running');
    assert.equal(h.session.proxyStatus.port, freePort);
    assert.notEqual(first.port, freePort);
    assert.equal((await chat(h.session.proxyUrl())).status, 200);

    // The new threshold holds at once: with 1, a single failure takes the key that made it out.
    await h.session.applySettings({ ...h.session.settings, failureThreshold: 1 });
    const next = h.session.pool.snapshot().nextKeyId!;
    const victim = h.session.accountView.keys.find((k) => maskKey(k.key) === next)!.key;
    h.fake.setFault(victim, { status: 500, times: 1 });
    assert.equal((await chat(h.session.proxyUrl(), false, 'a new conversation')).status, 200, 'the request moved on to the next key');
    const after = h.session.pool.snapshot().keys.find((k) => k.id === next)!;
    assert.equal(after.state, 'disabled', 'one failure took the key out under a threshold of 1');

    const quiet = await h.session.applySettings({ ...h.session.settings, maxRetries: 1 });
    assert.deepEqual(quiet.restartedFor, []);
  });

  it('follows a logout done in another window', async () => {
    await setup();
    answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
    await h.handlers.login();
    const changed = new Promise<void>((resolve) => {
      const sub = h.session.onDidChange(() => {
        if (!h.session.signedIn) {
          sub.dispose();
          resolve();
        }
      });
    });
    await h.handlers.startProxy();
    assert.equal((await chat(h.session.proxyUrl())).status, 200);
    const cleared = sandbox.spy(h.credentials, 'clear');
    h.secrets.storeFromElsewhere(CREDENTIALS_SECRET, undefined);
    await changed;
    assert.equal(h.session.mode, 'signed-out');
    // The same place a logout here leads to: proxy stopped, no keys, counters reset, no history.
    const s = h.session.snapshot;
    assert.equal(s.proxy.state, 'stopped');
    assert.equal(s.pool.counts.total, 0);
    assert.deepEqual(s.requests, { served: 0, failed: 0 });
    assert.equal(s.models, undefined, 'no gateway monitor left running');
    assert.equal(s.history.recent().length, 0, 'the account\'s usage history is no longer the one in use');
    assert.equal(cleared.callCount, 0, 'the other window cleared the shared login; this one does not write it');
    assert.ok(h.lines.some((l) => /Logged out in another window/.test(l)));
  });

  it('a logout here resets the same things and clears the stored login', async () => {
    await setup();
    answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
    await h.handlers.login();
    await h.handlers.startProxy();
    assert.equal((await chat(h.session.proxyUrl())).status, 200);
    assert.equal(h.session.snapshot.history.recent().length, 1);
    await h.session.signOut('logout');
    const s = h.session.snapshot;
    assert.equal(s.mode, 'signed-out');
    assert.equal(s.proxy.state, 'stopped');
    assert.equal(s.pool.counts.total, 0);
    assert.deepEqual(s.requests, { served: 0, failed: 0 });
    assert.equal(s.models, undefined);
    assert.equal(s.history.recent().length, 0);
    assert.equal(h.secrets.map.size, 0);
    assert.ok(h.lines.some((l) => /Logged out \(.*\); credentials, keys and balances forgotten/.test(l)));
  });

  it('views get one snapshot and one event; a chat provider gets the model list and its own event', async () => {
    await setup();
    const changes: string[] = [];
    h.session.onDidChangeSnapshot((c) => changes.push(c));
    const modelsChanged = () => new Promise<void>((resolve) => {
      const sub = h.session.onDidChangeModels(() => {
        sub.dispose();
        resolve();
      });
    });
    assert.equal(h.session.snapshot.models, undefined);

    let listed = modelsChanged();
    await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
    await listed;
    const ids = h.session.snapshot.models!.map((m) => m.id);
    for (const id of DEMO_MODELS) assert.ok(ids.includes(id), `${id} is listed`);
    assert.ok(changes.includes('state'), 'the login is a state change');

    changes.length = 0;
    await h.session.startProxy();
    assert.ok(changes.includes('state'), 'the proxy starting is a state change');
    changes.length = 0;
    assert.equal((await chat(h.session.snapshot.proxyUrl)).status, 200);
    assert.ok(changes.includes('activity'), 'a request is activity');
    assert.deepEqual(h.session.snapshot.requests, { served: 1, failed: 0 });

    listed = modelsChanged();
    await h.handlers.logout();
    await listed;
    assert.equal(h.session.snapshot.models, undefined, 'signed out: no models to offer');
  });

  it('keeps the login for the session when the keychain fails', async () => {
    const secrets = new MemorySecretStorage();
    await setup({}, secrets);
    secrets.failing = true;
    answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
    assert.equal(await h.handlers.login(), true);
    assert.equal(h.session.mode, 'account');
    assert.ok(h.lines.some((l) => /Could not store the DaiDai login in the system keychain/.test(l)));
    await settle();
  });

  describe('in Chinese (setLanguage zh-cn)', () => {
    beforeEach(() => setLanguage('zh-cn'));
    afterEach(() => setLanguage('en'));

    it('asks, validates and reports the login in Chinese, and a Chinese button still runs its action', async () => {
      await setup();
      answerLogin(DEMO_ACCOUNT.email, DEMO_ACCOUNT.password);
      h.ui.showInformationMessage.onFirstCall().resolves('启动代理');
      assert.equal(await h.handlers.login(), true);
      const [emailBox, passwordBox] = h.ui.showInputBox.getCalls().map((c) => c.args[0]);
      assert.equal(emailBox.title, 'DaiDai: 登录（1/2）');
      assert.equal(emailBox.prompt, '你的呆呆鸟账号的邮箱地址');
      assert.equal(emailBox.validateInput('not an email'), '请输入你登录呆呆鸟所用的邮箱地址。');
      assert.equal(passwordBox.prompt, `${DEMO_ACCOUNT.email} 的密码`);
      assert.equal(h.ui.withProgress.firstCall.args[0], '正在登录呆呆鸟…');
      const [message, ...buttons] = h.ui.showInformationMessage.firstCall.args;
      const total = h.session.accountView.totalBalance!.toFixed(2);
      assert.equal(message, `已登录 ${DEMO_ACCOUNT.email}：${DEMO_USABLE_KEYS.length} 个密钥，共 ¥${total}。`);
      assert.deepEqual(buttons, ['启动代理']);
      await settle();
      await settle();
      assert.equal(h.session.proxyStatus.state, 'running', 'the 启动代理 button started the proxy');
    });

    it('shows a failed login in Chinese with the platform\'s own words, and Chinese buttons', async () => {
      await setup();
      answerLogin(DEMO_ACCOUNT.email, 'wrong password');
      assert.equal(await h.handlers.login(), false);
      const [message, ...buttons] = h.ui.showErrorMessage.firstCall.args;
      assert.match(message, /^呆呆鸟登录失败：.*邮箱或密码错误/);
      assert.deepEqual(buttons, ['重试', '显示日志']);
    });

    it('says in Chinese which port is taken, and its 打开设置 button opens the port setting', async () => {
      const blocker: Server = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      open.push(blocker);
      const port = (blocker.address() as { port: number }).port;
      await setup({ proxyPort: port });
      h.ui.showErrorMessage.onFirstCall().resolves('打开设置');
      assert.equal(await h.handlers.startProxy(), false);
      const [message, ...buttons] = h.ui.showErrorMessage.firstCall.args;
      assert.equal(message, `DaiDai 代理未能启动：端口 ${port} 已被另一个程序占用。请修改 daidai.proxy.port，或停止那个程序。`);
      assert.deepEqual(buttons, ['打开设置', '显示日志']);
      await settle();
      assert.deepEqual(h.ui.openSettings.firstCall?.args, ['daidai.proxy.port']);
    });

    it('labels the status-bar menu and the copy-key confirmation in Chinese', async () => {
      await setup();
      await h.handlers.statusBarMenu();
      const [items, options] = h.ui.showQuickPick.firstCall.args as [Array<{ label: string }>, { placeHolder: string }];
      assert.deepEqual(
        items.map((i) => i.label),
        ['$(play) 启动代理', '$(copy) 复制代理 URL', '$(plug) 连接客户端…', '$(account) 登录…', '$(beaker) 试用演示账号', '$(graph) 打开用量面板', '$(output) 显示日志'],
      );
      assert.equal(options.placeHolder, '代理已停止');

      await h.session.login({ email: DEMO_ACCOUNT.email, password: DEMO_ACCOUNT.password });
      const row = treeRows(h.session.accountView, h.session.pool.snapshot(), { now: Date.now() })[1];
      await h.handlers.copyKey(row);
      const [question, detail, action] = h.ui.confirm.firstCall.args;
      assert.equal(question, `将密钥 ${row.label} 复制到剪贴板？`);
      assert.match(detail, /^密钥是机密/);
      assert.equal(action, '复制密钥');
    });
  });
});
