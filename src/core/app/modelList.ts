// The ids of the models some key serves, watched for a change: what a chat model provider
// (VS Code's language-model list) listens to, without re-reading on every pool event.
import type { GatewayModel } from '../gateway';
import { Emitter, type Event } from '../util/event';

export class ModelListWatch {
  /** The ids last announced. */
  private ids = '';
  private readonly emitter = new Emitter<void>();
  readonly onDidChange: Event<void> = this.emitter.event;

  constructor(private readonly list: () => readonly GatewayModel[] | undefined) {}

  /** Fires when the ids are not the ones last announced. */
  check(): void {
    const ids = (this.list() ?? []).map((m) => m.id).join('\n');
    if (ids === this.ids) return;
    this.ids = ids;
    this.emitter.fire();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
