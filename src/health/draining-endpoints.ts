import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { TrackedEndpoint } from './endpoint-state.ts';
import { forgetEndpointMetrics } from './endpoint-transitions.ts';

/**
 * Endpoints that left their cluster but may still carry requests: reported as
 * draining until their last request ends or `drainTimeoutMs` passes, swept
 * once a second while any are left.
 */
export class DrainingEndpoints {
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #drainTimeoutMs: number;
  readonly #draining = new Set<TrackedEndpoint>();
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, logger: Logger, drainTimeoutMs: number) {
    this.#clock = clock;
    this.#logger = logger;
    this.#drainTimeoutMs = drainTimeoutMs;
  }

  add(ep: TrackedEndpoint): void {
    this.#draining.add(ep);
    this.#scheduleSweep();
  }

  endpoints(): IterableIterator<TrackedEndpoint> {
    return this.#draining.values();
  }

  /** Forgets them all (the cluster is gone) and stops the sweep. */
  close(): void {
    for (const ep of this.#draining) forgetEndpointMetrics(ep);
    this.#draining.clear();
    this.#clock.clearTimeout(this.#timer);
  }

  #scheduleSweep(): void {
    if (this.#timer !== undefined || this.#draining.size === 0) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      const now = this.#clock.wallNow();
      for (const ep of this.#draining) {
        if (ep.active <= 0 || now - ep.sinceWall >= this.#drainTimeoutMs) {
          this.#draining.delete(ep);
          forgetEndpointMetrics(ep);
          this.#logger.info({ event: 'endpoint_drained', cluster: ep.cluster, endpoint: ep.address, inFlight: ep.active }, 'endpoint drained');
        }
      }
      this.#scheduleSweep();
    }, 1000);
  }
}
