// The command handlers alone: a fake SessionPort (a real KeyPool in memory, no HTTP, no fake
// platform) and the VS Code window replaced by sinon stubs. What the session does behind the port
// is test/integration/core/session.test.ts, against the fake DaiDai on 127.0.0.1.
import * as assert from 'node:assert/strict';
import * as sinon from 'sinon';
import { CommandHandlers, type SessionPort } from '../../src/core/app/commands';
import { defaultSettings, type DaiDaiSettings } from '../../src/core/app/settings';
import type { SessionChange, SessionSnapshot } from '../../src/core/app/snapshot';
import type { Ui } from '../../src/core/app/ui';
import { stubUi, type StubbedUi } from '../helpers/stubUi';
import { setLanguage, t } from '../../src/core/l10n';
import type { AccountKey, Credentials } from '../../src/core/platform/types';
import { settingsKnobs } from '../../src/core/knobs';
import { KeyPool } from '../../src/core/pool/keyPool';
import { treeRows, type AccountView } from '../../src/core/present';
import { ProxyStartError } from '../../src/core/proxy/server';
import type { ProxyStatus } from '../../src/core/proxy/types';
import { UsageHistory } from '../../src/core/usage';
import { Emitter } from '../../src/core/util/event';
import type { Logger } from '../../src/core/util/log';
import { maskKey } from '../../src/core/util/mask';


const EMAIL = 'someone@example.com';
const PASSWORD = 'correct horse battery staple';
const KEYS: AccountKey[] = [1, 2, 3, 4, 5, 6].map((i) => ({ key: `sk-unitTestKey${String(i).repeat(36)}`, name: `Order ${i}`, balance: i === 6 ? 0.8 : 10 * i, used: i }));
const PORT = 5123;
const URL = `http://127.0.0.1:${PORT}/v1`;

/** A session as the handlers see it: state in plain fields, actions as sinon stubs that move it. */
class FakeSession implements SessionPort {
  readonly pool = new KeyPool({});
  account: AccountView = { signedIn: false, keys: [] };
  mode: SessionSnapshot['mode'] = 'signed-out';
  proxy: ProxyStatus = { state: 'stopped' } as ProxyStatus;
  settings: DaiDaiSettings;
  readonly history = new UsageHistory();
  private readonly emitter = new Emitter<SessionChange>();
  readonly onDidChangeSnapshot = this.emitter.event;

  readonly restore: sinon.SinonStub<[], Promise<boolean>>;
  readonly login: sinon.SinonStub<[Credentials], Promise<void>>;
  readonly tryDemo: sinon.SinonStub<[], Promise<void>>;
  readonly logout: sinon.SinonStub<[], Promise<void>>;
  readonly refresh: sinon.SinonStub<[], Promise<void>>;
  readonly startProxy: sinon.SinonStub<[], Promise<ProxyStatus>>;
  readonly stopProxy: sinon.SinonStub<[], Promise<void>>;
  readonly restartProxy: sinon.SinonStub<[], Promise<ProxyStatus>>;
  readonly setKeyDisabled: sinon.SinonStub<[string, boolean], boolean>;
  readonly revealKey: sinon.SinonStub<[string], string | undefined>;
  readonly resetKeyStates: sinon.SinonStub<[], Promise<void>>;

  constructor(sandbox: sinon.SinonSandbox, over: Partial<DaiDaiSettings> = {}) {
    this.settings = { ...defaultSettings, proxyPort: PORT, ...over };
    this.restore = sandbox.stub<[], Promise<boolean>>().resolves(false);
    this.login = sandbox.stub<[Credentials], Promise<void>>().callsFake(async (creds) => {
      if (creds.password !== PASSWORD) throw new Error('邮箱或密码错误');
      this.signIn('account', creds.email);
    });
    this.tryDemo = sandbox.stub<[], Promise<void>>().callsFake(async () => this.signIn('demo', 'demo@daidai.local'));
    this.logout = sandbox.stub<[], Promise<void>>().callsFake(async () => {
      this.account = { signedIn: false, keys: [] };
      this.mode = 'signed-out';
      this.pool.setKeys([]);
      this.proxy = { state: 'stopped' } as ProxyStatus;
    });
    this.refresh = sandbox.stub<[], Promise<void>>().resolves();
    this.startProxy = sandbox.stub<[], Promise<ProxyStatus>>().callsFake(async () => (this.proxy = { state: 'running', port: PORT, url: URL } as ProxyStatus));
    this.stopProxy = sandbox.stub<[], Promise<void>>().callsFake(async () => {
      this.proxy = { state: 'stopped' } as ProxyStatus;
    });
    this.restartProxy = sandbox.stub<[], Promise<ProxyStatus>>().callsFake(async () => this.proxy);
    this.setKeyDisabled = sandbox.stub<[string, boolean], boolean>().callsFake((id, disabled) => this.pool.setManualDisabled(id, disabled));
    this.revealKey = sandbox.stub<[string], string | undefined>().callsFake((id) => this.pool.revealKey(id));
    this.resetKeyStates = sandbox.stub<[], Promise<void>>().resolves();
  }

  signIn(mode: 'account' | 'demo', email: string): void {
    this.mode = mode;
    const total = KEYS.reduce((s, k) => s + (k.balance ?? 0), 0);
    this.account = { signedIn: true, email, keys: KEYS, totalBalance: total, refreshedAt: Date.now() };
    this.pool.setKeys(KEYS.map((k) => ({ key: k.key, name: k.name, balance: k.balance, used: k.used })));
  }

  get snapshot(): SessionSnapshot {
    const running = this.proxy.state === 'running';
    return {
      mode: this.mode,
      signedIn: this.mode !== 'signed-out',
      demo: this.mode === 'demo',
      account: this.account,
      pool: this.pool.snapshot(),
      proxy: this.proxy,
      proxyUrl: running && this.proxy.url ? this.proxy.url : `http://127.0.0.1:${this.settings.proxyPort}/v1`,
      requests: { served: 0, failed: 0 },
      models: undefined,
      market: { prices: [], availability: [] },
      history: this.history,
      settings: this.settings,
    };
  }
}

function recordingLogger(lines: string[]): Logger {
  const at = (level: string) => (m: string | Error) => void lines.push(`[${level}] ${m instanceof Error ? m.message : m}`);
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('app: command handlers over a SessionPort (no HTTP)', () => {
  let sandbox: sinon.SinonSandbox;
  let session: FakeSession;
  let ui: StubbedUi;
  let handlers: CommandHandlers;
  let lines: string[];
  /** Lets notifications' `.then` handlers run. */
  const settle = () => new Promise((r) => setImmediate(r));

  function setup(over: Partial<DaiDaiSettings> = {}): void {
    session = new FakeSession(sandbox, over);
    ui = stubUi(sandbox);
    lines = [];
    handlers = new CommandHandlers(session, ui as Ui, recordingLogger(lines));
  }

  function answerLogin(email: string, password: string): void {
    ui.showInputBox.onFirstCall().resolves(email).onSecondCall().resolves(password);
  }

  function portTaken(): void {
    session.startProxy.callsFake(async () => {
      throw new ProxyStartError(t('Port {0} is in use by another program. Change {1} or stop that program.', PORT, settingsKnobs.port), 'EADDRINUSE');
    });
  }

  const rows = () => treeRows(session.account, session.pool.snapshot(), { now: Date.now() });

  beforeEach(() => {
    sandbox = sinon.createSandbox();
    setup();
  });

  afterEach(() => {
    sandbox.restore();
    session.pool.dispose();
  });

  it('logs in with email then password and reports the keys and the total', async () => {
    answerLogin(EMAIL, PASSWORD);
    assert.equal(await handlers.login(), true);

    const [emailBox, passwordBox] = ui.showInputBox.getCalls().map((c) => c.args[0]);
    assert.notEqual(emailBox.password, true);
    assert.equal(passwordBox.password, true);
    assert.equal(passwordBox.ignoreFocusOut, true);
    assert.equal(emailBox.validateInput('not an email'), 'Enter the email address you log in to DaiDai with.');
    assert.equal(emailBox.validateInput('a@b.c'), undefined);
    assert.equal(ui.withProgress.callCount, 1);
    assert.deepEqual(session.login.firstCall.args[0], { email: EMAIL, password: PASSWORD });
    assert.match(ui.showInformationMessage.firstCall.args[0], new RegExp(`Logged in as ${EMAIL}: ${KEYS.length} keys`));
    assert.ok(!JSON.stringify(ui.showInformationMessage.args).includes(PASSWORD), 'no password in a message');
  });

  it('shows the platform message when the login fails', async () => {
    answerLogin(EMAIL, 'wrong password');
    assert.equal(await handlers.login(), false);
    assert.equal(session.snapshot.mode, 'signed-out');
    const [message, ...buttons] = ui.showErrorMessage.firstCall.args;
    assert.match(message, /DaiDai login failed: .*邮箱或密码错误/);
    assert.deepEqual(buttons, ['Try Again', 'Show Logs']);
    assert.ok(!lines.join('\n').includes('wrong password'));
  });

  it('does not ask the session to log in when the login is cancelled', async () => {
    ui.showInputBox.resolves(undefined);
    assert.equal(await handlers.login(), false);
    assert.equal(ui.showInputBox.callCount, 1);
    assert.equal(session.login.callCount, 0);
  });

  it('on startup with a stored login, auto-starts the proxy without asking anything', async () => {
    setup({ proxyAutoStart: true });
    session.restore.callsFake(async () => (session.signIn('account', EMAIL), true));
    await handlers.restoreOnStartup();
    assert.equal(session.startProxy.callCount, 1);
    assert.equal(session.snapshot.proxy.state, 'running');
    assert.equal(ui.showInputBox.callCount, 0);
    assert.equal(ui.showWarningMessage.callCount, 0);
  });

  it('on startup without a stored login does nothing, and warns when the stored one fails', async () => {
    setup({ proxyAutoStart: true });
    await handlers.restoreOnStartup();
    assert.equal(session.startProxy.callCount, 0);
    assert.equal(ui.showWarningMessage.callCount, 0);

    session.restore.rejects(new Error('邮箱或密码错误'));
    await handlers.restoreOnStartup();
    assert.match(ui.showWarningMessage.firstCall.args[0], /could not log in with your stored login/);
    assert.equal(session.startProxy.callCount, 1, 'autoStart still starts the proxy: the keys may come back');
  });

  it('says how many keys the started proxy serves', async () => {
    session.signIn('account', EMAIL);
    assert.equal(await handlers.startProxy(), true);
    assert.match(ui.showInformationMessage.lastCall.args[0], new RegExp(`DaiDai proxy running at ${URL.replace(/[.]/g, '\\.')} over 6 of 6 keys`));
    await handlers.stopProxy();
    assert.equal(session.stopProxy.callCount, 1);
    assert.equal(session.snapshot.proxy.state, 'stopped');
  });

  it('says which port is taken and offers the settings when the proxy cannot start', async () => {
    portTaken();
    assert.equal(await handlers.startProxy(), false);
    const [message, ...buttons] = ui.showErrorMessage.firstCall.args;
    assert.match(message, new RegExp(`Port ${PORT} is in use`));
    assert.ok(buttons.includes('Open Settings'));
  });

  it('logout asks the session to sign out and says what was forgotten', async () => {
    session.signIn('account', EMAIL);
    await handlers.logout();
    assert.equal(session.logout.callCount, 1);
    assert.deepEqual(rows(), []);
    assert.match(ui.showInformationMessage.firstCall.args[0], /Logged out of DaiDai/);
  });

  it('copies a key only after the modal confirmation', async () => {
    session.signIn('account', EMAIL);
    const row = rows()[2]!;

    ui.confirm.resolves(false);
    assert.equal(await handlers.copyKey(row), false);
    assert.equal(ui.writeClipboard.callCount, 0);
    assert.match(ui.confirm.firstCall.args[0], new RegExp(`Copy the key ${row.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));

    ui.confirm.resolves(true);
    assert.equal(await handlers.copyKey(row), true);
    assert.equal(ui.writeClipboard.callCount, 1);
    const copied = ui.writeClipboard.firstCall.args[0] as string;
    assert.equal(maskKey(copied), row.label);
    assert.ok(KEYS.some((k) => k.key === copied));
    assert.ok(!lines.join('\n').includes(copied), 'the key in clear is not logged');
  });

  it('takes a key out of rotation and puts it back', async () => {
    session.signIn('account', EMAIL);
    const row = rows()[1]!;
    assert.equal(await handlers.disableKey(row), true);
    assert.deepEqual(session.setKeyDisabled.firstCall.args, [row.keyId, true]);
    assert.equal(session.pool.snapshot().counts.usable, KEYS.length - 1);
    assert.equal(await handlers.enableKey(row.keyId!), true);
    assert.equal(session.pool.snapshot().counts.usable, KEYS.length);
  });

  it('connects Claude Code with the origin without /v1 and copies it', async () => {
    session.signIn('account', EMAIL);
    await session.startProxy();
    ui.showQuickPick.callsFake(async (items: Array<{ id: string }>) => items.find((i) => i.id === 'claude-code'));
    assert.equal(await handlers.connectClient(), 'claude-code');
    const origin = URL.replace(/\/v1$/, '');
    assert.equal(ui.writeClipboard.firstCall.args[0], origin);
    const [name, markdown] = ui.showMarkdown.firstCall.args;
    assert.equal(name, 'connect-claude-code.md');
    assert.ok(markdown.includes(origin));
  });

  it('starts the demo account through the session and says it keeps nothing', async () => {
    assert.equal(await handlers.tryDemo(), true);
    assert.equal(session.tryDemo.callCount, 1);
    assert.equal(session.snapshot.demo, true);
    assert.match(ui.showInformationMessage.firstCall.args[0], /Demo account ready \(this session only; nothing is stored\)/);

    session.tryDemo.rejects(new Error('boom'));
    assert.equal(await handlers.tryDemo(), false);
    assert.match(ui.showErrorMessage.firstCall.args[0], /The demo account could not start: boom/);
  });

  it('warns about low balances in one toast', () => {
    setup({ lowBalance: 1 });
    session.signIn('account', EMAIL);
    const low = session.pool.snapshot().keys.filter((k) => (k.balance ?? Infinity) < 1);
    handlers.warnLowBalance(low);
    assert.equal(ui.showWarningMessage.callCount, 1);
    assert.match(ui.showWarningMessage.firstCall.args[0], /below ¥1\.00/);
    handlers.warnLowBalance([]);
    assert.equal(ui.showWarningMessage.callCount, 1, 'nothing to say, no toast');
  });

  describe('in Chinese (setLanguage zh-cn)', () => {
    beforeEach(() => setLanguage('zh-cn'));
    afterEach(() => setLanguage('en'));

    it('asks, validates and reports the login in Chinese, and a Chinese button still runs its action', async () => {
      answerLogin(EMAIL, PASSWORD);
      ui.showInformationMessage.onFirstCall().resolves('启动代理');
      assert.equal(await handlers.login(), true);
      const [emailBox, passwordBox] = ui.showInputBox.getCalls().map((c) => c.args[0]);
      assert.equal(emailBox.title, 'DaiDai: 登录（1/2）');
      assert.equal(emailBox.prompt, '你的呆呆鸟账号的邮箱地址');
      assert.equal(emailBox.validateInput('not an email'), '请输入你登录呆呆鸟所用的邮箱地址。');
      assert.equal(passwordBox.prompt, `${EMAIL} 的密码`);
      assert.equal(ui.withProgress.firstCall.args[0], '正在登录呆呆鸟…');
      const [message, ...buttons] = ui.showInformationMessage.firstCall.args;
      const total = session.account.totalBalance!.toFixed(2);
      assert.equal(message, `已登录 ${EMAIL}：${KEYS.length} 个密钥，共 ¥${total}。`);
      assert.deepEqual(buttons, ['启动代理']);
      await settle();
      await settle();
      assert.equal(session.startProxy.callCount, 1, 'the 启动代理 button started the proxy');
    });

    it("shows a failed login in Chinese with the platform's own words, and Chinese buttons", async () => {
      answerLogin(EMAIL, 'wrong password');
      assert.equal(await handlers.login(), false);
      const [message, ...buttons] = ui.showErrorMessage.firstCall.args;
      assert.match(message, /^呆呆鸟登录失败：.*邮箱或密码错误/);
      assert.deepEqual(buttons, ['重试', '显示日志']);
    });

    it('says in Chinese which port is taken, and its 打开设置 button opens the port setting', async () => {
      portTaken();
      ui.showErrorMessage.onFirstCall().resolves('打开设置');
      assert.equal(await handlers.startProxy(), false);
      const [message, ...buttons] = ui.showErrorMessage.firstCall.args;
      assert.equal(message, `DaiDai 代理未能启动：端口 ${PORT} 已被另一个程序占用。请修改 daidai.proxy.port，或停止那个程序。`);
      assert.deepEqual(buttons, ['打开设置', '显示日志']);
      await settle();
      assert.deepEqual(ui.openSettings.firstCall?.args, ['daidai.proxy.port']);
    });

    it('labels the status-bar menu and the copy-key confirmation in Chinese', async () => {
      await handlers.statusBarMenu();
      const [items, options] = ui.showQuickPick.firstCall.args as [Array<{ label: string }>, { placeHolder: string }];
      assert.deepEqual(
        items.map((i) => i.label),
        ['$(play) 启动代理', '$(copy) 复制代理 URL', '$(plug) 连接客户端…', '$(account) 登录…', '$(beaker) 试用演示账号', '$(graph) 打开用量面板', '$(output) 显示日志'],
      );
      assert.equal(options.placeHolder, '代理已停止');

      session.signIn('account', EMAIL);
      const row = rows()[1]!;
      await handlers.copyKey(row);
      const [question, detail, action] = ui.confirm.firstCall.args;
      assert.equal(question, `将密钥 ${row.label} 复制到剪贴板？`);
      assert.match(detail, /^密钥是机密/);
      assert.equal(action, '复制密钥');
    });

    it('describes keys in the pick list with the Keys view\'s state words', async () => {
      session.signIn('account', EMAIL);
      session.pool.setManualDisabled(session.pool.snapshot().keys[0]!.id, true);
      await handlers.enableKey(undefined);
      const [items] = ui.showQuickPick.firstCall.args as [Array<{ description: string }>];
      assert.equal(items.length, 1);
      assert.match(items[0]!.description, /已移出轮询/);
    });
  });
});
