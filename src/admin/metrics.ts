import { counter, gauge } from '../metrics/registry.ts';

/** The admin API's and the config store's metric names, declared in one place. */
export const adminMetrics = {
  unauthorized: counter('edgeplane_admin_unauthorized_total', 'Admin API requests refused with 401, by reason (missing, malformed, invalid)', ['reason'] as const),
  requests: counter('edgeplane_admin_requests_total', 'Admin API requests under /v1, by method and status code', ['method', 'code'] as const),
  configVersion: gauge('edgeplane_config_version', 'The version of the config in force'),
  configChanges: counter('edgeplane_config_changes_total', 'Config changes attempted, by source (file, api, rollback) and result (applied, unchanged, rejected, failed)', ['source', 'result'] as const),
};
