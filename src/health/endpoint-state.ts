import type { ActiveCheckState, Endpoint, EndpointHealthState } from './types.ts';

/** What the outlier detector needs to reach from an endpoint on the request path. */
export interface OutcomeSink {
  /** Set to true by the first reported outcome; read by the active checker (no-traffic interval). */
  hadTraffic: boolean;
  markTraffic(): void;
  record(endpoint: TrackedEndpoint, outcome: import('./types.ts').UpstreamOutcome): void;
}

export interface Ejection {
  reason: string;
  /** Clock ms. */
  at: number;
  until: number;
  wallAt: number;
  wallUntil: number;
}

/**
 * One endpoint of one cluster with everything health knows about it. The edge
 * only sees the `Endpoint` fields; the rest are plain mutable fields because
 * `report()` updates the outlier counters on every upstream attempt and must
 * not allocate or look anything up.
 */
export class TrackedEndpoint implements Endpoint {
  readonly cluster: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  active = 0;

  /** Where `report()` sends outcomes; null once the endpoint left its cluster. */
  sink: OutcomeSink | null = null;

  // Outlier detection: consecutive counters and this interval's volumes.
  consecutive5xx = 0;
  consecutiveGatewayFailure = 0;
  consecutiveLocalOriginFailure = 0;
  externalOk = 0;
  externalFail = 0;
  localOk = 0;
  localFail = 0;

  // Ejection.
  ejection: Ejection | null = null;
  ejectionMultiplier = 0;
  ejections = 0;
  lastUnejectedAt: number | null = null;

  // Active checking (mirrored from the checker for the state table).
  activeState: ActiveCheckState = 'disabled';
  activeDetail: string | null = null;

  draining = false;

  // The derived, visible state.
  state: EndpointHealthState = 'healthy';
  reason = 'added';
  sinceWall = 0;

  constructor(cluster: string, address: string, host: string, port: number) {
    this.cluster = cluster;
    this.address = address;
    this.host = host;
    this.port = port;
  }

  /** Eligible for load balancing outside panic mode. */
  get isHealthy(): boolean {
    return !this.draining && this.ejection === null && (this.activeState === 'healthy' || this.activeState === 'disabled');
  }

  resetConsecutive(): void {
    this.consecutive5xx = 0;
    this.consecutiveGatewayFailure = 0;
    this.consecutiveLocalOriginFailure = 0;
  }

  resetVolumes(): void {
    this.externalOk = 0;
    this.externalFail = 0;
    this.localOk = 0;
    this.localFail = 0;
  }
}

/**
 * The visible state and its reason, by precedence: draining, then a failing
 * active check (it outlasts any ejection), then ejection, then healthy.
 */
export function deriveState(ep: TrackedEndpoint): { state: EndpointHealthState; reason: string } {
  if (ep.draining) return { state: 'draining', reason: 'removed from the cluster, finishing in-flight requests' };
  if (ep.activeState === 'pending') return { state: 'unhealthy', reason: 'awaiting first active check' };
  if (ep.activeState === 'unhealthy') return { state: 'unhealthy', reason: `active check failed: ${ep.activeDetail ?? 'unknown'}` };
  if (ep.ejection) return { state: 'ejected', reason: ep.ejection.reason };
  return { state: 'healthy', reason: ep.activeState === 'healthy' ? `active check passed: ${ep.activeDetail ?? 'ok'}` : 'no active check configured' };
}
