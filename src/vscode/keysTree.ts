// The "Keys" tree: rows come from the pure view model (core/present/keys.ts); this class only
// turns them into TreeItems and tells VS Code when to ask again.
import * as vscode from 'vscode';
import type { TreeRow } from '../core/present';

export class KeysTreeProvider implements vscode.TreeDataProvider<TreeRow>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeRow | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  constructor(private readonly rows: () => TreeRow[]) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: TreeRow): TreeRow[] {
    return element ? [] : this.rows();
  }

  getTreeItem(row: TreeRow): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = row.contextValue;
    item.iconPath = new vscode.ThemeIcon(row.icon.id, row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined);
    item.accessibilityInformation = { label: [row.label, row.description].filter(Boolean).join(', ') };
    return item;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
