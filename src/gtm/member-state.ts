import type { AgentState } from './agent-state.ts';
import type { BroadcastSink } from './broadcasts.ts';
import type { AliveMsg, DeadMsg, SuspectMsg } from './codec.ts';
import type { MemberRecord } from './members.ts';
import type { SuspicionTimers } from './suspicion-timers.ts';

/** What probing, push-pull and the packet handler may tell the member state machine. */
export interface MemberUpdates {
  aliveNode(a: AliveMsg, bootstrap: boolean): void;
  suspectNode(s: SuspectMsg): void;
  deadNode(d: DeadMsg, onLeaveSent?: () => void): void;
  /** A dead or left member we never knew, learnt from push-pull: remembered, not in the rotation. */
  addTombstone(name: string, addr: string, region: string, incarnation: number, state: 'dead' | 'left'): void;
}

/**
 * The member state machine of memberlist's state.go (aliveNode, suspectNode,
 * deadNode, refute): every alive/suspect/dead message, whether it came in a
 * datagram, a push-pull or from this member's own probes, goes through here.
 * Incarnation numbers order the claims; this member out-bids any accusation
 * about itself; each accepted change is broadcast on and emitted as an event.
 */
export class MemberStateMachine implements MemberUpdates {
  readonly #s: AgentState;
  readonly #out: BroadcastSink;
  readonly #suspicions: SuspicionTimers;

  constructor(s: AgentState, out: BroadcastSink, suspicions: SuspicionTimers) {
    this.#s = s;
    this.#out = out;
    this.#suspicions = suspicions;
  }

  /** memberlist aliveNode. */
  aliveNode(a: AliveMsg, bootstrap: boolean): void {
    const s = this.#s;
    const isLocal = a.node === s.name;
    if (s.leaving && isLocal) return;
    let state = s.table.get(a.node);
    const now = s.clock.now();
    if (!state) {
      state = { name: a.node, addr: a.addr, region: a.region, incarnation: a.incarnation, state: 'alive', stateChange: now, lastHeard: isLocal ? now : -1, listed: true };
      s.table.add(state);
      if (!bootstrap) this.#out.broadcast(a.node, a);
      s.events.emitMember(state, undefined);
      return;
    }
    let updatesNode = false;
    if (state.addr !== a.addr) {
      // A tombstone (dead past GossipToTheDeadTime) may be reclaimed by a new
      // address at once: memberlist would have forgotten it by then.
      const canReclaim = !state.listed || (s.config.DeadNodeReclaimTime > 0 && now - state.stateChange > s.config.DeadNodeReclaimTime);
      if (state.state === 'left' || (state.state === 'dead' && canReclaim)) {
        updatesNode = true;
      } else {
        // Someone else claims this member's name: keep the one we know.
        s.stats.droppedConflict++;
        s.warnOnce(`conflict:${a.node}:${a.addr}`, { member: a.node, known: state.addr, claimed: a.addr }, isLocal ? 'another process claims this node id' : 'conflicting address for a member: ignored');
        return;
      }
    }
    if (!isLocal && !updatesNode && a.incarnation <= state.incarnation) {
      s.stats.droppedStale++;
      return;
    }
    if (isLocal && a.incarnation < state.incarnation) {
      s.stats.droppedStale++;
      return;
    }
    if (!updatesNode && this.#fromTheFuture(state, a.incarnation)) return;

    this.#suspicions.stop(a.node);
    const previous = state.state;
    if (!bootstrap && isLocal) {
      if (a.incarnation === state.incarnation && a.region === state.region) return;
      // Someone has a newer (or different) version of us: out-bid it.
      this.#refute(state, a.incarnation);
      return;
    }
    this.#out.broadcast(a.node, a);
    state.incarnation = a.incarnation;
    state.addr = a.addr;
    state.region = a.region;
    state.lastHeard = now;
    if (!state.listed) s.table.relist(state);
    if (state.state !== 'alive') {
      state.state = 'alive';
      state.stateChange = now;
    }
    if (previous !== 'alive' || updatesNode) s.events.emitMember(state, previous);
  }

  /** memberlist suspectNode, with Lifeguard's confirmations. */
  suspectNode(m: SuspectMsg): void {
    const s = this.#s;
    const state = s.table.get(m.node);
    if (!state) {
      s.stats.droppedUnknown++;
      return;
    }
    if (m.incarnation < state.incarnation) {
      s.stats.droppedStale++;
      if (m.node === s.name) this.#reannounce(state);
      return;
    }
    if (this.#fromTheFuture(state, m.incarnation)) return;
    if (this.#suspicions.has(m.node)) {
      // An independent confirmation shortens the timeout; pass it on so others count it too.
      if (this.#suspicions.confirm(m.node, m.from)) this.#out.broadcast(m.node, m);
      return;
    }
    if (state.state !== 'alive') return;
    if (m.node === s.name) {
      this.#refute(state, m.incarnation);
      return;
    }
    this.#out.broadcast(m.node, m);
    state.incarnation = m.incarnation;
    state.state = 'suspect';
    const changeTime = s.clock.now();
    state.stateChange = changeTime;

    const name = m.node;
    this.#suspicions.start(name, m.from, () => {
      if (s.closed) return;
      const st = s.table.get(name);
      if (st && st.state === 'suspect' && st.stateChange === changeTime) {
        s.safely(() => this.deadNode({ type: 'dead', incarnation: st.incarnation, node: name, from: s.name }));
      }
    });
    s.events.emitMember(state, 'alive');
  }

  /** memberlist deadNode; `onLeaveSent` (our own leave) is called once the message went out. */
  deadNode(d: DeadMsg, onLeaveSent?: () => void): void {
    const s = this.#s;
    const state = s.table.get(d.node);
    if (!state) {
      s.stats.droppedUnknown++;
      return;
    }
    if (d.incarnation < state.incarnation) {
      s.stats.droppedStale++;
      if (d.node === s.name && !s.leaving) this.#reannounce(state);
      return;
    }
    if (this.#fromTheFuture(state, d.incarnation)) return;
    if (d.incarnation > state.incarnation && d.node !== d.from && d.node !== s.name && state.state === 'alive') {
      // A death at an incarnation we have not seen: we missed a refutation and
      // the suspicion after it. Suspect first (memberlist does the same for
      // push-pull), so a forged or replayed death cannot kill a live member.
      s.stats.downgradedDeaths++;
      this.suspectNode({ type: 'suspect', incarnation: d.incarnation, node: d.node, from: d.from });
      return;
    }
    this.#suspicions.stop(d.node);
    if (state.state === 'dead' || state.state === 'left') return;
    if (d.node === s.name) {
      if (!s.leaving) {
        this.#refute(state, d.incarnation);
        return;
      }
      this.#out.broadcast(d.node, d, onLeaveSent);
    } else {
      this.#out.broadcast(d.node, d);
    }
    const previous = state.state;
    state.incarnation = d.incarnation;
    // A member announcing its own death left gracefully.
    state.state = d.node === d.from ? 'left' : 'dead';
    state.stateChange = s.clock.now();
    s.events.emitMember(state, previous);
  }

  addTombstone(name: string, addr: string, region: string, incarnation: number, state: 'dead' | 'left'): void {
    const s = this.#s;
    const rec: MemberRecord = { name, addr, region, incarnation, state, stateChange: s.clock.now() - s.config.GossipToTheDeadTime - 1, lastHeard: -1, listed: false };
    s.table.add(rec);
    s.events.emitMember(rec, undefined);
  }

  /** True (and counted) when `incarnation` is implausibly far ahead of what we know for `rec`. */
  #fromTheFuture(rec: MemberRecord, incarnation: number): boolean {
    if (incarnation - rec.incarnation <= this.#s.config.MaxIncarnationJump) return false;
    this.#s.stats.droppedFuture++;
    this.#s.warnOnce(`future:${rec.name}`, { member: rec.name, known: rec.incarnation, claimed: incarnation }, 'dropped a gossip message with an implausible incarnation');
    return true;
  }

  /** memberlist refute: out-bid the accusation and tell everyone; raise our own doubt (LHA). */
  #refute(me: MemberRecord, accused: number): void {
    const s = this.#s;
    const inc = s.incarnationAbove(accused);
    me.incarnation = inc;
    s.stats.refutes++;
    if (s.lifeguard) s.awareness.applyDelta(1);
    this.#out.broadcast(s.name, { type: 'alive', incarnation: inc, node: s.name, addr: s.address, region: s.region });
  }

  /**
   * Someone still accuses an incarnation of us that we already refuted: it
   * missed the refutation. Announce the current one again (memberlist ignores
   * the stale accusation and leaves it to push-pull, which can come after the
   * accuser's suspicion timer). Keyed broadcast: repeated accusations cost one.
   */
  #reannounce(me: MemberRecord): void {
    const s = this.#s;
    if (this.#out.pending(s.name)) return;
    this.#out.broadcast(s.name, { type: 'alive', incarnation: me.incarnation, node: s.name, addr: s.address, region: s.region });
  }
}
