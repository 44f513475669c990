import type { HealthReport } from '../health/types.ts';

/**
 * What the health module says about the release's target: readiness (active
 * checks) before traffic moves, and outlier ejections during the window. Read
 * from the same report as GET /v1/health.
 */
export interface HealthSource {
  report(): HealthReport;
  /** Fires when a cluster's endpoint set or eligibility changes (an ejection, a failed check): gates react at once. */
  onChange?(listener: (cluster: string) => void): () => void;
}

export interface TargetHealth {
  exists: boolean;
  /** Every current endpoint is healthy, and there is at least one. */
  ready: boolean;
  /** At least one endpoint can take traffic. */
  serving: boolean;
  healthy: number;
  total: number;
  /** Times each endpoint was ejected since it joined (the report's `ejections`). */
  ejections: Map<string, number>;
  /** In words, for reasons and status: `1/2 healthy; 127.0.0.1:9202 unhealthy (active check failed: status 503)`. */
  detail: string;
}

/**
 * Readiness follows Flagger's "all replicas ready": every endpoint of the
 * target (draining ones aside) must be healthy, which means its active check
 * passed (or it has none) and it is not ejected. Without endpoints it is not ready.
 */
export function targetHealth(report: HealthReport, cluster: string): TargetHealth {
  const c = report.clusters.find((x) => x.name === cluster);
  if (!c) return { exists: false, ready: false, serving: false, healthy: 0, total: 0, ejections: new Map(), detail: `cluster "${cluster}" is not in the health table` };
  const current = c.endpoints.filter((e) => e.state !== 'draining');
  const healthy = current.filter((e) => e.state === 'healthy');
  const notReady = current.filter((e) => e.state !== 'healthy');
  const parts = [`${healthy.length}/${current.length} healthy`];
  if (current.length === 0) parts.push('no endpoints');
  for (const e of notReady.slice(0, 3)) parts.push(`${e.address} ${e.state} (${e.reason})`);
  if (notReady.length > 3) parts.push(`${notReady.length - 3} more`);
  return {
    exists: true,
    ready: current.length > 0 && notReady.length === 0,
    serving: healthy.length > 0,
    healthy: healthy.length,
    total: current.length,
    ejections: new Map(c.endpoints.map((e) => [e.address, e.ejections])),
    detail: parts.join('; '),
  };
}

/** Ejections since `base` was read; an endpoint that joined since counts all of its own. */
export function ejectionsSince(base: ReadonlyMap<string, number>, now: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const [address, count] of now) n += Math.max(0, count - (base.get(address) ?? 0));
  return n;
}
