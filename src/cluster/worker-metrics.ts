import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry.ts';
import { edgeMetrics } from '../metrics/edge.ts';
import { METRICS } from '../metrics/catalogue.ts';

/**
 * Per-worker series that survive aggregation on the control process's
 * /metrics (everything else is summed across workers): which workers exist,
 * which config version each serves, and how many requests each answered. Both are computed when scraped, from
 * counters the proxy keeps anyway; nothing is added to the request path.
 */
export function registerWorkerMetrics(worker: number, version: () => number): void {
  if (registry.getSingleMetric(METRICS.workerInfo.name)) return;
  const labels = { worker: String(worker) };
  new Gauge({
    name: METRICS.workerInfo.name,
    help: METRICS.workerInfo.help,
    labelNames: METRICS.workerInfo.labels,
    registers: [registry],
    collect() {
      this.set({ ...labels, pid: String(process.pid) }, 1);
    },
  });
  new Gauge({
    name: METRICS.workerConfigVersion.name,
    help: METRICS.workerConfigVersion.help,
    labelNames: METRICS.workerConfigVersion.labels,
    registers: [registry],
    aggregator: 'max',
    collect() {
      this.set(labels, version());
    },
  });
  new Counter({
    name: METRICS.workerRequestsTotal.name,
    help: METRICS.workerRequestsTotal.help,
    labelNames: METRICS.workerRequestsTotal.labels,
    registers: [registry],
    async collect() {
      let total = 0;
      for (const v of (await edgeMetrics.requests.get()).values) total += v.value;
      this.reset();
      this.inc(labels, total);
    },
  });
}
