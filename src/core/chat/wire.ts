// A VS Code chat request → the body the DaiDai gateway takes: Anthropic Messages for Claude
// models (the gateway's Claude channels speak it natively: tool_use blocks, images, prompt
// caching and cache tokens come through without a second translation in the gateway), Chat
// Completions for everything else (the format every other channel speaks). Pure.
//
// Nothing is dropped on the way: every tool goes up with its whole schema (names the wire
// refuses are renamed reversibly), tool results keep their images (Chat Completions has no
// images in tool messages, so they follow in a user message), and a request the gateway could
// not take (more tools than it allows) is refused with a sentence rather than trimmed.
import { createHash } from 'node:crypto';
import { NO_TOOLS, TOO_MANY_TOOLS } from './errors';
import type { ChatData, ChatMessage, ChatPart, ChatText, ChatTool, ChatToolCall, ChatToolResult, ToolMode, WireFormat } from './types';

/** OpenAI's limit on `tools`; Anthropic's is not lower in practice. VS Code's agent sends about 39. */
export const MAX_TOOLS = 128;
/** What both formats accept as a tool name (and Anthropic as a tool_use id). */
const WIRE_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const WIRE_ID = /^[a-zA-Z0-9_-]+$/;
/** Anthropic requires max_tokens. The gateway reserves balance for it up front, so not the model's whole limit. */
export const DEFAULT_ANTHROPIC_MAX_TOKENS = 16_384;
/** modelOptions a caller may set, passed as they are (anything else is not ours to forward). */
const PASSED_OPTIONS = ['temperature', 'top_p', 'top_k', 'stop', 'max_tokens'] as const;

export interface WireInput {
  model: string;
  wire: WireFormat;
  messages: readonly ChatMessage[];
  tools?: readonly ChatTool[];
  toolMode?: ToolMode;
  /** Whether the model can call tools; a request with tools for one that cannot is refused. */
  toolCalling: boolean;
  /** The model's output limit; Anthropic's max_tokens is min(this, DEFAULT_ANTHROPIC_MAX_TOKENS). */
  maxOutputTokens: number;
  modelOptions?: Readonly<Record<string, unknown>>;
}

export interface WireRequest {
  wire: WireFormat;
  /** Below the gateway's /v1: `/messages` or `/chat/completions`. */
  path: '/messages' | '/chat/completions';
  body: string;
  /** Wire tool name → the name VS Code knows, for names that had to change. */
  toolNames: Map<string, string>;
}

export function buildWireRequest(input: WireInput): WireRequest {
  const tools = input.tools ?? [];
  if (tools.length > 0 && !input.toolCalling) throw NO_TOOLS(input.model);
  if (tools.length > MAX_TOOLS) throw TOO_MANY_TOOLS(tools.length, MAX_TOOLS);
  const names = new ToolNames();
  for (const tool of tools) names.wire(tool.name);
  const options = passedOptions(input.modelOptions);
  const body =
    input.wire === 'anthropic'
      ? anthropicBody(input, tools, names, options)
      : openaiBody(input, tools, names, options);
  return { wire: input.wire, path: input.wire === 'anthropic' ? '/messages' : '/chat/completions', body: JSON.stringify(body), toolNames: names.back };
}

// ---- tool names and ids ----------------------------------------------------------------------

/** Renames what the wire refuses, the same way for a tool's declaration and for calls in the history. */
class ToolNames {
  /** Wire names that differ from VS Code's: what a tool call coming back is mapped through. */
  readonly back = new Map<string, string>();
  private readonly forth = new Map<string, string>();
  private readonly owner = new Map<string, string>();

  wire(name: string): string {
    const known = this.forth.get(name);
    if (known !== undefined) return known;
    let out = WIRE_NAME.test(name) ? name : `${name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 55) || 'tool'}_${shortHash(name)}`;
    // Two names that clean up alike stay apart.
    while (this.owner.has(out)) out = `${out.slice(0, 55)}_${shortHash(out + name)}`;
    this.forth.set(name, out);
    this.owner.set(out, name);
    if (out !== name) this.back.set(out, name);
    return out;
  }
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 8);
}

/** Call ids from another model (or a provider) may hold characters Anthropic refuses; the same id maps the same way in the call and its result. */
export function wireCallId(id: string): string {
  if (WIRE_ID.test(id)) return id;
  const clean = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  return `${clean || 'call'}_${shortHash(id)}`;
}

// ---- shared ----------------------------------------------------------------------------------

function passedOptions(o: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!o) return out;
  for (const k of PASSED_OPTIONS) {
    const v = o[k];
    if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
    else if (k === 'stop' && (typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')))) out[k] = v;
  }
  return out;
}

function objectSchema(schema: unknown): Record<string, unknown> {
  if (schema && typeof schema === 'object' && !Array.isArray(schema)) {
    const s = schema as Record<string, unknown>;
    return s.type === undefined ? { type: 'object', ...s } : s;
  }
  return { type: 'object', properties: {} };
}

function isImage(d: ChatData): boolean {
  return /^image\/(png|jpeg|jpg|gif|webp)$/i.test(d.mimeType);
}

function isTextLike(mime: string): boolean {
  return /^text\//i.test(mime) || /[/+]json$/i.test(mime) || /[/+]xml$/i.test(mime) || /^application\/(javascript|x-yaml|yaml)$/i.test(mime);
}

/** VS Code's hints (cache_control, stateful_marker) carry no slash; they are not content. */
function isHint(d: ChatData): boolean {
  return !d.mimeType.includes('/');
}

function dataAsText(d: ChatData): string {
  if (isTextLike(d.mimeType)) return Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength).toString('utf8');
  return `[${d.mimeType} attachment, ${d.data.byteLength} bytes: not sent, the model takes no such data]`;
}

function base64(d: ChatData): string {
  return Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength).toString('base64');
}

function mediaType(mime: string): string {
  const m = mime.toLowerCase();
  return m === 'image/jpg' ? 'image/jpeg' : m;
}

function jsonInput(input: unknown): Record<string, unknown> {
  return input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
}

// ---- Anthropic Messages ----------------------------------------------------------------------

type AnthropicBlock = Record<string, unknown> & { type: string };

function anthropicBody(input: WireInput, tools: readonly ChatTool[], names: ToolNames, options: Record<string, unknown>): Record<string, unknown> {
  const system: AnthropicBlock[] = [];
  const turns: Array<{ role: 'user' | 'assistant'; content: AnthropicBlock[] }> = [];
  for (const m of input.messages) {
    const blocks: AnthropicBlock[] = [];
    const results: AnthropicBlock[] = [];
    for (const p of m.content) anthropicPart(p, m.role === 'system' ? system : blocks, results, names);
    if (m.role === 'system') continue;
    // tool_result blocks must open the user turn that follows the tool_use.
    const content = m.role === 'user' ? [...results, ...blocks] : [...blocks, ...results];
    if (content.length === 0) continue;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = turns[turns.length - 1];
    if (last && last.role === role) {
      if (role === 'user' && results.length) last.content = [...results, ...last.content, ...blocks];
      else last.content.push(...content);
    } else turns.push({ role, content });
  }
  const body: Record<string, unknown> = {
    model: input.model,
    max_tokens: Math.max(1, Math.min(input.maxOutputTokens, DEFAULT_ANTHROPIC_MAX_TOKENS)),
  };
  if (system.length) body.system = system;
  body.messages = turns;
  if (tools.length) {
    body.tools = tools.map((tool) => ({ name: names.wire(tool.name), description: tool.description, input_schema: objectSchema(tool.inputSchema) }));
    if (input.toolMode === 'required') body.tool_choice = { type: 'any' };
  }
  Object.assign(body, options);
  body.stream = true;
  return body;
}

function anthropicPart(p: ChatPart, blocks: AnthropicBlock[], results: AnthropicBlock[], names: ToolNames): void {
  switch (p.kind) {
    case 'text':
      if (p.text !== '') blocks.push({ type: 'text', text: p.text });
      return;
    case 'data':
      if (isHint(p)) {
        // VS Code marks where a cache breakpoint helps: Anthropic's prompt caching saves the user money.
        if (p.mimeType === 'cache_control') {
          const target = blocks[blocks.length - 1] ?? results[results.length - 1];
          if (target) target.cache_control = { type: 'ephemeral' };
        }
        return;
      }
      blocks.push(isImage(p) ? anthropicImage(p) : { type: 'text', text: dataAsText(p) });
      return;
    case 'toolCall':
      blocks.push({ type: 'tool_use', id: wireCallId(p.callId), name: names.wire(p.name), input: jsonInput(p.input) });
      return;
    case 'toolResult':
      results.push(anthropicToolResult(p));
      return;
  }
}

function anthropicImage(d: ChatData): AnthropicBlock {
  return { type: 'image', source: { type: 'base64', media_type: mediaType(d.mimeType), data: base64(d) } };
}

function anthropicToolResult(r: ChatToolResult): AnthropicBlock {
  const content: AnthropicBlock[] = [];
  for (const c of r.content) {
    if (c.kind === 'text') {
      if (c.text !== '') content.push({ type: 'text', text: c.text });
    } else if (!isHint(c)) content.push(isImage(c) ? anthropicImage(c) : { type: 'text', text: dataAsText(c) });
  }
  const block: AnthropicBlock = { type: 'tool_result', tool_use_id: wireCallId(r.callId), content };
  if (r.isError) block.is_error = true;
  return block;
}

// ---- OpenAI Chat Completions -----------------------------------------------------------------

type OpenAiMessage = Record<string, unknown> & { role: string };
type OpenAiContent = Array<{ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } }>;

function openaiBody(input: WireInput, tools: readonly ChatTool[], names: ToolNames, options: Record<string, unknown>): Record<string, unknown> {
  const messages: OpenAiMessage[] = [];
  for (const m of input.messages) {
    if (m.role === 'assistant') {
      const text = m.content.filter((p): p is ChatText => p.kind === 'text').map((p) => p.text).join('');
      const calls = m.content.filter((p): p is ChatToolCall => p.kind === 'toolCall');
      if (!text && !calls.length) continue;
      const msg: OpenAiMessage = { role: 'assistant', content: text || null };
      if (calls.length) {
        msg.tool_calls = calls.map((c) => ({ id: c.callId, type: 'function', function: { name: names.wire(c.name), arguments: JSON.stringify(jsonInput(c.input)) } }));
      }
      messages.push(msg);
      continue;
    }
    // Tool results first, each its own `tool` message, as they answer the assistant's calls.
    const afterTools: OpenAiContent = [];
    for (const p of m.content) {
      if (p.kind !== 'toolResult') continue;
      const texts: string[] = [];
      const images: ChatData[] = [];
      for (const c of p.content) {
        if (c.kind === 'text') texts.push(c.text);
        else if (isImage(c)) images.push(c);
        else if (!isHint(c)) texts.push(dataAsText(c));
      }
      if (images.length) texts.push(images.length === 1 ? '(The image this tool returned follows in the next message.)' : `(The ${images.length} images this tool returned follow in the next message.)`);
      messages.push({ role: 'tool', tool_call_id: p.callId, content: (p.isError ? 'Error: ' : '') + texts.join('\n') });
      if (images.length) {
        afterTools.push({ type: 'text', text: `Images returned by tool call ${p.callId}:` });
        for (const img of images) afterTools.push(openaiImage(img));
      }
    }
    if (afterTools.length) messages.push({ role: 'user', content: afterTools });
    const content: OpenAiContent = [];
    for (const p of m.content) {
      if (p.kind === 'text') {
        if (p.text !== '') content.push({ type: 'text', text: p.text });
      } else if (p.kind === 'data' && !isHint(p)) content.push(isImage(p) ? openaiImage(p) : { type: 'text', text: dataAsText(p) });
      else if (p.kind === 'toolCall') content.push({ type: 'text', text: `[tool call ${p.name} ${JSON.stringify(jsonInput(p.input))}]` });
    }
    if (!content.length) continue;
    const role = m.role === 'system' ? 'system' : 'user';
    const plain = content.every((c) => c.type === 'text');
    // A plain string where it can be: the widest-understood form, and what system messages must be.
    messages.push({ role, content: plain || role === 'system' ? content.map((c) => (c.type === 'text' ? c.text : '')).join('\n') : content });
  }
  const body: Record<string, unknown> = { model: input.model, messages };
  if (tools.length) {
    body.tools = tools.map((tool) => ({ type: 'function', function: { name: names.wire(tool.name), description: tool.description, parameters: objectSchema(tool.inputSchema) } }));
    if (input.toolMode === 'required') body.tool_choice = 'required';
  }
  Object.assign(body, options);
  body.stream = true;
  // Usage in the last chunk: what the history and the ¥ estimate are made of.
  body.stream_options = { include_usage: true };
  return body;
}

function openaiImage(d: ChatData): { type: 'image_url'; image_url: { url: string } } {
  return { type: 'image_url', image_url: { url: `data:${mediaType(d.mimeType)};base64,${base64(d)}` } };
}
