import { fnv1a, mix32 } from './hash.ts';

export interface SplitTarget<C> {
  cluster: C;
  name: string;
  weight: number;
}

/**
 * Weighted choice among a route's clusters.
 *
 * Without a sticky key, smooth weighted round-robin (nginx's algorithm): the
 * sequence is exact, so 90/10 is 90/10 after every 100 picks, not only on average.
 *
 * With a sticky key, weighted rendezvous hashing: each cluster scores
 * -ln(u)/weight with u derived from hash(key, cluster), lowest wins. Raising one
 * cluster's weight lowers only its own scores, so keys can only move *to* it;
 * lowering a weight only moves keys away. A canary ramp therefore moves clients
 * from old to new and never back.
 *
 * `available[i] === false` gives that cluster's weight to the others; when no
 * cluster is available the configured weights apply (the cluster's own panic
 * rule then balances across its endpoints).
 */
export class WeightedSplit<C> {
  readonly targets: readonly SplitTarget<C>[];
  readonly #weights: Float64Array;
  readonly #current: Float64Array;
  readonly #seeds: Uint32Array;
  readonly #byName: Map<string, number>;

  constructor(targets: SplitTarget<C>[]) {
    this.targets = targets;
    this.#weights = Float64Array.from(targets, (t) => t.weight);
    this.#current = new Float64Array(targets.length);
    this.#seeds = Uint32Array.from(targets, (t) => fnv1a(t.name));
    this.#byName = new Map(targets.map((t, i) => [t.name, i]));
  }

  indexOf(name: string): number {
    return this.#byName.get(name) ?? -1;
  }

  /** Next cluster index by smooth weighted round-robin; -1 when every usable weight is 0. */
  next(available?: (i: number) => boolean): number {
    const n = this.#weights.length;
    if (n === 1) return this.#weights[0]! > 0 ? 0 : -1;
    const useAvailability = available !== undefined && this.#anyAvailable(available);
    let total = 0;
    let best = -1;
    let bestValue = -Infinity;
    const cur = this.#current;
    for (let i = 0; i < n; i++) {
      const w = useAvailability && !available!(i) ? 0 : this.#weights[i]!;
      if (w <= 0) continue;
      cur[i]! += w;
      total += w;
      if (cur[i]! > bestValue) {
        bestValue = cur[i]!;
        best = i;
      }
    }
    if (best >= 0) cur[best]! -= total;
    return best;
  }

  /** Cluster index for a sticky key by weighted rendezvous hashing; -1 when every usable weight is 0. */
  pick(key: string, available?: (i: number) => boolean): number {
    const n = this.#weights.length;
    const useAvailability = available !== undefined && this.#anyAvailable(available);
    const h = fnv1a(key);
    let best = -1;
    let bestScore = Infinity;
    for (let i = 0; i < n; i++) {
      const w = this.#weights[i]!;
      if (w <= 0 || (useAvailability && !available!(i))) continue;
      // u in (0, 1): never 0 so the log is finite
      const u = (mix32(h ^ this.#seeds[i]!) + 0.5) / 4294967296;
      const score = -Math.log(u) / w;
      if (score < bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }

  #anyAvailable(available: (i: number) => boolean): boolean {
    let all = true;
    let any = false;
    for (let i = 0; i < this.#weights.length; i++) {
      if (this.#weights[i]! <= 0) continue;
      if (available(i)) any = true;
      else all = false;
    }
    // all available: plain weights; none available: fall back to configured weights
    return any && !all;
  }
}
