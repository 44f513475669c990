/**
 * The contract between the data plane (src/edge) and the endpoint state owned
 * by src/health: the edge reads precomputed endpoint lists and reports outcomes;
 * it never computes health itself.
 */

/** How one upstream attempt ended, as outlier detection counts it. */
export type UpstreamOutcome =
  | 'success' // any response that is not a 5xx
  | 'http-5xx' // upstream answered 500, 501, 505...
  | 'gateway-error' // upstream answered 502, 503 or 504
  | 'connect-failure' // local origin: could not connect
  | 'reset' // local origin: connection reset / closed mid-exchange
  | 'timeout'; // local origin: no response in time

export interface Endpoint {
  readonly cluster: string;
  /** `host:port`, the endpoint's identity. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Requests in flight from this process (least-request balancing reads it). */
  active: number;
}

export type EndpointHealthState = 'healthy' | 'unhealthy' | 'ejected' | 'draining';

export interface ClusterTarget {
  readonly name: string;
  /** Endpoints to balance across right now: the healthy ones, or all of them in panic mode. Recomputed on change, never per request. */
  readonly endpoints: readonly Endpoint[];
  /** False when the cluster has no healthy endpoint: a split gives its weight to the others. */
  readonly available: boolean;
  /** True when fewer than the panic threshold are healthy and traffic goes to all endpoints. */
  readonly panic: boolean;
}

export interface EndpointDirectory {
  cluster(name: string): ClusterTarget | undefined;
  /** Called by the edge after every upstream attempt. Must be cheap: it is on the hot path. */
  report(endpoint: Endpoint, outcome: UpstreamOutcome, status: number): void;
  /** Fires when a cluster's endpoint set or eligibility changes. */
  onChange(listener: (cluster: string) => void): () => void;
  /** The cluster's circuit breaker (see ClusterBreaker); optional so simple directories (tests) need none. */
  breaker?(cluster: string): ClusterBreaker | undefined;
}

/** The resources a cluster's circuit breaker counts. */
export type BreakerResource = 'connection' | 'pending' | 'request' | 'retry';

/**
 * A cluster's circuit breaker: counters against limits, shared by every request
 * to the cluster. Keep the object you acquired from and release on it, even if
 * the cluster has been removed from config since.
 */
export interface ClusterBreaker {
  /** Takes one unit of `kind`: null when allowed, else the config name of the limit hit (`maxRequests`...), for `x-edgeplane-overloaded`. */
  tryAcquire(kind: BreakerResource): string | null;
  /** Gives back one unit taken by a successful `tryAcquire`. */
  release(kind: BreakerResource): void;
}

/** What the health module offers beyond the edge contract: breakers, drains and the report. */
export interface HealthDirectory extends EndpointDirectory {
  breaker(cluster: string): ClusterBreaker | undefined;
  /** Fires with endpoints that left their cluster (config change or discovery), so their connection pools can drain. */
  onRemoved(listener: (endpoints: readonly Endpoint[]) => void): () => void;
  healthReport(): HealthReport;
}

export type ActiveCheckState = 'healthy' | 'unhealthy' | 'pending' | 'disabled';

export interface EndpointHealthReport {
  address: string;
  state: EndpointHealthState;
  /** Why it is in that state, e.g. `active check failed: status 503` or `consecutive-5xx`. */
  reason: string;
  /** ISO time of the last state change. */
  since: string;
  /** Requests in flight from this process. */
  inFlight: number;
  active: {
    state: ActiveCheckState;
    lastCheckAt: string | null;
    lastResult: string | null;
    consecutiveSuccesses: number;
    consecutiveFailures: number;
  };
  /** Present while ejected by outlier detection. */
  ejection: { reason: string; since: string; until: string } | null;
  /** Times ejected since the endpoint joined; the ejection-time multiplier right now. */
  ejections: number;
  ejectionMultiplier: number;
}

export interface DiscoveryStatusReport {
  source: 'static' | 'dns' | 'file' | 'kubernetes' | 'docker';
  /** False while the source fails; the cluster then keeps its last known endpoint set. */
  ok: boolean;
  /** True when the endpoint set in use may be outdated because the source is failing. */
  stale: boolean;
  error: string | null;
  lastSuccessAt: string | null;
  lastErrorAt: string | null;
  consecutiveFailures: number;
}

export interface ClusterHealthReport {
  name: string;
  available: boolean;
  panic: boolean;
  panicThreshold: number;
  healthy: number;
  total: number;
  discovery: DiscoveryStatusReport;
  circuitBreaker: Record<'maxConnections' | 'maxPendingRequests' | 'maxRequests' | 'maxRetries', { limit: number; current: number; overflows: number }>;
  /** Current endpoints first, then draining ones. */
  endpoints: EndpointHealthReport[];
}

/** The body of `GET /v1/health`. */
export interface HealthReport {
  generatedAt: string;
  clusters: ClusterHealthReport[];
  /** Present when fleet-level checks run: `degraded` with `reasons` when one fails (endpoint health is in `clusters`). */
  status?: 'ok' | 'degraded';
  reasons?: string[];
  /** DNSSEC: this node's DNSKEY set per zone against its peers' (docs/dns.md, fleet check). */
  dnssec?: { state: 'ok' | 'degraded'; reasons: string[]; zones: { zone: string; keyset: string; peers: { node: string; source: string; keyset: string }[]; mismatch: boolean }[] };
}
