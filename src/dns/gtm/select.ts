import type { Rng } from '../../util/rng.ts';
import type { AnswerPlan, PlanGroup } from './policy.ts';

function pickOne(g: PlanGroup, rng: Rng): number {
  const items = g.items;
  if (items.length === 1) return items[0]!;
  const w = g.weights;
  let r = rng.next() * g.total;
  for (let i = 0; i < items.length; i++) {
    r -= w[i]!;
    if (r < 0) return items[i]!;
  }
  return items[items.length - 1]!; // rounding left r at ~0
}

/**
 * Draws up to `n` candidates following the plan: groups in order, weighted
 * sampling without replacement inside each. Returns the count written to `out`.
 * `scratch` must hold at least as many numbers as the largest group.
 */
export function selectAnswers(plan: AnswerPlan, n: number, rng: Rng, out: Int32Array, scratch: Float64Array): number {
  const groups = plan.groups;
  if (groups.length === 0 || n <= 0) return 0;
  if (n === 1) {
    out[0] = pickOne(groups[0]!, rng);
    return 1;
  }
  let count = 0;
  for (let gi = 0; gi < groups.length && count < n; gi++) {
    const g = groups[gi]!;
    const k = g.items.length;
    scratch.set(g.weights);
    let total = g.total;
    for (let taken = 0; taken < k && count < n; taken++) {
      let chosen = -1;
      if (total > 0) {
        let r = rng.next() * total;
        for (let i = 0; i < k; i++) {
          const w = scratch[i]!;
          if (w <= 0) continue;
          chosen = i;
          r -= w;
          if (r < 0) break;
        }
      }
      if (chosen < 0) {
        for (let i = 0; i < k; i++) if (scratch[i]! >= 0) { chosen = i; break; }
        if (chosen < 0) break;
      }
      total -= Math.max(0, scratch[chosen]!);
      scratch[chosen] = -1;
      out[count++] = g.items[chosen]!;
    }
  }
  return count;
}
