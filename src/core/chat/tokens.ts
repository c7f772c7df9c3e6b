// provideTokenCount: VS Code asks before every request, for every message, to fit the history
// into maxInputTokens. A tokenizer per family would cost megabytes and milliseconds; this is a
// cheap estimate that leans high (VS Code then trims a little early rather than overflow):
// ASCII at 4 characters a token (English and code under the GPT-4o / Claude tokenizers: 3.5–4.5),
// every other character (Chinese, Japanese, emoji…) a token of its own (those tokenizers: 0.6–1.3).
import type { ChatMessage, ChatPart } from './types';

/** What an image costs at most on the gateway's models, about (Claude: 1,600 at 1.15 MP; GPT-4o high detail: 765–1,105). */
export const IMAGE_TOKENS = 1_600;
/** Role and separators of one message. */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export function estimateTextTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) ascii++;
    else if (c >= 0xdc00 && c <= 0xdfff) continue; // the second half of a surrogate pair: counted with the first
    else other++;
  }
  return Math.ceil(ascii / 4) + other;
}

function partTokens(p: ChatPart): number {
  switch (p.kind) {
    case 'text':
      return estimateTextTokens(p.text);
    case 'data':
      if (!p.mimeType.includes('/')) return 0; // a hint, not content
      return p.mimeType.startsWith('image/') ? IMAGE_TOKENS : Math.ceil(p.data.byteLength / 4);
    case 'toolCall':
      return estimateTextTokens(p.name) + estimateTextTokens(JSON.stringify(p.input ?? {})) + MESSAGE_OVERHEAD_TOKENS;
    case 'toolResult': {
      let n = MESSAGE_OVERHEAD_TOKENS;
      for (const c of p.content) n += partTokens(c);
      return n;
    }
  }
}

export function estimateMessageTokens(m: ChatMessage): number {
  let n = MESSAGE_OVERHEAD_TOKENS;
  for (const p of m.content) n += partTokens(p);
  return n;
}
