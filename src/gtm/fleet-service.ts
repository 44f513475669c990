import type { Config } from '../config/schema/index.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { silentLogger } from '../util/logger.ts';
import { RegionHealthMonitor } from '../health/region-health-monitor.ts';
import type { ClusterCounts, RegionHealthConfig, RegionSelfHealth } from '../health/region-health.ts';
import { GossipAgent } from './agent.ts';
import { RegionAggregator } from './aggregator.ts';
import { fleetView, type FleetView } from './fleet.ts';
import { GOSSIP_DEFAULTS } from './options.ts';

export interface FleetOptions {
  /** The config at start: node id and region, `gossip`, and the GTM regions of `dns`. */
  config: Config;
  /** The endpoint table, whose health becomes this gateway's region self-health. */
  table: ClusterCounts & { onChange(listener: (cluster: string) => void): () => void };
  /** The config in force (routes and GTM names change with reloads). */
  currentConfig: () => RegionHealthConfig;
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
}

/** Longest pause between join attempts while no seed answers. */
const MAX_JOIN_BACKOFF = 30_000;
/** Region self-health is recomputed at least this often (route or GTM changes without endpoint changes). */
const HEALTH_REFRESH = 5000;

/**
 * What a gateway runs when `gossip:` is configured: the agent, this gateway's
 * region self-health fed into it, joining the seeds (retried with backoff
 * until one answers), and the region aggregator the DNS server reads.
 * Gossip settings take effect at start; changing them needs a restart.
 */
export class Fleet {
  readonly agent: GossipAgent;
  readonly aggregator: RegionAggregator;
  readonly #monitor: RegionHealthMonitor;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #seeds: string[];
  #config: Config;
  #joinTimer: TimerHandle | undefined;
  #refreshTimer: TimerHandle | undefined;
  #joined = false;
  #closed = false;

  private constructor(opts: FleetOptions) {
    const gossip = opts.config.gossip;
    if (!gossip) throw new Error('Fleet needs a gossip section');
    this.#clock = opts.clock ?? systemClock;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'fleet' });
    this.#seeds = gossip.seeds ?? [];
    this.#config = opts.config;
    this.agent = new GossipAgent({
      config: gossip,
      nodeId: opts.config.node.id,
      region: opts.config.node.region,
      clock: this.#clock,
      ...(opts.rng ? { rng: opts.rng } : {}),
      logger: opts.logger ?? silentLogger,
    });
    const regions = new Set<string>();
    for (const z of opts.config.dns?.zones ?? []) for (const g of z.gtm ?? []) for (const r of g.regions) regions.add(r.region);
    this.aggregator = new RegionAggregator(this.agent, { regions: [...regions] });
    this.#monitor = new RegionHealthMonitor({ table: opts.table, config: opts.currentConfig, clock: this.#clock, onChange: (h) => this.#publishHealth(h) });
  }

  #lastHealth: RegionSelfHealth | undefined;
  #keysets: Record<string, string> | undefined;

  #publishHealth(h: RegionSelfHealth): void {
    this.#lastHealth = h;
    this.agent.setLocalHealth(this.#keysets ? { ...h, keysets: this.#keysets } : h);
  }

  /** Gossips the DNSKEY-set fingerprint of every zone this gateway serves (zone -> fingerprint), so peers can compare theirs. */
  setDnssecKeysets(keysets: Record<string, string>): void {
    const next = Object.keys(keysets).length > 0 ? keysets : undefined;
    if (JSON.stringify(next) === JSON.stringify(this.#keysets)) return;
    this.#keysets = next;
    if (this.#lastHealth && !this.#closed) this.#publishHealth(this.#lastHealth);
  }

  /** Binds, publishes this gateway's health and starts joining the seeds in the background. */
  static async start(opts: FleetOptions): Promise<Fleet> {
    const fleet = new Fleet(opts);
    await fleet.agent.start();
    fleet.#monitor.start();
    fleet.#scheduleRefresh();
    fleet.#log.info({ address: fleet.agent.address, seeds: fleet.#seeds.length, profile: opts.config.gossip?.profile ?? GOSSIP_DEFAULTS.profile, encrypted: (opts.config.gossip?.keys ?? []).length > 0 }, 'gossip started');
    fleet.#join(1000);
    return fleet;
  }

  get joined(): boolean {
    return this.#joined;
  }

  view(): FleetView {
    return fleetView(this.agent, this.aggregator);
  }

  /**
   * A reloaded config: new keys apply at once (key rotation without a
   * restart); other gossip changes are reported and wait for a restart.
   * Never throws.
   */
  reconfigure(config: Config): void {
    const next = config.gossip;
    const cur = this.#config.gossip!;
    if (!next) {
      this.#log.warn('gossip was removed from the config: it keeps running until restart');
      return;
    }
    const keys = next.keys ?? [];
    if (JSON.stringify(keys) !== JSON.stringify(cur.keys ?? [])) {
      if (keys.length > 0 && (cur.keys ?? []).length > 0) {
        try {
          this.agent.setKeys(keys);
          this.#log.info({ keys: keys.length }, 'gossip keyring replaced');
        } catch (err) {
          // Validated by the config checks already; never fail a reload over it.
          this.#log.error({ err: (err as Error).message }, 'gossip keyring not replaced');
          return;
        }
      } else this.#log.warn('turning gossip encryption on or off needs a restart');
    }
    const { keys: _a, seeds: _b, ...restNext } = next;
    const { keys: _c, seeds: _d, ...restCur } = cur;
    if (JSON.stringify(restNext) !== JSON.stringify(restCur)) this.#log.warn('gossip bind, advertise, profile and label changes need a restart');
    this.#config = { ...config, gossip: { ...cur, keys } };
  }

  #join(backoff: number): void {
    if (this.#closed || this.#seeds.length === 0) return;
    this.agent.join(this.#seeds).then(
      (contacted) => {
        this.#joined = true;
        this.#log.info({ contacted }, 'joined the fleet');
      },
      (err: Error) => {
        if (this.#closed) return;
        this.#log.warn({ err: err.message, retryInMs: backoff }, 'could not join the fleet yet');
        this.#joinTimer = this.#clock.setTimeout(() => this.#join(Math.min(MAX_JOIN_BACKOFF, backoff * 2)), backoff);
      },
    );
  }

  #scheduleRefresh(): void {
    this.#refreshTimer = this.#clock.setTimeout(() => {
      if (this.#closed) return;
      this.#monitor.refresh();
      this.#scheduleRefresh();
    }, HEALTH_REFRESH);
  }

  /** Leaves gracefully (others see `left`, not `dead`), then stops. */
  async close(leaveTimeoutMs = 2000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#joinTimer);
    this.#clock.clearTimeout(this.#refreshTimer);
    this.#monitor.stop();
    try {
      await this.agent.leave(leaveTimeoutMs);
    } finally {
      this.aggregator.close();
      await this.agent.close();
    }
  }
}
