import { counter, gauge } from '../metrics/registry.ts';

/** The config plane's metric names, declared in one place. */
export const controlMetrics = {
  configVersion: gauge('edgeplane_config_version', 'The version of the config in force on this node'),
  configChanges: counter('edgeplane_config_changes_total', 'Config changes attempted, by source (file, api, rollback, store) and result (applied, unchanged, rejected, failed)', ['source', 'result'] as const),
  storeUp: gauge('edgeplane_config_store_up', '1 while the config store answers (always 1 for the file store), 0 while it is unreachable'),
  storeRejected: counter('edgeplane_config_store_rejected_total', 'Documents read from the shared store that did not validate and were refused'),
};
