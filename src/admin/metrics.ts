import { counter } from '../metrics/registry.ts';

/** The admin API's metric names (the config store's are in src/control/metrics.ts). */
export const adminMetrics = {
  unauthorized: counter('edgeplane_admin_unauthorized_total', 'Admin API requests refused with 401, by reason (missing, malformed, invalid)', ['reason'] as const),
  requests: counter('edgeplane_admin_requests_total', 'Admin API requests under /v1, by method and status code', ['method', 'code'] as const),
};
