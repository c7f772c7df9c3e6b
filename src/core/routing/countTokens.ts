// A local answer to Anthropic's `POST /v1/messages/count_tokens` for when the gateway cannot give
// one (many resellers' gateways do not route it; Claude Code's VS Code extension sends dozens at
// start-up and shows errors without an answer). Anthropic's shape, `{"input_tokens": N}`, with
// N estimated from the text the request would send: system, messages (text, tool calls and
// results) and tools. Tokenizers differ per model; this aims at the right size, not the digit:
// about four characters of Latin text per token, one per CJK character, as Claude's tokenizer does
// roughly. Pure.

/** Bodies larger than this are estimated from their size alone (no parse). */
const MAX_PARSED = 8 * 1024 * 1024;
/** Per message and per tool: the role markers and framing a model's template adds. */
const PER_MESSAGE = 4;
const PER_TOOL = 12;

export function estimateInputTokens(body: Buffer): number {
  if (body.length > MAX_PARSED) return Math.ceil(body.length / 4);
  let o: unknown;
  try {
    o = JSON.parse(body.toString('utf8'));
  } catch {
    return Math.ceil(body.length / 4);
  }
  if (typeof o !== 'object' || o === null) return 0;
  const req = o as { system?: unknown; messages?: unknown; tools?: unknown };
  let tokens = textTokens(req.system);
  if (Array.isArray(req.messages)) for (const m of req.messages) tokens += PER_MESSAGE + textTokens((m as { content?: unknown } | null)?.content);
  if (Array.isArray(req.tools)) for (const t of req.tools) tokens += PER_TOOL + textTokens(t);
  return Math.max(1, Math.ceil(tokens));
}

/** The Anthropic-shaped answer body. */
export function countTokensAnswer(body: Buffer): string {
  return JSON.stringify({ input_tokens: estimateInputTokens(body) });
}

/** Tokens of every string (and object key) in a value, images and documents at a flat rate. */
function textTokens(v: unknown, depth = 0): number {
  if (typeof v === 'string') return stringTokens(v);
  if (typeof v === 'number' || typeof v === 'boolean') return 1;
  if (depth > 32 || typeof v !== 'object' || v === null) return 0;
  if (Array.isArray(v)) {
    let n = 0;
    for (const x of v) n += textTokens(x, depth + 1);
    return n;
  }
  const o = v as Record<string, unknown>;
  // An image or a PDF: Anthropic counts them by size; a fixed guess beats counting base64 as text.
  if ((o.type === 'image' || o.type === 'document') && typeof o.source === 'object') return 1600;
  let n = 0;
  for (const [k, x] of Object.entries(o)) {
    if (k === 'type' || k === 'cache_control' || k === 'id' || k === 'tool_use_id') continue;
    n += stringTokens(k) + textTokens(x, depth + 1);
  }
  return n;
}

function stringTokens(s: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) ascii++;
    else if (c < 0xd800 || c > 0xdbff) other++; // a surrogate pair counts once
  }
  return ascii / 4 + other;
}
