// "Connect a Client…": the exact settings or snippet each client needs to use the proxy.
// Shaped by how the clients really call the proxy (../../shared/clients.md): OpenAI-style clients
// want the base URL with /v1; Claude Code and the Anthropic SDK want it without. The prose is
// translated; code (commands, config files, values) stays as the client reads it.
import { t } from '../l10n';

export type ClientId = 'sillytavern' | 'continue' | 'cline' | 'claude-code' | 'openai-sdk' | 'curl';

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
  { id: 'openai-sdk', label: 'OpenAI SDK', get detail() { return t('Node.js and Python'); } },
  { id: 'curl', label: 'curl', get detail() { return t('A chat request and a streamed one'); } },
];

export interface SnippetOptions {
  /** Model id to put in examples. */
  model?: string;
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

export function clientSnippets(proxyUrl: string, client: ClientId, opts: SnippetOptions = {}): ClientSnippet {
  const v1 = openAiBaseUrl(proxyUrl);
  const origin = anthropicBaseUrl(proxyUrl);
  const model = opts.model ?? 'gpt-4o-mini';
  const token = opts.accessTokenSet ? '<your daidai.proxy.accessToken>' : 'anything';
  const keyLine = (field: string) =>
    opts.accessTokenSet
      ? t('{0}: the value of the `daidai.proxy.accessToken` setting (the proxy requires it).', field)
      : t('{0}: anything (the proxy puts one of your DaiDai keys in its place).', field);
  const head = (title: string) => {
    const lines = [t('# Connect {0} to DaiDai Aggregator', title), ''];
    if (opts.running === false) lines.push(t('> The proxy is not running yet: run **DaiDai: Start Proxy** first.'), '');
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
          '```yaml',
          'models:',
          `  - name: DaiDai ${model}`,
          '    provider: openai',
          `    model: ${model}`,
          `    apiBase: ${v1}`,
          `    apiKey: ${token}`,
          '```',
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
          t('4. Model ID: `{0}` (or any model your DaiDai keys can use).', model),
          '',
        ].join('\n'),
      };
    case 'claude-code':
      return {
        client,
        title: 'Claude Code',
        baseUrl: origin,
        markdown: [
          ...head('Claude Code'),
          t('Claude Code wants the base URL **without** `/v1`.'),
          '',
          t('macOS / Linux shell:'),
          '',
          '```sh',
          `export ANTHROPIC_BASE_URL=${origin}`,
          `export ANTHROPIC_AUTH_TOKEN=${token}`,
          'claude',
          '```',
          '',
          t('Windows PowerShell:'),
          '',
          '```powershell',
          `$env:ANTHROPIC_BASE_URL = "${origin}"`,
          `$env:ANTHROPIC_AUTH_TOKEN = "${token}"`,
          'claude',
          '```',
          '',
          t('Or for every session, in `~/.claude/settings.json`:'),
          '',
          '```json',
          JSON.stringify({ env: { ANTHROPIC_BASE_URL: origin, ANTHROPIC_AUTH_TOKEN: token } }, null, 2),
          '```',
          '',
        ].join('\n'),
      };
    case 'openai-sdk':
      return {
        client,
        title: 'OpenAI SDK',
        baseUrl: v1,
        markdown: [
          ...head(t('the OpenAI SDK')),
          t('Node.js (`npm install openai`):'),
          '',
          '```js',
          "import OpenAI from 'openai';",
          '',
          `const client = new OpenAI({ baseURL: '${v1}', apiKey: '${token}' });`,
          'const reply = await client.chat.completions.create({',
          `  model: '${model}',`,
          "  messages: [{ role: 'user', content: 'Hello!' }],",
          '});',
          'console.log(reply.choices[0].message.content);',
          '```',
          '',
          t('Python (`pip install openai`):'),
          '',
          '```python',
          'from openai import OpenAI',
          '',
          `client = OpenAI(base_url="${v1}", api_key="${token}")`,
          'reply = client.chat.completions.create(',
          `    model="${model}",`,
          '    messages=[{"role": "user", "content": "Hello!"}],',
          ')',
          'print(reply.choices[0].message.content)',
          '```',
          '',
        ].join('\n'),
      };
    case 'curl':
      return {
        client,
        title: 'curl',
        baseUrl: v1,
        markdown: [
          ...head('curl'),
          '```sh',
          `curl ${v1}/chat/completions \\`,
          "  -H 'Content-Type: application/json' \\",
          `  -H 'Authorization: Bearer ${token}' \\`,
          `  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
          '',
          t('# streamed'),
          `curl -N ${v1}/chat/completions \\`,
          "  -H 'Content-Type: application/json' \\",
          `  -H 'Authorization: Bearer ${token}' \\`,
          `  -d '{"model": "${model}", "stream": true, "messages": [{"role": "user", "content": "Hello!"}]}'`,
          '',
          t("# which key serves next, and the pool's health"),
          `curl ${origin}/health`,
          '```',
          '',
        ].join('\n'),
      };
  }
}
