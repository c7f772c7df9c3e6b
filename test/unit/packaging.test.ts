// What ships where (issue 21): the .vsix (vsce, .vscodeignore) carries the extension; `npm pack`
// (.npmignore) carries the CLI for a server; neither ships sources, tests or stale source maps.
// And the manifest's categories and its statement about untrusted workspaces.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const root = [path.resolve(__dirname, '../../..'), path.resolve(__dirname, '../..')].find((d) => existsSync(path.join(d, 'package.json')))!;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const nls = JSON.parse(readFileSync(path.join(root, 'package.nls.json'), 'utf8')) as Record<string, string>;

describe('packaging: the .vsix, the CLI tarball, the manifest', function () {
  this.timeout(60_000);

  it('npm pack ships the CLI bundle, its translations and the docs; no source, test, map or extension bundle', () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0].files.map((f) => f.path).sort();
    const expected = ['CHANGELOG.md', 'LICENSE', 'README.md', 'README.zh-CN.md', 'l10n/bundle.l10n.json', 'l10n/bundle.l10n.zh-cn.json', 'package.json'];
    if (existsSync(path.join(root, 'dist', 'cli.js'))) expected.push('dist/cli.js');
    assert.deepEqual(files, expected.sort());
  });

  it('the CLI is not published on npm (private), and its bin is the bundle with a node shebang', () => {
    assert.equal(pkg.private, true);
    assert.deepEqual(pkg.bin, { 'daidai-proxy': 'dist/cli.js' });
    assert.equal(pkg.scripts.prepack, 'npm run build:prod', 'npm pack builds the bundle it ships');
    assert.equal(pkg.files, undefined, 'vsce refuses "files" next to .vscodeignore');
    const cli = path.join(root, 'dist', 'cli.js');
    if (existsSync(cli)) assert.match(readFileSync(cli, 'utf8').slice(0, 40), /^#!\/usr\/bin\/env node\n/);
  });

  it('the .vsix leaves the CLI, sources and maps out', () => {
    const ignore = readFileSync(path.join(root, '.vscodeignore'), 'utf8').split('\n');
    assert.ok(ignore.includes('**'));
    assert.ok(ignore.includes('!dist/extension.js'));
    assert.ok(!ignore.some((l) => /^!.*(\.map|cli\.js|src\/|test\/)/.test(l)), ignore.join('\n'));
  });

  it('a production build removes source maps a development build left in dist/', async () => {
    const { removeSourceMaps } = (await import(pathToFileURL(path.join(root, 'scripts', 'dist-clean.mjs')).href)) as { removeSourceMaps(dir: string): string[] };
    const dir = mkdtempSync(path.join(tmpdir(), 'daidai-dist-'));
    for (const f of ['cli.js', 'cli.js.map', 'extension.js', 'extension.js.map']) writeFileSync(path.join(dir, f), 'x');
    assert.deepEqual(removeSourceMaps(dir).sort(), ['cli.js.map', 'extension.js.map']);
    assert.deepEqual(readdirSync(dir).sort(), ['cli.js', 'extension.js']);
    assert.deepEqual(removeSourceMaps(path.join(dir, 'missing')), []);
    assert.match(readFileSync(path.join(root, 'esbuild.mjs'), 'utf8'), /if \(production\) removeSourceMaps\('dist'\)/);
  });

  it('is listed under AI and Chat', () => {
    assert.deepEqual(pkg.categories, ['AI', 'Chat']);
  });

  it('says what it does in an untrusted workspace: every window-scoped setting is restricted, the rest cannot come from a workspace', () => {
    const u = pkg.capabilities.untrustedWorkspaces;
    assert.equal(u.supported, 'limited');
    assert.match(nls[u.description.slice(1, -1)], /Restricted Mode/);
    const props = pkg.contributes.configuration.properties as Record<string, { scope?: string }>;
    const windowScoped = Object.keys(props).filter((k) => (props[k].scope ?? 'window') === 'window' || props[k].scope === 'resource');
    assert.deepEqual([...u.restrictedConfigurations].sort(), windowScoped.sort());
    for (const [k, v] of Object.entries(props)) {
      if (/baseUrl|accessToken|allowedOrigins|proxy\.host|proxy\.port|autoStart/.test(k)) assert.ok(v.scope === 'application' || v.scope === 'machine', `${k} can come from a workspace`);
    }
  });
});
