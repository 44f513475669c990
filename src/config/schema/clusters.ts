import { Type } from '@sinclair/typebox';
import { Obj, Name, Address, Duration, Percent } from './common.ts';

export const HealthCheck = Obj({
  type: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('tcp')], { default: 'http' })),
  path: Type.Optional(Type.String({ default: '/readyz' })),
  host: Type.Optional(Type.String({ description: 'Host header for HTTP checks' })),
  expectedStatuses: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { description: 'default 200-399' })),
  bodyMatch: Type.Optional(Type.String({ description: 'substring the first 64 KiB of the body must contain' })),
  interval: Type.Optional(Duration('default 5s')),
  noTrafficInterval: Type.Optional(Duration('interval while the cluster has no traffic, default 60s')),
  jitter: Type.Optional(Duration('random extra delay per check, default 10% of interval')),
  timeout: Type.Optional(Duration('default 1s')),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, default: 2 })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, default: 3 })),
  startHealthy: Type.Optional(Type.Boolean({ description: 'new endpoints take traffic before their first passing check', default: false })),
});

export const OutlierDetection = Obj({
  consecutive5xx: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  consecutiveGatewayFailure: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  consecutiveLocalOriginFailure: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  splitExternalLocalOriginErrors: Type.Optional(Type.Boolean({ default: false })),
  interval: Type.Optional(Duration('default 10s')),
  baseEjectionTime: Type.Optional(Duration('default 30s')),
  maxEjectionTime: Type.Optional(Duration('default 300s')),
  maxEjectionPercent: Type.Optional(Percent('default 10')),
  alwaysEjectOne: Type.Optional(Type.Boolean({ description: 'allow ejecting one host even when maxEjectionPercent rounds down to 0', default: true })),
  successRateMinimumHosts: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  successRateRequestVolume: Type.Optional(Type.Integer({ minimum: 0, default: 100 })),
  successRateStdevFactor: Type.Optional(Type.Integer({ minimum: 0, default: 1900 })),
  failurePercentageThreshold: Type.Optional(Percent('default 85')),
  failurePercentageMinimumHosts: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  failurePercentageRequestVolume: Type.Optional(Type.Integer({ minimum: 0, default: 50 })),
  enforcingConsecutive5xx: Type.Optional(Percent()),
  enforcingSuccessRate: Type.Optional(Percent()),
  enforcingFailurePercentage: Type.Optional(Percent()),
});

export const CircuitBreaker = Obj({
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, default: 1024 })),
  maxPendingRequests: Type.Optional(Type.Integer({ minimum: 0, default: 1024 })),
  maxRequests: Type.Optional(Type.Integer({ minimum: 1, default: 1024 })),
  maxRetries: Type.Optional(Type.Integer({ minimum: 0, default: 3 })),
});

export const Discovery = Obj({
  dns: Type.Optional(Obj({
    name: Type.String(),
    type: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('SRV')], { default: 'A' })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    resolvers: Type.Optional(Type.Array(Address())),
    minInterval: Type.Optional(Duration('lower bound on re-resolution, default 5s')),
    maxInterval: Type.Optional(Duration('upper bound on re-resolution, default 5m')),
  })),
  kubernetes: Type.Optional(Obj({
    namespace: Type.String(),
    service: Type.String(),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String()], { description: 'port number or name' })),
    apiServer: Type.Optional(Type.String({ description: 'default: in-cluster (KUBERNETES_SERVICE_HOST)' })),
    kubeconfig: Type.Optional(Type.String()),
  })),
  file: Type.Optional(Obj({
    path: Type.String({ description: 'a file with one host:port per line (or a JSON/YAML list), re-read when it changes' }),
  })),
});

export const UpstreamTls = Obj({
  enabled: Type.Optional(Type.Boolean({ default: true })),
  servername: Type.Optional(Type.String({ description: 'SNI and name to verify; default the endpoint host' })),
  ca: Type.Optional(Type.String({ description: 'PEM CA bundle file; default the system store' })),
  insecureSkipVerify: Type.Optional(Type.Boolean({ description: 'do not verify the upstream certificate (never do this in production)', default: false })),
});

export const Cluster = Obj({
  name: Name(),
  endpoints: Type.Optional(Type.Array(Address(), { description: 'static endpoints, host:port' })),
  discovery: Type.Optional(Discovery),
  loadBalancer: Type.Optional(Type.Union([Type.Literal('round-robin'), Type.Literal('least-request'), Type.Literal('consistent-hash')], { default: 'round-robin' })),
  hashOn: Type.Optional(Obj({
    header: Type.Optional(Type.String()),
    cookie: Type.Optional(Type.String()),
    sourceIp: Type.Optional(Type.Boolean()),
  }, { description: 'key for consistent-hash; default the client address' })),
  tls: Type.Optional(UpstreamTls),
  connectTimeout: Type.Optional(Duration('default 2s')),
  keepAliveTimeout: Type.Optional(Duration('idle upstream connection lifetime, default 4s')),
  connectionsPerEndpoint: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'undici pool size per endpoint, default 128' })),
  healthCheck: Type.Optional(HealthCheck),
  outlierDetection: Type.Optional(OutlierDetection),
  circuitBreaker: Type.Optional(CircuitBreaker),
  panicThreshold: Type.Optional(Percent('below this healthy share, balance across all endpoints; default 50')),
});
