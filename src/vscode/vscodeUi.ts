// The Ui the handlers use, on top of vscode.window. Every call looks vscode.window up when it
// happens, so tests inside VS Code can stub vscode.window.showInputBox and friends.
import * as vscode from 'vscode';
import type { Ui } from '../core/app/ui';

export const SNIPPET_SCHEME = 'daidai-snippet';

/** Read-only documents for "Connect a Client…" snippets: no save prompt when closed. */
export class SnippetDocuments implements vscode.TextDocumentContentProvider {
  private readonly docs = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  set(name: string, content: string): vscode.Uri {
    const uri = vscode.Uri.from({ scheme: SNIPPET_SCHEME, path: `/${name}` });
    this.docs.set(uri.path, content);
    this.emitter.fire(uri);
    return uri;
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.docs.get(uri.path) ?? '';
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

export function createVscodeUi(log: vscode.LogOutputChannel, snippets: SnippetDocuments): Ui {
  return {
    showInputBox: (options) => vscode.window.showInputBox(options),
    showQuickPick: (items, options) => vscode.window.showQuickPick([...items], options),
    showInformationMessage: (message, ...buttons) => vscode.window.showInformationMessage(message, ...buttons),
    showWarningMessage: (message, ...buttons) => vscode.window.showWarningMessage(message, ...buttons),
    showErrorMessage: (message, ...buttons) => vscode.window.showErrorMessage(message, ...buttons),
    confirm: async (message, detail, action) => (await vscode.window.showWarningMessage(message, { modal: true, detail }, action)) === action,
    withProgress: (title, task) => vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: false }, () => task()),
    writeClipboard: (text) => vscode.env.clipboard.writeText(text),
    showMarkdown: async (name, markdown) => {
      const uri = snippets.set(name, markdown);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Active });
    },
    showLogs: () => log.show(true),
    openSettings: (settingId) => void vscode.commands.executeCommand('workbench.action.openSettings', settingId),
  };
}
