// A flat tree whose rows come from a pure view model (core/present): the Keys view and the
// Models view. This class only turns rows into TreeItems and tells VS Code when to ask again.
import * as vscode from 'vscode';
import type { RowIcon } from '../core/present';

/** What every row of a view model has. */
export interface ViewRow {
  id: string;
  label: string;
  description?: string;
  tooltip: string;
  contextValue: string;
  icon: RowIcon;
}

export class RowsTreeProvider<R extends ViewRow> implements vscode.TreeDataProvider<R>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<R | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;

  /** `command`: what a click on a row runs (none: a click only selects it). */
  constructor(
    private readonly rows: () => R[],
    private readonly command?: (row: R) => vscode.Command,
  ) {}

  refresh(): void {
    this.emitter.fire(undefined);
  }

  getChildren(element?: R): R[] {
    return element ? [] : this.rows();
  }

  getTreeItem(row: R): vscode.TreeItem {
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = row.id;
    item.description = row.description;
    item.tooltip = row.tooltip;
    item.contextValue = row.contextValue;
    item.iconPath = new vscode.ThemeIcon(row.icon.id, row.icon.color ? new vscode.ThemeColor(row.icon.color) : undefined);
    if (this.command) item.command = this.command(row);
    item.accessibilityInformation = { label: [row.label, row.description].filter(Boolean).join(', ') };
    return item;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
