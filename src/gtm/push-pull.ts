import type { TimerHandle } from '../util/clock.ts';
import type { AgentState } from './agent-state.ts';
import { decodePushPull, encodePushPull, type PushPullMsg } from './codec.ts';
import { pushPullScale } from './config.ts';
import { GossipJoinError, GossipStateError } from './errors.ts';
import type { HealthIntake } from './health-records.ts';
import type { MemberUpdates } from './member-state.ts';
import type { MemberRecord } from './members.ts';
import type { StreamHandler } from './transport.ts';

/**
 * Anti-entropy over a stream (memberlist pushPull/pushPullNode and net.go's
 * stream side): the whole member table and every health record, exchanged
 * with one random alive member every PushPullInterval (scaled with the
 * cluster size), with each seed on join, and (serf's reconnect) now and then
 * with a dead member so the two sides of a healed partition meet again.
 */
export class PushPull {
  readonly #s: AgentState;
  readonly #members: MemberUpdates;
  readonly #health: HealthIntake;
  #pushPullTimer: TimerHandle | undefined;
  #reconnectTimer: TimerHandle | undefined;

  constructor(s: AgentState, members: MemberUpdates, health: HealthIntake) {
    this.#s = s;
    this.#members = members;
    this.#health = health;
  }

  /** Starts the periodic exchanges at a random phase; either is off when its interval is 0. */
  start(): void {
    const { clock, rng, config } = this.#s;
    if (config.PushPullInterval > 0) {
      this.#pushPullTimer = clock.setTimeout(this.#pushPullTick, rng.next() * config.PushPullInterval);
    }
    if (config.ReconnectInterval > 0) {
      this.#reconnectTimer = clock.setTimeout(this.#reconnectTick, config.ReconnectInterval * (0.5 + rng.next()));
    }
  }

  stop(): void {
    this.#s.clock.clearTimeout(this.#pushPullTimer);
    this.#s.clock.clearTimeout(this.#reconnectTimer);
  }

  /**
   * Push-pull with each seed; resolves with how many answered. Rejects with
   * GossipJoinError when seeds were given and none did.
   */
  join(seeds: readonly string[]): Promise<number> {
    const targets = seeds.filter((seed) => seed !== this.#s.address);
    if (targets.length === 0) return Promise.resolve(0);
    return new Promise((resolve, reject) => {
      let pending = targets.length;
      let ok = 0;
      const errors: string[] = [];
      for (const seed of targets) {
        this.#pushPullNode(seed, true, (err) => {
          if (err) errors.push(`${seed}: ${err.message}`);
          else ok++;
          if (--pending > 0) return;
          if (ok > 0) resolve(ok);
          else reject(new GossipJoinError(`could not join any of ${targets.length} seed(s): ${errors.join('; ')}`));
        });
      }
    });
  }

  /** The stream side: answer with our state, then merge theirs. */
  readonly onStream: StreamHandler = (request, from, reply) => {
    const s = this.#s;
    if (s.closed) return;
    let remote: PushPullMsg;
    try {
      remote = decodePushPull(s.envelope.open(request));
    } catch (e) {
      // Unauthenticated or malformed: no answer at all, so nothing leaks to a prober.
      s.countInputError(e);
      s.log.debug({ peer: from, err: (e as Error).message }, 'push-pull request dropped');
      return;
    }
    s.safely(() => reply(s.envelope.seal(encodePushPull(this.#localState(false)))));
    s.stats.pushPulls++;
    s.safely(() => this.#mergeRemoteState(remote));
  };

  #pushPullTick = (): void => {
    const s = this.#s;
    if (s.closed) return;
    this.#pushPullTimer = s.clock.setTimeout(this.#pushPullTick, pushPullScale(s.config.PushPullInterval, s.table.listed));
    if (s.leaving) return;
    const [peer] = s.table.kRandom(1, (m) => m.name !== s.name && m.state === 'alive');
    if (peer) this.#pushPullNode(peer.addr, false, () => {});
  };

  /**
   * serf's reconnect: with probability dead/alive, push-pull with one random
   * dead member (tombstones included; never one that left). Twice: in the first
   * exchange each side learns the other thinks it dead and refutes; the second
   * carries the refutations across, after which ordinary gossip takes over.
   */
  #reconnectTick = (): void => {
    const s = this.#s;
    if (s.closed) return;
    this.#reconnectTimer = s.clock.setTimeout(this.#reconnectTick, s.config.ReconnectInterval);
    if (s.leaving) return;
    const dead: MemberRecord[] = [];
    let alive = 0;
    for (const m of s.table.values()) {
      if (m.state === 'dead') dead.push(m);
      else if (m.state === 'alive' || m.state === 'suspect') alive++;
    }
    if (dead.length === 0 || s.rng.next() > dead.length / Math.max(1, alive)) return;
    const target = dead[Math.floor(s.rng.next() * dead.length)]!;
    this.#pushPullNode(target.addr, false, (err) => {
      if (!err && !s.closed) this.#pushPullNode(target.addr, false, () => {});
    });
  };

  #localState(join: boolean): PushPullMsg {
    const nodes = [];
    for (const m of this.#s.table.values()) nodes.push({ name: m.name, addr: m.addr, region: m.region, incarnation: m.incarnation, state: m.state });
    return { join, nodes, health: [...this.#s.health.values()] };
  }

  #pushPullNode(addr: string, join: boolean, cb: (err?: Error) => void): void {
    const s = this.#s;
    let request: Uint8Array;
    try {
      request = s.envelope.seal(encodePushPull(this.#localState(join)));
    } catch (err) {
      s.stats.pushPullFailures++;
      cb(err as Error);
      return;
    }
    s.transport!.exchange(addr, request, s.config.TCPTimeout, (err, resp) => {
      if (s.closed) return cb(new GossipStateError('agent closed'));
      if (err || !resp) {
        s.stats.pushPullFailures++;
        s.log.debug({ peer: addr, err: err?.message }, 'push-pull failed');
        return cb(err ?? new GossipJoinError('empty push-pull response'));
      }
      let remote: PushPullMsg;
      try {
        remote = decodePushPull(s.envelope.open(resp));
      } catch (e) {
        s.countInputError(e);
        s.stats.pushPullFailures++;
        return cb(e as Error);
      }
      s.stats.pushPulls++;
      s.safely(() => this.#mergeRemoteState(remote));
      cb();
    });
  }

  /** memberlist mergeState, plus tombstones for dead/left members we never knew. */
  #mergeRemoteState(remote: PushPullMsg): void {
    const s = this.#s;
    const members = this.#members;
    for (const r of remote.nodes) {
      if (r.state === 'alive') {
        members.aliveNode({ type: 'alive', incarnation: r.incarnation, node: r.name, addr: r.addr, region: r.region }, false);
        continue;
      }
      if (!s.table.get(r.name)) {
        if (r.state === 'dead' || r.state === 'left') members.addTombstone(r.name, r.addr, r.region, r.incarnation, r.state);
        else s.stats.droppedUnknown++;
        continue;
      }
      if (r.state === 'left') members.deadNode({ type: 'dead', incarnation: r.incarnation, node: r.name, from: r.name });
      // A remote "dead" only makes us suspect: we want to give the member its own chance to refute.
      else members.suspectNode({ type: 'suspect', incarnation: r.incarnation, node: r.name, from: s.name });
    }
    for (const h of remote.health) this.#health.apply(h, false);
  }
}
