import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.ts';
import { edgeMetrics } from '../metrics/edge.ts';

/**
 * Per-worker series that survive aggregation on the control process's
 * /metrics (everything else is summed across workers): which workers exist,
 * which config version each serves, and how many requests each answered. Both are computed when scraped, from
 * counters the proxy keeps anyway; nothing is added to the request path.
 */
export function registerWorkerMetrics(worker: number, version: () => number): void {
  if (registry.getSingleMetric('edgeplane_worker_info')) return;
  const labels = { worker: String(worker) };
  new Gauge({
    name: 'edgeplane_worker_info',
    help: 'One series per data-plane worker process, with its pid',
    labelNames: ['worker', 'pid'] as const,
    registers: [registry],
    collect() {
      this.set({ ...labels, pid: String(process.pid) }, 1);
    },
  });
  new Gauge({
    name: 'edgeplane_worker_config_version',
    help: 'The config version each data-plane worker serves',
    labelNames: ['worker'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(labels, version());
    },
  });
  new Counter({
    name: 'edgeplane_worker_requests_total',
    help: 'Requests answered by each data-plane worker since it started',
    labelNames: ['worker'] as const,
    registers: [registry],
    async collect() {
      let total = 0;
      for (const v of (await edgeMetrics.requests.get()).values) total += v.value;
      this.reset();
      this.inc(labels, total);
    },
  });
}
