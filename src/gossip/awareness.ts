/**
 * Lifeguard's local health awareness (LHA): a saturating score of how much this
 * member should distrust its own view. Failed probes without the expected nacks
 * and having to refute an accusation raise it; successful probes lower it. The
 * probe interval and timeout are stretched by (score + 1), so a member that is
 * itself slow (CPU starved, paused, losing packets) probes less and waits longer
 * instead of accusing healthy peers. As in memberlist's awareness.go.
 */
export class Awareness {
  readonly #max: number;
  #score = 0;

  /** @param max AwarenessMaxMultiplier: the score saturates at max - 1. */
  constructor(max: number) {
    this.#max = max;
  }

  applyDelta(delta: number): void {
    this.#score = Math.min(this.#max - 1, Math.max(0, this.#score + delta));
  }

  get score(): number {
    return this.#score;
  }

  scaleTimeout(timeout: number): number {
    return timeout * (this.#score + 1);
  }
}
