import type { Clock, TimerHandle } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import { mathRng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { silentLogger } from '../util/logger.ts';
import { isLoopback, parseHostPort } from '../util/address.ts';
import type { GossipConfig } from '../config/schema/index.ts';
import type { RegionSelfHealth } from '../health/region-health.ts';
import { Awareness } from './awareness.ts';
import { BroadcastQueue } from './broadcast-queue.ts';
import {
  COMPOUND_HEADER_OVERHEAD,
  COMPOUND_PART_OVERHEAD,
  decodeMessage,
  decodePushPull,
  encodeCompound,
  encodeMessage,
  encodePushPull,
  splitPacket,
  type AliveMsg,
  type DeadMsg,
  type HealthRecord,
  type MemberState,
  type Message,
  type PushPullMsg,
  type SuspectMsg,
} from './codec.ts';
import { protocolConfig, pushPullScale, retransmitLimit, suspicionTimeout, type ProfileName, type ProtocolConfig } from './config.ts';
import { Envelope } from './envelope.ts';
import { ReplayWindow, GossipReplayError } from './replay-window.ts';
import { envelopeGate } from './stream-gate.ts';
import { parseDuration } from '../util/duration.ts';
import { GossipAuthError, GossipConfigError, GossipDecodeError, GossipJoinError, GossipSecurityError, GossipStateError } from './errors.ts';
import { HealthStore, fitHealthRecord } from './health-store.ts';
import { Keyring } from './keyring.ts';
import { MemberTable, type MemberRecord } from './members.ts';
import { newStats, registerMetricsSource, retireMetricsSource, type GossipStats, type MetricsSource } from './metrics.ts';
import { Suspicion } from './suspicion.ts';
import type { Transport } from './transport.ts';

export const DEFAULT_GOSSIP_PORT = 7946;
export const DEFAULT_LABEL = 'edgeplane';

/** A read-only copy of one member's state as this agent sees it. */
export interface MemberView {
  name: string;
  addr: string;
  region: string;
  state: MemberState;
  incarnation: number;
  /** Clock ms of the last state change. */
  stateChange: number;
  /** Milliseconds since the last state change. */
  stateAge: number;
  /** Milliseconds since the last sign of life (ack, newer alive, health update); undefined when never heard. */
  lastHeardAgo: number | undefined;
  /** True for this agent's own entry. */
  self: boolean;
  health?: RegionSelfHealth | undefined;
  healthVersion?: number | undefined;
}

export type GossipEvent =
  | { kind: 'member'; member: MemberView; previous: MemberState | undefined }
  | { kind: 'health'; node: string; region: string; version: number; health: RegionSelfHealth };

export interface GossipAgentOptions {
  /** The `gossip:` config section. */
  config: GossipConfig;
  nodeId: string;
  region: string;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Defaults to UDP + TCP on config.bind (NetTransport). */
  transport?: Transport;
  /** Protocol constants on top of config.profile (tests and the simulation). */
  protocol?: Partial<ProtocolConfig>;
}

interface AckHandler {
  onAck(): void;
  onNack?(): void;
}

const internals = Symbol('gtm.agent.internals');

/**
 * One member of the fleet: SWIM failure detection and infection-style
 * dissemination with the Lifeguard extensions, structured as
 * hashicorp/memberlist (state.go + net.go): a randomized round-robin probe
 * every ProbeInterval (ping, then ping-req through IndirectChecks members with
 * nacks), suspicion with incarnation numbers and refutation, a dynamic
 * suspicion timeout, local health awareness, piggybacked broadcasts with a
 * retransmit limit, a gossip round every GossipInterval, periodic push-pull
 * anti-entropy over a stream, graceful leave. On top, each member gossips its
 * region self-health record in its own broadcast queue.
 *
 * It is transport- and clock-agnostic: the simulation runs this class over an
 * in-memory network on a virtual clock. All protocol work happens in timer and
 * packet callbacks; nothing blocks.
 */
export class GossipAgent implements MetricsSource {
  readonly name: string;
  readonly region: string;
  readonly config: Readonly<ProtocolConfig>;
  readonly stats: GossipStats = newStats();

  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #log: Logger;
  readonly #gossipConfig: GossipConfig;
  readonly #lifeguard: boolean;
  readonly #envelope: Envelope;
  readonly #keyring: Keyring | undefined;
  readonly #table: MemberTable;
  readonly #awareness: Awareness;
  readonly #memberQueue: BroadcastQueue;
  readonly #healthQueue: BroadcastQueue;
  readonly #health = new HealthStore();
  readonly #suspicions = new Map<string, Suspicion>();
  readonly #acks = new Map<number, AckHandler>();
  readonly #listeners = new Set<(e: GossipEvent) => void>();
  #transport: Transport | undefined;
  #address = '';
  #seq = 0;
  #incarnation = 0;
  #healthVersion = 0;
  #localHealth: RegionSelfHealth | undefined;
  #started = false;
  #closed = false;
  #leaving = false;
  #probeTimer: TimerHandle | undefined;
  #gossipTimer: TimerHandle | undefined;
  #pushPullTimer: TimerHandle | undefined;
  #reconnectTimer: TimerHandle | undefined;
  readonly #timers = new Set<TimerHandle>();
  #warned = new Set<string>();

  constructor(opts: GossipAgentOptions) {
    const { config } = opts;
    if (!config || typeof config !== 'object') throw new GossipConfigError('gossip config is required');
    checkName('nodeId', opts.nodeId);
    checkName('region', opts.region);
    this.name = opts.nodeId;
    this.region = opts.region;
    this.#gossipConfig = config;
    this.#clock = opts.clock ?? systemClock;
    this.#rng = opts.rng ?? mathRng;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'gossip', node: opts.nodeId });
    this.config = Object.freeze(protocolConfig((config.profile ?? 'lan') as ProfileName, opts.protocol));
    this.#lifeguard = this.config.Lifeguard;

    let bind;
    try {
      bind = parseHostPort(config.bind, DEFAULT_GOSSIP_PORT);
    } catch (err) {
      throw new GossipConfigError(`gossip.bind: ${(err as Error).message}`);
    }
    const keys = config.keys ?? [];
    const keyring = keys.length > 0 ? new Keyring(keys) : undefined;
    if (!keyring && !isLoopback(bind.host)) {
      throw new GossipSecurityError(`refusing to gossip on non-loopback address ${config.bind} without an encryption key (set gossip.keys)`);
    }
    const label = config.label ?? DEFAULT_LABEL;
    if (Buffer.byteLength(label) > 255) throw new GossipConfigError('gossip.label must be at most 255 bytes');
    this.#keyring = keyring;
    const now = () => this.#clock.wallNow();
    // Replay protection needs authentication: only with keys (a keyless bind is loopback-only).
    const window = keyring ? new ReplayWindow({ now, skewMs: config.maxClockSkew ? parseDuration(config.maxClockSkew) : undefined }) : undefined;
    this.#envelope = new Envelope(label, keyring, { now, window });
    this.#transport = opts.transport;

    this.#table = new MemberTable(this.#rng);
    this.#awareness = new Awareness(this.config.AwarenessMaxMultiplier);
    const limit = () => retransmitLimit(this.config.RetransmitMult, this.#table.listed);
    this.#memberQueue = new BroadcastQueue(limit);
    this.#healthQueue = new BroadcastQueue(limit);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Binds the transport, announces this member and starts probing, gossip and push-pull. */
  async start(): Promise<void> {
    if (this.#closed) throw new GossipStateError('agent is closed');
    if (this.#started) return;
    if (!this.#transport) {
      const { NetTransport } = await import('./net-transport.ts');
      const cfg = this.#gossipConfig;
      this.#transport = new NetTransport({
        bind: cfg.bind,
        advertise: cfg.advertise,
        maxPacket: this.config.UDPBufferSize,
        streamTimeout: this.config.TCPTimeout,
        maxConnections: cfg.maxConnections,
        maxConnectionsPerClient: cfg.maxConnectionsPerClient,
        onRefused: (reason) => {
          if (reason === 'deadline') this.stats.streamsTimedOut++;
          else if (reason !== 'frame') this.stats.streamsRefused++;
        },
        logger: this.#log,
      });
    }
    await this.#transport.start(this.#onPacket, this.#onStream, envelopeGate(this.#envelope, (e) => this.#countInputError(e)));
    this.#begin();
  }

  #begin(): void {
    this.#address = this.#transport!.address;
    this.#started = true;
    registerMetricsSource(this);
    this.#aliveNode({ type: 'alive', incarnation: this.#nextIncarnation(), node: this.name, addr: this.#address, region: this.region }, true);
    // A random stagger per timer, as memberlist, so members do not tick in lockstep.
    this.#probeTimer = this.#clock.setTimeout(this.#probeTick, this.#rng.next() * this.config.ProbeInterval);
    this.#gossipTimer = this.#clock.setTimeout(this.#gossipTick, this.#rng.next() * this.config.GossipInterval);
    if (this.config.PushPullInterval > 0) {
      this.#pushPullTimer = this.#clock.setTimeout(this.#pushPullTick, this.#rng.next() * this.config.PushPullInterval);
    }
    if (this.config.ReconnectInterval > 0) {
      this.#reconnectTimer = this.#clock.setTimeout(this.#reconnectTick, this.config.ReconnectInterval * (0.5 + this.#rng.next()));
    }
  }

  /** The address other members reach this one at (after start). */
  get address(): string {
    return this.#address;
  }

  get incarnation(): number {
    return this.#table.get(this.name)?.incarnation ?? 0;
  }

  get started(): boolean {
    return this.#started && !this.#closed;
  }

  /**
   * Contacts each seed with a push-pull (join) exchange; resolves with how many
   * answered. Rejects with GossipJoinError when seeds were given and none did.
   */
  join(seeds: readonly string[]): Promise<number> {
    if (!this.#started || this.#closed) return Promise.reject(new GossipStateError('join() needs a started agent'));
    const targets = seeds.filter((s) => s !== this.#address);
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

  /** Publishes this gateway's region self-health: broadcast now, and in every push-pull. */
  setLocalHealth(h: RegionSelfHealth): void {
    if (this.#closed) return;
    this.#localHealth = h;
    this.#publishHealth();
  }

  #publishHealth(): void {
    if (!this.#localHealth) return;
    const version = Math.max(this.#healthVersion + 1, Math.floor(this.#clock.wallNow()));
    this.#healthVersion = version;
    const max = this.config.UDPBufferSize - this.#envelope.overhead - COMPOUND_HEADER_OVERHEAD - 2 * COMPOUND_PART_OVERHEAD - 64;
    const { record, dropped } = fitHealthRecord(this.name, this.region, version, this.#localHealth, max);
    if (dropped > 0) this.#warnOnce('health-trim', { dropped }, 'health record too large for one datagram: per-name entries dropped');
    this.#health.apply(record);
    if (this.#started) this.#healthQueue.queue({ key: this.name, message: encodeMessage({ type: 'health', record }) });
    this.#emit({ kind: 'health', node: this.name, region: this.region, version, health: record.health });
  }

  /**
   * Installs a new key list (config reload during a key rotation): the first
   * encrypts, all decrypt. Encryption can't be switched on or off while running.
   */
  setKeys(keys: readonly string[]): void {
    if (!this.#keyring) throw new GossipStateError('gossip runs without encryption: adding keys needs a restart');
    this.#keyring.setKeys(keys);
  }

  /**
   * Graceful leave: broadcasts that this member left (others mark it `left`,
   * not `dead`) and waits until the message went out or `timeoutMs` passed.
   * Keeps answering pings until close().
   */
  async leave(timeoutMs = 5000): Promise<void> {
    if (!this.#started || this.#closed || this.#leaving) return;
    this.#leaving = true;
    const me = this.#table.get(this.name)!;
    let anyAlive = false;
    for (const m of this.#table.values()) if (m.name !== this.name && (m.state === 'alive' || m.state === 'suspect')) anyAlive = true;
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.#clearTimer(timer);
        resolve();
      };
      const timer = this.#setTimer(finish, anyAlive ? timeoutMs : 0);
      this.#deadNode({ type: 'dead', incarnation: me.incarnation, node: this.name, from: this.name }, finish);
      if (!anyAlive) finish();
    });
  }

  /** Stops everything without telling anyone (a crash, as far as the others can tell). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#probeTimer);
    this.#clock.clearTimeout(this.#gossipTimer);
    this.#clock.clearTimeout(this.#pushPullTimer);
    this.#clock.clearTimeout(this.#reconnectTimer);
    for (const t of this.#timers) this.#clock.clearTimeout(t);
    this.#timers.clear();
    for (const s of this.#suspicions.values()) s.stop();
    this.#suspicions.clear();
    this.#acks.clear();
    this.#memberQueue.reset();
    this.#healthQueue.reset();
    if (this.#started) retireMetricsSource(this);
    await this.#transport?.close();
  }

  // ------------------------------------------------------------------ queries

  on(event: 'change', listener: (e: GossipEvent) => void): () => void {
    if (event !== 'change') throw new GossipStateError(`unknown event ${String(event)}`);
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  members(): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.#table.values()) out.push(this.#view(m));
    return out;
  }

  member(name: string): MemberView | undefined {
    const m = this.#table.get(name);
    return m ? this.#view(m) : undefined;
  }

  healthOf(name: string): HealthRecord | undefined {
    return this.#health.get(name);
  }

  /** Members in the probe rotation (memberlist's estimate of the cluster size). */
  get numMembers(): number {
    return this.#table.listed;
  }

  awarenessScore(): number {
    return this.#awareness.score;
  }

  memberCounts(): Record<'alive' | 'suspect' | 'dead' | 'left', number> {
    const c = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.#table.values()) c[m.state]++;
    return c;
  }

  /** Pending broadcasts in the membership and health queues. */
  queueDepth(): { membership: number; health: number } {
    return { membership: this.#memberQueue.length, health: this.#healthQueue.length };
  }

  #view(m: MemberRecord): MemberView {
    const h = this.#health.get(m.name);
    return {
      name: m.name,
      addr: m.addr,
      region: m.region,
      state: m.state,
      incarnation: m.incarnation,
      stateChange: m.stateChange,
      stateAge: Math.max(0, this.#clock.now() - m.stateChange),
      lastHeardAgo: m.name === this.name ? 0 : m.lastHeard >= 0 ? Math.max(0, this.#clock.now() - m.lastHeard) : undefined,
      self: m.name === this.name,
      health: h?.health,
      healthVersion: h?.version,
    };
  }

  #emit(e: GossipEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e);
      } catch (err) {
        this.#log.error({ err }, 'gossip change listener threw');
      }
    }
  }

  #emitMember(m: MemberRecord, previous: MemberState | undefined): void {
    if (this.#listeners.size > 0) this.#emit({ kind: 'member', member: this.#view(m), previous });
  }

  // ------------------------------------------------------------------- timers

  #setTimer(fn: () => void, ms: number): TimerHandle {
    const t: TimerHandle = this.#clock.setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  #clearTimer(t: TimerHandle | undefined): void {
    if (t === undefined) return;
    this.#timers.delete(t);
    this.#clock.clearTimeout(t);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }

  #nextIncarnation(): number {
    return ++this.#incarnation;
  }

  // -------------------------------------------------------------------- probe

  #probeTick = (): void => {
    if (this.#closed) return;
    // Lifeguard LHA-Probe: a member that doubts its own health probes less often.
    const interval = this.#lifeguard ? this.#awareness.scaleTimeout(this.config.ProbeInterval) : this.config.ProbeInterval;
    this.#probeTimer = this.#clock.setTimeout(this.#probeTick, interval);
    if (this.#leaving) return;
    const target = this.#table.nextProbeTarget(this.name, this.#clock.now(), this.config.GossipToTheDeadTime, this.config.TombstoneTimeout);
    if (target) this.#probeNode(target, interval);
  };

  #probeNode(node: MemberRecord, interval: number): void {
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
        this.#clearTimer(indirectTimer);
        this.#clearTimer(deadlineTimer);
        node.lastHeard = this.#clock.now();
        if (this.#lifeguard) this.#awareness.applyDelta(-1);
      },
      onNack: () => {
        nacks++;
      },
    });

    const ping = encodeMessage({ type: 'ping', seq, node: node.name });
    if (this.#lifeguard && node.state === 'suspect') {
      // Lifeguard buddy system: tell a suspected member right away so it can
      // refute. The suspicion goes first so that its refutation (or, for a
      // stale one, its current alive) rides back on the ack.
      const s = encodeMessage({ type: 'suspect', incarnation: node.incarnation, node: node.name, from: this.name });
      this.#sendRaw(addr, encodeCompound([s, ping]));
    } else {
      this.#sendMsg(addr, ping);
    }

    const timeout = this.#lifeguard ? this.#awareness.scaleTimeout(this.config.ProbeTimeout) : this.config.ProbeTimeout;
    indirectTimer = this.#setTimer(() => {
      if (done) return;
      const peers = this.#table.kRandom(this.config.IndirectChecks, (m) => m.name !== this.name && m.name !== node.name && m.state === 'alive');
      const req = encodeMessage({ type: 'indirect-ping', seq, node: node.name, addr, nack: this.#lifeguard });
      for (const p of peers) this.#sendMsg(p.addr, req);
      expectedNacks = this.#lifeguard ? peers.length : 0;
    }, timeout);

    deadlineTimer = this.#setTimer(() => {
      if (done) return;
      done = true;
      this.#clearTimer(indirectTimer);
      this.#acks.delete(seq);
      if (this.#lifeguard) {
        // Missing nacks mean the problem may be ours, not the target's (Lifeguard LHA).
        this.#awareness.applyDelta(expectedNacks > 0 ? Math.max(0, expectedNacks - nacks) : 1);
      }
      this.stats.suspicionsRaised++;
      this.#suspectNode({ type: 'suspect', incarnation, node: node.name, from: this.name });
    }, interval);
  }

  // ------------------------------------------------------------------- gossip

  #gossipTick = (): void => {
    if (this.#closed) return;
    this.#gossipTimer = this.#clock.setTimeout(this.#gossipTick, this.config.GossipInterval);
    if (this.#memberQueue.length === 0 && this.#healthQueue.length === 0) return;
    const now = this.#clock.now();
    const dead = this.config.GossipToTheDeadTime;
    const peers = this.#table.kRandom(this.config.GossipNodes, (m) => {
      if (m.name === this.name) return false;
      if (m.state === 'alive' || m.state === 'suspect') return true;
      return m.state === 'dead' && now - m.stateChange <= dead;
    });
    const avail = this.config.UDPBufferSize - this.#envelope.overhead - COMPOUND_HEADER_OVERHEAD;
    for (const p of peers) {
      const msgs = this.#getBroadcasts(COMPOUND_PART_OVERHEAD, avail);
      if (msgs.length === 0) return;
      this.#sendRaw(p.addr, msgs.length === 1 ? msgs[0]! : encodeCompound(msgs));
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
    const reserve = Math.floor(limit * this.config.HealthShare);
    const members = this.#memberQueue.take(overhead, limit - reserve);
    let used = 0;
    for (const m of members) used += overhead + m.length;
    const health = this.#healthQueue.take(overhead, limit - used);
    return members.length === 0 ? health : health.length === 0 ? members : members.concat(health);
  }

  // ---------------------------------------------------------------- push-pull

  #pushPullTick = (): void => {
    if (this.#closed) return;
    this.#pushPullTimer = this.#clock.setTimeout(this.#pushPullTick, pushPullScale(this.config.PushPullInterval, this.#table.listed));
    if (this.#leaving) return;
    const [peer] = this.#table.kRandom(1, (m) => m.name !== this.name && m.state === 'alive');
    if (peer) this.#pushPullNode(peer.addr, false, () => {});
  };

  /**
   * serf's reconnect: with probability dead/alive, push-pull with one random
   * dead member (tombstones included; never one that left). Twice: in the first
   * exchange each side learns the other thinks it dead and refutes; the second
   * carries the refutations across, after which ordinary gossip takes over.
   */
  #reconnectTick = (): void => {
    if (this.#closed) return;
    this.#reconnectTimer = this.#clock.setTimeout(this.#reconnectTick, this.config.ReconnectInterval);
    if (this.#leaving) return;
    const dead: MemberRecord[] = [];
    let alive = 0;
    for (const m of this.#table.values()) {
      if (m.state === 'dead') dead.push(m);
      else if (m.state === 'alive' || m.state === 'suspect') alive++;
    }
    if (dead.length === 0 || this.#rng.next() > dead.length / Math.max(1, alive)) return;
    const target = dead[Math.floor(this.#rng.next() * dead.length)]!;
    this.#pushPullNode(target.addr, false, (err) => {
      if (!err && !this.#closed) this.#pushPullNode(target.addr, false, () => {});
    });
  };

  #localState(join: boolean): PushPullMsg {
    const nodes = [];
    for (const m of this.#table.values()) nodes.push({ name: m.name, addr: m.addr, region: m.region, incarnation: m.incarnation, state: m.state });
    return { join, nodes, health: [...this.#health.values()] };
  }

  #pushPullNode(addr: string, join: boolean, cb: (err?: Error) => void): void {
    let request: Uint8Array;
    try {
      request = this.#envelope.seal(encodePushPull(this.#localState(join)));
    } catch (err) {
      this.stats.pushPullFailures++;
      cb(err as Error);
      return;
    }
    this.#transport!.exchange(addr, request, this.config.TCPTimeout, (err, resp) => {
      if (this.#closed) return cb(new GossipStateError('agent closed'));
      if (err || !resp) {
        this.stats.pushPullFailures++;
        this.#log.debug({ peer: addr, err: err?.message }, 'push-pull failed');
        return cb(err ?? new GossipJoinError('empty push-pull response'));
      }
      let remote: PushPullMsg;
      try {
        remote = decodePushPull(this.#envelope.open(resp));
      } catch (e) {
        this.#countInputError(e);
        this.stats.pushPullFailures++;
        return cb(e as Error);
      }
      this.stats.pushPulls++;
      this.#safely(() => this.#mergeRemoteState(remote));
      cb();
    });
  }

  #onStream = (request: Uint8Array, from: string, reply: (r: Uint8Array) => void): void => {
    if (this.#closed) return;
    let remote: PushPullMsg;
    try {
      remote = decodePushPull(this.#envelope.open(request));
    } catch (e) {
      // Unauthenticated or malformed: no answer at all, so nothing leaks to a prober.
      this.#countInputError(e);
      this.#log.debug({ peer: from, err: (e as Error).message }, 'push-pull request dropped');
      return;
    }
    this.#safely(() => reply(this.#envelope.seal(encodePushPull(this.#localState(false)))));
    this.stats.pushPulls++;
    this.#safely(() => this.#mergeRemoteState(remote));
  };

  /** memberlist mergeState, plus tombstones for dead/left members we never knew. */
  #mergeRemoteState(remote: PushPullMsg): void {
    for (const r of remote.nodes) {
      if (r.state === 'alive') {
        this.#aliveNode({ type: 'alive', incarnation: r.incarnation, node: r.name, addr: r.addr, region: r.region }, false);
        continue;
      }
      if (!this.#table.get(r.name)) {
        if (r.state === 'dead' || r.state === 'left') this.#addTombstone(r.name, r.addr, r.region, r.incarnation, r.state);
        else this.stats.droppedUnknown++;
        continue;
      }
      if (r.state === 'left') this.#deadNode({ type: 'dead', incarnation: r.incarnation, node: r.name, from: r.name });
      // A remote "dead" only makes us suspect: we want to give the member its own chance to refute.
      else this.#suspectNode({ type: 'suspect', incarnation: r.incarnation, node: r.name, from: this.name });
    }
    for (const h of remote.health) this.#applyHealth(h, false);
  }

  #addTombstone(name: string, addr: string, region: string, incarnation: number, state: 'dead' | 'left'): void {
    const rec: MemberRecord = { name, addr, region, incarnation, state, stateChange: this.#clock.now() - this.config.GossipToTheDeadTime - 1, lastHeard: -1, listed: false };
    this.#table.add(rec);
    this.#emitMember(rec, undefined);
  }

  // ------------------------------------------------------------------ packets

  #onPacket = (data: Uint8Array, from: string): void => {
    if (this.#closed) return;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += data.length;
    if (data.length > this.config.UDPBufferSize) {
      this.stats.droppedOversized++;
      return;
    }
    const msgs: Message[] = [];
    try {
      const parts = splitPacket(this.#envelope.open(data));
      for (let i = 0; i < parts.length; i++) msgs.push(decodeMessage(parts[i]!));
    } catch (e) {
      // All or nothing: a packet with one bad part is dropped whole.
      this.#countInputError(e);
      return;
    }
    for (let i = 0; i < msgs.length; i++) {
      try {
        this.#handle(msgs[i]!, from);
      } catch (err) {
        this.stats.handlerErrors++;
        this.#log.error({ err }, 'gossip handler failed');
      }
    }
  };

  #countInputError(e: unknown): void {
    if (e instanceof GossipReplayError) {
      if (e.reason === 'replayed') this.stats.droppedReplayed++;
      else {
        this.stats.droppedSkew++;
        this.#warnOnce('clock-skew', { err: e.message }, 'dropped gossip stamped outside gossip.maxClockSkew: check the clocks (NTP) of this gateway and its peers (logged once)');
      }
    } else if (e instanceof GossipAuthError) this.stats.droppedAuth++;
    else if (e instanceof GossipDecodeError) this.stats.droppedMalformed++;
    else {
      this.stats.handlerErrors++;
      this.#log.error({ err: e }, 'unexpected error decoding gossip input');
    }
  }

  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.stats.handlerErrors++;
      this.#log.error({ err }, 'gossip handler failed');
    }
  }

  #handle(m: Message, from: string): void {
    switch (m.type) {
      case 'ping':
        if (m.node !== '' && m.node !== this.name) {
          this.stats.droppedMisdirected++;
          return;
        }
        this.#sendMsg(from, encodeMessage({ type: 'ack', seq: m.seq }));
        return;
      case 'indirect-ping':
        this.#handleIndirectPing(m.seq, m.node, m.addr, m.nack, from);
        return;
      case 'ack':
        this.#acks.get(m.seq)?.onAck();
        return;
      case 'nack':
        this.#acks.get(m.seq)?.onNack?.();
        return;
      case 'suspect':
        this.#suspectNode(m);
        return;
      case 'alive':
        this.#aliveNode(m, false);
        return;
      case 'dead':
        this.#deadNode(m);
        return;
      case 'health':
        this.#applyHealth(m.record, true);
        return;
    }
  }

  #handleIndirectPing(seq: number, node: string, addr: string, nack: boolean, from: string): void {
    const localSeq = this.#nextSeq();
    let done = false;
    const timer = this.#setTimer(() => {
      if (done) return;
      done = true;
      this.#acks.delete(localSeq);
      // Lifeguard: tell the requester we are alive and tried, so it does not blame itself.
      if (nack) this.#sendMsg(from, encodeMessage({ type: 'nack', seq }));
    }, this.config.ProbeTimeout);
    this.#acks.set(localSeq, {
      onAck: () => {
        if (done) return;
        done = true;
        this.#acks.delete(localSeq);
        this.#clearTimer(timer);
        this.#sendMsg(from, encodeMessage({ type: 'ack', seq }));
      },
    });
    this.#sendMsg(addr, encodeMessage({ type: 'ping', seq: localSeq, node }));
  }

  /** Sends one message, piggybacking pending broadcasts in the room left (memberlist sendMsg). */
  #sendMsg(addr: string, msg: Uint8Array): void {
    const avail = this.config.UDPBufferSize - this.#envelope.overhead - COMPOUND_HEADER_OVERHEAD - COMPOUND_PART_OVERHEAD - msg.length;
    const extra = this.#memberQueue.length + this.#healthQueue.length > 0 ? this.#getBroadcasts(COMPOUND_PART_OVERHEAD, avail) : [];
    this.#sendRaw(addr, extra.length === 0 ? msg : encodeCompound([msg, ...extra]));
  }

  #sendRaw(addr: string, payload: Uint8Array): void {
    if (this.#closed || !this.#transport) return;
    let packet: Uint8Array;
    try {
      packet = this.#envelope.seal(payload);
    } catch (err) {
      this.stats.sendErrors++;
      this.#log.error({ err }, 'cannot seal gossip packet');
      return;
    }
    this.stats.packetsSent++;
    this.stats.bytesSent += packet.length;
    this.#transport.sendPacket(addr, packet);
  }

  #broadcast(key: string, m: Message, onDone?: () => void): void {
    this.#memberQueue.queue({ key, message: encodeMessage(m), onDone });
  }

  // -------------------------------------------------------- state transitions

  /** True (and counted) when `incarnation` is implausibly far ahead of what we know for `rec`. */
  #fromTheFuture(rec: MemberRecord, incarnation: number): boolean {
    if (incarnation - rec.incarnation <= this.config.MaxIncarnationJump) return false;
    this.stats.droppedFuture++;
    this.#warnOnce(`future:${rec.name}`, { member: rec.name, known: rec.incarnation, claimed: incarnation }, 'dropped a gossip message with an implausible incarnation');
    return true;
  }

  /** memberlist aliveNode. */
  #aliveNode(a: AliveMsg, bootstrap: boolean): void {
    const isLocal = a.node === this.name;
    if (this.#leaving && isLocal) return;
    let state = this.#table.get(a.node);
    const now = this.#clock.now();
    if (!state) {
      state = { name: a.node, addr: a.addr, region: a.region, incarnation: a.incarnation, state: 'alive', stateChange: now, lastHeard: isLocal ? now : -1, listed: true };
      this.#table.add(state);
      if (!bootstrap) this.#broadcast(a.node, a);
      this.#emitMember(state, undefined);
      return;
    }
    let updatesNode = false;
    if (state.addr !== a.addr) {
      // A tombstone (dead past GossipToTheDeadTime) may be reclaimed by a new
      // address at once: memberlist would have forgotten it by then.
      const canReclaim = !state.listed || (this.config.DeadNodeReclaimTime > 0 && now - state.stateChange > this.config.DeadNodeReclaimTime);
      if (state.state === 'left' || (state.state === 'dead' && canReclaim)) {
        updatesNode = true;
      } else {
        // Someone else claims this member's name: keep the one we know.
        this.stats.droppedConflict++;
        this.#warnOnce(`conflict:${a.node}:${a.addr}`, { member: a.node, known: state.addr, claimed: a.addr }, isLocal ? 'another process claims this node id' : 'conflicting address for a member: ignored');
        return;
      }
    }
    if (!isLocal && !updatesNode && a.incarnation <= state.incarnation) {
      this.stats.droppedStale++;
      return;
    }
    if (isLocal && a.incarnation < state.incarnation) {
      this.stats.droppedStale++;
      return;
    }
    if (!updatesNode && this.#fromTheFuture(state, a.incarnation)) return;

    this.#stopSuspicion(a.node);
    const previous = state.state;
    if (!bootstrap && isLocal) {
      if (a.incarnation === state.incarnation && a.region === state.region) return;
      // Someone has a newer (or different) version of us: out-bid it.
      this.#refute(state, a.incarnation);
      return;
    }
    this.#broadcast(a.node, a);
    state.incarnation = a.incarnation;
    state.addr = a.addr;
    state.region = a.region;
    state.lastHeard = now;
    if (!state.listed) this.#table.relist(state);
    if (state.state !== 'alive') {
      state.state = 'alive';
      state.stateChange = now;
    }
    if (previous !== 'alive' || updatesNode) this.#emitMember(state, previous);
  }

  /** memberlist suspectNode, with Lifeguard's confirmations. */
  #suspectNode(s: SuspectMsg): void {
    const state = this.#table.get(s.node);
    if (!state) {
      this.stats.droppedUnknown++;
      return;
    }
    if (s.incarnation < state.incarnation) {
      this.stats.droppedStale++;
      if (s.node === this.name) this.#reannounce(state);
      return;
    }
    if (this.#fromTheFuture(state, s.incarnation)) return;
    const timer = this.#suspicions.get(s.node);
    if (timer) {
      // An independent confirmation shortens the timeout; pass it on so others count it too.
      if (timer.confirm(s.from)) this.#broadcast(s.node, s);
      return;
    }
    if (state.state !== 'alive') return;
    if (s.node === this.name) {
      this.#refute(state, s.incarnation);
      return;
    }
    this.#broadcast(s.node, s);
    state.incarnation = s.incarnation;
    state.state = 'suspect';
    const changeTime = this.#clock.now();
    state.stateChange = changeTime;

    // k: confirmations expected, so the nominal timeout is reached two probe
    // intervals short of SuspicionMult; none when the cluster is too small.
    const n = this.#table.listed;
    let k = this.#lifeguard ? this.config.SuspicionMult - 2 : 0;
    if (n - 2 < k) k = 0;
    const min = suspicionTimeout(this.config.SuspicionMult, n, this.config.ProbeInterval);
    const max = this.#lifeguard ? this.config.SuspicionMaxTimeoutMult * min : min;
    const name = s.node;
    this.#suspicions.set(
      name,
      new Suspicion(this.#clock, s.from, k, min, max, () => {
        this.#suspicions.delete(name);
        if (this.#closed) return;
        const st = this.#table.get(name);
        if (st && st.state === 'suspect' && st.stateChange === changeTime) {
          this.#safely(() => this.#deadNode({ type: 'dead', incarnation: st.incarnation, node: name, from: this.name }));
        }
      }),
    );
    this.#emitMember(state, 'alive');
  }

  /** memberlist deadNode. */
  #deadNode(d: DeadMsg, onLeaveSent?: () => void): void {
    const state = this.#table.get(d.node);
    if (!state) {
      this.stats.droppedUnknown++;
      return;
    }
    if (d.incarnation < state.incarnation) {
      this.stats.droppedStale++;
      if (d.node === this.name && !this.#leaving) this.#reannounce(state);
      return;
    }
    if (this.#fromTheFuture(state, d.incarnation)) return;
    if (d.incarnation > state.incarnation && d.node !== d.from && d.node !== this.name && state.state === 'alive') {
      // A death at an incarnation we have not seen: we missed a refutation and
      // the suspicion after it. Suspect first (memberlist does the same for
      // push-pull), so a forged or replayed death cannot kill a live member.
      this.stats.downgradedDeaths++;
      this.#suspectNode({ type: 'suspect', incarnation: d.incarnation, node: d.node, from: d.from });
      return;
    }
    this.#stopSuspicion(d.node);
    if (state.state === 'dead' || state.state === 'left') return;
    if (d.node === this.name) {
      if (!this.#leaving) {
        this.#refute(state, d.incarnation);
        return;
      }
      this.#broadcast(d.node, d, onLeaveSent);
    } else {
      this.#broadcast(d.node, d);
    }
    const previous = state.state;
    state.incarnation = d.incarnation;
    // A member announcing its own death left gracefully.
    state.state = d.node === d.from ? 'left' : 'dead';
    state.stateChange = this.#clock.now();
    this.#emitMember(state, previous);
  }

  #stopSuspicion(name: string): void {
    const s = this.#suspicions.get(name);
    if (s) {
      s.stop();
      this.#suspicions.delete(name);
    }
  }

  /** memberlist refute: out-bid the accusation and tell everyone; raise our own doubt (LHA). */
  #refute(me: MemberRecord, accused: number): void {
    let inc = this.#nextIncarnation();
    if (accused >= inc) {
      this.#incarnation = accused + 1;
      inc = this.#incarnation;
    }
    me.incarnation = inc;
    this.stats.refutes++;
    if (this.#lifeguard) this.#awareness.applyDelta(1);
    this.#broadcast(this.name, { type: 'alive', incarnation: inc, node: this.name, addr: this.#address, region: this.region });
  }

  /**
   * Someone still accuses an incarnation of us that we already refuted: it
   * missed the refutation. Announce the current one again (memberlist ignores
   * the stale accusation and leaves it to push-pull, which can come after the
   * accuser's suspicion timer). Keyed broadcast: repeated accusations cost one.
   */
  #reannounce(me: MemberRecord): void {
    if (this.#memberQueue.has(this.name)) return;
    this.#broadcast(this.name, { type: 'alive', incarnation: me.incarnation, node: this.name, addr: this.#address, region: this.region });
  }

  // ------------------------------------------------------------------- health

  #applyHealth(rec: HealthRecord, rebroadcast: boolean): void {
    if (rec.version > this.#clock.wallNow() + 86_400_000) {
      // Versions are wall-clock based; a day ahead is forged or a broken clock.
      this.stats.droppedFuture++;
      return;
    }
    if (rec.node === this.name) {
      if (rec.version > this.#healthVersion && this.#localHealth) {
        // A newer record about us than ours (a previous life): supersede it.
        this.#healthVersion = rec.version;
        this.#publishHealth();
      } else this.stats.droppedStale++;
      return;
    }
    if (!this.#health.apply(rec)) {
      this.stats.droppedStale++;
      return;
    }
    this.stats.healthUpdates++;
    const m = this.#table.get(rec.node);
    if (m && rebroadcast) m.lastHeard = this.#clock.now();
    if (rebroadcast) this.#healthQueue.queue({ key: rec.node, message: encodeMessage({ type: 'health', record: rec }) });
    this.#emit({ kind: 'health', node: rec.node, region: m?.region ?? rec.region, version: rec.version, health: rec.health });
  }

  #warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.#warned.has(key)) return;
    if (this.#warned.size > 1000) this.#warned.clear();
    this.#warned.add(key);
    this.#log.warn(fields, msg);
  }

  /** @internal Simulation hooks; not part of the public API. */
  [internals](): { beginSync(): void; addMembers(members: readonly { name: string; addr: string; region: string; incarnation?: number }[]): void } {
    return {
      beginSync: () => {
        if (this.#started) return;
        const t = this.#transport as { startSync?: (p: unknown, s: unknown) => void } | undefined;
        if (!t?.startSync) throw new GossipStateError('beginSync needs a transport with startSync (MemoryTransport)');
        t.startSync(this.#onPacket, this.#onStream);
        this.#begin();
      },
      addMembers: (members) => {
        const now = this.#clock.now();
        for (const m of members) {
          if (this.#table.get(m.name)) continue;
          this.#table.add({ name: m.name, addr: m.addr, region: m.region, incarnation: m.incarnation ?? 1, state: 'alive', stateChange: now, lastHeard: -1, listed: true });
        }
      },
    };
  }
}

/**
 * Simulation only: starts an agent synchronously on a MemoryTransport and
 * fills its member table without any join traffic (building a 2000-member
 * cluster through joins would cost O(n^2) push-pull bytes before the
 * experiment even starts).
 */
export function simStart(agent: GossipAgent, members: readonly { name: string; addr: string; region: string; incarnation?: number }[] = []): void {
  const h = agent[internals]();
  h.beginSync();
  h.addMembers(members);
}

function checkName(what: string, v: unknown): void {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > 255) throw new GossipConfigError(`${what} must be a non-empty string of at most 255 bytes`);
}
