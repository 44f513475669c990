import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { SourceState } from './status.ts';
import type { DiscoveryListener, DiscoverySource, DiscoveryStatus } from './types.ts';

/** The `endpoints:` list of the config. Delivers synchronously on start, so config changes apply at once. */
export class StaticSource implements DiscoverySource {
  readonly kind = 'static' as const;
  readonly #addresses: readonly string[];
  readonly #state: SourceState;

  constructor(cluster: string, addresses: readonly string[], clock: Clock, logger: Logger) {
    this.#addresses = addresses;
    this.#state = new SourceState(cluster, 'static', clock, logger);
  }

  start(listener: DiscoveryListener): void {
    this.#state.attach(listener);
    this.#state.succeeded(this.#addresses);
  }

  stop(): void {
    this.#state.attach(undefined);
    this.#state.dispose();
  }

  status(): DiscoveryStatus {
    return this.#state.status();
  }
}
