/**
 * Time source injected everywhere timing matters (outlier ejection, releases,
 * gossip, DNS RRL) so tests and the gossip simulation can run on virtual time.
 */
export type TimerHandle = { readonly id: number } | NodeJS.Timeout;

export interface Clock {
  /** Milliseconds since an arbitrary epoch; monotonic for SystemClock. */
  now(): number;
  /** Wall-clock milliseconds since the Unix epoch (for logs, audit, persisted state). */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

const origin = performance.timeOrigin;

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout(handle) {
    if (handle !== undefined) clearTimeout(handle as NodeJS.Timeout);
  },
};
void origin;

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A virtual clock for deterministic tests and simulation: time only moves when
 * `advance` or `runUntil` is called, and timers fire in (time, creation) order.
 */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  #timers = new Map<number, ManualTimer>();
  #heap: ManualTimer[] = [];

  constructor(start = 0, wallStart = 1_700_000_000_000) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
  }

  now(): number {
    return this.#now;
  }

  wallNow(): number {
    return this.#now + this.#wallOffset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    const timer: ManualTimer = { id, at: this.#now + Math.max(0, ms), seq: id, fn };
    this.#timers.set(id, timer);
    this.#push(timer);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle && typeof handle === 'object' && 'id' in handle && typeof handle.id === 'number') {
      this.#timers.delete(handle.id);
    }
  }

  /** Number of timers still scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.runUntil(this.#now + ms);
  }

  runUntil(target: number): void {
    for (;;) {
      const next = this.#peek();
      if (!next || next.at > target) break;
      this.#pop();
      if (!this.#timers.delete(next.id)) continue;
      this.#now = next.at;
      next.fn();
    }
    if (target > this.#now) this.#now = target;
  }

  /** Fires timers one at a time until none is left or `limit` timers ran. */
  runAll(limit = 1_000_000): void {
    for (let i = 0; i < limit; i++) {
      const next = this.#peek();
      if (!next) return;
      this.runUntil(next.at);
    }
  }

  #push(t: ManualTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  #peek(): ManualTimer | undefined {
    while (this.#heap.length > 0 && !this.#timers.has(this.#heap[0]!.id)) this.#pop();
    return this.#heap[0];
  }

  #pop(): ManualTimer | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: ManualTimer, b: ManualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
