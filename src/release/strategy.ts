import type { ReleaseSpec, SplitWeight } from './model.ts';

/**
 * Blue/green and canary as weights. Both are a list of target shares: a
 * blue/green release is the one step 100, a canary the requested steps
 * (default 5, 25, 50, 100). Completing always ends at 100: the target takes
 * the route, every other cluster keeps its place in the split at weight 0,
 * ready to be retired or released back to.
 */

export const DEFAULT_CANARY_STEPS: readonly number[] = [5, 25, 50, 100];

/** Weights a step writes sum to this, so the split reads as percent in GET /v1/config. */
export const SCALE = 100;

/** The target's share of the route's traffic in percent (0 when it has none or the total is 0). */
export function targetShare(split: readonly SplitWeight[], target: string): number {
  const total = split.reduce((s, e) => s + e.weight, 0);
  if (total === 0) return 0;
  return (100 * split.filter((e) => e.cluster === target).reduce((s, e) => s + e.weight, 0)) / total;
}

/**
 * The shares to move through: steps at or below the target's share at start
 * are dropped (moving the target *down* would send sticky clients back to the
 * old side, then forward again).
 */
export function planSteps(steps: readonly number[], currentShare: number): { plan: number[]; skipped: number[] } {
  const plan = steps.filter((p) => p > currentShare);
  const skipped = steps.filter((p) => p <= currentShare);
  return { plan, skipped };
}

/**
 * The split that gives `target` `percent` of the route: the other clusters
 * share the rest in proportion to their weights before the release. Weights
 * are rounded down on the old side and the remainder goes to the target, so
 * from one step to the next every old cluster's weight only falls and the
 * target's only rises: with the split's rendezvous hashing, sticky clients move
 * from old to new and never back. With one old cluster the shares are exact.
 * `percent` 0 is the original split itself.
 */
export function splitAt(original: readonly SplitWeight[], target: string, percent: number): SplitWeight[] {
  if (percent <= 0) return original.map((e) => ({ ...e }));
  const others = original.filter((e) => e.cluster !== target).reduce((s, e) => s + e.weight, 0);
  const rest = SCALE - Math.round((percent * SCALE) / 100);
  const out = original.map((e) => ({ cluster: e.cluster, weight: e.cluster === target || others === 0 ? 0 : Math.floor((rest * e.weight) / others) }));
  const used = out.reduce((s, e) => s + e.weight, 0);
  const t = out.find((e) => e.cluster === target);
  if (t) t.weight = SCALE - used;
  return out;
}

/** The window of plan step `index`: blue/green holds `observe`; a canary holds `stepDuration`, and `observe` on its last step when given. */
export function windowFor(spec: ReleaseSpec, index: number, planLength: number): number {
  if (spec.strategy === 'blue-green') return spec.observeMs ?? spec.stepDurationMs;
  if (index === planLength - 1 && spec.observeMs !== null) return spec.observeMs;
  return spec.stepDurationMs;
}

export function sameSplit(a: readonly SplitWeight[], b: readonly SplitWeight[]): boolean {
  return a.length === b.length && a.every((e, i) => e.cluster === b[i]!.cluster && e.weight === b[i]!.weight);
}
