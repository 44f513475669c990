import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import { DEFAULT_METRICS_PREFIX, type MetricSpec } from './catalogue.ts';

/**
 * The process's one Prometheus registry. Modules declare their metrics through
 * the helpers below, which return the already-registered metric on a second call
 * (so tests that build several gateways in one process don't throw).
 */
export const registry = new Registry();
let defaultsCollected = false;

/**
 * The registry that readers of request metrics (admin /metrics, release
 * gates, the dashboard) should look at: this process's own, or, in the control
 * process of a multi-worker gateway, the sum over its workers and itself
 * (src/cluster/control-plane.ts installs that view).
 */
let view: (() => Promise<Registry>) | null = null;

export function setMetricsView(fn: (() => Promise<Registry>) | null): void {
  view = fn;
}

export function metricsView(): Promise<Registry> {
  return view ? view() : Promise.resolve(registry);
}

export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
}

export function counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter<L>({ name, help, labelNames, registers: [registry] });
}

export function gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

export function histogram<L extends string>(name: string, help: string, labelNames: readonly L[] = [], buckets?: number[]): Histogram<L> {
  return (
    (registry.getSingleMetric(name) as Histogram<L> | undefined) ??
    new Histogram<L>({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) })
  );
}

/** The catalogue's counter (src/metrics/catalogue.ts), registered once. */
export function counterOf<L extends string>(spec: MetricSpec<L>): Counter<L> {
  return counter(spec.name, spec.help, spec.labels);
}

/** The catalogue's gauge, registered once. */
export function gaugeOf<L extends string>(spec: MetricSpec<L>): Gauge<L> {
  return gauge(spec.name, spec.help, spec.labels);
}

/** The catalogue's histogram, registered once; buckets are the registering module's choice. */
export function histogramOf<L extends string>(spec: MetricSpec<L>, buckets?: number[]): Histogram<L> {
  return histogram(spec.name, spec.help, spec.labels, buckets);
}
