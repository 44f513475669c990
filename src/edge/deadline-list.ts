/**
 * Per-request deadlines of one fixed length (a route's timeout) without a
 * Timeout object per request: the requests themselves are the links of an
 * intrusive list, in deadline order because every entry has the same length,
 * and one timer serves the whole list. Adding and removing are a few field
 * writes; removing never touches the timer (when it fires early, for an entry
 * already gone, it re-arms itself for the oldest live one). On a busy route
 * that is one timer wake-up per timeout period instead of a setTimeout and a
 * clearTimeout per request. Node's own timer lists work the same way, but
 * with a Timeout allocated and linked per call.
 */
export interface Deadline {
  /** Links owned by the list; null when not listed (start them as null). */
  deadlinePrev: Deadline | null;
  deadlineNext: Deadline | null;
  /** When it passes (clock ms); -1 when not listed. */
  deadlineAt: number;
  /** The deadline passed: the entry has been removed from its list. */
  deadlinePassed(): void;
}

export interface DeadlineClock {
  now(): number;
  /** Calls `fn` after `ms` (an unref'd timer: deadlines don't keep the process alive). */
  schedule(fn: () => void, ms: number): unknown;
}

export const SYSTEM_DEADLINE_CLOCK: DeadlineClock = {
  now: () => performance.now(),
  schedule: (fn, ms) => setTimeout(fn, ms).unref(),
};

export class DeadlineList {
  readonly ms: number;
  readonly #clock: DeadlineClock;
  #head: Deadline | null = null;
  #tail: Deadline | null = null;
  #armed = false;
  readonly #onTimer = (): void => this.#fire();

  constructor(ms: number, clock: DeadlineClock = SYSTEM_DEADLINE_CLOCK) {
    this.ms = ms;
    this.#clock = clock;
  }

  /** Lists `d` with its deadline `ms` after `now` (a clock reading the caller already has). */
  add(d: Deadline, now: number): void {
    d.deadlineAt = now + this.ms;
    d.deadlineNext = null;
    d.deadlinePrev = this.#tail;
    if (this.#tail === null) this.#head = d;
    else this.#tail.deadlineNext = d;
    this.#tail = d;
    if (!this.#armed) {
      this.#armed = true;
      this.#clock.schedule(this.#onTimer, this.ms);
    }
  }

  /** Unlists `d` (no-op when it is not listed). */
  remove(d: Deadline): void {
    if (d.deadlineAt < 0) return;
    d.deadlineAt = -1;
    const prev = d.deadlinePrev;
    const next = d.deadlineNext;
    if (prev === null) this.#head = next;
    else prev.deadlineNext = next;
    if (next === null) this.#tail = prev;
    else next.deadlinePrev = prev;
    d.deadlinePrev = d.deadlineNext = null;
  }

  get empty(): boolean {
    return this.#head === null;
  }

  #fire(): void {
    this.#armed = false;
    const now = this.#clock.now();
    let d = this.#head;
    // Timers keep whole milliseconds: under one left counts as due.
    while (d !== null && d.deadlineAt - now < 1) {
      this.remove(d);
      d.deadlinePassed();
      d = this.#head;
    }
    if (d !== null && !this.#armed) {
      this.#armed = true;
      this.#clock.schedule(this.#onTimer, d.deadlineAt - now);
    }
  }
}

const lists = new Map<number, DeadlineList>();

/**
 * The shared list for deadlines of `ms`. Only for lengths from configuration
 * (a bounded set: one list each for the process's life); a length computed per
 * request (a gRPC client's deadline) takes a setTimeout of its own.
 */
export function deadlineList(ms: number): DeadlineList {
  let l = lists.get(ms);
  if (l === undefined) lists.set(ms, (l = new DeadlineList(ms)));
  return l;
}
