// "Connect a Client…": the exact settings or snippet each client needs to use the proxy.
// Shaped by how the clients really call the proxy (../../shared/clients.md): OpenAI-style clients
// want the base URL with /v1; Claude Code and the Anthropic SDK want it without. The prose is
// translated; code (commands, config files, values) stays as the client reads it. Model ids come
// from the gateway: every value is quoted for the language it is pasted into (issue 22), and the
// Markdown fences are longer than any backtick run inside them.
import { t } from '../l10n';
import { MAX_ID_LENGTH, ModelResolver } from '../routing/modelResolve';

export type ClientId = 'sillytavern' | 'continue' | 'cline' | 'claude-code' | 'codex' | 'openai-sdk' | 'curl';

export interface ClientInfo {
  id: ClientId;
  label: string;
  detail: string;
}

// `detail` is a getter so that it follows the language set after this module loaded.
export const clients: readonly ClientInfo[] = [
  { id: 'sillytavern', label: 'SillyTavern', get detail() { return t('Chat Completion → Custom (OpenAI-compatible)'); } },
  { id: 'continue', label: 'Continue', get detail() { return t('An OpenAI provider in config.yaml'); } },
  { id: 'cline', label: 'Cline / Roo Code', get detail() { return t('API Provider "OpenAI Compatible"'); } },
  { id: 'claude-code', label: 'Claude Code', get detail() { return t('ANTHROPIC_BASE_URL and ANTHROPIC_AUTH_TOKEN'); } },
  { id: 'codex', label: 'Codex CLI', get detail() { return t('A provider in ~/.codex/config.toml (Responses API)'); } },
  { id: 'openai-sdk', label: 'OpenAI SDK', get detail() { return t('Node.js and Python'); } },
  { id: 'curl', label: 'curl', get detail() { return t('A chat request and a streamed one'); } },
];

export interface SnippetOptions {
  /** Model id to put in examples (Continue, Cline, the SDKs, curl; Codex when it is a GPT model). */
  model?: string;
  /** The ids the account's keys serve (from the gateway): Claude Code's and Codex's models are picked from them. */
  models?: readonly string[];
  /** Whether daidai.proxy.accessToken is set: the snippet then names the setting instead of "anything". */
  accessTokenSet?: boolean;
  /** Whether the proxy runs now (the snippet says to start it otherwise). */
  running?: boolean;
}

export interface ClientSnippet {
  client: ClientId;
  title: string;
  /** What gets copied to the clipboard: the base URL this client wants. */
  baseUrl: string;
  /** Markdown document shown to the user. */
  markdown: string;
}

/** `http://127.0.0.1:5100/v1` → `http://127.0.0.1:5100/v1` (trailing slashes removed, /v1 ensured). */
export function openAiBaseUrl(proxyUrl: string): string {
  const u = proxyUrl.replace(/\/+$/, '');
  return u.endsWith('/v1') ? u : `${u}/v1`;
}

/** The origin without /v1, as Claude Code and the Anthropic SDK want it. */
export function anthropicBaseUrl(proxyUrl: string): string {
  return openAiBaseUrl(proxyUrl).replace(/\/v1$/, '');
}

// ---- quoting, one function per language ----------------------------------------------------

/** Characters a POSIX shell reads as themselves outside quotes (Python's shlex.quote keeps these bare). */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** A POSIX shell word that is exactly `s` (single quotes; a quote inside is `'\''`). */
export function shellQuote(s: string): string {
  if (s !== '' && SHELL_SAFE.test(s)) return s;
  // A shell word cannot hold a NUL byte: it would cut the value short.
  return `'${s.replace(/\0/g, '\ufffd').replace(/'/g, "'\\''")}'`;
}

/** A PowerShell single-quoted string (no expansion); PowerShell also reads the typographic single quotes as quotes. */
export function powershellQuote(s: string): string {
  return `'${s.replace(/\0/g, '\ufffd').replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

/**
 * A quoted string with backslash escapes that JavaScript, JSON, Python, YAML (double-quoted) and
 * TOML (basic string) all read back as `s`: quote and backslash escaped, every control or
 * invisible line-breaking character as \uXXXX, a lone surrogate (no language agrees on it) as
 * U+FFFD.
 */
function escaped(s: string, quote: '"' | "'"): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else out += ch;
  }
  return out + quote;
}

/** A JavaScript string literal in single quotes (the snippets' style). */
export function jsQuote(s: string): string {
  return escaped(s, "'");
}

/** A Python string literal in double quotes. */
export function pythonQuote(s: string): string {
  return escaped(s, '"');
}

/** A YAML double-quoted scalar. */
export function yamlQuote(s: string): string {
  return escaped(s, '"');
}

/** A TOML basic string. */
export function tomlQuote(s: string): string {
  return escaped(s, '"');
}

/** A fenced code block whose fence no backtick run inside can close. */
export function fenced(lang: string, body: string): string {
  let longest = 0;
  for (const m of body.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}${lang}\n${body}\n${fence}`;
}

/** Inline code that shows `s` whole: a delimiter longer than its backtick runs, line breaks as spaces. */
export function inlineCode(s: string): string {
  const flat = s.replace(/[\r\n\u2028\u2029]+/g, ' ');
  let longest = 0;
  for (const m of flat.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  const tick = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${tick}${pad}${flat}${pad}${tick}`;
}

// ---- which served model each client gets ------------------------------------------------------

/** The models a coding assistant is set up with: newest served of each family, when the account serves one. */
export interface AssistantModels {
  opus?: string;
  sonnet?: string;
  haiku?: string;
  /** For Codex: the newest GPT-5 codex model, else the newest GPT-5. */
  codex?: string;
}

export function assistantModels(models: readonly string[] | undefined): AssistantModels {
  if (!models || models.length === 0) return {};
  const r = new ModelResolver(models);
  const served = (asked: string) => {
    const x = r.resolve(asked);
    return x.kind === 'none' ? undefined : x.served;
  };
  // A version above any real one: the family step then gives the newest of the family.
  return {
    opus: served('claude-opus-999'),
    sonnet: served('claude-sonnet-999'),
    haiku: served('claude-haiku-999'),
    codex: served('gpt-5.999-codex') ?? served('gpt-5.999'),
  };
}

/** A lone surrogate cannot be written in UTF-8 (or read back the same by any language): U+FFFD instead. */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

export function clientSnippets(proxyUrl: string, client: ClientId, opts: SnippetOptions = {}): ClientSnippet {
  const v1 = openAiBaseUrl(proxyUrl);
  const origin = anthropicBaseUrl(proxyUrl);
  // An id longer than any real one (a broken or hostile gateway's list) goes in no snippet: cut
  // short it would name no model either. The served ones are chosen among the others; a picked
  // one that long is replaced, and the snippet says so.
  const served = opts.models?.map(wellFormed).filter((id) => id.length <= MAX_ID_LENGTH);
  const picked = assistantModels(served);
  const given = opts.model === undefined ? undefined : wellFormed(opts.model);
  const chosen = given !== undefined && given.length <= MAX_ID_LENGTH ? given : undefined;
  const model = chosen ?? picked.sonnet ?? picked.codex ?? served?.[0] ?? 'gpt-4o-mini';
  const token = opts.accessTokenSet ? '<your daidai.proxy.accessToken>' : 'anything';
  const keyLine = (field: string) =>
    opts.accessTokenSet
      ? t('{0}: the value of the `daidai.proxy.accessToken` setting (the proxy requires it).', field)
      : t('{0}: anything (the proxy puts one of your DaiDai keys in its place).', field);
  const head = (title: string) => {
    const lines = [t('# Connect {0} to DaiDai Aggregator', title), ''];
    if (opts.running === false) lines.push(t('> The proxy is not running yet: run **DaiDai: Start Proxy** first.'), '');
    if (given !== undefined && chosen === undefined) {
      lines.push(t('> The model picked has an id of {0} characters, longer than any real one: the examples below use another model.', given.length), '');
    }
    return lines;
  };

  switch (client) {
    case 'sillytavern':
      return {
        client,
        title: 'SillyTavern',
        baseUrl: v1,
        markdown: [
          ...head('SillyTavern'),
          t('1. Open **API Connections** (the plug icon).'),
          t('2. API: **Chat Completion**.'),
          t('3. Chat Completion Source: **Custom (OpenAI-compatible)**.'),
          t('4. Custom Endpoint (Base URL): `{0}`', v1),
          `5. ${keyLine('Custom API Key')}`,
          t('6. Click **Connect**, then pick a model from the list.'),
          '',
          t('Streaming works as usual; the Stop button also stops the upstream request.'),
          '',
        ].join('\n'),
      };
    case 'continue':
      return {
        client,
        title: 'Continue',
        baseUrl: v1,
        markdown: [
          ...head('Continue'),
          t('Add a model to `~/.continue/config.yaml`:'),
          '',
          fenced(
            'yaml',
            ['models:', `  - name: ${yamlQuote(`DaiDai ${model}`)}`, '    provider: openai', `    model: ${yamlQuote(model)}`, `    apiBase: ${yamlQuote(v1)}`, `    apiKey: ${yamlQuote(token)}`].join('\n'),
          ),
          '',
          t('Any model id your DaiDai keys can use works in `model`.'),
          '',
        ].join('\n'),
      };
    case 'cline':
      return {
        client,
        title: 'Cline / Roo Code',
        baseUrl: v1,
        markdown: [
          ...head('Cline / Roo Code'),
          t("In the extension's settings (gear icon):"),
          '',
          t('1. API Provider: **OpenAI Compatible**.'),
          t('2. Base URL: `{0}`', v1),
          `3. ${keyLine('API key')}`,
          t('4. Model ID: {0} (or any model your DaiDai keys can use).', inlineCode(model)),
          '',
        ].join('\n'),
      };
    case 'claude-code':
      return claudeCodeSnippet(origin, token, picked, head);
    case 'codex':
      return codexSnippet(v1, token, chosen !== undefined && /gpt|codex|^o\d/i.test(chosen) ? chosen : picked.codex ?? model, head);
    case 'openai-sdk':
      return {
        client,
        title: 'OpenAI SDK',
        baseUrl: v1,
        markdown: [
          ...head(t('the OpenAI SDK')),
          t('Node.js (`npm install openai`):'),
          '',
          fenced(
            'js',
            [
              "import OpenAI from 'openai';",
              '',
              `const client = new OpenAI({ baseURL: ${jsQuote(v1)}, apiKey: ${jsQuote(token)} });`,
              'const reply = await client.chat.completions.create({',
              `  model: ${jsQuote(model)},`,
              "  messages: [{ role: 'user', content: 'Hello!' }],",
              '});',
              'console.log(reply.choices[0].message.content);',
            ].join('\n'),
          ),
          '',
          t('Python (`pip install openai`):'),
          '',
          fenced(
            'python',
            [
              'from openai import OpenAI',
              '',
              `client = OpenAI(base_url=${pythonQuote(v1)}, api_key=${pythonQuote(token)})`,
              'reply = client.chat.completions.create(',
              `    model=${pythonQuote(model)},`,
              '    messages=[{"role": "user", "content": "Hello!"}],',
              ')',
              'print(reply.choices[0].message.content)',
            ].join('\n'),
          ),
          '',
        ].join('\n'),
      };
    case 'curl': {
      const body = (stream: boolean) => JSON.stringify({ model, ...(stream ? { stream: true } : {}), messages: [{ role: 'user', content: 'Hello!' }] });
      return {
        client,
        title: 'curl',
        baseUrl: v1,
        markdown: [
          ...head('curl'),
          fenced(
            'sh',
            [
              `curl ${shellQuote(`${v1}/chat/completions`)} \\`,
              "  -H 'Content-Type: application/json' \\",
              `  -H ${shellQuote(`Authorization: Bearer ${token}`)} \\`,
              `  -d ${shellQuote(body(false))}`,
              '',
              t('# streamed'),
              `curl -N ${shellQuote(`${v1}/chat/completions`)} \\`,
              "  -H 'Content-Type: application/json' \\",
              `  -H ${shellQuote(`Authorization: Bearer ${token}`)} \\`,
              `  -d ${shellQuote(body(true))}`,
              '',
              t("# which key serves next, and the pool's health"),
              `curl ${shellQuote(`${origin}/health`)}`,
            ].join('\n'),
          ),
          '',
        ].join('\n'),
      };
    }
  }
}

type Head = (title: string) => string[];

function claudeCodeSnippet(origin: string, token: string, picked: AssistantModels, head: Head): ClientSnippet {
  const env: [string, string][] = [
    ['ANTHROPIC_BASE_URL', origin],
    ['ANTHROPIC_AUTH_TOKEN', token],
  ];
  if (picked.opus) env.push(['ANTHROPIC_DEFAULT_OPUS_MODEL', picked.opus]);
  if (picked.sonnet) env.push(['ANTHROPIC_DEFAULT_SONNET_MODEL', picked.sonnet]);
  if (picked.haiku) env.push(['ANTHROPIC_DEFAULT_HAIKU_MODEL', picked.haiku]);
  const named = env.length > 2;
  return {
    client: 'claude-code',
    title: 'Claude Code',
    baseUrl: origin,
    markdown: [
      ...head('Claude Code'),
      t('Claude Code wants the base URL **without** `/v1`.'),
      '',
      named
        ? t("The model variables name the models your keys serve; without them the proxy maps Claude Code's own ids (claude-opus-…, claude-sonnet-…, claude-haiku-…) to the newest model of the same family your keys serve.")
        : t("The proxy maps Claude Code's own model ids (claude-opus-…, claude-sonnet-…, claude-haiku-…) to the newest model of the same family your keys serve; the `daidai.models.aliases` setting picks others."),
      '',
      t('macOS / Linux shell:'),
      '',
      fenced('sh', [...env.map(([k, v]) => `export ${k}=${shellQuote(v)}`), 'claude'].join('\n')),
      '',
      t('Windows PowerShell:'),
      '',
      fenced('powershell', [...env.map(([k, v]) => `$env:${k} = ${powershellQuote(v)}`), 'claude'].join('\n')),
      '',
      t('Or for every session, in `~/.claude/settings.json`:'),
      '',
      fenced('json', JSON.stringify({ env: Object.fromEntries(env) }, null, 2)),
      '',
      t('Each conversation stays on one key while that key works, so the prompt cache upstream keeps paying off.'),
      '',
    ].join('\n'),
  };
}

/** The environment variable Codex reads the key from (`env_key`). */
export const CODEX_ENV_KEY = 'DAIDAI_API_KEY';

/** Codex's `config.toml` for the proxy: a provider on the Responses API, and the features that reach the network off. */
export function codexConfigToml(v1: string, model: string): string {
  return [
    `model = ${tomlQuote(model)}`,
    'model_provider = "daidai"',
    '',
    '[model_providers.daidai]',
    'name = "DaiDai Aggregator"',
    `base_url = ${tomlQuote(v1)}`,
    'wire_api = "responses"',
    `env_key = ${tomlQuote(CODEX_ENV_KEY)}`,
    '',
    '[features]',
    'plugins = false',
    'remote_plugin = false',
    'apps = false',
  ].join('\n');
}

function codexSnippet(v1: string, token: string, model: string, head: Head): ClientSnippet {
  return {
    client: 'codex',
    title: 'Codex CLI',
    baseUrl: v1,
    markdown: [
      ...head('Codex CLI'),
      t('Codex speaks only the Responses API; the proxy passes it through. Put this in `~/.codex/config.toml` (or `$CODEX_HOME/config.toml`):'),
      '',
      fenced('toml', codexConfigToml(v1, model)),
      '',
      t('The `[features]` lines keep Codex from reaching GitHub and chatgpt.com for plugins and apps.'),
      '',
      t('macOS / Linux shell:'),
      '',
      fenced('sh', [`export ${CODEX_ENV_KEY}=${shellQuote(token)}`, 'codex'].join('\n')),
      '',
      t('Windows PowerShell:'),
      '',
      fenced('powershell', [`$env:${CODEX_ENV_KEY} = ${powershellQuote(token)}`, 'codex'].join('\n')),
      '',
    ].join('\n'),
  };
}
