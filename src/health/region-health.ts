/**
 * The record a gateway gossips about its own region entry: how much of the
 * upstream capacity behind each GTM name it can reach. Small on purpose; it
 * travels in every push-pull and in broadcasts on change.
 */
export interface RegionSelfHealth {
  /** Overall verdict with the thresholds from config. */
  state: 'up' | 'degraded' | 'down';
  /** Healthy share of all upstream endpoints this gateway routes to, 0..1. */
  healthy: number;
  /** Per GTM name (e.g. `api.svc.plus`): healthy share of the capacity behind it, 0..1. */
  names: Record<string, number>;
  /** Wall-clock ms when it was computed. */
  at: number;
}
