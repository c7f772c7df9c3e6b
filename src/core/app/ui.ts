// What the command handlers use of the VS Code window, behind an interface so plain-Node tests
// can drive them with sinon stubs. The real one (vscodeUi.ts) forwards to vscode.window at call
// time, so a test inside VS Code can still stub vscode.window.showInputBox.

/** The part of vscode.InputBoxOptions the handlers use (structurally the same, so vscode.window takes it). */
export interface InputBoxOptions {
  title?: string;
  prompt?: string;
  placeHolder?: string;
  value?: string;
  password?: boolean;
  ignoreFocusOut?: boolean;
  validateInput?(value: string): string | undefined | null | Thenable<string | undefined | null>;
}

/** The part of vscode.QuickPickItem the handlers use. */
export interface QuickPickItem {
  label: string;
  description?: string;
  detail?: string;
}

/** The part of vscode.QuickPickOptions the handlers use. */
export interface QuickPickOptions {
  title?: string;
  placeHolder?: string;
  ignoreFocusOut?: boolean;
}

export interface Ui {
  showInputBox(options: InputBoxOptions): PromiseLike<string | undefined>;
  showQuickPick<T extends QuickPickItem>(items: readonly T[], options?: QuickPickOptions): PromiseLike<T | undefined>;
  /** A notification; resolves with the clicked button. Handlers never await it (a command must not wait on a toast). */
  showInformationMessage(message: string, ...buttons: string[]): PromiseLike<string | undefined>;
  showWarningMessage(message: string, ...buttons: string[]): PromiseLike<string | undefined>;
  showErrorMessage(message: string, ...buttons: string[]): PromiseLike<string | undefined>;
  /** A modal question; resolves true only when the person clicked `action`. */
  confirm(message: string, detail: string, action: string): PromiseLike<boolean>;
  /** Runs a task with a progress notification. */
  withProgress<T>(title: string, task: () => Promise<T>): PromiseLike<T>;
  writeClipboard(text: string): PromiseLike<void>;
  /** Opens a read-only markdown document (`name` like `connect-curl.md`) beside the editor. */
  showMarkdown(name: string, markdown: string): PromiseLike<void>;
  showLogs(): void;
  openSettings(settingId: string): void;

  // ---- dashboard and Models view (issue 14) ----
  /** Opens the usage dashboard, or brings it forward. */
  showDashboard?(): void;
  /**
   * A save dialog starting at `defaultFileName` (in the workspace folder, else the home folder);
   * writes `content` (UTF-8) there. Resolves with the path written, undefined when cancelled.
   */
  saveTextFile?(defaultFileName: string, content: string, options?: { title?: string; filterName?: string }): PromiseLike<string | undefined>;
  /** A short confirmation in the status bar that goes away by itself. */
  flashMessage?(message: string): void;
}
