import { counterOf, gaugeOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/** The release controller's metric names, declared in one place. */
export const releaseMetrics = {
  transitions: counterOf(METRICS.releaseTransitionsTotal),
  active: gaugeOf(METRICS.releaseActive),
  targetPercent: gaugeOf(METRICS.releaseTargetPercent),
  driver: gaugeOf(METRICS.releaseDriver),
  webhookFailures: counterOf(METRICS.releaseWebhookFailuresTotal),
};
