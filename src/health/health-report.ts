import type { ActiveChecker } from './active-checker.ts';
import type { TrackedEndpoint } from './endpoint-state.ts';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { DiscoverySource, DiscoveryStatus } from '../discovery/types.ts';
import type { ClusterHealthReport, EndpointHealthReport } from './types.ts';

type ActiveCheckStatus = NonNullable<ReturnType<ActiveChecker['state']>>;

export interface ClusterReportInput {
  name: string;
  target: { available: boolean; panic: boolean };
  panicThreshold: number;
  healthy: number;
  endpoints: readonly TrackedEndpoint[];
  draining: Iterable<TrackedEndpoint>;
  discovery: { kind: DiscoverySource['kind']; status: DiscoveryStatus };
  circuitBreaker: ReturnType<CircuitBreaker['snapshot']>;
  checkState(ep: TrackedEndpoint): ActiveCheckStatus | undefined;
}

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** One cluster as `GET /v1/health` shows it: availability, panic, discovery, breaker and every endpoint (draining ones last). */
export function clusterReport(c: ClusterReportInput): ClusterHealthReport {
  const { kind, status } = c.discovery;
  return {
    name: c.name,
    available: c.target.available,
    panic: c.target.panic,
    panicThreshold: c.panicThreshold,
    healthy: c.healthy,
    total: c.endpoints.length,
    discovery: {
      source: kind,
      ok: status.ok,
      stale: !status.ok && status.delivered,
      error: status.error,
      lastSuccessAt: iso(status.lastSuccessAt),
      lastErrorAt: iso(status.lastErrorAt),
      consecutiveFailures: status.consecutiveFailures,
    },
    circuitBreaker: c.circuitBreaker,
    endpoints: [...c.endpoints, ...c.draining].map((ep) => endpointReport(ep, c.checkState(ep))),
  };
}

/** One endpoint as `GET /v1/health` shows it: derived state, active-check counters, ejection. */
export function endpointReport(ep: TrackedEndpoint, active: ActiveCheckStatus | undefined): EndpointHealthReport {
  return {
    address: ep.address,
    state: ep.state,
    reason: ep.reason,
    since: new Date(ep.sinceWall).toISOString(),
    inFlight: ep.active,
    active: {
      state: ep.draining ? 'disabled' : ep.activeState,
      lastCheckAt: iso(active?.lastCheckAt),
      lastResult: active?.lastResult ?? null,
      consecutiveSuccesses: active?.successes ?? 0,
      consecutiveFailures: active?.failures ?? 0,
    },
    ejection: ep.ejection ? { reason: ep.ejection.reason, since: new Date(ep.ejection.wallAt).toISOString(), until: new Date(ep.ejection.wallUntil).toISOString() } : null,
    ejections: ep.ejections,
    ejectionMultiplier: ep.ejectionMultiplier,
  };
}
