import type { Rng } from '../util/rng.ts';
import { randomInt } from '../util/rng.ts';
import type { MemberState } from './codec.ts';

/** One member as this agent sees it (memberlist's nodeState). Mutated only by the agent. */
export interface MemberRecord {
  readonly name: string;
  addr: string;
  region: string;
  incarnation: number;
  state: MemberState;
  /** Clock ms of the last state change. */
  stateChange: number;
  /** Clock ms of the last first- or second-hand sign of life (ack, newer alive, health), or -1. */
  lastHeard: number;
  /** True while the member is in the probe/gossip rotation; false for a tombstone. */
  listed: boolean;
}

/**
 * The member table: a map by name plus memberlist's probe list. Probing walks
 * the list in order and reshuffles it at the end of each round (randomized
 * round-robin: every member is probed once per round, so detection time is
 * bounded, while the order stays random). New members are inserted at a
 * random position so a burst of joins does not all land at the end.
 *
 * Dead and left members stay in the list for GossipToTheDeadTime (they still
 * get gossip, to learn of and refute their death), then become tombstones:
 * out of the list, still in the map (and in push-pull) until the tombstone
 * timeout, so a region whose gateways all died stays known as down, and a
 * newly started member learns that too (serf keeps failed and left members
 * the same way; memberlist forgets them).
 */
export class MemberTable {
  readonly #rng: Rng;
  readonly #map = new Map<string, MemberRecord>();
  #list: MemberRecord[] = [];
  #probeIndex = 0;

  constructor(rng: Rng) {
    this.#rng = rng;
  }

  get(name: string): MemberRecord | undefined {
    return this.#map.get(name);
  }

  /** Members in the rotation (alive, suspect, recently dead): memberlist's estNumNodes. */
  get listed(): number {
    return this.#list.length;
  }

  /** Every known member, tombstones included. */
  get size(): number {
    return this.#map.size;
  }

  values(): IterableIterator<MemberRecord> {
    return this.#map.values();
  }

  /** Adds a new member at a random position of the probe list (or as a tombstone when `listed` is false). */
  add(rec: MemberRecord): void {
    this.#map.set(rec.name, rec);
    if (rec.listed) this.#insert(rec);
  }

  /** Puts a tombstone back into the rotation (it came back). */
  relist(rec: MemberRecord): void {
    if (rec.listed) return;
    rec.listed = true;
    this.#insert(rec);
  }

  #insert(rec: MemberRecord): void {
    const n = this.#list.length;
    const offset = randomInt(this.#rng, n + 1);
    this.#list.push(rec);
    if (offset < n) {
      const other = this.#list[offset]!;
      this.#list[offset] = rec;
      this.#list[n] = other;
    }
  }

  /**
   * The next member to probe in the randomized round-robin, skipping `self` and
   * dead or left members. At the end of a round the list is reaped and shuffled.
   */
  nextProbeTarget(self: string, now: number, gossipToTheDead: number, tombstoneTimeout: number): MemberRecord | undefined {
    let checked = 0;
    while (checked < this.#list.length + 1) {
      if (this.#probeIndex >= this.#list.length) {
        this.#reset(now, gossipToTheDead, tombstoneTimeout);
        this.#probeIndex = 0;
        checked++;
        if (this.#list.length === 0) return undefined;
        continue;
      }
      const node = this.#list[this.#probeIndex++]!;
      checked++;
      if (node.name === self || node.state === 'dead' || node.state === 'left') continue;
      return node;
    }
    return undefined;
  }

  /** memberlist resetNodes: dead members past GossipToTheDeadTime leave the rotation; the rest are shuffled. */
  #reset(now: number, gossipToTheDead: number, tombstoneTimeout: number): void {
    const keep: MemberRecord[] = [];
    for (const rec of this.#list) {
      if ((rec.state === 'dead' || rec.state === 'left') && now - rec.stateChange > gossipToTheDead) rec.listed = false;
      else keep.push(rec);
    }
    for (let i = keep.length - 1; i > 0; i--) {
      const j = randomInt(this.#rng, i + 1);
      const t = keep[i]!;
      keep[i] = keep[j]!;
      keep[j] = t;
    }
    this.#list = keep;
    if (tombstoneTimeout > 0 && this.#map.size > keep.length) {
      for (const [name, rec] of this.#map) {
        if (!rec.listed && now - rec.stateChange > tombstoneTimeout) this.#map.delete(name);
      }
    }
  }

  /**
   * Up to k distinct random listed members passing `accept` (memberlist
   * kRandomNodes: at most 3n random draws, so the cost is O(k) in practice and
   * never O(n^2) per period).
   */
  kRandom(k: number, accept: (rec: MemberRecord) => boolean): MemberRecord[] {
    const n = this.#list.length;
    const out: MemberRecord[] = [];
    if (k <= 0 || n === 0) return out;
    for (let i = 0; i < 3 * n && out.length < k; i++) {
      const rec = this.#list[randomInt(this.#rng, n)]!;
      if (!accept(rec) || out.includes(rec)) continue;
      out.push(rec);
    }
    return out;
  }
}
