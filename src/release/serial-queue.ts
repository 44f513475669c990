/**
 * One queue for every operation of the controller (API calls, timers, health
 * events), so a release never sees two of its own transitions interleave.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  readonly #closed: () => boolean;

  constructor(closed: () => boolean) {
    this.#closed = closed;
  }

  enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => {
      if (this.#closed()) throw new Error('release controller closed');
      return fn();
    });
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves once nothing is queued (tests: after advancing the clock). */
  async settled(): Promise<void> {
    for (;;) {
      const q = this.#tail;
      await q.catch(() => {});
      await new Promise((r) => setImmediate(r));
      if (q === this.#tail) return;
    }
  }
}
