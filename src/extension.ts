// activate/deactivate only: everything is built in vscode/services.ts.
import type * as vscode from 'vscode';
import type { DaiDaiApi } from './core/app/api';
import { Services } from './vscode/services';

let services: Services | undefined;

export function activate(context: vscode.ExtensionContext): DaiDaiApi {
  services = new Services(context);
  context.subscriptions.push(services);
  return services.api;
}

/** Returns the proxy's stop promise, so VS Code waits for the port to be released. */
export function deactivate(): Promise<void> | undefined {
  const s = services;
  services = undefined;
  return s?.shutdown();
}
