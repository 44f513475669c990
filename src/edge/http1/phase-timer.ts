/**
 * One Timeout object per connection, re-armed for each phase (idle, head,
 * body...) with refresh(): cheaper than a timer per request. Disarming only
 * forgets the phase; a stale firing is then ignored.
 */
export class PhaseTimer<K extends string> {
  #timer: NodeJS.Timeout | null = null;
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
    if (this.#timer !== null && ms === this.#ms) {
      this.#timer.refresh();
      return;
    }
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#ms = ms;
    this.#timer = setTimeout(fire, ms, this);
    this.#timer.unref();
  }

  /** Restarts the current phase's countdown (progress was made). */
  refresh(): void {
    if (this.#kind !== null) this.#timer?.refresh();
  }

  disarm(): void {
    this.#kind = null;
  }

  stop(): void {
    this.#kind = null;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  fired(): void {
    const kind = this.#kind;
    this.#kind = null;
    if (kind !== null) this.#onFire(kind);
  }
}

function fire(t: { fired(): void }): void {
  t.fired();
}
