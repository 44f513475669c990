import { counterOf, gaugeOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/** The config plane's metric names, declared in one place. */
export const controlMetrics = {
  configVersion: gaugeOf(METRICS.configVersion),
  configChanges: counterOf(METRICS.configChangesTotal),
  storeUp: gaugeOf(METRICS.configStoreUp),
  storeRejected: counterOf(METRICS.configStoreRejectedTotal),
};
