import type { GossipConfig } from '../config/schema/index.ts';
import type { RegionSelfHealth } from '../health/region-health.ts';
import { resolveAgentOptions, type GossipAgentOptions } from './agent-options.ts';
import { AgentState } from './agent-state.ts';
import { Broadcasts } from './broadcasts.ts';
import type { GossipEvent, MemberView } from './change-events.ts';
import type { HealthRecord } from './codec.ts';
import type { ProtocolConfig } from './config.ts';
import { GossipStateError } from './errors.ts';
import { HealthRecords } from './health-records.ts';
import { MemberStateMachine } from './member-state.ts';
import { registerMetricsSource, retireMetricsSource, type GossipStats, type MetricsSource } from './metrics.ts';
import { packetDispatcher } from './packet-dispatch.ts';
import { Prober } from './probe.ts';
import { PushPull } from './push-pull.ts';
import { envelopeGate } from './stream-gate.ts';
import { SuspicionTimers } from './suspicion-timers.ts';
import type { PacketHandler } from './transport.ts';

export { DEFAULT_GOSSIP_PORT, DEFAULT_LABEL, type GossipAgentOptions } from './agent-options.ts';
export type { GossipEvent, MemberView } from './change-events.ts';

const internals = Symbol('gtm.agent.internals');

/**
 * One member of the fleet: SWIM failure detection and infection-style
 * dissemination with the Lifeguard extensions, structured as
 * hashicorp/memberlist, one mechanism per file around a shared AgentState
 * (agent-state.ts):
 *
 * - probe.ts: randomized round-robin probe every ProbeInterval, ping, then
 *   ping-req through IndirectChecks members with nacks;
 * - member-state.ts + suspicion-timers.ts: alive/suspect/dead with
 *   incarnation numbers and refutation, Lifeguard's dynamic suspicion timeout;
 * - awareness.ts: local health awareness;
 * - broadcasts.ts: piggybacked broadcasts with a retransmit limit, a gossip
 *   round every GossipInterval;
 * - push-pull.ts: periodic anti-entropy over a stream, join, reconnect;
 * - health-records.ts: each member's region self-health record, in its own
 *   broadcast queue;
 * - packet-dispatch.ts: datagrams in, to the mechanism they are for.
 *
 * This class is the lifecycle (start, join, leave, close) and the read side.
 * It is transport- and clock-agnostic: the simulation runs it over an
 * in-memory network on a virtual clock. All protocol work happens in timer
 * and packet callbacks; nothing blocks.
 */
export class GossipAgent implements MetricsSource {
  readonly name: string;
  readonly region: string;
  readonly config: Readonly<ProtocolConfig>;
  readonly stats: GossipStats;

  readonly #s: AgentState;
  readonly #gossipConfig: GossipConfig;
  readonly #suspicions: SuspicionTimers;
  readonly #broadcasts: Broadcasts;
  readonly #members: MemberStateMachine;
  readonly #prober: Prober;
  readonly #health: HealthRecords;
  readonly #pushPull: PushPull;
  readonly #onPacket: PacketHandler;

  constructor(opts: GossipAgentOptions) {
    const init = resolveAgentOptions(opts);
    this.name = init.name;
    this.region = init.region;
    this.config = init.config;
    this.#gossipConfig = opts.config;
    const s = new AgentState(init);
    this.#s = s;
    this.stats = s.stats;
    this.#suspicions = new SuspicionTimers(s);
    this.#broadcasts = new Broadcasts(s);
    this.#members = new MemberStateMachine(s, this.#broadcasts, this.#suspicions);
    this.#prober = new Prober(s, this.#broadcasts, this.#members);
    this.#health = new HealthRecords(s, this.#broadcasts);
    this.#pushPull = new PushPull(s, this.#members, this.#health);
    this.#onPacket = packetDispatcher(s, this.#prober, this.#members, this.#health);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Binds the transport, announces this member and starts probing, gossip and push-pull. */
  async start(): Promise<void> {
    const s = this.#s;
    if (s.closed) throw new GossipStateError('agent is closed');
    if (s.started) return;
    if (!s.transport) {
      const { NetTransport } = await import('./net-transport.ts');
      const cfg = this.#gossipConfig;
      s.transport = new NetTransport({
        bind: cfg.bind,
        advertise: cfg.advertise,
        maxPacket: this.config.UDPBufferSize,
        streamTimeout: this.config.TCPTimeout,
        maxConnections: cfg.maxConnections,
        maxConnectionsPerClient: cfg.maxConnectionsPerClient,
        onRefused: (reason) => {
          if (reason === 'deadline') s.stats.streamsTimedOut++;
          else if (reason !== 'frame') s.stats.streamsRefused++;
        },
        logger: s.log,
      });
    }
    await s.transport.start(this.#onPacket, this.#pushPull.onStream, envelopeGate(s.envelope, (e) => s.countInputError(e)));
    this.#begin();
  }

  #begin(): void {
    const s = this.#s;
    s.address = s.transport!.address;
    s.started = true;
    registerMetricsSource(this);
    this.#members.aliveNode({ type: 'alive', incarnation: s.nextIncarnation(), node: this.name, addr: s.address, region: this.region }, true);
    // Each mechanism's timer starts at a random phase, in this order (the rng draws are part of the simulation's determinism).
    this.#prober.start();
    this.#broadcasts.start();
    this.#pushPull.start();
  }

  /** The address other members reach this one at (after start). */
  get address(): string {
    return this.#s.address;
  }

  get incarnation(): number {
    return this.#s.table.get(this.name)?.incarnation ?? 0;
  }

  get started(): boolean {
    return this.#s.started && !this.#s.closed;
  }

  /**
   * Contacts each seed with a push-pull (join) exchange; resolves with how many
   * answered. Rejects with GossipJoinError when seeds were given and none did.
   */
  join(seeds: readonly string[]): Promise<number> {
    if (!this.#s.started || this.#s.closed) return Promise.reject(new GossipStateError('join() needs a started agent'));
    return this.#pushPull.join(seeds);
  }

  /** Publishes this gateway's region self-health: broadcast now, and in every push-pull. */
  setLocalHealth(h: RegionSelfHealth): void {
    if (this.#s.closed) return;
    this.#health.setLocal(h);
  }

  /**
   * Installs a new key list (config reload during a key rotation): the first
   * encrypts, all decrypt. Encryption can't be switched on or off while running.
   */
  setKeys(keys: readonly string[]): void {
    if (!this.#s.keyring) throw new GossipStateError('gossip runs without encryption: adding keys needs a restart');
    this.#s.keyring.setKeys(keys);
  }

  /**
   * Graceful leave: broadcasts that this member left (others mark it `left`,
   * not `dead`) and waits until the message went out or `timeoutMs` passed.
   * Keeps answering pings until close().
   */
  async leave(timeoutMs = 5000): Promise<void> {
    const s = this.#s;
    if (!s.started || s.closed || s.leaving) return;
    s.leaving = true;
    const me = s.table.get(this.name)!;
    let anyAlive = false;
    for (const m of s.table.values()) if (m.name !== this.name && (m.state === 'alive' || m.state === 'suspect')) anyAlive = true;
    await new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        s.clearTimer(timer);
        resolve();
      };
      const timer = s.setTimer(finish, anyAlive ? timeoutMs : 0);
      this.#members.deadNode({ type: 'dead', incarnation: me.incarnation, node: this.name, from: this.name }, finish);
      if (!anyAlive) finish();
    });
  }

  /** Stops everything without telling anyone (a crash, as far as the others can tell). */
  async close(): Promise<void> {
    const s = this.#s;
    if (s.closed) return;
    s.closed = true;
    this.#prober.stop();
    this.#pushPull.stop();
    s.clearTimers();
    this.#suspicions.stopAll();
    this.#broadcasts.stop();
    if (s.started) retireMetricsSource(this);
    await s.transport?.close();
  }

  // ------------------------------------------------------------------ queries

  on(event: 'change', listener: (e: GossipEvent) => void): () => void {
    if (event !== 'change') throw new GossipStateError(`unknown event ${String(event)}`);
    return this.#s.events.listen(listener);
  }

  members(): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.#s.table.values()) out.push(this.#s.events.view(m));
    return out;
  }

  member(name: string): MemberView | undefined {
    const m = this.#s.table.get(name);
    return m ? this.#s.events.view(m) : undefined;
  }

  healthOf(name: string): HealthRecord | undefined {
    return this.#s.health.get(name);
  }

  /** Members in the probe rotation (memberlist's estimate of the cluster size). */
  get numMembers(): number {
    return this.#s.table.listed;
  }

  awarenessScore(): number {
    return this.#s.awareness.score;
  }

  memberCounts(): Record<'alive' | 'suspect' | 'dead' | 'left', number> {
    const c = { alive: 0, suspect: 0, dead: 0, left: 0 };
    for (const m of this.#s.table.values()) c[m.state]++;
    return c;
  }

  /** Pending broadcasts in the membership and health queues. */
  queueDepth(): { membership: number; health: number } {
    return this.#broadcasts.depth();
  }

  /** @internal Simulation hooks; not part of the public API. */
  [internals](): { beginSync(): void; addMembers(members: readonly { name: string; addr: string; region: string; incarnation?: number }[]): void } {
    const s = this.#s;
    return {
      beginSync: () => {
        if (s.started) return;
        const t = s.transport as { startSync?: (p: unknown, st: unknown) => void } | undefined;
        if (!t?.startSync) throw new GossipStateError('beginSync needs a transport with startSync (MemoryTransport)');
        t.startSync(this.#onPacket, this.#pushPull.onStream);
        this.#begin();
      },
      addMembers: (members) => {
        const now = s.clock.now();
        for (const m of members) {
          if (s.table.get(m.name)) continue;
          s.table.add({ name: m.name, addr: m.addr, region: m.region, incarnation: m.incarnation ?? 1, state: 'alive', stateChange: now, lastHeard: -1, listed: true });
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
