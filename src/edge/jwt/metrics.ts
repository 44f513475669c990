import { Counter } from 'prom-client';
import { registry, gaugeOf } from '../../metrics/registry.ts';
import { METRICS, type MetricSpec } from '../../metrics/catalogue.ts';
import type { JwtResult } from './errors.ts';

/**
 * Per-request counts are kept as plain numbers and handed to prom-client when
 * /metrics is scraped: prom-client's `labels(...).inc()` hashes the label set
 * on every call, which would cost more than a verified-token cache hit.
 */
const live = new Set<ProviderCounters>();
const flushAll = (): void => {
  for (const c of live) c.flush();
};

function deferredCounter(spec: MetricSpec<'provider' | 'result'>): Counter<'provider' | 'result'> {
  const existing = registry.getSingleMetric(spec.name) as Counter<'provider' | 'result'> | undefined;
  return existing ?? new Counter({ name: spec.name, help: spec.help, labelNames: spec.labels, registers: [registry], collect: flushAll });
}

export const jwtMetrics = {
  requests: deferredCounter(METRICS.jwtTotal),
  cache: deferredCounter(METRICS.jwtCacheTotal),
  jwksFetches: deferredCounter(METRICS.jwksFetchTotal),
  jwksKeys: gaugeOf(METRICS.jwksKeys),
  jwksStale: gaugeOf(METRICS.jwksStale),
};

/** One provider's request counters. */
export class ProviderCounters {
  readonly #provider: string;
  #results = new Map<JwtResult, number>();
  #hits = 0;
  #misses = 0;

  constructor(provider: string) {
    this.#provider = provider;
    live.add(this);
  }

  add(result: JwtResult): void {
    this.#results.set(result, (this.#results.get(result) ?? 0) + 1);
  }

  hit(): void {
    this.#hits++;
  }

  miss(): void {
    this.#misses++;
  }

  /** Moves the counts into the Prometheus counters (at scrape time, and when the provider closes). */
  flush(): void {
    for (const [result, n] of this.#results) if (n > 0) jwtMetrics.requests.inc({ provider: this.#provider, result }, n);
    this.#results.clear();
    if (this.#hits > 0) jwtMetrics.cache.inc({ provider: this.#provider, result: 'hit' }, this.#hits);
    if (this.#misses > 0) jwtMetrics.cache.inc({ provider: this.#provider, result: 'miss' }, this.#misses);
    this.#hits = 0;
    this.#misses = 0;
  }

  close(): void {
    this.flush();
    live.delete(this);
  }
}
