import { Type } from '@sinclair/typebox';
import { Obj, Name, Address, Duration, Percent } from './common.ts';
import { DockerDiscovery } from './units.ts';

/** One status (`200`) or an inclusive range (`"200-299"`). */
export const StatusSpec = Type.Union([
  Type.Integer({ minimum: 100, maximum: 599 }),
  Type.String({ pattern: '^[1-5][0-9][0-9]-[1-5][0-9][0-9]$', description: 'inclusive range such as 200-299' }),
]);

export const GrpcHealthCheck = Obj({
  service: Type.Optional(Type.String({ maxLength: 256, default: '', description: 'HealthCheckRequest.service; "" is the server as a whole' })),
  authority: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: ':authority of the check; default the endpoint address' })),
}, { description: 'gRPC health checks: passing means grpc-status 0 and status SERVING' });

export const HealthCheck = Obj({
  type: Type.Optional(Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('grpc')], { description: 'http (GET path), tcp (connect) or grpc (grpc.health.v1.Health/Check; clusters with protocol h2/h2c); default grpc when the grpc block is set, else http' })),
  grpc: Type.Optional(GrpcHealthCheck),
  path: Type.Optional(Type.String({ pattern: '^/', default: '/readyz', description: 'HTTP checks: path and query to GET' })),
  host: Type.Optional(Type.String({ minLength: 1, description: 'HTTP checks: Host header; default the endpoint address' })),
  expectedStatuses: Type.Optional(Type.Array(StatusSpec, { minItems: 1, default: ['200-299'], description: 'HTTP checks: passing statuses (redirects fail by default)' })),
  bodyMatch: Type.Optional(Type.String({ minLength: 1, description: 'HTTP checks: substring the first 64 KiB of the body must contain' })),
  interval: Type.Optional(Duration('time between the end of one check and the start of the next', '5s')),
  noTrafficInterval: Type.Optional(Duration('interval for healthy endpoints of a cluster that has never carried traffic', '60s')),
  jitter: Type.Optional(Duration('random extra delay in [0, jitter) per check, default 10% of interval')),
  timeout: Type.Optional(Duration('per check', '1s')),
  healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, default: 2, description: 'consecutive passes to become healthy (the first check of a new endpoint needs one)' })),
  unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, default: 3, description: 'consecutive failures to become unhealthy' })),
  startHealthy: Type.Optional(Type.Boolean({ description: 'new endpoints take traffic before their first passing check', default: false })),
});

export const OutlierDetection = Obj({
  consecutive5xx: Type.Optional(Type.Integer({ minimum: 0, default: 5, description: '0 disables' })),
  consecutiveGatewayFailure: Type.Optional(Type.Integer({ minimum: 0, default: 5, description: '502/503/504 (and local-origin errors unless split); 0 disables' })),
  consecutiveLocalOriginFailure: Type.Optional(Type.Integer({ minimum: 0, default: 5, description: 'only with splitExternalLocalOriginErrors; 0 disables' })),
  splitExternalLocalOriginErrors: Type.Optional(Type.Boolean({ default: false, description: 'count connect failures, resets and timeouts apart from upstream 5xx' })),
  interval: Type.Optional(Duration('time between success-rate / failure-percentage sweeps', '10s')),
  baseEjectionTime: Type.Optional(Duration('first ejection; the n-th lasts n times this', '30s')),
  maxEjectionTime: Type.Optional(Duration('cap of base x times ejected', '300s')),
  maxEjectionTimeJitter: Type.Optional(Duration('random extra ejection time in [0, jitter)', '0s')),
  maxEjectionPercent: Type.Optional(Percent('most endpoints ejected at once, exact', 10)),
  alwaysEjectOneHost: Type.Optional(Type.Boolean({ description: 'allow one ejection even when maxEjectionPercent would forbid it (small clusters)', default: true })),
  successfulActiveHealthCheckUnejectHost: Type.Optional(Type.Boolean({ description: 'a passing active check ends an ejection', default: true })),
  successRateMinimumHosts: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  successRateRequestVolume: Type.Optional(Type.Integer({ minimum: 0, default: 100 })),
  successRateStdevFactor: Type.Optional(Type.Integer({ minimum: 0, default: 1900, description: 'divided by 1000' })),
  failurePercentageThreshold: Type.Optional(Percent('failure share that ejects an endpoint', 85)),
  failurePercentageMinimumHosts: Type.Optional(Type.Integer({ minimum: 0, default: 5 })),
  failurePercentageRequestVolume: Type.Optional(Type.Integer({ minimum: 0, default: 50 })),
  enforcingConsecutive5xx: Type.Optional(Percent(undefined, 100)),
  enforcingConsecutiveGatewayFailure: Type.Optional(Percent('default 100 when consecutiveGatewayFailure is set, else 0')),
  enforcingConsecutiveLocalOriginFailure: Type.Optional(Percent(undefined, 100)),
  enforcingSuccessRate: Type.Optional(Percent(undefined, 100)),
  enforcingLocalOriginSuccessRate: Type.Optional(Percent(undefined, 100)),
  enforcingFailurePercentage: Type.Optional(Percent('default 100 when failurePercentageThreshold is set, else 0')),
  enforcingFailurePercentageLocalOrigin: Type.Optional(Percent('default 100 when failurePercentageThreshold is set, else 0')),
});

export const CircuitBreaker = Obj({
  maxConnections: Type.Optional(Type.Integer({ minimum: 1, default: 1024 })),
  maxPendingRequests: Type.Optional(Type.Integer({ minimum: 0, default: 1024 })),
  maxRequests: Type.Optional(Type.Integer({ minimum: 1, default: 1024 })),
  maxRetries: Type.Optional(Type.Integer({ minimum: 0, default: 3 })),
});

export const DnsDiscovery = Obj({
  name: Type.String({ minLength: 1, description: 'fully qualified name to resolve' }),
  type: Type.Optional(Type.Union([Type.Literal('A'), Type.Literal('AAAA'), Type.Literal('SRV')], { default: 'A' })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: 'required for A/AAAA; SRV records carry their own' })),
  resolvers: Type.Optional(Type.Array(Address('resolver ip or ip:port; default the system resolvers'), { minItems: 1 })),
  minInterval: Type.Optional(Duration('lower bound on re-resolution', '5s')),
  maxInterval: Type.Optional(Duration('upper bound on re-resolution', '5m')),
  timeout: Type.Optional(Duration('per query', '2s')),
});

export const FileDiscovery = Obj({
  path: Type.String({ minLength: 1, description: 'a file with one host:port per line (or a JSON/YAML list), re-read when it changes' }),
  pollInterval: Type.Optional(Duration('stat the file this often in case change events are missed', '2s')),
});

export const Discovery = Obj({
  dns: Type.Optional(DnsDiscovery),
  kubernetes: Type.Optional(Obj({
    namespace: Type.String({ minLength: 1 }),
    service: Type.String({ minLength: 1 }),
    port: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ minLength: 1 })], { description: 'port number or EndpointSlice port name; default the only port' })),
    apiServer: Type.Optional(Type.String({ description: 'API server URL; default: in-cluster (KUBERNETES_SERVICE_HOST) or the kubeconfig' })),
    kubeconfig: Type.Optional(Type.String({ description: 'kubeconfig file; default: in-cluster service account' })),
    context: Type.Optional(Type.String({ description: 'kubeconfig context; default its current-context' })),
  })),
  file: Type.Optional(FileDiscovery),
  docker: Type.Optional(DockerDiscovery),
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
  protocol: Type.Optional(Type.Union([Type.Literal('http1'), Type.Literal('h2'), Type.Literal('h2c')], { default: 'http1', description: 'upstream protocol: http1, h2 (HTTP/2 over TLS; gRPC) or h2c (HTTP/2 cleartext, prior knowledge; gRPC)' })),
  connectTimeout: Type.Optional(Duration('upstream TCP (and TLS) connect', '2s')),
  keepAliveTimeout: Type.Optional(Duration('idle upstream connection lifetime', '4s')),
  connectionsPerEndpoint: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, default: 128, description: 'connection pool size per endpoint' })),
  healthCheck: Type.Optional(HealthCheck),
  outlierDetection: Type.Optional(OutlierDetection),
  circuitBreaker: Type.Optional(CircuitBreaker),
  panicThreshold: Type.Optional(Percent('below this healthy share, balance across all endpoints', 50)),
});
