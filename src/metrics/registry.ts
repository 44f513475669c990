import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

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
  collectDefaultMetrics({ register: registry, prefix: 'edgeplane_' });
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
