import { counter, gauge } from '../metrics/registry.ts';

/** The health module's metric series (names are part of the documented interface). */
export const endpointHealthy = gauge('edgeplane_endpoint_healthy', '1 if the endpoint is eligible for load balancing (healthy), else 0', ['cluster', 'endpoint']);
export const endpointState = gauge('edgeplane_endpoint_state', '1 for the endpoint\'s current state (healthy, unhealthy, ejected, draining)', ['cluster', 'endpoint', 'state']);
export const outlierEjections = counter('edgeplane_outlier_ejections_total', 'Endpoints ejected by outlier detection', ['cluster', 'reason']);
export const outlierNotEjected = counter('edgeplane_outlier_ejections_skipped_total', 'Outlier detections that did not eject: maxEjectionPercent (overflow) or enforcement percentage (not-enforced)', ['cluster', 'reason', 'why']);
export const activeChecks = counter('edgeplane_health_checks_total', 'Active health checks by result', ['cluster', 'result']);
export const clusterPanic = gauge('edgeplane_cluster_panic', '1 while the cluster is in panic mode (balancing across all endpoints)', ['cluster']);
export const clusterHealthyEndpoints = gauge('edgeplane_cluster_healthy_endpoints', 'Healthy endpoints of the cluster', ['cluster']);
export const clusterEndpoints = gauge('edgeplane_cluster_endpoints', 'Endpoints of the cluster (not counting draining ones)', ['cluster']);
