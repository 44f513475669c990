/**
 * One countdown per connection for its current phase (idle, head, body...).
 * Arming a phase only records its deadline: the underlying Timeout is
 * rescheduled when it would fire *after* the new deadline. One that fires
 * early (the deadline moved on, or the phase was disarmed) re-arms itself for
 * what is left, or stops. On a busy keep-alive connection the phases change a
 * few times per request but its deadlines only move later, so the steady state
 * costs no timer operation per request (one early wake-up per timeout period
 * per connection instead); a timeout still fires on time.
 */
export class PhaseTimer<K extends string> {
  #timer: NodeJS.Timeout | null = null;
  /** When the pending Timeout fires (performance.now() ms); Infinity when none is pending. */
  #fireAt = Infinity;
  /** The current phase's deadline and length. */
  #deadline = Infinity;
  #ms = 0;
  #kind: K | null = null;
  readonly #onFire: (kind: K) => void;

  constructor(onFire: (kind: K) => void) {
    this.#onFire = onFire;
  }

  get kind(): K | null {
    return this.#kind;
  }

  /** Starts (or restarts) the phase `kind`, firing after `ms`; `ms` <= 0 disarms. */
  arm(kind: K, ms: number): void {
    if (ms <= 0) {
      this.#kind = null;
      return;
    }
    this.#kind = kind;
    this.#ms = ms;
    this.#deadline = performance.now() + ms;
    if (this.#fireAt > this.#deadline) this.#schedule(ms);
  }

  /** Restarts the current phase's countdown (progress was made). */
  refresh(): void {
    if (this.#kind !== null) this.#deadline = performance.now() + this.#ms;
  }

  disarm(): void {
    this.#kind = null;
  }

  stop(): void {
    this.#kind = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#fireAt = Infinity;
  }

  fired(): void {
    this.#timer = null;
    this.#fireAt = Infinity;
    const kind = this.#kind;
    if (kind === null) return;
    const left = this.#deadline - performance.now();
    // Timers keep whole milliseconds: under one left counts as due.
    if (left >= 1) {
      this.#schedule(left);
      return;
    }
    this.#kind = null;
    this.#onFire(kind);
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#fireAt = performance.now() + ms;
    this.#timer = setTimeout(fire, ms, this);
    this.#timer.unref();
  }
}

function fire(t: { fired(): void }): void {
  t.fired();
}
