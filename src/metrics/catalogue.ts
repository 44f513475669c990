/**
 * Every metric edgeplane exports, declared once: name, type, help and label
 * names. The modules that register metrics, the release gates and the
 * dashboard read names from here; test/unit/metrics/catalogue.test.ts fails
 * when the registry, this list and the docs disagree. Node's default process
 * metrics (`edgeplane_process_*`, `edgeplane_nodejs_*`) are prom-client's own.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec<L extends string = string> {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly L[];
}

function metric<const L extends string = never>(name: string, type: MetricType, help: string, labels: readonly L[]): MetricSpec<L> {
  return { name, type, help, labels };
}

/** The prefix of Node's default process metrics (collectDefaultMetrics). */
export const DEFAULT_METRICS_PREFIX = 'edgeplane_';

export const METRICS = {
  adminUnauthorizedTotal: metric('edgeplane_admin_unauthorized_total', 'counter', 'Admin API requests refused with 401, by reason (missing, malformed, invalid)', ['reason']),
  adminRequestsTotal: metric('edgeplane_admin_requests_total', 'counter', 'Admin API requests under /v1, by method and status code', ['method', 'code']),
  configVersion: metric('edgeplane_config_version', 'gauge', 'The version of the config in force on this node', []),
  configChangesTotal: metric('edgeplane_config_changes_total', 'counter', 'Config changes attempted, by source (file, api, rollback, store) and result (applied, unchanged, rejected, failed)', ['source', 'result']),
  configStoreUp: metric('edgeplane_config_store_up', 'gauge', '1 while the config store answers (always 1 for the file store), 0 while it is unreachable', []),
  configStoreRejectedTotal: metric('edgeplane_config_store_rejected_total', 'counter', 'Documents read from the shared store that did not validate and were refused', []),
  discoveryUp: metric('edgeplane_discovery_up', 'gauge', '1 while the cluster\'s discovery source works, 0 while it fails and the last known set is used', ['cluster', 'source']),
  discoveryFailuresTotal: metric('edgeplane_discovery_failures_total', 'counter', 'Failed discovery attempts (resolutions, reads, list/watch calls)', ['cluster', 'source']),
  discoveryEndpoints: metric('edgeplane_discovery_endpoints', 'gauge', 'Endpoints in the last set a discovery source delivered', ['cluster', 'source']),
  discoveryLastSuccessTimestampSeconds: metric('edgeplane_discovery_last_success_timestamp_seconds', 'gauge', 'Unix time of the last successful discovery attempt', ['cluster', 'source']),
  circuitBreakerOverflowTotal: metric('edgeplane_circuit_breaker_overflow_total', 'counter', 'Requests refused because a circuit breaker limit was reached', ['cluster', 'limit']),
  endpointHealthy: metric('edgeplane_endpoint_healthy', 'gauge', '1 if the endpoint is eligible for load balancing (healthy), else 0', ['cluster', 'endpoint']),
  endpointState: metric('edgeplane_endpoint_state', 'gauge', '1 for the endpoint\'s current state (healthy, unhealthy, ejected, draining)', ['cluster', 'endpoint', 'state']),
  outlierEjectionsTotal: metric('edgeplane_outlier_ejections_total', 'counter', 'Endpoints ejected by outlier detection', ['cluster', 'reason']),
  outlierEjectionsSkippedTotal: metric('edgeplane_outlier_ejections_skipped_total', 'counter', 'Outlier detections that did not eject: maxEjectionPercent (overflow) or enforcement percentage (not-enforced)', ['cluster', 'reason', 'why']),
  healthChecksTotal: metric('edgeplane_health_checks_total', 'counter', 'Active health checks by result', ['cluster', 'result']),
  clusterPanic: metric('edgeplane_cluster_panic', 'gauge', '1 while the cluster is in panic mode (balancing across all endpoints)', ['cluster']),
  clusterHealthyEndpoints: metric('edgeplane_cluster_healthy_endpoints', 'gauge', 'Healthy endpoints of the cluster', ['cluster']),
  clusterEndpoints: metric('edgeplane_cluster_endpoints', 'gauge', 'Endpoints of the cluster (not counting draining ones)', ['cluster']),
  requestsTotal: metric('edgeplane_requests_total', 'counter', 'Requests answered, by route, cluster and status code', ['route', 'cluster', 'code']),
  requestDurationSeconds: metric('edgeplane_request_duration_seconds', 'histogram', 'Time from request start to the end of the response, by route and cluster', ['route', 'cluster']),
  upstreamConnectErrorsTotal: metric('edgeplane_upstream_connect_errors_total', 'counter', 'Failed connection attempts to upstream endpoints', ['cluster']),
  upstreamErrorsTotal: metric('edgeplane_upstream_errors_total', 'counter', 'Upstream attempts that failed locally, by cluster and reason', ['cluster', 'reason']),
  retriesTotal: metric('edgeplane_retries_total', 'counter', 'Retries sent, by route and cluster', ['route', 'cluster']),
  retryBudgetExhaustedTotal: metric('edgeplane_retry_budget_exhausted_total', 'counter', 'Retries not sent because the retry budget was spent', ['cluster']),
  activeConnections: metric('edgeplane_active_connections', 'gauge', 'Open downstream connections, by listener', ['listener']),
  activeRequests: metric('edgeplane_active_requests', 'gauge', 'Requests in flight, by cluster', ['cluster']),
  clientErrorsTotal: metric('edgeplane_client_errors_total', 'counter', 'Malformed downstream requests rejected before routing, by reason', ['reason']),
  grpcRequestsTotal: metric('edgeplane_grpc_requests_total', 'counter', 'gRPC calls answered, by route, cluster and grpc-status', ['route', 'cluster', 'grpc_status']),
  rateLimitedTotal: metric('edgeplane_rate_limited_total', 'counter', 'Requests answered 429 by a route rate limit, by route and limit', ['route', 'limit']),
  jwtTotal: metric('edgeplane_jwt_total', 'counter', 'JWT authentication outcomes, by provider and result (ok, missing, expired, invalid_signature, wrong_audience, ...)', ['provider', 'result']),
  jwtCacheTotal: metric('edgeplane_jwt_cache_total', 'counter', 'Verified-token cache lookups, by provider and result (hit, miss)', ['provider', 'result']),
  jwksFetchTotal: metric('edgeplane_jwks_fetch_total', 'counter', 'JWKS fetches, by provider and result (ok, http_error, timeout, network_error, too_large, invalid)', ['provider', 'result']),
  jwksKeys: metric('edgeplane_jwks_keys', 'gauge', 'Signing keys currently loaded, by provider', ['provider']),
  jwksStale: metric('edgeplane_jwks_stale', 'gauge', '1 while a provider serves a key set older than its cacheTtl because refreshes fail', ['provider']),
  releaseTransitionsTotal: metric('edgeplane_release_transitions_total', 'counter', 'Release phase transitions, by route and the phase entered (a canary step counts as progressing)', ['route', 'phase']),
  releaseActive: metric('edgeplane_release_active', 'gauge', 'Releases in progress (not finished), by route', ['route']),
  releaseTargetPercent: metric('edgeplane_release_target_percent', 'gauge', 'The release target\'s share of its route in the step in force, by route', ['route']),
  releaseDriver: metric('edgeplane_release_driver', 'gauge', 'With the etcd store: 1 while this node drives the fleet\'s releases, else 0 (the fleet sum is 1, or 0 during an election)', []),
  releaseWebhookFailuresTotal: metric('edgeplane_release_webhook_failures_total', 'counter', 'Release webhook deliveries that failed (error, timeout or non-2xx), by route', ['route']),
  dnsQueriesTotal: metric('edgeplane_dns_queries_total', 'counter', 'DNS queries answered, by zone ("(none)" outside every zone), rcode and transport', ['zone', 'rcode', 'transport']),
  dnsGtmAnswersTotal: metric('edgeplane_dns_gtm_answers_total', 'counter', 'GTM answers by name and the region of the first address', ['name', 'region']),
  dnsGtmFailOpenTotal: metric('edgeplane_dns_gtm_fail_open_total', 'counter', 'GTM answers given while every region of the name was down (answered as if all were up)', ['name']),
  dnsDroppedTotal: metric('edgeplane_dns_dropped_total', 'counter', 'DNS messages not answered: malformed beyond a reply, responses, or limited by RRL', ['reason']),
  dnsTcpClosedTotal: metric('edgeplane_dns_tcp_closed_total', 'counter', 'DNS TCP connections closed or refused by the server, by reason: idle, message-timeout (a query or answer took too long), max-duration, limit (listener full), client-limit (the client holds too many)', ['reason']),
  dnsRrlSlippedTotal: metric('edgeplane_dns_rrl_slipped_total', 'counter', 'answers replaced by an empty TC=1 reply by response rate limiting', []),
  dnsAnswerDurationSeconds: metric('edgeplane_dns_answer_duration_seconds', 'histogram', 'time from receiving a DNS query to handing its answer to the socket', []),
  dnsDnssecKeysetInfo: metric('edgeplane_dns_dnssec_keyset_info', 'gauge', 'the DNSKEY set a signed zone serves: fingerprint (SHA-256 of the sorted DNSKEY RDATAs, 16 hex digits) and key tags; all nameservers of a zone must agree', ['zone', 'fingerprint', 'key_tags']),
  dnsDnssecKeysetMismatch: metric('edgeplane_dns_dnssec_keyset_mismatch', 'gauge', 'DNSSEC: 1 while a peer nameserver serves a different DNSKEY set for the zone than this node (see /v1/health), 0 when every peer agrees', ['zone']),
  dnsTcpConnections: metric('edgeplane_dns_tcp_connections', 'gauge', 'open DNS TCP connections', []),
  gossipPacketsSentTotal: metric('edgeplane_gossip_packets_sent_total', 'counter', 'Gossip datagrams sent', []),
  gossipBytesSentTotal: metric('edgeplane_gossip_bytes_sent_total', 'counter', 'Gossip datagram bytes sent', []),
  gossipPacketsReceivedTotal: metric('edgeplane_gossip_packets_received_total', 'counter', 'Gossip datagrams received', []),
  gossipDroppedTotal: metric('edgeplane_gossip_dropped_total', 'counter', 'Gossip messages dropped, by reason', ['reason']),
  gossipRefutesTotal: metric('edgeplane_gossip_refutes_total', 'counter', 'Times this gateway refuted a suspicion or death about itself', []),
  gossipSuspicionsTotal: metric('edgeplane_gossip_suspicions_total', 'counter', 'Suspicions raised by this gateway\'s failed probes', []),
  gossipPushPullTotal: metric('edgeplane_gossip_push_pull_total', 'counter', 'Push-pull state exchanges', ['result']),
  gossipMembers: metric('edgeplane_gossip_members', 'gauge', 'Gossip members by state', ['state']),
  gossipHealthScore: metric('edgeplane_gossip_health_score', 'gauge', 'Lifeguard local health awareness score (0 = healthy)', []),
  workerInfo: metric('edgeplane_worker_info', 'gauge', 'One series per data-plane worker process, with its pid', ['worker', 'pid']),
  workerConfigVersion: metric('edgeplane_worker_config_version', 'gauge', 'The config version each data-plane worker serves', ['worker']),
  workerRequestsTotal: metric('edgeplane_worker_requests_total', 'counter', 'Requests answered by each data-plane worker since it started', ['worker']),
} as const;

export type MetricKey = keyof typeof METRICS;

/** Every declared metric, for checks and generated lists. */
export const METRIC_LIST: readonly MetricSpec[] = Object.values(METRICS);
