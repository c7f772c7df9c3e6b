// The CLI's option table and parser (src/cli/args.ts over node:util parseArgs): nonsense is
// refused with one clear line, and the help lists every option of the table.
import * as assert from 'node:assert/strict';
import { optionsHelp, parseCommandLine, UsageError, type OptionSpec } from '../../src/cli/args';
import { cliKnobs, OPTIONS } from '../../src/cli';
import { settingsKnobs } from '../../src/core/knobs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const refused = (argv: string[], pattern: RegExp) =>
  assert.throws(
    () => parseCommandLine(argv, OPTIONS),
    (err: unknown) => {
      assert.ok(err instanceof UsageError, `a UsageError, not ${String(err)}`);
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    },
  );

describe('CLI arguments (src/cli/args.ts)', () => {
  it('reads a command, values (both --x v and --x=v), flags and repeated options', () => {
    const a = parseCommandLine(['serve', '--port', '5200', '--host=0.0.0.0', '--reset-state', '--allow-origin', 'http://a:1', '--allow-origin=http://b:2'], OPTIONS);
    assert.equal(a.command, 'serve');
    assert.equal(a.values.get('port'), '5200');
    assert.equal(a.values.get('host'), '0.0.0.0');
    assert.equal(a.values.get('reset-state'), true);
    assert.deepEqual(a.lists.get('allow-origin'), ['http://a:1', 'http://b:2']);
    assert.equal(parseCommandLine(['-h'], OPTIONS).values.get('help'), true);
    assert.equal(parseCommandLine(['serve', '--port', '-1'], OPTIONS).values.get('port'), '-1', 'a negative number is a value (refused later as out of range)');
  });

  it('an unknown option is unknown, not "needs a value"', () => {
    refused(['serve', '--bogus'], /^Unknown option --bogus\. See --help\.$/);
    refused(['serve', '--bogus', 'x'], /^Unknown option --bogus/);
    refused(['serve', '-x'], /^Unknown option -x/);
  });

  it('a value that is missing, or swallowed by the next option, is said so', () => {
    refused(['serve', '--port'], /^--port needs a value\.$/);
    refused(['serve', '--port', '--host', '1.2.3.4'], /^--port needs a value\.$/);
  });

  it('a flag given a value is refused', () => {
    refused(['usage', '--json=yes'], /^--json takes no value \(got "yes"\)\.$/);
  });

  it('an option of another command is refused, naming the commands that take it', () => {
    refused(['serve', '--json'], /^--json is not an option of serve \(it is one of usage\)/);
    refused(['usage', '--port', '1'], /^--port is not an option of usage/);
    refused(['fake', '--keys-file', 'k.txt'], /^--keys-file is not an option of fake/);
  });

  it('secrets on the command line are refused before anything else, without echoing them', () => {
    for (const name of ['password', 'key', 'keys', 'token', 'access-token', 'api-key']) {
      assert.throws(
        () => parseCommandLine(['serve', `--${name}`, 'hunter2hunter2'], OPTIONS),
        (err: Error) => /not accepted on the command line/.test(err.message) && !err.message.includes('hunter2'),
      );
    }
  });

  it('an extra argument is refused', () => {
    refused(['serve', 'now'], /^Unexpected argument "now"\.$/);
  });

  it('--help lists every option of the table, each once, with its value name', () => {
    const help = optionsHelp(OPTIONS);
    for (const [name, spec] of Object.entries(OPTIONS)) {
      const head = `--${name}${spec.value ? ` ${spec.value}` : ''}`;
      assert.equal(help.split(head).length - 1 >= 1, true, `--help lacks ${head}`);
    }
    const tiny: Record<string, OptionSpec> = { 'a-rather-long-option-name': { type: 'string', value: 'VALUE', help: () => 'first\nsecond' } };
    assert.deepEqual(optionsHelp(tiny).split('\n'), ['  --a-rather-long-option-name VALUE', `${' '.repeat(24)}first`, `${' '.repeat(24)}second`]);
  });
});

describe('knobs: each host names its own', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { contributes: { configuration: { properties: Record<string, unknown> }; commands: Array<{ title: string }> } };
  const nls = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'package.nls.json'), 'utf8')) as Record<string, string>;

  it('the extension names settings that exist in the manifest (and its Log In command by its title)', () => {
    const { login, ...settings } = settingsKnobs;
    for (const [what, id] of Object.entries(settings)) assert.ok(id in pkg.contributes.configuration.properties, `${what}: ${id} is not a setting`);
    assert.equal(login, `DaiDai: ${nls['command.login.title']}`);
  });

  it('the CLI names its own flags and variables, never a VS Code setting', () => {
    const help = optionsHelp(OPTIONS);
    for (const [what, text] of Object.entries(cliKnobs)) {
      assert.doesNotMatch(text, /daidai\./, `${what} names a VS Code setting`);
      for (const flag of text.match(/--[a-z-]+/g) ?? []) assert.ok(flag.slice(2) in OPTIONS, `${what}: ${flag} is not an option`);
      for (const env of text.match(/\bDAIDAI_[A-Z_]+/g) ?? []) assert.ok(['DAIDAI_EMAIL', 'DAIDAI_PASSWORD', 'DAIDAI_KEYS', 'DAIDAI_ACCESS_TOKEN', 'DAIDAI_ALLOWED_ORIGINS'].includes(env), `${what}: ${env}`);
    }
    assert.match(help, /--allow-origin ORIGIN/);
  });
});

describe('the README\'s CLI commands (both languages) are commands and options the CLI takes', () => {
  for (const name of ['README.md', 'README.zh-CN.md']) {
    it(name, () => {
      const text = readFileSync(join(__dirname, '..', '..', '..', name), 'utf8');
      const blocks = text.match(/```sh\n[\s\S]*?```/g) ?? [];
      const commands = blocks
        .flatMap((b) => b.split('\n'))
        .map((l) => l.replace(/#.*$/, '').trim())
        .filter((l) => /(?:npx daidai-proxy|node dist\/cli\.js) /.test(l))
        .map((l) => l.replace(/^.*?(?:npx daidai-proxy|node dist\/cli\.js) /, ''));
      assert.ok(commands.length >= 5, `only ${commands.length} CLI commands found in ${name}`);
      for (const c of commands) {
        const argv = c.split(/\s+/).filter(Boolean);
        const parsed = parseCommandLine(argv, OPTIONS);
        assert.ok(['serve', 'demo', 'usage', 'fake'].includes(parsed.command ?? ''), c);
      }
      // Inline mentions too: every --flag the README names is an option of the CLI (or npm's own).
      for (const flag of new Set(text.match(/`--[a-z][a-z-]*/g)?.map((f) => f.slice(3)) ?? [])) {
        assert.ok(flag in OPTIONS || ['help', 'lang'].includes(flag), `${name} names --${flag}`);
      }
    });
  }
});

