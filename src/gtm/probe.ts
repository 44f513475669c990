import type { TimerHandle } from '../util/clock.ts';
import type { AgentState } from './agent-state.ts';
import type { MessageSender } from './broadcasts.ts';
import { encodeCompound, encodeMessage } from './codec.ts';
import type { MemberUpdates } from './member-state.ts';
import type { MemberRecord } from './members.ts';

/** The probe messages the packet handler hands over. */
export interface ProbeMessages {
  handlePing(seq: number, node: string, from: string): void;
  handleIndirectPing(seq: number, node: string, addr: string, nack: boolean, from: string): void;
  handleAck(seq: number): void;
  handleNack(seq: number): void;
}

interface AckHandler {
  onAck(): void;
  onNack?(): void;
}

/**
 * SWIM failure detection as memberlist's probe/probeNode and net.go's ping
 * handlers: every ProbeInterval the next member of the randomized round-robin
 * is pinged; without an ack within ProbeTimeout, IndirectChecks members are
 * asked to ping it (ping-req) and to nack if they get nothing either; without
 * any ack by the end of the interval it is suspected. Lifeguard: the interval
 * and timeout stretch with the awareness score, missing nacks raise it (the
 * fault may be ours), an ack lowers it, and a suspected member is told first
 * (buddy system) so it can refute on the ack.
 */
export class Prober implements ProbeMessages {
  readonly #s: AgentState;
  readonly #out: MessageSender;
  readonly #members: Pick<MemberUpdates, 'suspectNode'>;
  readonly #acks = new Map<number, AckHandler>();
  #seq = 0;
  #probeTimer: TimerHandle | undefined;

  constructor(s: AgentState, out: MessageSender, members: Pick<MemberUpdates, 'suspectNode'>) {
    this.#s = s;
    this.#out = out;
    this.#members = members;
  }

  /** Starts probing at a random phase (so members do not tick in lockstep). */
  start(): void {
    this.#probeTimer = this.#s.clock.setTimeout(this.#probeTick, this.#s.rng.next() * this.#s.config.ProbeInterval);
  }

  stop(): void {
    this.#s.clock.clearTimeout(this.#probeTimer);
    this.#acks.clear();
  }

  handlePing(seq: number, node: string, from: string): void {
    if (node !== '' && node !== this.#s.name) {
      this.#s.stats.droppedMisdirected++;
      return;
    }
    this.#out.sendMsg(from, encodeMessage({ type: 'ack', seq }));
  }

  handleAck(seq: number): void {
    this.#acks.get(seq)?.onAck();
  }

  handleNack(seq: number): void {
    this.#acks.get(seq)?.onNack?.();
  }

  /** Pings `addr` on behalf of `from`, relaying the ack, or (Lifeguard) a nack when none came. */
  handleIndirectPing(seq: number, node: string, addr: string, nack: boolean, from: string): void {
    const s = this.#s;
    const localSeq = this.#nextSeq();
    let done = false;
    const timer = s.setTimer(() => {
      if (done) return;
      done = true;
      this.#acks.delete(localSeq);
      // Lifeguard: tell the requester we are alive and tried, so it does not blame itself.
      if (nack) this.#out.sendMsg(from, encodeMessage({ type: 'nack', seq }));
    }, s.config.ProbeTimeout);
    this.#acks.set(localSeq, {
      onAck: () => {
        if (done) return;
        done = true;
        this.#acks.delete(localSeq);
        s.clearTimer(timer);
        this.#out.sendMsg(from, encodeMessage({ type: 'ack', seq }));
      },
    });
    this.#out.sendMsg(addr, encodeMessage({ type: 'ping', seq: localSeq, node }));
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #probeTick = (): void => {
    const s = this.#s;
    if (s.closed) return;
    // Lifeguard LHA-Probe: a member that doubts its own health probes less often.
    const interval = s.lifeguard ? s.awareness.scaleTimeout(s.config.ProbeInterval) : s.config.ProbeInterval;
    this.#probeTimer = s.clock.setTimeout(this.#probeTick, interval);
    if (s.leaving) return;
    const target = s.table.nextProbeTarget(s.name, s.clock.now(), s.config.GossipToTheDeadTime, s.config.TombstoneTimeout);
    if (target) this.#probeNode(target, interval);
  };

  #probeNode(node: MemberRecord, interval: number): void {
    const s = this.#s;
    const seq = this.#nextSeq();
    const incarnation = node.incarnation;
    const addr = node.addr;
    let done = false;
    let nacks = 0;
    let expectedNacks = 0;
    let indirectTimer: TimerHandle | undefined;
    let deadlineTimer: TimerHandle | undefined;
    this.#acks.set(seq, {
      onAck: () => {
        if (done) return;
        done = true;
        this.#acks.delete(seq);
        s.clearTimer(indirectTimer);
        s.clearTimer(deadlineTimer);
        node.lastHeard = s.clock.now();
        if (s.lifeguard) s.awareness.applyDelta(-1);
      },
      onNack: () => {
        nacks++;
      },
    });

    const ping = encodeMessage({ type: 'ping', seq, node: node.name });
    if (s.lifeguard && node.state === 'suspect') {
      // Lifeguard buddy system: tell a suspected member right away so it can
      // refute. The suspicion goes first so that its refutation (or, for a
      // stale one, its current alive) rides back on the ack.
      const sus = encodeMessage({ type: 'suspect', incarnation: node.incarnation, node: node.name, from: s.name });
      s.sendRaw(addr, encodeCompound([sus, ping]));
    } else {
      this.#out.sendMsg(addr, ping);
    }

    const timeout = s.lifeguard ? s.awareness.scaleTimeout(s.config.ProbeTimeout) : s.config.ProbeTimeout;
    indirectTimer = s.setTimer(() => {
      if (done) return;
      const peers = s.table.kRandom(s.config.IndirectChecks, (m) => m.name !== s.name && m.name !== node.name && m.state === 'alive');
      const req = encodeMessage({ type: 'indirect-ping', seq, node: node.name, addr, nack: s.lifeguard });
      for (const p of peers) this.#out.sendMsg(p.addr, req);
      expectedNacks = s.lifeguard ? peers.length : 0;
    }, timeout);

    deadlineTimer = s.setTimer(() => {
      if (done) return;
      done = true;
      s.clearTimer(indirectTimer);
      this.#acks.delete(seq);
      if (s.lifeguard) {
        // Missing nacks mean the problem may be ours, not the target's (Lifeguard LHA).
        s.awareness.applyDelta(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
      }
      s.stats.suspicionsRaised++;
      this.#members.suspectNode({ type: 'suspect', incarnation, node: node.name, from: s.name });
    }, interval);
  }
}
