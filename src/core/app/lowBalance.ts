// Keys below daidai.balances.lowThreshold: each reported once per session (a logout forgets
// which), with one warning line in the log.
import { t } from '../l10n';
import type { KeySnapshot, PoolSnapshot } from '../pool/types';
import { formatYuan, lowBalanceKeys } from '../present';
import { Emitter, type Event } from '../util/event';
import type { Logger } from '../util/log';

export class LowBalanceWatch {
  private readonly warned = new Set<string>();
  private readonly emitter = new Emitter<KeySnapshot[]>();
  /** Keys that fell below the threshold, each reported once. */
  readonly onDidFind: Event<KeySnapshot[]> = this.emitter.event;

  constructor(private readonly logger: Logger) {}

  check(pool: PoolSnapshot, threshold: number): void {
    const fresh = lowBalanceKeys(pool, threshold).filter((k) => !this.warned.has(k.id));
    if (fresh.length === 0) return;
    for (const k of fresh) this.warned.add(k.id);
    this.logger.warn(t('Low balance: {0}', fresh.map((k) => `${k.masked} ${formatYuan(k.balance)}`).join(', ')));
    this.emitter.fire(fresh);
  }

  reset(): void {
    this.warned.clear();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
