// The Ui the handlers use, on top of vscode.window. Every call looks vscode.window up when it
// happens, so tests inside VS Code can stub vscode.window.showInputBox and friends.
import * as os from 'node:os';
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

/** What the Ui reaches that lives in the composition root (the dashboard panel). */
export interface UiViews {
  showDashboard?(): void;
}

export function createVscodeUi(log: vscode.LogOutputChannel, snippets: SnippetDocuments, views: UiViews = {}): Ui {
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
    // ---- dashboard and Models view (issue 14) ----
    showDashboard: views.showDashboard && (() => views.showDashboard?.()),
    saveTextFile: async (defaultFileName, content, options = {}) => {
      const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
      const target = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.joinPath(folder, defaultFileName),
        title: options.title,
        filters: { [options.filterName ?? 'CSV']: ['csv'] },
      });
      if (!target) return undefined;
      await vscode.workspace.fs.writeFile(target, Buffer.from(content, 'utf8'));
      return target.scheme === 'file' ? target.fsPath : target.toString(true);
    },
    flashMessage: (message) => void vscode.window.setStatusBarMessage(message, 4000),
  };
}
