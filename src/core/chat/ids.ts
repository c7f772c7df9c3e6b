// The chat provider's names in the manifest (checked by test/unit/vscode-manifest.test.ts).

/** `contributes.languageModelChatProviders[].vendor`: what `vscode.lm.selectChatModels({ vendor })` takes. */
export const CHAT_VENDOR = 'daidai';

export const CHAT_COMMAND_IDS = {
  /** The provider's managementCommand: logs in, or opens the Keys view. */
  manageChatModels: 'daidai.manageChatModels',
  /** Points chat.utilityModel / chat.utilitySmallModel at DaiDai models. */
  useForUtilityModels: 'daidai.useForUtilityModels',
} as const;

/** The settings VS Code (1.13x) has for the models of background chat tasks (titles, summaries). */
export const UTILITY_MODEL_SETTINGS = ['utilityModel', 'utilitySmallModel'] as const;

/** How those settings name a model: `vendor/id`. */
export function utilityModelValue(modelId: string): string {
  return `${CHAT_VENDOR}/${modelId}`;
}
