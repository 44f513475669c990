import { metricsView } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/**
 * Where the gates get the target's traffic numbers from, without importing the
 * data plane: the counters the proxy already keeps in the process's Prometheus
 * registry (`edgeplane_requests_total{route,cluster,code}`,
 * `edgeplane_request_duration_seconds{route,cluster}` and
 * `edgeplane_upstream_errors_total{cluster,reason}`), read when a gate is
 * evaluated and diffed against a reading taken when the window opened.
 *
 * Why this and not a hook in the proxy: the request path stays exactly as it
 * is (no per-request work exists for releases at all), and what the gates see
 * is what /metrics shows, so an operator can check a verdict on a dashboard.
 * Reading the registry walks every series of three metrics, once per check
 * interval: cheap at that rate.
 */

/** Cumulative counters for one route and cluster since the process started. */
export interface TrafficCounters {
  requests: number;
  /** Answers with a 5xx status, the gateway's own 502/503/504 for local failures included. */
  errors: number;
  /** Upstream attempts to the cluster that failed locally (all routes: the metric has no route label). */
  localFailures: number;
  /** Cumulative latency histogram buckets, upper bound in seconds (Infinity last). */
  buckets: { le: number; count: number }[];
  /**
   * Fleet-wide readings: the same counters per node process (by its boot id),
   * summed above. Each part is diffed on its own, so a node that restarted or
   * joined since the window opened counts from zero, never negative.
   */
  parts?: Record<string, TrafficCounters>;
}

export interface TrafficSource {
  read(route: string, cluster: string): Promise<TrafficCounters>;
  /** Fleet-wide sources: ejections of the cluster's endpoints on every node (else the local health table's are used). */
  ejections?(cluster: string): Promise<Map<string, number>>;
  /** Fleet-wide sources: the live nodes not serving `version` yet; a step's window opens only when none is left. */
  serving?(version: number): Promise<{ live: string[]; lagging: { node: string; version: number }[] }>;
}

export interface TrafficDelta {
  requests: number;
  errors: number;
  localFailures: number;
  /** Estimated from the histogram buckets like Prometheus' histogram_quantile; null without requests. */
  p99Ms: number | null;
}

export const METRIC_NAMES = {
  requests: METRICS.requestsTotal.name,
  duration: METRICS.requestDurationSeconds.name,
  localFailures: METRICS.upstreamErrorsTotal.name,
} as const;

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

/** Reads the process's registry (see above). */
export class RegistryTrafficSource implements TrafficSource {
  async read(route: string, cluster: string): Promise<TrafficCounters> {
    const out: TrafficCounters = { requests: 0, errors: 0, localFailures: 0, buckets: [] };
    for (const s of await samples(METRIC_NAMES.requests)) {
      if (s.labels.route !== route || s.labels.cluster !== cluster) continue;
      out.requests += s.value;
      if (Number(s.labels.code) >= 500) out.errors += s.value;
    }
    for (const s of await samples(METRIC_NAMES.localFailures)) {
      if (s.labels.cluster === cluster) out.localFailures += s.value;
    }
    const byLe = new Map<number, number>();
    for (const s of await samples(METRIC_NAMES.duration)) {
      if (s.labels.route !== route || s.labels.cluster !== cluster || s.labels.le === undefined) continue;
      if (s.metricName !== undefined && !s.metricName.endsWith('_bucket')) continue;
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    }
    out.buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    return out;
  }
}

async function samples(name: string): Promise<Sample[]> {
  // In a multi-worker gateway this is the sum over the workers (see metricsView).
  const metric = (await metricsView()).getSingleMetric(name);
  if (!metric) return [];
  return ((await metric.get()).values ?? []) as Sample[];
}

/** What happened between two readings. Counters only grow within a process; a window never spans a restart. */
export function delta(base: TrafficCounters, now: TrafficCounters): TrafficDelta {
  const pairs: [TrafficCounters, TrafficCounters][] = now.parts ? Object.entries(now.parts).map(([k, p]) => [base.parts?.[k] ?? ZERO, p]) : [[base, now]];
  const out = { requests: 0, errors: 0, localFailures: 0 };
  const byLe = new Map<number, number>();
  for (const [b, n] of pairs) {
    out.requests += Math.max(0, n.requests - b.requests);
    out.errors += Math.max(0, n.errors - b.errors);
    out.localFailures += Math.max(0, n.localFailures - b.localFailures);
    const baseBuckets = new Map(b.buckets.map((x) => [x.le, x.count]));
    for (const x of n.buckets) byLe.set(x.le, (byLe.get(x.le) ?? 0) + Math.max(0, x.count - (baseBuckets.get(x.le) ?? 0)));
  }
  const p99 = quantile(0.99, [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le));
  return { ...out, p99Ms: p99 === null ? null : p99 * 1000 };
}

const ZERO: TrafficCounters = { requests: 0, errors: 0, localFailures: 0, buckets: [] };

/** Every route × cluster this process has counted (what a node publishes for the fleet's gates). */
export async function readAllFromRegistry(): Promise<{ routes: Record<string, Record<string, TrafficCounters>>; localFailures: Record<string, number> }> {
  const routes: Record<string, Record<string, TrafficCounters>> = {};
  const entry = (route: string, cluster: string) => ((routes[route] ??= {})[cluster] ??= { requests: 0, errors: 0, localFailures: 0, buckets: [] });
  for (const s of await samples(METRIC_NAMES.requests)) {
    if (typeof s.labels.route !== 'string' || typeof s.labels.cluster !== 'string') continue;
    const e = entry(s.labels.route, s.labels.cluster);
    e.requests += s.value;
    if (Number(s.labels.code) >= 500) e.errors += s.value;
  }
  const byLe = new Map<TrafficCounters, Map<number, number>>();
  for (const s of await samples(METRIC_NAMES.duration)) {
    if (typeof s.labels.route !== 'string' || typeof s.labels.cluster !== 'string' || s.labels.le === undefined) continue;
    if (s.metricName !== undefined && !s.metricName.endsWith('_bucket')) continue;
    const e = entry(s.labels.route, s.labels.cluster);
    const m = byLe.get(e) ?? new Map<number, number>();
    byLe.set(e, m);
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    m.set(le, (m.get(le) ?? 0) + s.value);
  }
  for (const [e, m] of byLe) e.buckets = [...m].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const localFailures: Record<string, number> = {};
  for (const s of await samples(METRIC_NAMES.localFailures)) {
    if (typeof s.labels.cluster === 'string') localFailures[s.labels.cluster] = (localFailures[s.labels.cluster] ?? 0) + s.value;
  }
  return { routes, localFailures };
}

/**
 * The q-quantile of cumulative buckets, interpolated linearly within the
 * bucket it falls in (histogram_quantile's rule). Past the last finite bound
 * it answers that bound: the true value is only known to be above it.
 */
export function quantile(q: number, buckets: readonly { le: number; count: number }[]): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1]!.count;
  if (total <= 0) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      if (b.count === prevCount) return b.le;
      return prevLe + ((b.le - prevLe) * (rank - prevCount)) / (b.count - prevCount);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
