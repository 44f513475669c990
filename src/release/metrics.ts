import { counter, gauge } from '../metrics/registry.ts';

/** The release controller's metric names, declared in one place. */
export const releaseMetrics = {
  transitions: counter('edgeplane_release_transitions_total', 'Release phase transitions, by route and the phase entered (a canary step counts as progressing)', ['route', 'phase'] as const),
  active: gauge('edgeplane_release_active', 'Releases in progress (not finished), by route', ['route'] as const),
  targetPercent: gauge('edgeplane_release_target_percent', "The release target's share of its route in the step in force, by route", ['route'] as const),
  driver: gauge('edgeplane_release_driver', 'With the etcd store: 1 while this node drives the fleet\'s releases, else 0 (the fleet sum is 1, or 0 during an election)'),
  webhookFailures: counter('edgeplane_release_webhook_failures_total', 'Release webhook deliveries that failed (error, timeout or non-2xx), by route', ['route'] as const),
};
