import type { RegionState, RegionStatus, RegionView } from '../dns/region-view.ts';
import type { GossipAgent, GossipEvent, MemberView } from './agent.ts';

export interface RegionAggregatorOptions {
  /**
   * Regions to report even before any of their gateways is heard of (the GTM
   * regions of the config), so they show as `unknown` rather than missing.
   */
  regions?: readonly string[];
  /**
   * Health reported for an `unknown` region (no report yet). Default 1: fail
   * open, see docs/gossip.md "Region aggregation".
   */
  unknownHealth?: number;
}

export interface RegionSummary {
  region: string;
  state: RegionState;
  /** 0..1, scales the region's configured GTM weight. */
  health: number;
  /** Mean per-GTM-name healthy share over the reporting gateways. */
  names: Record<string, number>;
  gateways: { total: number; alive: number; suspect: number; dead: number; left: number; reporting: number };
}

/**
 * Turns the member table and the health records into one status per region,
 * for the DNS responder (RegionView) and GET /v1/fleet:
 *
 * - live gateways are those alive or suspect (a suspect is presumed alive
 *   until the suspicion times out, as in SWIM);
 * - no gateway of the region ever heard of, or live ones but none has
 *   reported health yet: `unknown`, health `unknownHealth` (1);
 * - gateways known but none live (all dead or left): `down`, health 0;
 * - otherwise over the live gateways that reported: health = mean of their
 *   `healthy` share; state `down` when every one says down, `up` when every
 *   one says up, else `degraded`.
 *
 * Dead and left gateways are remembered for the agent's TombstoneTimeout, so a
 * region that went dark stays down instead of sliding back to unknown.
 */
export class RegionAggregator implements RegionView {
  readonly #agent: GossipAgent;
  readonly #unknownHealth: number;
  readonly #listeners = new Set<() => void>();
  readonly #byRegion = new Map<string, Set<string>>();
  readonly #regionOf = new Map<string, string>();
  readonly #status = new Map<string, RegionSummary>();
  readonly #off: () => void;

  constructor(agent: GossipAgent, opts: RegionAggregatorOptions = {}) {
    this.#agent = agent;
    const u = opts.unknownHealth ?? 1;
    this.#unknownHealth = Number.isFinite(u) ? Math.min(1, Math.max(0, u)) : 1;
    for (const r of opts.regions ?? []) this.#byRegion.set(r, new Set());
    this.#byRegion.set(agent.region, this.#byRegion.get(agent.region) ?? new Set());
    for (const m of agent.members()) this.#index(m.name, m.region);
    for (const r of this.#byRegion.keys()) this.#status.set(r, this.#compute(r));
    this.#off = agent.on('change', (e) => this.#onEvent(e));
  }

  get(region: string): RegionStatus | undefined {
    const s = this.#status.get(region);
    return s ? { state: s.state, health: s.health } : undefined;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every known region, sorted by name. */
  regions(): RegionSummary[] {
    return [...this.#status.values()].map((s) => ({ ...s, names: { ...s.names }, gateways: { ...s.gateways } })).sort((a, b) => (a.region < b.region ? -1 : 1));
  }

  close(): void {
    this.#off();
    this.#listeners.clear();
  }

  #index(name: string, region: string): string | undefined {
    const prev = this.#regionOf.get(name);
    if (prev === region) return undefined;
    if (prev !== undefined) this.#byRegion.get(prev)?.delete(name);
    this.#regionOf.set(name, region);
    let set = this.#byRegion.get(region);
    if (!set) {
      set = new Set();
      this.#byRegion.set(region, set);
    }
    set.add(name);
    return prev;
  }

  #onEvent(e: GossipEvent): void {
    const touched = new Set<string>();
    if (e.kind === 'member') {
      const prev = this.#index(e.member.name, e.member.region);
      if (prev !== undefined) touched.add(prev);
      touched.add(e.member.region);
    } else {
      const m = this.#agent.member(e.node);
      const region = m?.region ?? e.region;
      if (!m) return; // health from a member we don't know yet: counts once it is known
      this.#index(e.node, region);
      touched.add(region);
    }
    let changed = false;
    for (const r of touched) {
      const next = this.#compute(r);
      const cur = this.#status.get(r);
      this.#status.set(r, next);
      if (!cur || cur.state !== next.state || cur.health !== next.health) changed = true;
    }
    if (!changed) return;
    for (const l of this.#listeners) {
      try {
        l();
      } catch {
        // a listener's failure must not stop the others
      }
    }
  }

  #compute(region: string): RegionSummary {
    const members: MemberView[] = [];
    for (const name of this.#byRegion.get(region) ?? []) {
      const m = this.#agent.member(name);
      if (m && m.region === region) members.push(m);
    }
    const g = { total: members.length, alive: 0, suspect: 0, dead: 0, left: 0, reporting: 0 };
    let sum = 0;
    let ups = 0;
    let downs = 0;
    const nameSums = new Map<string, { sum: number; n: number }>();
    for (const m of members) {
      g[m.state]++;
      if ((m.state !== 'alive' && m.state !== 'suspect') || !m.health) continue;
      g.reporting++;
      sum += m.health.healthy;
      if (m.health.state === 'up') ups++;
      if (m.health.state === 'down') downs++;
      for (const [n, v] of Object.entries(m.health.names)) {
        const s = nameSums.get(n) ?? { sum: 0, n: 0 };
        s.sum += v;
        s.n++;
        nameSums.set(n, s);
      }
    }
    const names: Record<string, number> = {};
    for (const [n, s] of nameSums) names[n] = round(s.sum / s.n);
    let state: RegionState;
    let health: number;
    if (g.total === 0) {
      state = 'unknown';
      health = this.#unknownHealth;
    } else if (g.alive + g.suspect === 0) {
      state = 'down';
      health = 0;
    } else if (g.reporting === 0) {
      state = 'unknown';
      health = this.#unknownHealth;
    } else {
      health = round(sum / g.reporting);
      state = downs === g.reporting ? 'down' : ups === g.reporting ? 'up' : 'degraded';
      if (state === 'down') health = 0;
    }
    return { region, state, health, names, gateways: g };
  }
}

function round(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}
