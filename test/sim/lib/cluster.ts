import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng, type Rng } from '../../../src/util/rng.ts';
import { GossipAgent, simStart, type GossipEvent } from '../../../src/gossip/agent.ts';
import type { ProfileName, ProtocolConfig } from '../../../src/gossip/config.ts';
import { MemoryNetwork, type LinkConditions } from '../../../src/gossip/memory-transport.ts';

export interface SimOptions extends LinkConditions {
  n: number;
  seed: number;
  profile?: ProfileName;
  protocol?: Partial<ProtocolConfig>;
  /** Regions assigned round-robin; default one region "r0". */
  regions?: string[];
  keys?: string[];
  /** Per-member keyrings (overrides `keys`), for rotation experiments. */
  keyring?: (i: number) => string[];
}

/**
 * n GossipAgents over a MemoryNetwork on one ManualClock. Members start with
 * the full member table (no join traffic), each at a random phase.
 */
export class SimCluster {
  readonly clock = new ManualClock(0);
  readonly rng: Rng;
  readonly net: MemoryNetwork;
  readonly agents: GossipAgent[] = [];
  readonly addrs: string[] = [];
  readonly names: string[] = [];
  readonly opts: SimOptions;
  readonly roster: { name: string; addr: string; region: string }[] = [];
  readonly #listeners = new Set<(observer: number, e: GossipEvent) => void>();

  constructor(opts: SimOptions) {
    this.opts = opts;
    this.rng = seededRng(opts.seed);
    this.net = new MemoryNetwork({ clock: this.clock, rng: seededRng(opts.seed ^ 0x5eed), loss: opts.loss ?? 0, latency: opts.latency ?? 1, jitter: opts.jitter ?? 0 });
    const regions = opts.regions ?? ['r0'];
    const roster = this.roster;
    for (let i = 0; i < opts.n; i++) {
      const name = `n${i}`;
      const addr = `${name}:7946`;
      this.names.push(name);
      this.addrs.push(addr);
      roster.push({ name, addr, region: regions[i % regions.length]! });
    }
    for (let i = 0; i < opts.n; i++) {
      const agent = this.makeAgent(i, roster[i]!.region);
      simStart(agent, roster);
      this.agents.push(agent);
      this.#attach(i);
    }
  }

  #attach(i: number): void {
    this.agents[i]!.on('change', (e) => {
      for (const l of this.#listeners) l(i, e);
    });
  }

  makeAgent(i: number, region: string): GossipAgent {
    return new GossipAgent({
      config: { bind: '127.0.0.1:7946', profile: this.opts.profile ?? 'lan', label: 'sim', ...(this.opts.keyring ? { keys: this.opts.keyring(i) } : this.opts.keys ? { keys: this.opts.keys } : {}) },
      nodeId: this.names[i]!,
      region,
      clock: this.clock,
      rng: seededRng((this.opts.seed * 7919 + i * 104729) >>> 0),
      transport: this.net.transport(this.addrs[i]!),
      ...(this.opts.protocol ? { protocol: this.opts.protocol } : {}),
    });
  }

  run(ms: number): void {
    this.clock.advance(ms);
  }

  /** Subscribes to every agent's change events (restarted agents included). */
  onEvent(fn: (observer: number, e: GossipEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Stops agent i without a word (crash). */
  crash(i: number): void {
    void this.agents[i]!.close();
  }

  /**
   * Starts a fresh process for member i (same name and address, incarnation 1).
   * With 'join' it joins through member `seed` with a real push-pull exchange,
   * as a restarted gateway does (and, as memberlist does, re-broadcasts every
   * member it learns). With 'copy' its table is copied from `seed`'s view
   * without that burst, which keeps long experiments with many restarts cheap.
   */
  restart(i: number, seed: number, how: 'join' | 'copy' = 'join'): GossipAgent {
    void this.agents[i]!.close();
    const agent = this.makeAgent(i, this.roster[i]!.region);
    if (how === 'copy') {
      const known = this.agents[seed]!.members().filter((m) => m.name !== this.names[i] && (m.state === 'alive' || m.state === 'suspect'));
      simStart(agent, known.map((m) => ({ name: m.name, addr: m.addr, region: m.region, incarnation: m.incarnation })));
    } else simStart(agent);
    this.agents[i] = agent;
    this.#attach(i);
    if (how === 'join') agent.join([this.addrs[seed]!]).catch(() => {});
    return agent;
  }

  /** Adds `count` new members that join through random existing members (real push-pull joins). */
  spawn(count: number, region = 'r0'): number[] {
    const first = this.agents.length;
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const i = first + k;
      const name = `n${i}`;
      const addr = `${name}:7946`;
      this.names.push(name);
      this.addrs.push(addr);
      this.roster.push({ name, addr, region });
      const agent = this.makeAgent(i, region);
      simStart(agent);
      this.agents.push(agent);
      this.#attach(i);
      const seed = Math.floor(this.rng.next() * first);
      agent.join([this.addrs[seed]!]).catch(() => {});
      out.push(i);
    }
    return out;
  }

  /** Per-state counts of member i as seen by every live agent. */
  viewsOf(i: number, live: (j: number) => boolean = () => true): Record<string, number> {
    const out: Record<string, number> = {};
    const name = this.names[i]!;
    this.agents.forEach((a, j) => {
      if (j === i || !live(j)) return;
      const s = a.member(name)?.state ?? 'unknown';
      out[s] = (out[s] ?? 0) + 1;
    });
    return out;
  }
}
