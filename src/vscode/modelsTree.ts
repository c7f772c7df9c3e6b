// The "Models" tree under the Keys view: rows from the pure view model (core/present/models.ts);
// a click copies the model id (people type these into SillyTavern, `[官Max]` and all).
import * as vscode from 'vscode';
import type { ModelRow } from '../core/present';

export const MODELS_VIEW_ID = 'daidai.models';

export class ModelsTreeProvider implements vscode.TreeDataProvider<ModelRow>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<ModelRow | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(
    private readonly rows: () => ModelRow[],
    private readonly copyCommand: string,
  ) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: ModelRow): ModelRow[] {
    return element ? [] : this.rows();
  }

  getTreeItem(row: ModelRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = row.contextValue;
    item.iconPath = new vscode.ThemeIcon(row.icon.id, row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined);
    item.command = { command: this.copyCommand, title: vscode.l10n.t('Copy Model ID'), arguments: [row.model] };
    item.accessibilityInformation = { label: [row.label, row.description].filter(Boolean).join(', ') };
    return item;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
