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
}
