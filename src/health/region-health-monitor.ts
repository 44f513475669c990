import type { Clock, TimerHandle } from '../util/clock.ts';
import { computeRegionSelfHealth, type ClusterCounts, type RegionHealthConfig, type RegionSelfHealth } from './region-health.ts';

export interface RegionHealthMonitorOptions {
  table: ClusterCounts & { onChange(listener: (cluster: string) => void): () => void };
  /** The config in force (read at each computation, so reloads apply). */
  config(): RegionHealthConfig;
  clock: Clock;
  /** Called with a new record when the verdict or any share changed. */
  onChange(health: RegionSelfHealth): void;
  /** Coalesces bursts of endpoint changes (a deploy) into one record; default 250ms. */
  debounceMs?: number;
}

/**
 * Keeps this gateway's RegionSelfHealth current: recomputed shortly after
 * the endpoint table changes (debounced, so a rolling deploy yields one
 * record, not one per endpoint) or when `refresh()` is called after a config
 * change, and handed on only when it differs. The gossip agent
 * (`setLocalHealth`) or a single gateway's region view subscribe here.
 */
export class RegionHealthMonitor {
  readonly #o: RegionHealthMonitorOptions;
  #current: RegionSelfHealth | undefined;
  #timer: TimerHandle | undefined;
  #unsubscribe: (() => void) | undefined;

  constructor(options: RegionHealthMonitorOptions) {
    this.#o = options;
  }

  start(): RegionSelfHealth {
    this.#unsubscribe ??= this.#o.table.onChange(() => this.#schedule());
    return this.refresh();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  current(): RegionSelfHealth | undefined {
    return this.#current;
  }

  /** Recomputes now; emits if different. */
  refresh(): RegionSelfHealth {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const next = computeRegionSelfHealth(this.#o.config(), this.#o.table, this.#o.clock.wallNow());
    const prev = this.#current;
    if (prev && same(prev, next)) return prev;
    this.#current = next;
    this.#o.onChange(next);
    return next;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.refresh();
    }, this.#o.debounceMs ?? 250);
  }
}

function same(a: RegionSelfHealth, b: RegionSelfHealth): boolean {
  if (a.state !== b.state || a.healthy !== b.healthy) return false;
  const ka = Object.keys(a.names);
  if (ka.length !== Object.keys(b.names).length) return false;
  for (const k of ka) if (a.names[k] !== b.names[k]) return false;
  return true;
}
