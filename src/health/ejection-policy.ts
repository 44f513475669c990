import type { Rng } from '../util/rng.ts';

/**
 * How many endpoints may be ejected, and for how long. Pure functions: the
 * outlier detector calls them with its own clock and rng.
 */

/**
 * maxEjectionPercent, exact: one more ejection is allowed only if afterwards
 * at most `maxPercent` of the cluster is ejected. Integer arithmetic, so 50% of
 * 2 endpoints allows exactly 1 and 33% of 3 allows none.
 *
 * The small-cluster rule: with `alwaysEjectOne`, a cluster with nothing
 * ejected may always eject one endpoint, whatever the percentage (with 3
 * endpoints and 10%, the one bad endpoint still goes). It never allows a
 * second one. It does apply to a one-endpoint cluster: a lone bad endpoint
 * leaves its cluster unavailable, which is what lets a split hand that
 * cluster's weight to the others (a dead canary stops costing its share of
 * errors); a cluster that is not in such a split falls into panic and keeps
 * using the endpoint anyway.
 */
export function ejectionAllowed(ejected: number, total: number, maxPercent: number, alwaysEjectOne: boolean): boolean {
  if (total <= 0) return false;
  if ((ejected + 1) * 100 <= maxPercent * total) return true;
  return alwaysEjectOne && ejected === 0;
}

/**
 * The multiplier after one more ejection, as Envoy grows it: +1 per ejection
 * while base x multiplier is still below max + base, so it stops growing once
 * the cap is reached and decays from there, not from some huge count.
 */
export function nextMultiplier(multiplier: number, baseMs: number, maxMs: number): number {
  return multiplier * baseMs < maxMs + baseMs ? multiplier + 1 : multiplier;
}

/** min(base x multiplier, max) plus a random jitter in [0, jitterMs). */
export function ejectionDuration(multiplier: number, baseMs: number, maxMs: number, jitterMs: number, rng: Rng): number {
  const time = Math.min(baseMs * Math.max(1, multiplier), maxMs);
  return time + (jitterMs > 0 ? Math.floor(rng.next() * jitterMs) : 0);
}

/**
 * Decay: at each detector interval an endpoint that is not ejected, and has
 * been back for at least one whole interval, loses one step of multiplier.
 */
export function decayedMultiplier(multiplier: number, ejected: boolean, lastUnejectedAt: number | null, now: number, intervalMs: number): number {
  if (ejected || multiplier <= 0) return multiplier;
  if (lastUnejectedAt !== null && now - lastUnejectedAt < intervalMs) return multiplier;
  return multiplier - 1;
}

/** An enforcement percentage as a roll of the dice: 100 always, 0 never. */
export function enforced(percent: number, rng: Rng): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return rng.next() * 100 < percent;
}
