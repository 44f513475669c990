/**
 * memberlist's TransmitLimitedQueue: messages waiting to be piggybacked on
 * outgoing datagrams. Each is sent at most `retransmitLimit()` times (memberlist:
 * RetransmitMult x ceil(log10(n + 1))), least-sent first and, among equals,
 * newest first, so fresh news travels before old news that most members have.
 *
 * A broadcast is keyed: queueing a new message with the same key (for
 * membership: the member's name) invalidates the older one, because it is
 * superseded (alive at incarnation 7 makes suspect at 6 pointless).
 */
export interface QueuedBroadcast {
  readonly key: string;
  readonly message: Uint8Array;
  /** Called once when the broadcast leaves the queue (sent out or invalidated). */
  readonly onDone?: (() => void) | undefined;
}

interface Item extends QueuedBroadcast {
  transmits: number;
  id: number;
}

export class BroadcastQueue {
  readonly #retransmitLimit: () => number;
  readonly #maxDepth: number;
  #items: Item[] = [];
  #byKey = new Map<string, Item>();
  #seq = 0;
  #dirty = false;

  /**
   * @param retransmitLimit evaluated on every draw, so the limit follows the cluster size
   * @param maxDepth beyond this many pending broadcasts the most-sent are dropped
   */
  constructor(retransmitLimit: () => number, maxDepth = 4096) {
    this.#retransmitLimit = retransmitLimit;
    this.#maxDepth = maxDepth;
  }

  get length(): number {
    return this.#items.length;
  }

  queue(b: QueuedBroadcast): void {
    const old = this.#byKey.get(b.key);
    if (old) {
      this.#remove(old);
      old.onDone?.();
    }
    const item: Item = { key: b.key, message: b.message, onDone: b.onDone, transmits: 0, id: ++this.#seq };
    this.#items.push(item);
    this.#byKey.set(b.key, item);
    this.#dirty = true;
    if (this.#items.length > this.#maxDepth) this.#prune(this.#maxDepth);
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  /**
   * Takes broadcasts that fit in `limit` bytes, each costing `overhead` bytes
   * of framing plus its length, and counts one transmission for each.
   */
  take(overhead: number, limit: number): Uint8Array[] {
    if (this.#items.length === 0 || limit <= overhead) return [];
    if (this.#dirty) {
      this.#items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
      this.#dirty = false;
    }
    const max = this.#retransmitLimit();
    const out: Uint8Array[] = [];
    let used = 0;
    let expired = false;
    for (const item of this.#items) {
      const cost = overhead + item.message.length;
      if (used + cost > limit) continue;
      used += cost;
      out.push(item.message);
      item.transmits++;
      if (item.transmits >= max) expired = true;
      if (limit - used <= overhead) break;
    }
    if (out.length > 0) this.#dirty = true;
    if (expired) {
      const keep: Item[] = [];
      for (const item of this.#items) {
        if (item.transmits >= max) {
          this.#byKey.delete(item.key);
          item.onDone?.();
        } else keep.push(item);
      }
      this.#items = keep;
    }
    return out;
  }

  /** Drops everything (on shutdown), calling each onDone. */
  reset(): void {
    const items = this.#items;
    this.#items = [];
    this.#byKey.clear();
    for (const item of items) item.onDone?.();
  }

  #remove(item: Item): void {
    this.#byKey.delete(item.key);
    const i = this.#items.indexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
  }

  #prune(depth: number): void {
    this.#items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    this.#dirty = false;
    const dropped = this.#items.splice(depth);
    for (const item of dropped) {
      this.#byKey.delete(item.key);
      item.onDone?.();
    }
  }
}
