import type { ClusterConfig } from '../config/schema/index.ts';
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

export const DEFAULT_PANIC_THRESHOLD = 50;
export const BODY_MATCH_LIMIT = 64 * 1024;

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
export function resolveActiveCheck(c: HealthCheckConfig, protocol: ClusterConfig['protocol'] = 'http1'): ActiveCheckOptions {
  const intervalMs = positive(parseDuration(c.interval ?? '5s'), 'healthCheck.interval');
  const type = c.type ?? (c.grpc !== undefined ? 'grpc' : 'http');
  if (type !== 'http' && (c.bodyMatch !== undefined || c.expectedStatuses !== undefined || c.host !== undefined || c.path !== undefined)) {
    throw new HealthOptionsError('healthCheck: path, host, expectedStatuses and bodyMatch only apply to type http');
  }
  if (type !== 'grpc' && c.grpc !== undefined) throw new HealthOptionsError(`healthCheck: grpc does not apply to type ${type}`);
  if (type === 'grpc' && protocol === 'http1') throw new HealthOptionsError('healthCheck: gRPC checks need a cluster with protocol h2 or h2c');
  return {
    type,
    grpc: type === 'grpc' ? { service: c.grpc?.service ?? '', authority: c.grpc?.authority, tls: protocol === 'h2' } : null,
    path: c.path ?? '/readyz',
    host: c.host,
    expectedStatuses: (c.expectedStatuses ?? ['200-299']).map(parseStatusSpec),
    bodyMatch: c.bodyMatch,
    intervalMs,
    noTrafficIntervalMs: positive(parseDuration(c.noTrafficInterval ?? '60s'), 'healthCheck.noTrafficInterval'),
    jitterMs: c.jitter !== undefined ? parseDuration(c.jitter) : Math.round(intervalMs / 10),
    timeoutMs: positive(parseDuration(c.timeout ?? '1s'), 'healthCheck.timeout'),
    healthyThreshold: c.healthyThreshold ?? 2,
    unhealthyThreshold: c.unhealthyThreshold ?? 3,
    startHealthy: c.startHealthy ?? false,
  };
}

export function resolveOutlier(c: OutlierConfig): OutlierOptions {
  const baseEjectionTimeMs = positive(parseDuration(c.baseEjectionTime ?? '30s'), 'outlierDetection.baseEjectionTime');
  const maxEjectionTimeMs = positive(parseDuration(c.maxEjectionTime ?? '300s'), 'outlierDetection.maxEjectionTime');
  if (maxEjectionTimeMs < baseEjectionTimeMs) {
    throw new HealthOptionsError('outlierDetection.maxEjectionTime must not be less than baseEjectionTime');
  }
  // Envoy leaves gateway-failure and failure-percentage ejection unenforced (0%)
  // unless told otherwise, a common surprise: here, setting the threshold is
  // taken as asking for it, and only an explicit enforcing value says otherwise.
  const gwDefault = c.consecutiveGatewayFailure !== undefined ? 100 : 0;
  const fpDefault = c.failurePercentageThreshold !== undefined ? 100 : 0;
  return {
    consecutive5xx: c.consecutive5xx ?? 5,
    consecutiveGatewayFailure: c.consecutiveGatewayFailure ?? 5,
    consecutiveLocalOriginFailure: c.consecutiveLocalOriginFailure ?? 5,
    splitExternalLocalOriginErrors: c.splitExternalLocalOriginErrors ?? false,
    intervalMs: positive(parseDuration(c.interval ?? '10s'), 'outlierDetection.interval'),
    baseEjectionTimeMs,
    maxEjectionTimeMs,
    maxEjectionTimeJitterMs: parseDuration(c.maxEjectionTimeJitter ?? '0s'),
    maxEjectionPercent: c.maxEjectionPercent ?? 10,
    alwaysEjectOneHost: c.alwaysEjectOneHost ?? true,
    successfulActiveHealthCheckUnejectHost: c.successfulActiveHealthCheckUnejectHost ?? true,
    successRateMinimumHosts: c.successRateMinimumHosts ?? 5,
    successRateRequestVolume: c.successRateRequestVolume ?? 100,
    successRateStdevFactor: c.successRateStdevFactor ?? 1900,
    failurePercentageThreshold: c.failurePercentageThreshold ?? 85,
    failurePercentageMinimumHosts: c.failurePercentageMinimumHosts ?? 5,
    failurePercentageRequestVolume: c.failurePercentageRequestVolume ?? 50,
    enforcingConsecutive5xx: c.enforcingConsecutive5xx ?? 100,
    enforcingConsecutiveGatewayFailure: c.enforcingConsecutiveGatewayFailure ?? gwDefault,
    enforcingConsecutiveLocalOriginFailure: c.enforcingConsecutiveLocalOriginFailure ?? 100,
    enforcingSuccessRate: c.enforcingSuccessRate ?? 100,
    enforcingLocalOriginSuccessRate: c.enforcingLocalOriginSuccessRate ?? 100,
    enforcingFailurePercentage: c.enforcingFailurePercentage ?? fpDefault,
    enforcingFailurePercentageLocalOrigin: c.enforcingFailurePercentageLocalOrigin ?? fpDefault,
  };
}

/** Envoy's defaults apply when the cluster configures no breaker: the limits always exist. */
export function resolveBreaker(c: BreakerConfig | undefined): BreakerLimits {
  return {
    maxConnections: c?.maxConnections ?? 1024,
    maxPendingRequests: c?.maxPendingRequests ?? 1024,
    maxRequests: c?.maxRequests ?? 1024,
    maxRetries: c?.maxRetries ?? 3,
  };
}

export function resolvePanicThreshold(c: ClusterConfig): number {
  return c.panicThreshold ?? DEFAULT_PANIC_THRESHOLD;
}
