// DaiDai models in VS Code's own chat (issue 20): a Language Model Chat Provider over the same
// key pool and failover loop as the HTTP proxy, called in process (it works with the proxy
// stopped and in a second window). This file only translates between VS Code's classes and the
// core's chat words (src/core/chat); the core builds the request, reads the stream and explains
// failures.
import * as vscode from 'vscode';
import { answerChat, type InProcessEntry } from '../core/chat/answer';
import { ChatFailure } from '../core/chat/errors';
import { estimateMessageTokens, estimateTextTokens } from '../core/chat/tokens';
import type { ChatData, ChatMessage, ChatOutput, ChatPart, ChatText, ChatTool } from '../core/chat/types';
import { t } from '../core/l10n';
import type { ChatModelInfo } from '../core/present/chatModels';
import type { Logger } from '../core/util/log';
import { redactSecrets } from '../core/util/mask';
import { throttle } from '../core/util/throttle';

import { CHAT_VENDOR } from '../core/chat/ids';

export { CHAT_VENDOR };

/** What the provider needs of the session. */
export interface ChatSessionPort {
  readonly signedIn: boolean;
  /** The picker's entries for the account now (empty while signed out or before the lists are known). */
  chatModels(): ChatModelInfo[];
  /** Fires when the account, its keys or the model lists change. */
  onDidChange(listener: () => void): vscode.Disposable | { dispose(): unknown };
  /** The proxy's in-process entry into its failover loop. */
  readonly entry: InProcessEntry;
}

/** VS Code's model entry, with the field 1.120+ reads (not in the 1.104 typings yet). */
type DaiDaiModel = vscode.LanguageModelChatInformation & { readonly isUserSelectable: boolean; readonly wire: ChatModelInfo['wire'] };

export class DaiDaiChatProvider implements vscode.LanguageModelChatProvider<DaiDaiModel>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeLanguageModelChatInformation = this.changed.event;
  private lastList = '';
  private readonly subscription: { dispose(): unknown };
  private readonly check = throttle(() => this.fireIfChanged(), 300);
  private offeredLogin = false;

  constructor(
    private readonly session: ChatSessionPort,
    private readonly logger: Logger,
    private readonly offerLogin: () => void,
  ) {
    this.subscription = session.onDidChange(() => this.check());
  }

  dispose(): void {
    this.check.dispose();
    this.subscription.dispose();
    this.changed.dispose();
  }

  provideLanguageModelChatInformation(options: { readonly silent: boolean }): DaiDaiModel[] {
    if (!this.session.signedIn) {
      // Only when the user opened the picker's management for us: a silent listing never prompts.
      if (!options.silent && !this.offeredLogin) {
        this.offeredLogin = true;
        this.offerLogin();
      }
      return [];
    }
    const list = this.session.chatModels().map(toVscodeModel);
    this.lastList = signature(list);
    return list;
  }

  async provideLanguageModelChatResponse(
    model: DaiDaiModel,
    messages: readonly vscode.LanguageModelChatRequestMessage[],
    options: vscode.ProvideLanguageModelChatResponseOptions,
    progress: vscode.Progress<vscode.LanguageModelResponsePart>,
    token: vscode.CancellationToken,
  ): Promise<void> {
    if (!this.session.signedIn) {
      throw vscode.LanguageModelError.NoPermissions(t('DaiDai is not logged in. Run "DaiDai: Login" (or "DaiDai: Try the Demo Account") and ask again.'));
    }
    const known = this.session.chatModels().find((m) => m.id === model.id);
    if (!known) {
      throw vscode.LanguageModelError.NotFound(t('No key of your DaiDai account serves {0} any more. Pick another DaiDai model.', model.id));
    }
    const abort = new AbortController();
    const cancel = token.onCancellationRequested(() => abort.abort());
    try {
      await answerChat(this.session.entry, {
        model: known,
        messages: messages.map(toChatMessage),
        tools: options.tools?.map(toChatTool),
        toolMode: options.toolMode === vscode.LanguageModelChatToolMode.Required ? 'required' : 'auto',
        modelOptions: options.modelOptions,
        signal: abort.signal,
        onParts: (parts) => {
          for (const p of parts) progress.report(toVscodePart(p));
        },
      });
    } catch (err) {
      if (token.isCancellationRequested) throw new vscode.CancellationError();
      throw toLanguageModelError(err, this.logger);
    } finally {
      cancel.dispose();
    }
  }

  provideTokenCount(_model: DaiDaiModel, text: string | vscode.LanguageModelChatRequestMessage): Promise<number> {
    return Promise.resolve(typeof text === 'string' ? estimateTextTokens(text) : estimateMessageTokens(toChatMessage(text)));
  }

  private fireIfChanged(): void {
    const now = this.session.signedIn ? signature(this.session.chatModels().map(toVscodeModel)) : '';
    if (now === this.lastList) return;
    this.lastList = now;
    this.changed.fire();
  }
}

function signature(list: readonly DaiDaiModel[]): string {
  return JSON.stringify(list.map((m) => [m.id, m.detail, m.tooltip, m.maxInputTokens, m.capabilities.toolCalling]));
}

function toVscodeModel(m: ChatModelInfo): DaiDaiModel {
  return {
    id: m.id,
    name: m.name,
    family: m.family,
    version: m.version,
    detail: m.detail,
    tooltip: m.tooltip,
    maxInputTokens: m.maxInputTokens,
    maxOutputTokens: m.maxOutputTokens,
    capabilities: { toolCalling: m.capabilities.toolCalling, imageInput: m.capabilities.imageInput },
    isUserSelectable: m.isUserSelectable,
    wire: m.wire,
  };
}

function toVscodePart(p: ChatOutput): vscode.LanguageModelResponsePart {
  return p.kind === 'text' ? new vscode.LanguageModelTextPart(p.text) : new vscode.LanguageModelToolCallPart(p.callId, p.name, p.input);
}

function toChatTool(tool: vscode.LanguageModelChatTool): ChatTool {
  return { name: tool.name, description: tool.description, inputSchema: tool.inputSchema };
}

/** VS Code's roles: User 1, Assistant 2, and System 3 in the proposed API its own chat uses. */
function roleOf(role: number): ChatMessage['role'] {
  return role === 2 ? 'assistant' : role === 3 ? 'system' : 'user';
}

export function toChatMessage(m: vscode.LanguageModelChatRequestMessage): ChatMessage {
  const content: ChatPart[] = [];
  for (const part of m.content) {
    const p = toChatPart(part);
    if (p) content.push(p);
  }
  return { role: roleOf(m.role as number), content };
}

function toChatPart(part: unknown): ChatPart | undefined {
  if (part instanceof vscode.LanguageModelTextPart) return { kind: 'text', text: part.value };
  if (part instanceof vscode.LanguageModelToolCallPart) return { kind: 'toolCall', callId: part.callId, name: part.name, input: part.input };
  if (part instanceof vscode.LanguageModelToolResultPart) return toolResult(part.callId, part.content);
  if (!part || typeof part !== 'object') return typeof part === 'string' ? { kind: 'text', text: part } : undefined;
  // Parts of the newer (or proposed) API, known by their shape: data (images), thinking, tool results.
  const o = part as Record<string, unknown>;
  const data = asData(o);
  if (data) return data;
  if (typeof o.callId === 'string' && Array.isArray(o.content)) return toolResult(o.callId, o.content);
  if (typeof o.callId === 'string' && typeof o.name === 'string') return { kind: 'toolCall', callId: o.callId, name: o.name, input: o.input };
  return undefined; // thinking parts and the like: the model's own notes, not sent back
}

function asData(o: Record<string, unknown>): ChatData | undefined {
  if (typeof o.mimeType === 'string' && o.data instanceof Uint8Array) return { kind: 'data', mimeType: o.mimeType, data: o.data };
  return undefined;
}

function toolResult(callId: string, content: readonly unknown[]): ChatPart {
  const out: Array<ChatText | ChatData> = [];
  for (const c of content) {
    if (c instanceof vscode.LanguageModelTextPart) out.push({ kind: 'text', text: c.value });
    else if (c instanceof vscode.LanguageModelPromptTsxPart) out.push({ kind: 'text', text: JSON.stringify(c.value) });
    else if (typeof c === 'string') out.push({ kind: 'text', text: c });
    else if (c && typeof c === 'object') {
      const data = asData(c as Record<string, unknown>);
      if (data) out.push(data);
      else if (typeof (c as { value?: unknown }).value === 'string') out.push({ kind: 'text', text: (c as { value: string }).value });
      else out.push({ kind: 'text', text: JSON.stringify(c) });
    }
  }
  return { kind: 'toolResult', callId, content: out };
}

/** The chat shows the message: a sentence in the user's language, never a key. */
function toLanguageModelError(err: unknown, logger: Logger): Error {
  if (err instanceof ChatFailure) {
    logger.debug(t('VS Code chat request failed ({0}): {1}', err.code, err.message));
    switch (err.code) {
      case 'signed-out':
        return vscode.LanguageModelError.NoPermissions(err.message);
      case 'unknown-model':
      case 'no-key':
        return vscode.LanguageModelError.NotFound(err.message);
      default:
        return new vscode.LanguageModelError(err.message);
    }
  }
  const message = redactSecrets(err instanceof Error ? err.message : String(err));
  logger.warn(t('VS Code chat request failed: {0}', message));
  return new vscode.LanguageModelError(t('The DaiDai provider hit an internal error ({0}); see DaiDai: Show Logs.', message));
}
