import type { AgentState } from './agent-state.ts';
import { suspicionTimeout } from './config.ts';
import { Suspicion } from './suspicion.ts';

/**
 * The running suspicion timers, one per suspected member, with the Lifeguard
 * parameters memberlist's suspectNode gives each: the minimum timeout for
 * the cluster size, the maximum (SuspicionMaxTimeoutMult times it) and the
 * number of confirmations that bring the one down to the other.
 */
export class SuspicionTimers {
  readonly #s: AgentState;
  readonly #timers = new Map<string, Suspicion>();

  constructor(s: AgentState) {
    this.#s = s;
  }

  has(name: string): boolean {
    return this.#timers.has(name);
  }

  /**
   * Counts an independent confirmation from `from` for the running suspicion
   * of `name`; true when it was new (and so worth passing on).
   */
  confirm(name: string, from: string): boolean {
    return this.#timers.get(name)?.confirm(from) ?? false;
  }

  /** Starts the suspicion of `name`, raised by `from`; `onTimeout` declares it dead. */
  start(name: string, from: string, onTimeout: () => void): void {
    const { config, lifeguard, table } = this.#s;
    // k: confirmations expected, so the nominal timeout is reached two probe
    // intervals short of SuspicionMult; none when the cluster is too small.
    const n = table.listed;
    let k = lifeguard ? config.SuspicionMult - 2 : 0;
    if (n - 2 < k) k = 0;
    const min = suspicionTimeout(config.SuspicionMult, n, config.ProbeInterval);
    const max = lifeguard ? config.SuspicionMaxTimeoutMult * min : min;
    this.#timers.set(
      name,
      new Suspicion(this.#s.clock, from, k, min, max, () => {
        this.#timers.delete(name);
        onTimeout();
      }),
    );
  }

  stop(name: string): void {
    const s = this.#timers.get(name);
    if (s) {
      s.stop();
      this.#timers.delete(name);
    }
  }

  stopAll(): void {
    for (const s of this.#timers.values()) s.stop();
    this.#timers.clear();
  }
}
