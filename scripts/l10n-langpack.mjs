// A display language for tests: VS Code (and code-server) only switch to `--locale zh-cn` when a
// language pack for it is installed, and the real one comes from a marketplace that tests cannot
// reach. This makes a pack that declares zh-cn with no translations of its own: the workbench
// stays English, but extensions get their package.nls.zh-cn.json, l10n bundle, walkthrough
// bodies (x.nls.zh-cn.md) and vscode.env.language === 'zh-cn', which is what our e2e checks.
//
//   node scripts/l10n-langpack.mjs vsix OUT.vsix
//       writes the pack; install it like any .vsix (`--install-extension OUT.vsix`)
//   node scripts/l10n-langpack.mjs register USER_DATA_DIR EXTENSIONS_DIR
//       after installing: writes USER_DATA_DIR/languagepacks.json, the index the server reads at
//       start to resolve a locale (a command-line install does not write it). Then start with
//       `--locale zh-cn`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PUBLISHER = 'daidai-test';
const NAME = 'min-language-pack-zh-hans';
const VERSION = '1.0.0';
const LOCALE = 'zh-cn';

function writeVsix(out) {
  const dir = mkdtempSync(join(tmpdir(), 'daidai-langpack-'));
  try {
    mkdirSync(join(dir, 'translations'));
    writeFileSync(
      join(dir, 'package.json'),
      JSON.stringify(
        {
          name: NAME,
          displayName: 'Minimal zh-cn display language (tests only)',
          description: 'Declares zh-cn with no translations of its own.',
          publisher: PUBLISHER,
          version: VERSION,
          license: 'MIT',
          engines: { vscode: '^1.90.0' },
          categories: ['Language Packs'],
          contributes: {
            localizations: [
              { languageId: LOCALE, languageName: 'Chinese Simplified', localizedLanguageName: '中文(简体)', translations: [{ id: 'vscode', path: './translations/main.i18n.json' }] },
            ],
          },
        },
        null,
        2,
      ),
    );
    writeFileSync(join(dir, 'translations', 'main.i18n.json'), JSON.stringify({ version: '1.0.0', contents: {} }));
    writeFileSync(join(dir, 'README.md'), '# Minimal zh-cn display language (tests only)\n');
    writeFileSync(join(dir, 'LICENSE'), 'MIT\n');
    const vsce = join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
    execFileSync(process.execPath, [vsce, 'package', '--allow-missing-repository', '--no-dependencies', '-o', resolve(out)], { cwd: dir, stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function register(userDataDir, extensionsDir) {
  const installed = readdirSync(extensionsDir).find((d) => d.toLowerCase().startsWith(`${PUBLISHER}.${NAME}-`));
  if (!installed) throw new Error(`${PUBLISHER}.${NAME} is not installed in ${extensionsDir}`);
  const translations = join(extensionsDir, installed, 'translations', 'main.i18n.json');
  if (!existsSync(translations)) throw new Error(`${translations} is missing`);
  const index = {
    [LOCALE]: {
      hash: `${NAME}-${VERSION}`,
      label: '中文(简体)',
      extensions: [{ extensionIdentifier: { id: `${PUBLISHER}.${NAME}` }, version: VERSION }],
      translations: { vscode: translations },
    },
  };
  writeFileSync(join(userDataDir, 'languagepacks.json'), JSON.stringify(index));
}

const [command, ...args] = process.argv.slice(2);
if (command === 'vsix' && args.length === 1) writeVsix(args[0]);
else if (command === 'register' && args.length === 2) register(args[0], args[1]);
else {
  console.error('usage: l10n-langpack.mjs vsix OUT.vsix | register USER_DATA_DIR EXTENSIONS_DIR');
  process.exit(1);
}
