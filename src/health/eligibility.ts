import type { TrackedEndpoint } from './endpoint-state.ts';

export interface Eligibility {
  endpoints: readonly TrackedEndpoint[];
  available: boolean;
  panic: boolean;
  healthy: number;
}

/**
 * Which endpoints a cluster balances across, computed when health changes
 * (never per request).
 *
 * - Normally: the healthy ones (not failing active checks, not ejected).
 * - Panic: when fewer than `panicThreshold` percent are healthy, all of them.
 *   Sending a whole cluster's load to a few survivors tends to knock them over
 *   too, and the "unhealthy" ones may be fine (a broken health path, a bad
 *   outlier signal); spreading across all serves at least part of the
 *   requests. A threshold of 0 disables panic mode.
 * - `available` is false when nothing is healthy: a split then gives this
 *   cluster's weight to its other clusters. If every cluster of the split is
 *   unavailable the split keeps its configured weights and each cluster's panic
 *   list (all endpoints) serves.
 *
 * `previous` is returned unchanged when the list is the same, so balancers
 * that cache per list (the hash ring) do not rebuild for nothing.
 */
export function computeEligibility(all: readonly TrackedEndpoint[], panicThreshold: number, previous: readonly TrackedEndpoint[] | undefined): Eligibility {
  let healthy = 0;
  for (const ep of all) if (ep.isHealthy) healthy++;
  const panic = all.length > 0 && panicThreshold > 0 && healthy * 100 < panicThreshold * all.length;
  let endpoints: readonly TrackedEndpoint[];
  if (panic || healthy === all.length) endpoints = all;
  else endpoints = all.filter((ep) => ep.isHealthy);
  if (previous && sameList(previous, endpoints)) endpoints = previous;
  else endpoints = Object.freeze(endpoints === all ? [...all] : endpoints);
  return { endpoints, available: healthy > 0, panic, healthy };
}

function sameList(a: readonly TrackedEndpoint[], b: readonly TrackedEndpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
