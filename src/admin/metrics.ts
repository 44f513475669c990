import { counterOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/** The admin API's metric names (the config store's are in src/control/metrics.ts). */
export const adminMetrics = {
  unauthorized: counterOf(METRICS.adminUnauthorizedTotal),
  requests: counterOf(METRICS.adminRequestsTotal),
};
