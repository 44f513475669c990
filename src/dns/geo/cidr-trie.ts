interface TrieNode<T> {
  zero?: TrieNode<T>;
  one?: TrieNode<T>;
  has: boolean;
  value?: T;
  prefix: number;
}

export interface TrieMatch<T> {
  /** Longest-prefix match, if any. */
  value: T | undefined;
  /** Length of the matched prefix (0 without a match). */
  prefix: number;
  /**
   * How many leading address bits decide this result: every address that
   * shares them gets the same answer. This is the honest ECS scope (RFC 7871
   * 7.2.1); it can exceed the matched prefix when a more specific network is near.
   */
  decidedBits: number;
}

/**
 * A binary trie over address bits for longest-prefix match. One trie per
 * family; lookups walk at most 32 or 128 nodes and allocate nothing.
 */
export class CidrTrie<T> {
  readonly #root: TrieNode<T> = { has: false, prefix: 0 };
  readonly #bits: number;
  #size = 0;
  readonly #result: TrieMatch<T> = { value: undefined, prefix: 0, decidedBits: 0 };

  constructor(family: 4 | 6) {
    this.#bits = family === 4 ? 32 : 128;
  }

  get size(): number {
    return this.#size;
  }

  /** Returns false when exactly this network was already present (the first value stays). */
  insert(bytes: Uint8Array, prefix: number, value: T): boolean {
    let node = this.#root;
    for (let d = 0; d < prefix; d++) {
      const bit = (bytes[d >> 3]! >> (7 - (d & 7))) & 1;
      const next = bit ? node.one : node.zero;
      if (next) node = next;
      else {
        const created: TrieNode<T> = { has: false, prefix: d + 1 };
        if (bit) node.one = created;
        else node.zero = created;
        node = created;
      }
    }
    if (node.has) return false;
    node.has = true;
    node.value = value;
    this.#size++;
    return true;
  }

  /**
   * Looks up the first `maxBits` bits of `bytes` (an ECS source prefix, or the
   * full address). The returned object is reused by the next call.
   */
  lookup(bytes: Uint8Array, maxBits = this.#bits): TrieMatch<T> {
    const r = this.#result;
    if (this.#size === 0) {
      r.value = undefined;
      r.prefix = 0;
      r.decidedBits = 0;
      return r;
    }
    let node: TrieNode<T> = this.#root;
    let best: TrieNode<T> | undefined = node.has ? node : undefined;
    const limit = Math.min(maxBits, this.#bits);
    let decided = -1;
    let d = 0;
    for (; d < limit; d++) {
      const bit = (bytes[d >> 3]! >> (7 - (d & 7))) & 1;
      const next = bit ? node.one : node.zero;
      if (!next) {
        // a leaf decides at its own depth; otherwise this bit took us off the sibling's path
        decided = node.zero || node.one ? d + 1 : d;
        break;
      }
      node = next;
      if (node.has) best = node;
    }
    if (decided < 0) {
      // ran out of bits: exact if nothing more specific exists below, else the
      // answer would need more bits than were given
      decided = node.zero || node.one ? Math.min(this.#bits, limit + 1) : limit;
    }
    r.value = best?.value;
    r.prefix = best ? best.prefix : 0;
    r.decidedBits = decided;
    return r;
  }
}
