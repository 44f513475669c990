import type { Clock, TimerHandle } from '../util/clock.ts';

/**
 * One suspicion timer, as memberlist's suspicion.go (Lifeguard's dynamic
 * suspicion timeout): it starts at `max` and shrinks towards `min` as
 * independent members confirm the suspicion, on a log scale:
 *
 *   timeout = max - (log(c + 1) / log(k + 1)) x (max - min),  never below min
 *
 * where c is the number of confirmations so far and k the number expected. A
 * lone accuser (perhaps the slow one) therefore has to wait `max`; a member
 * that several peers independently cannot reach is declared dead after `min`.
 */
export class Suspicion {
  readonly #clock: Clock;
  readonly #k: number;
  readonly #min: number;
  readonly #max: number;
  readonly #start: number;
  readonly #confirmations = new Set<string>();
  readonly #onTimeout: (confirmations: number) => void;
  #timer: TimerHandle | undefined;
  #fired = false;

  /**
   * @param from the member that raised the suspicion (its confirmation does not count twice)
   * @param k confirmations expected; with k < 1 the timeout is `min` straight away
   */
  constructor(clock: Clock, from: string, k: number, min: number, max: number, onTimeout: (confirmations: number) => void) {
    this.#clock = clock;
    this.#k = k;
    this.#min = min;
    this.#max = max;
    this.#onTimeout = onTimeout;
    this.#start = clock.now();
    this.#confirmations.add(from);
    const timeout = k < 1 ? min : max;
    this.#timer = clock.setTimeout(() => this.#fire(), timeout);
  }

  /** Remaining time for n confirmations after `elapsed` ms (memberlist remainingSuspicionTime). */
  static remaining(n: number, k: number, elapsed: number, min: number, max: number): number {
    const frac = Math.log(n + 1) / Math.log(k + 1);
    const raw = max - frac * (max - min);
    const timeout = Math.max(min, Math.floor(raw));
    return timeout - elapsed;
  }

  /** Records a confirmation from `from`; true when it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.#fired) return false;
    const n = this.#confirmations.size - 1;
    if (n >= this.#k) return false;
    if (this.#confirmations.has(from)) return false;
    this.#confirmations.add(from);
    const elapsed = this.#clock.now() - this.#start;
    const remaining = Suspicion.remaining(n + 1, this.#k, elapsed, this.#min, this.#max);
    this.#clock.clearTimeout(this.#timer);
    if (remaining > 0) this.#timer = this.#clock.setTimeout(() => this.#fire(), remaining);
    else this.#fire();
    return true;
  }

  /** Number of independent confirmations beyond the first accuser. */
  get confirmations(): number {
    return this.#confirmations.size - 1;
  }

  stop(): void {
    this.#fired = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    if (this.#fired) return;
    this.#fired = true;
    this.#timer = undefined;
    this.#onTimeout(this.#confirmations.size - 1);
  }
}
