// Registers DaiDai as a Language Model Chat Provider and its two commands. One call from the
// composition root (services.ts); returns one disposable.
import * as vscode from 'vscode';
import { CHAT_COMMAND_IDS, CHAT_VENDOR, UTILITY_MODEL_SETTINGS, utilityModelValue } from '../core/chat/ids';
import { t } from '../core/l10n';
import type { ChatModelInfo } from '../core/present/chatModels';
import type { Logger } from '../core/util/log';
import { DaiDaiChatProvider, type ChatSessionPort } from './chatProvider';

const KEYS_VIEW_FOCUS = 'daidai.keys.focus';

export function registerChat(session: ChatSessionPort, logger: Logger): vscode.Disposable {
  const offerLogin = () => {
    void vscode.window.showInformationMessage(t("Log in to DaiDai to use your account's models in VS Code's chat."), t('Login'), t('Try the Demo Account')).then((pick) => {
      if (pick === t('Login')) void vscode.commands.executeCommand('daidai.login');
      else if (pick === t('Try the Demo Account')) void vscode.commands.executeCommand('daidai.tryDemo');
    });
  };
  const provider = new DaiDaiChatProvider(session, logger, offerLogin);
  const disposables: vscode.Disposable[] = [provider];
  // Older hosts (before 1.104) have no provider API: the rest of the extension still works there.
  if (typeof vscode.lm?.registerLanguageModelChatProvider === 'function') {
    disposables.push(vscode.lm.registerLanguageModelChatProvider(CHAT_VENDOR, provider));
  } else {
    logger.info(t('This VS Code has no language model provider API (it came in VS Code 1.104): DaiDai models are not offered in its chat.'));
  }
  disposables.push(
    vscode.commands.registerCommand(CHAT_COMMAND_IDS.manageChatModels, async () => {
      if (!session.signedIn) await vscode.commands.executeCommand('daidai.login');
      else await vscode.commands.executeCommand(KEYS_VIEW_FOCUS);
    }),
    vscode.commands.registerCommand(CHAT_COMMAND_IDS.useForUtilityModels, () => useForUtilityModels(session, logger)),
  );
  return vscode.Disposable.from(...disposables);
}

/** Which of VS Code's utility-model settings this VS Code has (a setting it does not know has no default). */
function utilitySettings(): Array<(typeof UTILITY_MODEL_SETTINGS)[number]> {
  const chat = vscode.workspace.getConfiguration('chat');
  return UTILITY_MODEL_SETTINGS.filter((id) => chat.inspect(id)?.defaultValue !== undefined);
}

/** Cheap, quick models first for background tasks: they write titles and summaries. */
const SMALL = /mini|haiku|flash|small|lite|nano|turbo/i;

/**
 * `DaiDai: Use DaiDai Models for Chat Titles and Summaries`: offers to point chat.utilityModel
 * and chat.utilitySmallModel at DaiDai models, one pick each. Resolves with what it set.
 */
export async function useForUtilityModels(session: ChatSessionPort, logger: Logger): Promise<Record<string, string>> {
  const settings = utilitySettings();
  const set: Record<string, string> = {};
  if (settings.length === 0) {
    void vscode.window.showInformationMessage(t('This VS Code has no chat.utilityModel setting (newer versions have it): there is nothing to point at DaiDai here.'));
    return set;
  }
  const models = session.chatModels();
  if (models.length === 0) {
    void vscode.window.showInformationMessage(
      session.signedIn ? t('No DaiDai chat model is known yet: wait for the model lists (Models view), then try again.') : t("Log in to DaiDai to use your account's models in VS Code's chat."),
    );
    return set;
  }
  const chat = vscode.workspace.getConfiguration('chat');
  for (const id of settings) {
    const small = id === 'utilitySmallModel';
    const ordered = small ? [...models.filter((m) => SMALL.test(m.id)), ...models.filter((m) => !SMALL.test(m.id))] : models;
    const current = chat.get<string>(id);
    const pick = await vscode.window.showQuickPick(
      ordered.map((m: ChatModelInfo) => ({ label: m.name, description: m.detail, detail: utilityModelValue(m.id) === current ? t('in use now') : undefined, model: m })),
      {
        title: small ? t('DaiDai model for quick background tasks (chat.utilitySmallModel)') : t('DaiDai model for chat titles and summaries (chat.utilityModel)'),
        placeHolder: t('Pick a model; Escape leaves chat.{0} as it is', id),
        ignoreFocusOut: true,
      },
    );
    if (!pick) continue;
    const value = utilityModelValue(pick.model.id);
    await chat.update(id, value, vscode.ConfigurationTarget.Global);
    set[`chat.${id}`] = value;
  }
  const done = Object.entries(set);
  if (done.length) {
    logger.info(t('VS Code chat background tasks now use: {0}', done.map(([k, v]) => `${k} = ${v}`).join(', ')));
    void vscode.window.showInformationMessage(t('VS Code chat background tasks now use: {0}', done.map(([k, v]) => `${k} = ${v}`).join(', ')));
  }
  return set;
}
