// The VS Code window as the command handlers see it (the `Ui` port), every method a sinon stub
// that answers nothing: a test sets what it needs (`ui.showInputBox.resolves('…')`).
import type * as sinon from 'sinon';
import type { Ui } from '../../src/core/app/ui';

export type StubbedUi = { [K in keyof Ui]-?: sinon.SinonStub };

export function stubUi(sandbox: sinon.SinonSandbox): StubbedUi {
  return {
    showInputBox: sandbox.stub().resolves(undefined),
    showQuickPick: sandbox.stub().resolves(undefined),
    showInformationMessage: sandbox.stub().resolves(undefined),
    showWarningMessage: sandbox.stub().resolves(undefined),
    showErrorMessage: sandbox.stub().resolves(undefined),
    confirm: sandbox.stub().resolves(false),
    withProgress: sandbox.stub().callsFake((_title: string, task: () => Promise<unknown>) => task()),
    writeClipboard: sandbox.stub().resolves(),
    showMarkdown: sandbox.stub().resolves(),
    showLogs: sandbox.stub(),
    openSettings: sandbox.stub(),
    showDashboard: sandbox.stub(),
    saveTextFile: sandbox.stub().resolves(undefined),
    flashMessage: sandbox.stub(),
  };
}
