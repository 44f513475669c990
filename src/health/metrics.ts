import { counterOf, gaugeOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/** The health module's metric series (names are part of the documented interface). */
export const endpointHealthy = gaugeOf(METRICS.endpointHealthy);
export const endpointState = gaugeOf(METRICS.endpointState);
export const outlierEjections = counterOf(METRICS.outlierEjectionsTotal);
export const outlierNotEjected = counterOf(METRICS.outlierEjectionsSkippedTotal);
export const activeChecks = counterOf(METRICS.healthChecksTotal);
export const clusterPanic = gaugeOf(METRICS.clusterPanic);
export const clusterHealthyEndpoints = gaugeOf(METRICS.clusterHealthyEndpoints);
export const clusterEndpoints = gaugeOf(METRICS.clusterEndpoints);
