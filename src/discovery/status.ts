import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { counterOf, gaugeOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';
import type { DiscoveryListener, DiscoveryStatus, SourceKind } from './types.ts';

const upGauge = gaugeOf(METRICS.discoveryUp);
const failuresTotal = counterOf(METRICS.discoveryFailuresTotal);
const endpointsGauge = gaugeOf(METRICS.discoveryEndpoints);
const lastSuccessGauge = gaugeOf(METRICS.discoveryLastSuccessTimestampSeconds);

/**
 * Shared bookkeeping of every source: status for the health report, metrics,
 * log lines on the first failure and on recovery (not on every retry), and
 * change detection so listeners only hear about a different set.
 */
export class SourceState {
  readonly #cluster: string;
  readonly #kind: SourceKind;
  readonly #clock: Clock;
  readonly #logger: Logger;
  #listener: DiscoveryListener | undefined;
  #last: string | undefined;
  #status: DiscoveryStatus = { ok: true, delivered: false, error: null, lastSuccessAt: null, lastErrorAt: null, consecutiveFailures: 0 };

  constructor(cluster: string, kind: SourceKind, clock: Clock, logger: Logger) {
    this.#cluster = cluster;
    this.#kind = kind;
    this.#clock = clock;
    this.#logger = logger;
  }

  attach(listener: DiscoveryListener | undefined): void {
    this.#listener = listener;
  }

  status(): DiscoveryStatus {
    return { ...this.#status };
  }

  /** A successful attempt with its complete result. */
  succeeded(addresses: readonly string[]): void {
    const sorted = [...new Set(addresses)].sort();
    const wasFailing = !this.#status.ok;
    this.#status = { ok: true, delivered: true, error: null, lastSuccessAt: this.#clock.wallNow(), lastErrorAt: this.#status.lastErrorAt, consecutiveFailures: 0 };
    upGauge.labels(this.#cluster, this.#kind).set(1);
    lastSuccessGauge.labels(this.#cluster, this.#kind).set(Math.floor(this.#clock.wallNow() / 1000));
    endpointsGauge.labels(this.#cluster, this.#kind).set(sorted.length);
    if (wasFailing) {
      this.#logger.info({ event: 'discovery_recovered', cluster: this.#cluster, source: this.#kind, endpoints: sorted.length }, 'discovery source recovered');
      this.#listener?.status?.(this.status());
    }
    const key = sorted.join('\n');
    if (key === this.#last) return;
    this.#last = key;
    this.#listener?.endpoints(sorted);
  }

  failed(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const first = this.#status.ok;
    this.#status = { ...this.#status, ok: false, error: message, lastErrorAt: this.#clock.wallNow(), consecutiveFailures: this.#status.consecutiveFailures + 1 };
    upGauge.labels(this.#cluster, this.#kind).set(0);
    failuresTotal.labels(this.#cluster, this.#kind).inc();
    if (first) {
      this.#logger.warn(
        { event: 'discovery_failed', cluster: this.#cluster, source: this.#kind, err: message, keeping: this.#last === undefined ? 0 : this.#last.split('\n').filter(Boolean).length },
        'discovery source failed; keeping the last known endpoint set',
      );
      this.#listener?.status?.(this.status());
    }
  }

  /** Removes this source's metric series (cluster removed or source replaced). */
  dispose(): void {
    for (const g of [upGauge, endpointsGauge, lastSuccessGauge]) g.remove(this.#cluster, this.#kind);
  }
}

/** Exponential backoff with full jitter for retries of a failing source. */
export function backoff(attempt: number, baseMs: number, maxMs: number, random: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
  return Math.max(baseMs, Math.floor(cap / 2 + (random * cap) / 2));
}
