import { Gauge } from 'prom-client';
import { registry, counterOf, gaugeOf } from './registry.ts';
import { METRICS } from './catalogue.ts';
import { FastCounter, FastHistogram } from './fast.ts';

/** In-flight requests per cluster, read at scrape time so the request path pays nothing for the gauge. */
let activeRequestsSource: () => Iterable<[cluster: string, active: number]> = () => [];
export function setActiveRequestsSource(source: () => Iterable<[string, number]>): void {
  activeRequestsSource = source;
}

/** The data plane's metrics (names, help and labels from src/metrics/catalogue.ts). */
export const edgeMetrics = {
  // Counted on every request: plain-number children (src/metrics/fast.ts), read by prom-client at scrape time.
  requests: new FastCounter({ name: METRICS.requestsTotal.name, help: METRICS.requestsTotal.help, labelNames: METRICS.requestsTotal.labels, registry }),
  duration: new FastHistogram({
    name: METRICS.requestDurationSeconds.name,
    help: METRICS.requestDurationSeconds.help,
    labelNames: METRICS.requestDurationSeconds.labels,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registry,
  }),
  connectErrors: counterOf(METRICS.upstreamConnectErrorsTotal),
  upstreamErrors: counterOf(METRICS.upstreamErrorsTotal),
  retries: new FastCounter({ name: METRICS.retriesTotal.name, help: METRICS.retriesTotal.help, labelNames: METRICS.retriesTotal.labels, registry }),
  retryBudgetExhausted: counterOf(METRICS.retryBudgetExhaustedTotal),
  activeConnections: gaugeOf(METRICS.activeConnections),
  activeRequests:
    (registry.getSingleMetric(METRICS.activeRequests.name) as Gauge<'cluster'> | undefined) ??
    new Gauge({
      name: METRICS.activeRequests.name,
      help: METRICS.activeRequests.help,
      labelNames: METRICS.activeRequests.labels,
      registers: [registry],
      collect() {
        this.reset();
        for (const [cluster, active] of activeRequestsSource()) this.labels(cluster).set(active);
      },
    }),
  clientErrors: counterOf(METRICS.clientErrorsTotal),
  grpcRequests: counterOf(METRICS.grpcRequestsTotal),
  // Counted on every refused request (a flood's hot path): a plain-number child like `requests`.
  rateLimited: new FastCounter({ name: METRICS.rateLimitedTotal.name, help: METRICS.rateLimitedTotal.help, labelNames: METRICS.rateLimitedTotal.labels, registry }),
};
