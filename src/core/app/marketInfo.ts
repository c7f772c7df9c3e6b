// The platform's price list and model availability (its monitor), fetched with the keys. A failed
// fetch keeps what was known and says so at debug level.
import { t } from '../l10n';
import type { ModelAvailability, ModelPrice } from '../platform/types';
import { PriceBook } from '../usage';
import { Emitter, type Event } from '../util/event';
import type { Logger } from '../util/log';
import { errorMessage } from '../util/mask';

/** Where prices and availability come from: the account's platform client. */
export interface MarketSource {
  pricing(): Promise<ModelPrice[]>;
  monitor(): Promise<ModelAvailability[]>;
}

export interface MarketView {
  readonly prices: readonly ModelPrice[];
  readonly availability: readonly ModelAvailability[];
  readonly fetchedAt?: number;
}

export class MarketInfo {
  private prices: ModelPrice[] = [];
  private availability: ModelAvailability[] = [];
  private fetchedAt?: number;
  private _book = new PriceBook<ModelPrice>([]);
  private disposed = false;
  private readonly emitter = new Emitter<void>();
  /** Prices or availability were fetched (or a fetch failed). */
  readonly onDidChange: Event<void> = this.emitter.event;

  constructor(private readonly logger: Logger) {}

  get view(): MarketView {
    return { prices: this.prices, availability: this.availability, fetchedAt: this.fetchedAt };
  }

  /** The prices as the usage cost looks them up. */
  get book(): PriceBook<ModelPrice> {
    return this._book;
  }

  async fetch(source: MarketSource): Promise<void> {
    const [prices, availability] = await Promise.allSettled([source.pricing(), source.monitor()]);
    if (this.disposed) return;
    if (prices.status === 'fulfilled') {
      this.prices = prices.value;
      this._book = new PriceBook(prices.value);
    } else this.logger.debug(t('Fetching the price list failed: {0}', errorMessage(prices.reason)));
    if (availability.status === 'fulfilled') this.availability = availability.value;
    else this.logger.debug(t('Fetching the model monitor failed: {0}', errorMessage(availability.reason)));
    this.fetchedAt = Date.now();
    this.emitter.fire();
  }

  dispose(): void {
    this.disposed = true;
    this.emitter.dispose();
  }
}
