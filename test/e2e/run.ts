// `npm run test:e2e`: the extension in a real VS Code (code-server) driven by headless Chromium.
//   1. scripts/e2e-setup.sh: Chromium, Node 24 and code-server, cached under ~/.cache/daidai-e2e
//   2. `npm run package`: dist/ and the .vsix
//   3. a fake DaiDai platform, a fresh code-server with the .vsix and settings pointing at the fake
//   4. the user scenario in the workbench (scenario.ts), screenshots in test-results/e2e/
//   5. the extension's own integration suite inside code-server's extension host (suite.ts)
// One retry of the whole run at most. Exit code 0 only if everything passed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createFakeDaiDai } from '../fake/fakeDaiDai';
import { DEMO_KEYS } from '../../src/core/demo/fixtures';
import { maskKey } from '../../src/core/util/mask';
import { CodeServer, type CodeServerInstall } from './codeServer';
import { runChatScenarios } from './chatScenario';
import { runChinese } from './chineseScenario';
import { runDashboardScenario } from './dashboardScenario';
import { runScenario, type StepResult } from './scenario';
import { runSuiteInHost, type SuiteOutcome } from './suite';
import { freePort, killAllBackground, run } from './util';
import { runTwoWindows } from './windowsScenario';
import { Workbench } from './workbench';

const REPO = resolve(__dirname, '../../..');
const RESULTS_DIR = join(REPO, 'test-results', 'e2e');
const SECRETS = [...new Set(DEMO_KEYS.map((k) => k.key).filter((k) => k.length > 0))];
/** Whole run after setup and packaging, both attempts included: a hang must not eat CI's 90 minutes. */
const RUN_LIMIT_MS = Number(process.env.DAIDAI_E2E_LIMIT_MS ?? 15 * 60_000);

function log(msg: string): void {
  console.log(`[e2e] ${msg}`);
}

/** Runs the setup script; its last stdout line is the cache folder. */
function setup(): CodeServerInstall {
  const script = join(REPO, 'scripts', 'e2e-setup.sh');
  const r = spawnSync('bash', [script], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed (exit ${r.status}); its messages are above`);
  const dir = r.stdout.trim().split('\n').pop()!;
  const install = {
    node: join(dir, 'node24', 'bin', 'node'),
    entry: join(dir, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js'),
  };
  for (const p of Object.values(install)) if (!existsSync(p)) throw new Error(`setup reported ${dir} but ${p} is missing`);
  return install;
}

/**
 * `npm run package` (dist/ + .vsix); returns the .vsix it made. DAIDAI_E2E_VSIX=path skips it
 * and tests that .vsix instead (how a deliberately broken build is shown to fail the e2e).
 */
async function packageExtension(): Promise<string> {
  const given = process.env.DAIDAI_E2E_VSIX;
  if (given) {
    if (!existsSync(given)) throw new Error(`DAIDAI_E2E_VSIX=${given} does not exist`);
    return resolve(given);
  }
  const started = Date.now() - 1000;
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts?: Record<string, string>; name: string; version: string };
  let r;
  if (pkg.scripts?.package) {
    r = await run('npm', ['run', 'package'], { cwd: REPO, prefix: '  [package] ' });
  } else {
    // Until the extension has its own `package` script: build, then vsce without dependencies (esbuild bundled them).
    const b = await run('npm', ['run', 'build'], { cwd: REPO, prefix: '  [build] ' });
    if (b.code !== 0) throw new Error('npm run build failed (output above)');
    r = await run('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '-o', join(REPO, `${pkg.name}-${pkg.version}.vsix`)], { cwd: REPO, prefix: '  [vsce] ' });
  }
  if (r.code !== 0) throw new Error('packaging the extension failed (output above)');
  const fresh = [REPO, join(REPO, 'dist')]
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.vsix')).map((f) => join(d, f)))
    .filter((f) => statSync(f).mtimeMs >= started)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!fresh.length) throw new Error('packaging succeeded but wrote no new .vsix in the repository root or dist/');
  return fresh[0];
}

interface Attempt {
  ok: boolean;
  /** Why the attempt failed when no step did (the scenario threw between steps, the zh-cn or chat run). */
  error?: string;
  steps: StepResult[];
  suite?: SuiteOutcome;
}

async function attempt(n: number, install: CodeServerInstall, vsix: string): Promise<Attempt> {
  const root = mkdtempSync(join(tmpdir(), 'daidai-e2e-'));
  const shotDir = n === 1 ? RESULTS_DIR : join(RESULTS_DIR, `attempt-${n}`);
  const steps: StepResult[] = [];
  const fake = createFakeDaiDai();
  let cs: CodeServer | undefined;
  let wb: Workbench | undefined;
  let ok = false;
  let suite: SuiteOutcome | undefined;
  let error: string | undefined;
  const why = (e: unknown) => (e instanceof Error ? e.message : String(e));
  try {
    await fake.start(0, '127.0.0.1');
    const proxyPort = await freePort();
    log(`attempt ${n}: fake DaiDai at ${fake.url}, proxy port ${proxyPort}, state in ${root}`);
    cs = new CodeServer({
      install,
      root: join(root, 'scenario'),
      vsix: [vsix],
      settings: {
        'daidai.platform.baseUrl': fake.url,
        'daidai.upstream.baseUrl': fake.gatewayUrl,
        'daidai.proxy.port': proxyPort,
        'daidai.proxy.host': '127.0.0.1',
      },
    });
    await cs.installExtensions();
    await cs.start();
    log(`code-server at ${cs.url}`);
    wb = await Workbench.launch(join(root, 'chromium'), shotDir);
    await wb.load(cs.workbenchUrl());
    await runScenario({ wb, fake, proxyPort, secrets: SECRETS }, steps);
    // The dashboard and the Models view (issue 14): the demo account, a few chats, three themes.
    const settingsFiles = ['User', 'Machine'].map((d) => join(cs!.userDataDir, d, 'settings.json'));
    await runDashboardScenario({ wb, fake, proxyPort, secrets: SECRETS, settingsFiles }, steps);
    // Two windows, one proxy (issue 11): closes the first window at the end, so it runs last.
    await runTwoWindows({ wb, url: cs.workbenchUrl(), fake, proxyPort, secrets: SECRETS }, steps);
    assertLogsClean(cs);
    ok = true;
  } catch (e) {
    log(`attempt ${n} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    error = why(e);
    if (cs) console.log(cs.diagnostics());
    const shot = steps[steps.length - 1]?.shot || wb?.lastShot;
    if (shot) log(`last screenshot: ${shot}`);
  } finally {
    await wb?.close();
    await cs?.stop();
    await fake.stop();
  }

  if (ok && process.env.DAIDAI_E2E_SUITE !== '0') {
    suite = await runSuiteInHost({ install, repo: REPO, root: join(root, 'suite'), shotDir });
    if (!suite.ok && !suite.skipped) {
      ok = false;
      error ??= `the extension-host suite: ${suite.failed} failed`;
    }
  }
  // After the suite, so that a gap in the translations does not hide the suite's results.
  if (steps.length && steps.every((s) => s.ok)) {
    try {
      await runChinese({ install, repo: REPO, vsix, root: join(root, 'zh-cn'), shotDir: join(shotDir, 'zh-cn'), secrets: SECRETS, checkLogs: assertLogsClean }, steps);
    } catch (e) {
      log(`attempt ${n}: the zh-cn run failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      error ??= `the zh-cn run: ${why(e)}`;
      ok = false;
    }
  }
  // VS Code's own chat with DaiDai models (issue 20): code-servers of their own, English dark and Chinese light.
  if (steps.length && steps.every((s) => s.ok) && process.env.DAIDAI_E2E_CHAT !== '0') {
    try {
      await runChatScenarios({ install, repo: REPO, vsix, root: join(root, 'chat'), shotDir: join(shotDir, 'chat'), secrets: SECRETS, checkLogs: assertLogsClean }, steps);
    } catch (e) {
      log(`attempt ${n}: the chat run failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
      error ??= `the chat run: ${why(e)}`;
      ok = false;
    }
  }
  if (ok) rmSync(root, { recursive: true, force: true });
  else log(`state of the failed attempt kept in ${root}`);
  return { ok, steps, suite, error };
}

/** A message on one line, bounded, for the summary at the end of the output. */
function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat;
}

/** The extension's log files (and the whole server log folder) must hold no key in clear. */
function assertLogsClean(cs: CodeServer): void {
  for (const f of cs.logFiles()) {
    const text = readFileSync(f, 'utf8');
    for (const s of SECRETS) {
      if (text.includes(s)) throw new Error(`A key appears in clear in the log file ${f} (${maskKey(s)})`);
    }
  }
}

async function main(): Promise<number> {
  const t0 = Date.now();
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  log('setup (cached after the first run)…');
  const install = setup();
  log(`setup done in ${Math.round((Date.now() - t0) / 1000)} s`);
  const vsix = await packageExtension();
  log(`extension packaged: ${vsix}`);

  const watchdog = setTimeout(() => {
    console.log(`[e2e] FAILED: the run took more than ${RUN_LIMIT_MS / 60_000} minutes; stopping code-server and giving up`);
    console.log('e2e: 0 passed, 1 failed');
    killAllBackground();
    process.exit(1);
  }, RUN_LIMIT_MS);
  watchdog.unref();

  let result = await attempt(1, install, vsix);
  const attempts = [result];
  if (!result.ok) {
    log('retrying the whole run once');
    result = await attempt(2, install, vsix);
    attempts.push(result);
  }

  console.log('\n[e2e] screenshots:');
  for (const s of result.steps) console.log(`  ${s.retried ? 'RETR' : s.ok ? 'ok  ' : 'FAIL'} ${s.name}: ${s.shot || '(none)'}`);
  // CI shows only the end of the output: the reasons again here, one line each, for both attempts.
  for (const s of result.steps.filter((x) => x.ok && x.error)) console.log(`  note ${s.name}: ${oneLine(s.error!)}`);
  for (const [n, a] of attempts.entries()) {
    for (const s of a.steps.filter((x) => !x.ok)) console.log(`  attempt ${n + 1} FAIL ${s.name}: ${oneLine(s.error ?? '(no message)')}`);
    if (!a.ok && a.steps.every((x) => x.ok)) console.log(`  attempt ${n + 1} failed outside the steps: ${oneLine(a.error ?? '(see the log above)')}`);
  }
  for (const s of result.suite?.shots ?? []) console.log(`  suite: ${s}`);
  const passed = result.steps.filter((s) => s.ok && !s.retried).length + (result.suite?.passed ?? 0);
  const failed = result.steps.filter((s) => !s.ok).length + (result.suite?.failed ?? 0) + (result.ok ? 0 : result.steps.every((s) => s.ok) && !result.suite?.failed ? 1 : 0);
  if (result.suite?.skipped) log(`integration suite in the extension host skipped: ${result.suite.skipped}`);
  log(`total time ${Math.round((Date.now() - t0) / 1000)} s`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  return result.ok ? 0 : 1;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killAllBackground();
    process.exit(130);
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`[e2e] FAILED before the run could start: ${e instanceof Error ? e.message : String(e)}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  },
);
