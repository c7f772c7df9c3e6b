// What VS Code's chat model picker shows of the account's models (the Language Model Chat
// Provider's LanguageModelChatInformation), as a pure function of the Models view's rows: the
// same union of the keys' lists as /v1/models, embeddings and other non-chat models left out,
// limits and capabilities from a small table of known families (conservative defaults
// otherwise), and a tooltip with the price and the keys that serve the model, masked.
import { t } from '../l10n';
import { stripChannel } from '../usage/price';
import type { WireFormat } from '../chat/types';
import { modelRows, type ModelsInput } from './models';

export interface ChatModelInfo {
  /** The gateway's model id, `[官Max]` prefix and all: what goes into the request. */
  id: string;
  name: string;
  family: string;
  version: string;
  detail: string;
  tooltip: string;
  maxInputTokens: number;
  maxOutputTokens: number;
  capabilities: { toolCalling: boolean; imageInput: boolean };
  /** Which of the gateway's formats the provider speaks to this model in. */
  wire: WireFormat;
  /** VS Code 1.120+ hides models from the picker unless they say so. */
  isUserSelectable: true;
}

interface Family {
  /** Tested against the id without its channel prefix, lower case. */
  match: RegExp;
  maxInputTokens: number;
  maxOutputTokens: number;
  tools: boolean;
  images: boolean;
}

/**
 * Known families, first match wins (so the more specific first). Input = the context window
 * less the output where the vendor counts them together. From the vendors' model pages.
 */
export const KNOWN_FAMILIES: readonly Family[] = Object.freeze([
  { match: /^claude-opus-4-[5-9]/, maxInputTokens: 200_000, maxOutputTokens: 64_000, tools: true, images: true },
  { match: /^claude-opus-4/, maxInputTokens: 200_000, maxOutputTokens: 32_000, tools: true, images: true },
  { match: /^claude-sonnet-4/, maxInputTokens: 200_000, maxOutputTokens: 64_000, tools: true, images: true },
  { match: /^claude-haiku-4/, maxInputTokens: 200_000, maxOutputTokens: 64_000, tools: true, images: true },
  { match: /^claude-3-7-sonnet/, maxInputTokens: 200_000, maxOutputTokens: 64_000, tools: true, images: true },
  { match: /^claude-3-5-sonnet/, maxInputTokens: 200_000, maxOutputTokens: 8_192, tools: true, images: true },
  { match: /^claude-3-5-haiku/, maxInputTokens: 200_000, maxOutputTokens: 8_192, tools: true, images: false },
  { match: /^claude-3/, maxInputTokens: 200_000, maxOutputTokens: 4_096, tools: true, images: true },
  { match: /^claude/, maxInputTokens: 200_000, maxOutputTokens: 8_192, tools: true, images: true },
  { match: /^gpt-5/, maxInputTokens: 272_000, maxOutputTokens: 128_000, tools: true, images: true },
  { match: /^gpt-4\.1/, maxInputTokens: 1_000_000, maxOutputTokens: 32_768, tools: true, images: true },
  { match: /^gpt-4o/, maxInputTokens: 128_000, maxOutputTokens: 16_384, tools: true, images: true },
  { match: /^o[34](-mini)?/, maxInputTokens: 200_000, maxOutputTokens: 100_000, tools: true, images: true },
  { match: /^gemini-(2\.5|3)/, maxInputTokens: 1_048_576, maxOutputTokens: 65_536, tools: true, images: true },
  { match: /^gemini-2\.0/, maxInputTokens: 1_048_576, maxOutputTokens: 8_192, tools: true, images: true },
  { match: /^deepseek-(chat|v3)/, maxInputTokens: 128_000, maxOutputTokens: 8_192, tools: true, images: false },
  { match: /^deepseek-(reasoner|r1)/, maxInputTokens: 128_000, maxOutputTokens: 32_768, tools: false, images: false },
  { match: /^qwen3?-(max|plus|turbo|coder)/, maxInputTokens: 128_000, maxOutputTokens: 8_192, tools: true, images: false },
  { match: /^(kimi-k2|moonshot)/, maxInputTokens: 128_000, maxOutputTokens: 16_384, tools: true, images: false },
  { match: /^glm-4\.[5-9]/, maxInputTokens: 128_000, maxOutputTokens: 16_384, tools: true, images: false },
]);

/** An unknown model: small limits VS Code then trims the history to, no tools, no images. */
export const UNKNOWN_FAMILY = Object.freeze({ maxInputTokens: 32_000, maxOutputTokens: 4_096, tools: false, images: false });

/** Ids that are not chat models: embeddings, images, audio, video, moderation, rerank. */
const NOT_CHAT = /embed|rerank|moderation|whisper|tts|dall-e|gpt-image|-image\b|image-|imagen|midjourney|\bmj[-_]|flux|suno|sora|veo|kling|stable-diffusion|audio|realtime|transcribe/i;

export function isChatModel(id: string): boolean {
  return !NOT_CHAT.test(stripChannel(id));
}

/** `claude-sonnet-4-5-20250929` → family `claude-sonnet-4-5`, version `20250929`; no date → the id. */
export function familyAndVersion(id: string): { family: string; version: string } {
  const bare = stripChannel(id);
  const m = /^(.*?)[-@](\d{8}|\d{4}-\d{2}-\d{2})$/.exec(bare);
  return m ? { family: m[1], version: m[2] } : { family: bare, version: bare };
}

export function familyLimits(id: string): { maxInputTokens: number; maxOutputTokens: number; tools: boolean; images: boolean } {
  const bare = stripChannel(id).toLowerCase();
  return KNOWN_FAMILIES.find((f) => f.match.test(bare)) ?? UNKNOWN_FAMILY;
}

export function wireFor(id: string): WireFormat {
  return /^claude/i.test(stripChannel(id)) ? 'anthropic' : 'openai';
}

function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The account's chat models for VS Code's picker, in the Models view's order. */
export function chatModelInfos(input: ModelsInput): ChatModelInfo[] {
  const out: ChatModelInfo[] = [];
  for (const row of modelRows(input)) {
    if (!isChatModel(row.model)) continue;
    const limits = familyLimits(row.model);
    const { family, version } = familyAndVersion(row.model);
    const can = [limits.tools ? t('tools') : '', limits.images ? t('images') : ''].filter(Boolean).join(', ');
    const tip = [row.model];
    if (row.price?.title) tip.push(row.price.title);
    tip.push(t('Price: {0}', row.priceText));
    if (row.availabilityText) tip.push(t('Availability: {0}', row.availabilityText));
    tip.push(
      can
        ? t('Context: {0} tokens in, {1} out; {2}', thousands(limits.maxInputTokens), thousands(limits.maxOutputTokens), can)
        : t('Context: {0} tokens in, {1} out', thousands(limits.maxInputTokens), thousands(limits.maxOutputTokens)),
    );
    if (row.servedBy.length === 0) tip.push(t('Served by: no key lists it'));
    else {
      tip.push(t('Served by {0}:', row.servedBy.length === 1 ? t('1 key') : t('{0} keys', row.servedBy.length)));
      for (const s of row.servedBy) {
        const who = s.name ? `${s.masked} (${s.name})` : s.masked;
        tip.push(s.excluded ? `  ${who} — ${t('refused for now: {0}', s.excluded)}` : `  ${who}`);
      }
    }
    tip.push(t('Answered through the DaiDai key pool (failover between keys); the spend shows in the DaiDai dashboard.'));
    out.push({
      id: row.model,
      name: row.model,
      family,
      version,
      detail: row.description,
      tooltip: tip.join('\n'),
      maxInputTokens: limits.maxInputTokens,
      maxOutputTokens: limits.maxOutputTokens,
      capabilities: { toolCalling: limits.tools, imageInput: limits.images },
      wire: wireFor(row.model),
      isUserSelectable: true,
    });
  }
  return out;
}
