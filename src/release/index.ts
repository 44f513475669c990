/** Blue/green and canary releases: the controller and what the gateway wires into it. */
export { ReleaseController, type ReleaseControllerOptions } from './controller.ts';
export { RegistryTrafficSource, type TrafficSource, type TrafficCounters } from './traffic-stats.ts';
export type { HealthSource } from './target-health.ts';
export type { ReleaseView } from './view.ts';
export type { ReleaseEvent, WebhookSender } from './notifier.ts';
