// Why a chat request from VS Code could not be answered, as a code the glue maps onto
// VS Code's LanguageModelError and a sentence in the user's language (never a key).
import { t } from '../l10n';

export type ChatFailureCode =
  /** Not logged in (and no demo, no plain keys). */
  | 'signed-out'
  /** The model is not in the account's lists (any more). */
  | 'unknown-model'
  /** No key of the account serves the model. */
  | 'no-key'
  /** Every key tried failed; the message says how. */
  | 'all-failed'
  /** The gateway refused the request itself (a 4xx that is the prompt's, e.g. moderation, too long). */
  | 'refused'
  /** The request cannot be put into the gateway's format (too many tools, a model without tools). */
  | 'bad-request'
  /** The answer broke off or could not be read. */
  | 'stream'
  /** The user cancelled. */
  | 'cancelled';

export class ChatFailure extends Error {
  constructor(
    readonly code: ChatFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChatFailure';
  }
}

export const TOO_MANY_TOOLS = (n: number, max: number) => new ChatFailure('bad-request', t('This request declares {0} tools; the DaiDai gateway takes at most {1}. Turn some tools off in the chat\'s tool picker and retry.', n, max));

export const NO_TOOLS = (model: string) =>
  new ChatFailure('bad-request', t('The model {0} cannot call tools, and this request needs them. Pick a model that can (Claude, GPT-4o or newer, Gemini) or switch the chat to Ask mode.', model));
