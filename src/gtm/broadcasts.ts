import type { TimerHandle } from '../util/clock.ts';
import type { AgentState } from './agent-state.ts';
import { BroadcastQueue } from './broadcast-queue.ts';
import { COMPOUND_HEADER_OVERHEAD, COMPOUND_PART_OVERHEAD, encodeCompound, encodeMessage, type HealthRecord, type Message } from './codec.ts';
import { retransmitLimit } from './config.ts';

/** Sending one protocol message with pending broadcasts piggybacked on it. */
export interface MessageSender {
  sendMsg(addr: string, msg: Uint8Array): void;
}

/** Queueing news for infection-style dissemination. */
export interface BroadcastSink {
  /** A membership message about `key` (a member name); supersedes the pending one about it. */
  broadcast(key: string, m: Message, onDone?: () => void): void;
  /** True while a membership broadcast about `key` is pending. */
  pending(key: string): boolean;
  queueHealth(record: HealthRecord): void;
}

/**
 * Dissemination (memberlist broadcast.go + gossip() in state.go): what this
 * member still has to tell, in two transmit-limited queues (membership and
 * region health), piggybacked on every datagram it sends and pushed to
 * GossipNodes random members every GossipInterval.
 */
export class Broadcasts implements MessageSender, BroadcastSink {
  readonly #s: AgentState;
  readonly #memberQueue: BroadcastQueue;
  readonly #healthQueue: BroadcastQueue;
  #gossipTimer: TimerHandle | undefined;

  constructor(s: AgentState) {
    this.#s = s;
    const limit = () => retransmitLimit(s.config.RetransmitMult, s.table.listed);
    this.#memberQueue = new BroadcastQueue(limit);
    this.#healthQueue = new BroadcastQueue(limit);
  }

  broadcast(key: string, m: Message, onDone?: () => void): void {
    this.#memberQueue.queue({ key, message: encodeMessage(m), onDone });
  }

  pending(key: string): boolean {
    return this.#memberQueue.has(key);
  }

  queueHealth(record: HealthRecord): void {
    this.#healthQueue.queue({ key: record.node, message: encodeMessage({ type: 'health', record }) });
  }

  /** Pending broadcasts in the membership and health queues. */
  depth(): { membership: number; health: number } {
    return { membership: this.#memberQueue.length, health: this.#healthQueue.length };
  }

  /** Sends one message, piggybacking pending broadcasts in the room left (memberlist sendMsg). */
  sendMsg(addr: string, msg: Uint8Array): void {
    const s = this.#s;
    const avail = s.config.UDPBufferSize - s.envelope.overhead - COMPOUND_HEADER_OVERHEAD - COMPOUND_PART_OVERHEAD - msg.length;
    const extra = this.#memberQueue.length + this.#healthQueue.length > 0 ? this.#getBroadcasts(COMPOUND_PART_OVERHEAD, avail) : [];
    s.sendRaw(addr, extra.length === 0 ? msg : encodeCompound([msg, ...extra]));
  }

  /** Starts the gossip rounds at a random phase (so members do not tick in lockstep). */
  start(): void {
    this.#gossipTimer = this.#s.clock.setTimeout(this.#gossipTick, this.#s.rng.next() * this.#s.config.GossipInterval);
  }

  /** Stops the rounds and drops what is pending (each onDone is called). */
  stop(): void {
    this.#s.clock.clearTimeout(this.#gossipTimer);
    this.#memberQueue.reset();
    this.#healthQueue.reset();
  }

  #gossipTick = (): void => {
    const s = this.#s;
    if (s.closed) return;
    this.#gossipTimer = s.clock.setTimeout(this.#gossipTick, s.config.GossipInterval);
    if (this.#memberQueue.length === 0 && this.#healthQueue.length === 0) return;
    const now = s.clock.now();
    const dead = s.config.GossipToTheDeadTime;
    const peers = s.table.kRandom(s.config.GossipNodes, (m) => {
      if (m.name === s.name) return false;
      if (m.state === 'alive' || m.state === 'suspect') return true;
      return m.state === 'dead' && now - m.stateChange <= dead;
    });
    const avail = s.config.UDPBufferSize - s.envelope.overhead - COMPOUND_HEADER_OVERHEAD;
    for (const p of peers) {
      const msgs = this.#getBroadcasts(COMPOUND_PART_OVERHEAD, avail);
      if (msgs.length === 0) return;
      s.sendRaw(p.addr, msgs.length === 1 ? msgs[0]! : encodeCompound(msgs));
    }
  };

  /**
   * Pending broadcasts that fit in `limit` bytes. Health gets at least
   * HealthShare of the room when it has something to send, membership the
   * rest, and health any room membership left: neither starves the other
   * (memberlist#299, where user messages only got the leftovers).
   */
  #getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.#healthQueue.length === 0) return this.#memberQueue.take(overhead, limit);
    if (this.#memberQueue.length === 0) return this.#healthQueue.take(overhead, limit);
    const reserve = Math.floor(limit * this.#s.config.HealthShare);
    const members = this.#memberQueue.take(overhead, limit - reserve);
    let used = 0;
    for (const m of members) used += overhead + m.length;
    const health = this.#healthQueue.take(overhead, limit - used);
    return members.length === 0 ? health : health.length === 0 ? members : members.concat(health);
  }
}
