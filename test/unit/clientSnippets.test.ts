// Connect a Client's snippets with hostile model ids (issue 22 item 1): ids come from the gateway's
// /v1/models, so each snippet is run or parsed by the real thing for its language — sh and bash
// (with stub `curl`/`claude`), Node's vm (a stub OpenAI class), python3 (a stub `openai` module),
// js-yaml, python3's tomllib, JSON.parse — and must give back the id as data: no file created, no
// extra key, no fence closed early. PowerShell is not installed here: its single-quoted strings
// are read back by the rules of its language specification instead.
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vm from 'node:vm';
import { setLanguage } from '../../src/core/l10n';
import { assistantModels, clientSnippets, codexConfigToml, inlineCode, powershellQuote, shellQuote, type ClientId } from '../../src/core/present/clients';

const yaml = require('js-yaml') as { load(s: string): unknown };

const URL_ = 'http://127.0.0.1:5100/v1';

const LONG_ID = `x'; touch PWNED; echo '$(touch PWNED)` + 'y'.repeat(10_000 - 37);

/** Payloads a hostile (or broken) gateway could list as model ids. */
const PAYLOADS: string[] = [
  "x'; touch PWNED; echo '",
  'x"; touch PWNED; echo "',
  '$(touch PWNED)',
  '`touch PWNED`',
  "x\napiBase: http://evil.example/v1\nname: forged",
  'x\\"; import os; os.system("touch PWNED") #',
  "'); globalThis.PWNED = 1; ('",
  '${globalThis.PWNED = 1}',
  '"""\nimport os\nos.system("touch PWNED")\n"""',
  "x'''; touch PWNED",
  "\u2019; touch PWNED; echo \u2018",
  '```\n# heading injected\n```sh\ntouch PWNED',
  'x\u2028y\u2029z\u0085\u007f\u0000\u001b[31m',
  'lone \ud800 surrogate',
  'a\\nb\\u0041\\',
  '-o /tmp/PWNED',
  '{{ id }} %s #{x} \\$HOME $HOME',
  '[官Max]claude-opus-4-6-20260205',
  // 10,000 characters with a quote and a substitution in it: longer than any real id (256 at most).
  LONG_ID,
];

/**
 * What a program reading the snippet should get back (lone surrogates cannot be written in UTF-8);
 * an id longer than any real one goes in no snippet: the default model stands in for it.
 */
function expected(id: string): string {
  if (id.length > 256) return 'gpt-4o-mini';
  return id.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

interface Block {
  lang: string;
  body: string;
}

/** Fenced code blocks as CommonMark reads them: a closing fence is at least as long as the opening one. */
function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})([^`]*)$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^(`{3,})\s*$/.exec(lines[j]!);
      if (close && close[1]!.length >= fence.length) break;
      body.push(lines[j]!);
    }
    assert.ok(j < lines.length, 'every fence is closed');
    out.push({ lang: open[2]!.trim(), body: body.join('\n') });
    i = j;
  }
  return out;
}

function block(markdown: string, lang: string, nth = 0): string {
  const found = blocks(markdown).filter((b) => b.lang === lang);
  assert.ok(found.length > nth, `a ${lang} block`);
  return found[nth]!.body;
}

let dir: string;

/**
 * Runs each script in one shell process (one after the other, each ending with an END mark) and
 * gives what the stubs printed for each: NUL-separated words.
 */
function runShell(shell: string, scripts: string[], stubs: string): string[][] {
  const all = scripts.map((s) => `${s}\nprintf 'END\\0'`).join('\n');
  const r = spawnSync(shell, ['-c', `${stubs}\n${all}`], { cwd: dir, encoding: 'buffer', env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, `${shell} ran the snippets: ${r.stderr.toString()}`);
  const words = r.stdout.toString('utf8').split('\0').slice(0, -1);
  const out: string[][] = [[]];
  for (const w of words) {
    if (w === 'END') out.push([]);
    else out[out.length - 1]!.push(w);
  }
  out.pop();
  assert.equal(out.length, scripts.length, 'every snippet ran to its end');
  return out;
}

function assertNoSideEffects(): void {
  assert.deepEqual(readdirSync(dir).filter((f) => f !== 'openai.py' && f !== 'snippet.py' && f !== 'config.toml' && f !== '__pycache__'), [], 'the snippet created no file');
}

const havePython = spawnSync('python3', ['-c', 'import tomllib'], { encoding: 'utf8' }).status === 0;

function python(args: string[], input?: string): string {
  return execFileSync('python3', args, { cwd: dir, encoding: 'utf8', input, env: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1' } });
}

/**
 * PowerShell's single-quoted string (about_Quoting_Rules) starting at `from`: nothing expands, a
 * doubled quote is one quote, the typographic single quotes count as quotes. Returns the value and
 * what follows the closing quote.
 */
function readPowershellSingle(text: string, from: number): { value: string; rest: string } {
  const quote = /['\u2018\u2019\u201a\u201b]/;
  assert.ok(quote.test(text[from]!), 'quoted');
  let out = '';
  for (let i = from + 1; i < text.length; i++) {
    const c = text[i]!;
    if (!quote.test(c)) out += c;
    else if (quote.test(text[i + 1] ?? '')) {
      out += c;
      i++;
    }
    else return { value: out, rest: text.slice(i + 1) };
  }
  assert.fail('the string is not closed');
}

/** What a shell or PowerShell word holds for `id` (no NUL byte fits in one). */
function inWord(id: string): string {
  return expected(id).replace(/\0/g, '\ufffd');
}

describe('present: Connect a Client snippets with hostile model ids', function () {
  this.timeout(60_000);

  before(() => setLanguage('en'));
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'daidai-snippet-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const payload of PAYLOADS) {
    const name = JSON.stringify(payload).slice(0, 50);

    it(`JavaScript (vm): the OpenAI client gets the id, no global is touched — ${name}`, async () => {
      const js = block(clientSnippets(URL_, 'openai-sdk', { model: payload }).markdown, 'js').replace(/^import .*$/m, '');
      const seen: unknown[] = [];
      class OpenAI {
        chat = { completions: { create: async (args: unknown) => (seen.push(args), { choices: [{ message: { content: 'ok' } }] }) } };
        constructor(opts: unknown) {
          seen.push(opts);
        }
      }
      const sandbox: Record<string, unknown> = { OpenAI, console: { log() {} } };
      await vm.runInNewContext(`(async () => {\n${js}\n})()`, sandbox);
      assert.deepEqual(JSON.parse(JSON.stringify(seen[0])), { baseURL: URL_, apiKey: 'anything' });
      assert.equal((seen[1] as { model: string }).model, expected(payload));
      assert.equal(sandbox.PWNED, undefined);
    });

    it(`YAML (Continue): one model with exactly its five keys — ${name}`, () => {
      const doc = yaml.load(block(clientSnippets(URL_, 'continue', { model: payload }).markdown, 'yaml')) as { models: Record<string, string>[] };
      assert.equal(doc.models.length, 1);
      assert.deepEqual(Object.keys(doc.models[0]!).sort(), ['apiBase', 'apiKey', 'model', 'name', 'provider']);
      assert.equal(doc.models[0]!.model, expected(payload));
      assert.equal(doc.models[0]!.apiBase, URL_);
    });

    it(`Markdown: fences stay closed, inline code stays on its line — ${name}`, () => {
      for (const client of ['curl', 'continue', 'openai-sdk', 'codex', 'cline', 'sillytavern'] as ClientId[]) {
        const md = clientSnippets(URL_, client, { model: payload }).markdown;
        const langs = blocks(md).map((b) => b.lang);
        const want: Record<string, string[]> = { curl: ['sh'], continue: ['yaml'], 'openai-sdk': ['js', 'python'], codex: ['toml', 'sh', 'powershell'], cline: [], sillytavern: [] };
        assert.deepEqual(langs, want[client], client);
      }
      const code = inlineCode(payload);
      assert.ok(!/[\n\r\u2028\u2029]/.test(code));
    });
  }

  for (const shell of ['sh', 'bash']) {
    it(`shell (${shell}): curl gets each id in its JSON body, nothing runs`, () => {
      const scripts = PAYLOADS.map((p) => block(clientSnippets(URL_, 'curl', { model: p }).markdown, 'sh'));
      const runs = runShell(shell, scripts, `curl() { printf '%s\\0' "$@"; }`);
      runs.forEach((args, i) => {
        const bodies = args.filter((_, k) => args[k - 1] === '-d').map((b) => JSON.parse(b) as { model: string });
        assert.equal(bodies.length, 2);
        for (const b of bodies) assert.equal(b.model, expected(PAYLOADS[i]!));
        assert.ok(args.includes(`${URL_}/chat/completions`));
      });
      assertNoSideEffects();
    });

    it(`Claude Code (${shell}, JSON, PowerShell): the served ids land in the model variables`, () => {
      // Hostile ids as channel prefixes, so that they parse as the opus family and are picked.
      const payloads = PAYLOADS.filter((p) => !p.includes(']') && !p.includes('】') && p.length <= 256);
      const opusOf = (p: string) => `[${p}]claude-opus-4-6-20260205`;
      const haiku = '[官Max]claude-haiku-4-5-20251001';
      const mds = payloads.map((p) => clientSnippets(URL_, 'claude-code', { models: [opusOf(p), haiku, 'gpt-4o'] }).markdown);
      const runs = runShell(shell, mds.map((md) => block(md, 'sh')), `claude() { printf '%s\\0' "$ANTHROPIC_BASE_URL" "$ANTHROPIC_AUTH_TOKEN" "$ANTHROPIC_DEFAULT_OPUS_MODEL" "$ANTHROPIC_DEFAULT_HAIKU_MODEL" "\${ANTHROPIC_DEFAULT_SONNET_MODEL-unset}"; }`);
      runs.forEach((out, i) => assert.deepEqual(out, ['http://127.0.0.1:5100', 'anything', inWord(opusOf(payloads[i]!)), haiku, 'unset']));
      assertNoSideEffects();
      mds.forEach((md, i) => {
        const opus = opusOf(payloads[i]!);
        const json = JSON.parse(block(md, 'json')) as { env: Record<string, string> };
        assert.equal(json.env.ANTHROPIC_DEFAULT_OPUS_MODEL, expected(opus));
        const ps = block(md, 'powershell');
        const at = ps.indexOf('$env:ANTHROPIC_DEFAULT_OPUS_MODEL = ') + '$env:ANTHROPIC_DEFAULT_OPUS_MODEL = '.length;
        const read = readPowershellSingle(ps, at);
        assert.equal(read.value, inWord(opus));
        assert.ok(read.rest.startsWith('\n$env:ANTHROPIC_DEFAULT_HAIKU_MODEL = '), 'the next line is the next variable');
      });
    });
  }

  // One python3 process for every payload (a process each would take most of this suite's time).
  it('Python: the openai client gets each id, nothing runs', function () {
    if (!havePython) this.skip();
    writeFileSync(
      join(dir, 'openai.py'),
      [
        'import json, sys',
        'class _C:',
        '    def create(self, **kw):',
        '        sys.stdout.write(json.dumps(kw["model"]) + "\\n")',
        '        class R: choices = [type("X", (), {"message": type("M", (), {"content": ""})})]',
        '        return R',
        'class OpenAI:',
        '    def __init__(self, base_url, api_key):',
        '        assert base_url == "http://127.0.0.1:5100/v1" and api_key == "anything"',
        '        self.chat = type("Chat", (), {"completions": _C()})',
      ].join('\n'),
    );
    const snippets = PAYLOADS.map((p) => block(clientSnippets(URL_, 'openai-sdk', { model: p }).markdown, 'python'));
    // each snippet on its own, with print() silenced so that only the stub writes
    const runner = 'import json, sys, builtins\nbuiltins.print = lambda *a, **k: None\nfor src in json.load(sys.stdin):\n    exec(compile(src, "snippet.py", "exec"), {"__name__": "__main__"})\n';
    writeFileSync(join(dir, 'snippet.py'), runner);
    const out = python(['snippet.py'], JSON.stringify(snippets)).trim().split('\n').map((l) => JSON.parse(l) as string);
    assert.deepEqual(out, PAYLOADS.map(expected));
    assertNoSideEffects();
  });

  it('TOML (Codex): only the model changes, whatever the id', function () {
    if (!havePython) this.skip();
    const ids = PAYLOADS.map((p) => `gpt-5 ${p}`);
    const tomls = ids.map((id) => block(clientSnippets(URL_, 'codex', { model: id }).markdown, 'toml'));
    tomls.forEach((toml, i) => assert.equal(toml, codexConfigToml(URL_, expected(ids[i]!))));
    const parsed = JSON.parse(python(['-c', 'import sys, tomllib, json; print(json.dumps([tomllib.loads(t) for t in json.load(sys.stdin)]))'], JSON.stringify(tomls))) as unknown[];
    parsed.forEach((doc, i) =>
      assert.deepEqual(doc, {
        model: expected(ids[i]!),
        model_provider: 'daidai',
        model_providers: { daidai: { name: 'DaiDai Aggregator', base_url: URL_, wire_api: 'responses', env_key: 'DAIDAI_API_KEY' } },
        features: { plugins: false, remote_plugin: false, apps: false },
      }),
    );
  });

  it('a 10,000-character id goes in no snippet: a bounded snippet with another model, and a note saying why', () => {
    assert.equal(LONG_ID.length, 10_000);
    for (const client of ['curl', 'continue', 'openai-sdk', 'codex', 'cline', 'sillytavern', 'claude-code'] as ClientId[]) {
      const md = clientSnippets(URL_, client, { model: LONG_ID }).markdown;
      assert.ok(md.length < 4_000, `${client}: ${md.length} characters`);
      assert.ok(!md.includes('yyyyyyyyyy'), client);
      assert.match(md, /has an id of 10000 characters, longer than any real one/, client);
    }
    // In the served list: the others are chosen, the long one never (it is in the opus family by its name).
    const md = clientSnippets(URL_, 'claude-code', { models: [`[官Max]claude-opus-4-7-${LONG_ID}`, '[官Max]claude-opus-4-6-20260205', '[官Max]claude-haiku-4-5-20251001'] }).markdown;
    assert.match(md, /export ANTHROPIC_DEFAULT_OPUS_MODEL='\[官Max\]claude-opus-4-6-20260205'\n/);
    assert.ok(!md.includes('yyyyyyyyyy') && md.length < 4_000);
    assert.ok(!md.includes('longer than any real one'), 'nothing was picked: no note');
    // A 256-character id is still an id.
    const edge = 'm'.repeat(256);
    assert.ok(clientSnippets(URL_, 'curl', { model: edge }).markdown.includes(edge));
  });

  it('quotes nothing that needs no quotes, and everything that does', () => {
    assert.equal(shellQuote('http://127.0.0.1:5100'), 'http://127.0.0.1:5100');
    assert.equal(shellQuote('[官Max]claude-opus-4-6'), "'[官Max]claude-opus-4-6'");
    assert.equal(shellQuote(''), "''");
    assert.equal(powershellQuote("it's"), "'it''s'");
  });
});

describe('present: Connect a Client fills in the models the account serves', () => {
  before(() => setLanguage('en'));
  const served = [
    '[官Max]claude-opus-4-6-20260205',
    '[官Max]claude-opus-4-6-20260205-thinking',
    '[官Max]claude-sonnet-4-6-20260217',
    '[官Max]claude-haiku-4-5-20251001',
    'gpt-5',
    'gpt-5.1-codex',
    'gpt-4o-mini',
  ];

  it('picks the newest of each family, never a thinking variant', () => {
    assert.deepEqual(assistantModels(served), {
      opus: '[官Max]claude-opus-4-6-20260205',
      sonnet: '[官Max]claude-sonnet-4-6-20260217',
      haiku: '[官Max]claude-haiku-4-5-20251001',
      codex: 'gpt-5.1-codex',
    });
    assert.deepEqual(assistantModels(['gpt-5', 'gpt-4o']), { opus: undefined, sonnet: undefined, haiku: undefined, codex: 'gpt-5' });
    assert.deepEqual(assistantModels(undefined), {});
  });

  it('Claude Code: the three model variables; without served models, says the proxy maps the ids', () => {
    const md = clientSnippets(URL_, 'claude-code', { models: served }).markdown;
    assert.match(md, /export ANTHROPIC_DEFAULT_OPUS_MODEL='\[官Max\]claude-opus-4-6-20260205'\n/);
    assert.match(md, /export ANTHROPIC_DEFAULT_SONNET_MODEL='\[官Max\]claude-sonnet-4-6-20260217'\n/);
    assert.match(md, /export ANTHROPIC_DEFAULT_HAIKU_MODEL='\[官Max\]claude-haiku-4-5-20251001'\n/);
    const bare = clientSnippets(URL_, 'claude-code').markdown;
    assert.ok(!bare.includes('ANTHROPIC_DEFAULT_OPUS_MODEL'));
    assert.match(bare, /maps Claude Code's own model ids/);
  });

  it('Codex: config.toml with the provider, the Responses API, env_key and the features off', () => {
    const s = clientSnippets(URL_, 'codex', { models: served });
    assert.equal(s.baseUrl, URL_);
    assert.ok(s.markdown.includes(codexConfigToml(URL_, 'gpt-5.1-codex')));
    assert.match(s.markdown, /wire_api = "responses"/);
    assert.match(s.markdown, /\[features\]\nplugins = false\nremote_plugin = false\napps = false/);
    assert.match(s.markdown, /export DAIDAI_API_KEY=anything\ncodex/);
    // a model picked in the Models view is used when it is one Codex can speak to
    assert.ok(clientSnippets(URL_, 'codex', { model: 'gpt-4o-mini', models: served }).markdown.includes('model = "gpt-4o-mini"'));
  });

  it('Continue and Cline get a served model when none was picked', () => {
    assert.match(clientSnippets(URL_, 'continue', { models: served }).markdown, /model: "\[官Max\]claude-sonnet-4-6-20260217"/);
    assert.match(clientSnippets(URL_, 'cline', { models: served }).markdown, /Model ID: `\[官Max\]claude-sonnet-4-6-20260217`/);
  });
});

