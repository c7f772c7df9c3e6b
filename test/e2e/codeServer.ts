// A code-server (VS Code OSS web + Node extension host) of its own for one e2e run: fresh
// user-data and extensions folders, the .vsix installed, settings written before start.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Background, findFiles, freePort, readTail, run, tail, waitUntil } from './util';

export interface CodeServerInstall {
  /** Node 24 binary that code-server needs. */
  node: string;
  /** node_modules/code-server/out/node/entry.js */
  entry: string;
}

export interface CodeServerOptions {
  install: CodeServerInstall;
  /** Folder that holds ud/, ext/, ws/ and the log of this instance. */
  root: string;
  /** Extra User settings. */
  settings: Record<string, unknown>;
  /** .vsix files to install before start. */
  vsix?: string[];
  /** Extra environment of code-server (and so of its extension host). */
  env?: Record<string, string>;
  /** Flags passed straight to the VS Code server (code-server's `--vscode-option`). */
  vscodeOptions?: string[];
  /** Extra code-server flags (`--locale zh-cn`). */
  args?: string[];
}

/** Settings that keep the workbench quiet: no welcome page, tips, trust prompts or updates. */
const quietSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'workbench.colorTheme': 'Default Dark Modern',
};

export class CodeServer {
  readonly userDataDir: string;
  readonly extensionsDir: string;
  readonly workspaceDir: string;
  readonly logFile: string;
  port = 0;
  private proc?: Background;

  constructor(private readonly opts: CodeServerOptions) {
    this.userDataDir = join(opts.root, 'ud');
    this.extensionsDir = join(opts.root, 'ext');
    this.workspaceDir = join(opts.root, 'ws');
    this.logFile = join(opts.root, 'code-server.log');
    for (const d of [this.userDataDir, this.extensionsDir, this.workspaceDir, join(this.userDataDir, 'User'), join(this.userDataDir, 'Machine')]) {
      mkdirSync(d, { recursive: true });
    }
    // code-server is a remote window: VS Code ignores `machine`-scoped settings (our URLs) in the
    // User settings there and reads them from the remote ("Machine") settings. Write both.
    const settings = JSON.stringify({ ...quietSettings, ...opts.settings }, null, 2);
    writeFileSync(join(this.userDataDir, 'User', 'settings.json'), settings);
    writeFileSync(join(this.userDataDir, 'Machine', 'settings.json'), settings);
    writeFileSync(join(this.workspaceDir, 'README.md'), '# e2e workspace\n');
    // code-server refuses an empty config; the flags on the command line say the rest.
    writeFileSync(join(opts.root, 'code-server.yaml'), 'auth: none\n');
  }

  private baseArgs(): string[] {
    return [this.opts.install.entry, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  async installExtensions(): Promise<void> {
    for (const vsix of this.opts.vsix ?? []) {
      const r = await run(this.opts.install.node, [...this.baseArgs(), '--install-extension', vsix], { prefix: '  [install] ' });
      if (r.code !== 0 || !/successfully installed/i.test(r.output)) {
        throw new Error(`code-server could not install ${vsix} (exit ${r.code}): ${tail(r.output, 20)}`);
      }
    }
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const args = [
      ...this.baseArgs(),
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${this.port}`,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      ...(this.opts.vscodeOptions ?? []).flatMap((o) => ['--vscode-option', o]),
      ...(this.opts.args ?? []),
      // Its own config file: code-server otherwise writes one under ~/.config.
      '--config', join(this.opts.root, 'code-server.yaml'),
      this.workspaceDir,
    ];
    this.proc = new Background('code-server', this.opts.install.node, args, {
      logFile: this.logFile,
      env: { ...process.env, ...this.opts.env },
      cwd: this.opts.root,
    });
    await this.proc.waitForOutput(/HTTP server listening on/i, 60_000);
    await waitUntil('code-server /healthz', () => fetch(`${this.url}/healthz`).then((r) => r.ok, () => false), 30_000);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The workbench URL for the workspace folder, with an optional `payload` (test-web style). */
  workbenchUrl(payload?: [string, string][]): string {
    const u = new URL(this.url + '/');
    u.searchParams.set('folder', this.workspaceDir);
    if (payload) u.searchParams.set('payload', JSON.stringify(payload));
    return u.toString();
  }

  /** Log files of the server-side extension host and remote agent (where the extension runs). */
  logFiles(): string[] {
    return findFiles(join(this.userDataDir, 'logs'), /\.log$/);
  }

  /** What to print when a run fails: code-server's own output and the extension-host logs. */
  diagnostics(lines = 60): string {
    const parts = [`--- code-server output (${this.logFile}) ---`, this.proc ? tail(this.proc.output, lines) : '(not started)'];
    // The extension's own log channel, the extension host's and the server agent's.
    for (const f of this.logFiles()) {
      if (/\/(DaiDai|remoteexthost|exthost|remoteagent)\.log$/.test(f)) parts.push(`--- ${f} ---`, readTail(f, lines));
    }
    return parts.join('\n');
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
  }
}
