// The status-bar item: text, tooltip and background from the pure statusModel().
import * as vscode from 'vscode';
import { t } from '../core/l10n';
import type { StatusModel } from '../core/present';

export class StatusBarController implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private current: StatusModel | undefined;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem('daidai.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = t('DaiDai Proxy');
    this.item.command = command;
  }

  render(model: StatusModel): void {
    const c = this.current;
    if (c && c.text === model.text && c.tooltip === model.tooltip && c.kind === model.kind) return;
    this.current = model;
    this.item.text = model.text;
    this.item.tooltip = model.tooltip;
    this.item.accessibilityInformation = { label: model.tooltip.split('\n')[0] };
    this.item.backgroundColor =
      model.kind === 'warning'
        ? new vscode.ThemeColor('statusBarItem.warningBackground')
        : model.kind === 'error'
          ? new vscode.ThemeColor('statusBarItem.errorBackground')
          : undefined;
    this.item.show();
  }

  /** What the item shows now (for the test API). */
  get shown(): StatusModel | undefined {
    return this.current;
  }

  dispose(): void {
    this.item.dispose();
  }
}
