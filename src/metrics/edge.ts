import { Gauge } from 'prom-client';
import { counter, gauge, registry } from './registry.ts';
import { FastCounter, FastHistogram } from './fast.ts';

/** In-flight requests per cluster, read at scrape time so the request path pays nothing for the gauge. */
let activeRequestsSource: () => Iterable<[cluster: string, active: number]> = () => [];
export function setActiveRequestsSource(source: () => Iterable<[string, number]>): void {
  activeRequestsSource = source;
}


/** The data plane's metric names, declared in one place. */
export const edgeMetrics = {
  // Counted on every request: plain-number children (src/metrics/fast.ts), read by prom-client at scrape time.
  requests: new FastCounter({ name: 'edgeplane_requests_total', help: 'Requests answered, by route, cluster and status code', labelNames: ['route', 'cluster', 'code'], registry }),
  duration: new FastHistogram({
    name: 'edgeplane_request_duration_seconds',
    help: 'Time from request start to the end of the response, by route and cluster',
    labelNames: ['route', 'cluster'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registry,
  }),
  connectErrors: counter('edgeplane_upstream_connect_errors_total', 'Failed connection attempts to upstream endpoints', ['cluster'] as const),
  upstreamErrors: counter('edgeplane_upstream_errors_total', 'Upstream attempts that failed locally, by cluster and reason', ['cluster', 'reason'] as const),
  retries: new FastCounter({ name: 'edgeplane_retries_total', help: 'Retries sent, by route and cluster', labelNames: ['route', 'cluster'], registry }),
  retryBudgetExhausted: counter('edgeplane_retry_budget_exhausted_total', 'Retries not sent because the retry budget was spent', ['cluster'] as const),
  activeConnections: gauge('edgeplane_active_connections', 'Open downstream connections, by listener', ['listener'] as const),
  activeRequests:
    (registry.getSingleMetric('edgeplane_active_requests') as Gauge<'cluster'> | undefined) ??
    new Gauge({
      name: 'edgeplane_active_requests',
      help: 'Requests in flight, by cluster',
      labelNames: ['cluster'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [cluster, active] of activeRequestsSource()) this.labels(cluster).set(active);
      },
    }),
  clientErrors: counter('edgeplane_client_errors_total', 'Malformed downstream requests rejected before routing, by reason', ['reason'] as const),
  grpcRequests: counter('edgeplane_grpc_requests_total', 'gRPC calls answered, by route, cluster and grpc-status', ['route', 'cluster', 'grpc_status'] as const),
  rateLimited: counter('edgeplane_rate_limited_total', 'Requests answered 429 by a route rate limit, by route and limit', ['route', 'limit'] as const),
};
