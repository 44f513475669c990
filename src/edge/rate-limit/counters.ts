import { LRUCache } from 'lru-cache';
import type { Clock } from '../../util/clock.ts';


/** The buckets of one limit: key -> GCRA TAT, least recently used keys forgotten first. */
export class LimitCounters {
  readonly tats: LRUCache<string, number>;
  constructor(readonly maxKeys: number) {
    this.tats = new LRUCache<string, number>({ max: maxKeys });
  }
}

/**
 * Rate-limit state beside the snapshot: counters are found by the identity
 * of their limit (route name + limit name), so a config apply that keeps a
 * limit keeps its buckets, even when its rate changes. Compiled routes hold
 * their counters strongly and this registry weakly: a limit no table refers
 * to any more is collected with its keys, with no pruning step that a failed
 * apply could get wrong.
 */
export class RateLimitStates {
  readonly clock: Clock;
  readonly #byId = new Map<string, WeakRef<LimitCounters>>();

  constructor(options: { clock: Clock }) {
    this.clock = options.clock;
  }

  counters(identity: string, maxKeys: number): LimitCounters {
    const existing = this.#byId.get(identity)?.deref();
    // A new key limit needs a new LRU; buckets are only advisory, so starting them full is safe.
    if (existing !== undefined && existing.maxKeys === maxKeys) return existing;
    const fresh = new LimitCounters(maxKeys);
    if (existing !== undefined) for (const [k, v] of [...existing.tats.entries()].reverse()) fresh.tats.set(k, v);
    this.#byId.set(identity, new WeakRef(fresh));
    this.#sweep();
    return fresh;
  }

  /** Identities whose counters are still alive (tests, diagnostics). */
  get size(): number {
    this.#sweep();
    return this.#byId.size;
  }

  #sweep(): void {
    for (const [id, ref] of this.#byId) if (ref.deref() === undefined) this.#byId.delete(id);
  }
}
