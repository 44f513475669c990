import type { ClusterConfig } from '../config/schema/index.ts';
import { HealthCheck, GrpcHealthCheck, OutlierDetection, CircuitBreaker, Cluster } from '../config/schema/clusters.ts';
import { defaultsOf } from '../config/schema/defaults.ts';
import { parseDuration } from '../util/duration.ts';
import { HealthOptionsError } from './errors.ts';

/**
 * Config sections resolved once into plain numbers (milliseconds, percents)
 * with every default applied, so the mechanisms never look at strings or
 * undefined on their timers or the request path.
 */

export interface ActiveCheckOptions {
  type: 'http' | 'tcp' | 'grpc';
  /** gRPC checks (grpc.health.v1.Health/Check): the service asked about, the :authority, and TLS for `protocol: h2` clusters. */
  grpc: { service: string; authority: string | undefined; tls: boolean } | null;
  path: string;
  host: string | undefined;
  /** Inclusive [low, high] pairs. */
  expectedStatuses: readonly (readonly [number, number])[];
  bodyMatch: string | undefined;
  intervalMs: number;
  noTrafficIntervalMs: number;
  jitterMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  startHealthy: boolean;
}

export interface OutlierOptions {
  consecutive5xx: number;
  consecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  splitExternalLocalOriginErrors: boolean;
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionTimeJitterMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  successfulActiveHealthCheckUnejectHost: boolean;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
  failurePercentageThreshold: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
  enforcingConsecutive5xx: number;
  enforcingConsecutiveGatewayFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  enforcingSuccessRate: number;
  enforcingLocalOriginSuccessRate: number;
  enforcingFailurePercentage: number;
  enforcingFailurePercentageLocalOrigin: number;
}

export interface BreakerLimits {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
}

export const BODY_MATCH_LIMIT = 64 * 1024;

// Every default is the schema field's `default` (src/config/schema/clusters.ts).
const HC = defaultsOf(HealthCheck, ['interval', 'noTrafficInterval', 'timeout', 'path', 'expectedStatuses', 'healthyThreshold', 'unhealthyThreshold', 'startHealthy']);
const GRPC = defaultsOf(GrpcHealthCheck, ['service']);
const OD = defaultsOf(OutlierDetection, [
  'consecutive5xx', 'consecutiveGatewayFailure', 'consecutiveLocalOriginFailure', 'splitExternalLocalOriginErrors',
  'interval', 'baseEjectionTime', 'maxEjectionTime', 'maxEjectionTimeJitter', 'maxEjectionPercent',
  'alwaysEjectOneHost', 'successfulActiveHealthCheckUnejectHost',
  'successRateMinimumHosts', 'successRateRequestVolume', 'successRateStdevFactor',
  'failurePercentageThreshold', 'failurePercentageMinimumHosts', 'failurePercentageRequestVolume',
  'enforcingConsecutive5xx', 'enforcingConsecutiveLocalOriginFailure', 'enforcingSuccessRate', 'enforcingLocalOriginSuccessRate',
]);
const CB = defaultsOf(CircuitBreaker, ['maxConnections', 'maxPendingRequests', 'maxRequests', 'maxRetries']);
const CLUSTER = defaultsOf(Cluster, ['panicThreshold', 'protocol']);
/** For the cross-checks (config-check.ts), which compare fields as the resolvers will see them. */
export const OUTLIER_DEFAULTS = OD;
export const CLUSTER_DEFAULTS = CLUSTER;

type HealthCheckConfig = NonNullable<ClusterConfig['healthCheck']>;
type OutlierConfig = NonNullable<ClusterConfig['outlierDetection']>;
type BreakerConfig = NonNullable<ClusterConfig['circuitBreaker']>;

function positive(ms: number, what: string): number {
  if (!(ms > 0)) throw new HealthOptionsError(`${what} must be greater than 0`);
  return ms;
}

export function parseStatusSpec(spec: number | string): [number, number] {
  if (typeof spec === 'number') return [spec, spec];
  const m = /^([1-5][0-9][0-9])-([1-5][0-9][0-9])$/.exec(spec);
  if (!m) throw new HealthOptionsError(`invalid status range ${JSON.stringify(spec)}`);
  const lo = Number(m[1]);
  const hi = Number(m[2]);
  if (lo > hi) throw new HealthOptionsError(`status range ${spec} is empty (low > high)`);
  return [lo, hi];
}

/** `protocol`: the cluster's upstream protocol; gRPC checks need HTTP/2 (h2 or h2c). */
export function resolveActiveCheck(c: HealthCheckConfig, protocol: ClusterConfig['protocol'] = CLUSTER.protocol): ActiveCheckOptions {
  const intervalMs = positive(parseDuration(c.interval ?? HC.interval), 'healthCheck.interval');
  const type = c.type ?? (c.grpc !== undefined ? 'grpc' : 'http');
  if (type !== 'http' && (c.bodyMatch !== undefined || c.expectedStatuses !== undefined || c.host !== undefined || c.path !== undefined)) {
    throw new HealthOptionsError('healthCheck: path, host, expectedStatuses and bodyMatch only apply to type http');
  }
  if (type !== 'grpc' && c.grpc !== undefined) throw new HealthOptionsError(`healthCheck: grpc does not apply to type ${type}`);
  if (type === 'grpc' && protocol === 'http1') throw new HealthOptionsError('healthCheck: gRPC checks need a cluster with protocol h2 or h2c');
  return {
    type,
    grpc: type === 'grpc' ? { service: c.grpc?.service ?? GRPC.service, authority: c.grpc?.authority, tls: protocol === 'h2' } : null,
    path: c.path ?? HC.path,
    host: c.host,
    expectedStatuses: (c.expectedStatuses ?? HC.expectedStatuses).map(parseStatusSpec),
    bodyMatch: c.bodyMatch,
    intervalMs,
    noTrafficIntervalMs: positive(parseDuration(c.noTrafficInterval ?? HC.noTrafficInterval), 'healthCheck.noTrafficInterval'),
    jitterMs: c.jitter !== undefined ? parseDuration(c.jitter) : Math.round(intervalMs / 10),
    timeoutMs: positive(parseDuration(c.timeout ?? HC.timeout), 'healthCheck.timeout'),
    healthyThreshold: c.healthyThreshold ?? HC.healthyThreshold,
    unhealthyThreshold: c.unhealthyThreshold ?? HC.unhealthyThreshold,
    startHealthy: c.startHealthy ?? HC.startHealthy,
  };
}

export function resolveOutlier(c: OutlierConfig): OutlierOptions {
  const baseEjectionTimeMs = positive(parseDuration(c.baseEjectionTime ?? OD.baseEjectionTime), 'outlierDetection.baseEjectionTime');
  const maxEjectionTimeMs = positive(parseDuration(c.maxEjectionTime ?? OD.maxEjectionTime), 'outlierDetection.maxEjectionTime');
  if (maxEjectionTimeMs < baseEjectionTimeMs) {
    throw new HealthOptionsError('outlierDetection.maxEjectionTime must not be less than baseEjectionTime');
  }
  // Envoy leaves gateway-failure and failure-percentage ejection unenforced (0%)
  // unless told otherwise, a common surprise: here, setting the threshold is
  // taken as asking for it, and only an explicit enforcing value says otherwise.
  const gwDefault = c.consecutiveGatewayFailure !== undefined ? 100 : 0;
  const fpDefault = c.failurePercentageThreshold !== undefined ? 100 : 0;
  return {
    consecutive5xx: c.consecutive5xx ?? OD.consecutive5xx,
    consecutiveGatewayFailure: c.consecutiveGatewayFailure ?? OD.consecutiveGatewayFailure,
    consecutiveLocalOriginFailure: c.consecutiveLocalOriginFailure ?? OD.consecutiveLocalOriginFailure,
    splitExternalLocalOriginErrors: c.splitExternalLocalOriginErrors ?? OD.splitExternalLocalOriginErrors,
    intervalMs: positive(parseDuration(c.interval ?? OD.interval), 'outlierDetection.interval'),
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: parseDuration(c.maxEjectionTimeJitter ?? OD.maxEjectionTimeJitter),
    maxEjectionPercent: c.maxEjectionPercent ?? OD.maxEjectionPercent,
    alwaysEjectOneHost: c.alwaysEjectOneHost ?? OD.alwaysEjectOneHost,
    successfulActiveHealthCheckUnejectHost: c.successfulActiveHealthCheckUnejectHost ?? OD.successfulActiveHealthCheckUnejectHost,
    successRateMinimumHosts: c.successRateMinimumHosts ?? OD.successRateMinimumHosts,
    successRateRequestVolume: c.successRateRequestVolume ?? OD.successRateRequestVolume,
    successRateStdevFactor: c.successRateStdevFactor ?? OD.successRateStdevFactor,
    failurePercentageThreshold: c.failurePercentageThreshold ?? OD.failurePercentageThreshold,
    failurePercentageMinimumHosts: c.failurePercentageMinimumHosts ?? OD.failurePercentageMinimumHosts,
    failurePercentageRequestVolume: c.failurePercentageRequestVolume ?? OD.failurePercentageRequestVolume,
    enforcingConsecutive5xx: c.enforcingConsecutive5xx ?? OD.enforcingConsecutive5xx,
    enforcingConsecutiveGatewayFailure: c.enforcingConsecutiveGatewayFailure ?? gwDefault,
    enforcingConsecutiveLocalOriginFailure: c.enforcingConsecutiveLocalOriginFailure ?? OD.enforcingConsecutiveLocalOriginFailure,
    enforcingSuccessRate: c.enforcingSuccessRate ?? OD.enforcingSuccessRate,
    enforcingLocalOriginSuccessRate: c.enforcingLocalOriginSuccessRate ?? OD.enforcingLocalOriginSuccessRate,
    enforcingFailurePercentage: c.enforcingFailurePercentage ?? fpDefault,
    enforcingFailurePercentageLocalOrigin: c.enforcingFailurePercentageLocalOrigin ?? fpDefault,
  };
}

/** Envoy's defaults apply when the cluster configures no breaker: the limits always exist. */
export function resolveBreaker(c: BreakerConfig | undefined): BreakerLimits {
  return {
    maxConnections: c?.maxConnections ?? CB.maxConnections,
    maxPendingRequests: c?.maxPendingRequests ?? CB.maxPendingRequests,
    maxRequests: c?.maxRequests ?? CB.maxRequests,
    maxRetries: c?.maxRetries ?? CB.maxRetries,
  };
}

export function resolvePanicThreshold(c: ClusterConfig): number {
  return c.panicThreshold ?? CLUSTER.panicThreshold;
}
