import type { EtcdConfigStore } from '../control/etcd-store.ts';
import { LeaderElection, type LeaderInfo } from '../control/leader-election.ts';
import { FleetRequests } from '../control/fleet-requests.ts';
import { FleetTrafficPublisher } from '../control/fleet-traffic.ts';
import type { HealthReport } from '../health/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import { EtcdReleaseState } from './fleet-state.ts';
import { FleetTrafficSource, collectLocalTraffic } from './fleet-traffic-source.ts';

/** Keys under `<prefix>/releases/`. */
export const releaseKeys = (prefix: string) => ({ base: `${prefix}/releases`, leader: `${prefix}/releases/leader`, state: `${prefix}/releases/state` });

export interface ReleaseFleetOptions {
  store: EtcdConfigStore;
  nodeId: string;
  clock: Clock;
  logger: Logger;
  health: () => HealthReport;
}

/** GET /v1/status `releases`: who drives the fleet's releases. */
export interface DriverStatus {
  mode: 'fleet';
  /** True when this node is the driver. */
  driving: boolean;
  driver: (LeaderInfo & { self: boolean }) | null;
}

/**
 * What a release controller needs to run releases for a whole fleet on the
 * etcd store: the election of the one driver (leader-election.ts), the
 * fenced release state in etcd (fleet-state.ts), requests from the other
 * nodes (fleet-requests.ts), and the fleet's traffic counters — this node's
 * published under its lease, everyone's summed for the gates.
 */
export class ReleaseFleet {
  readonly election: LeaderElection;
  readonly state: EtcdReleaseState;
  readonly requests: FleetRequests;
  readonly traffic: FleetTrafficSource;
  readonly #publisher: FleetTrafficPublisher;
  readonly #nodeId: string;
  #unsubscribe: (() => void) | null = null;
  #active: () => boolean = () => false;

  constructor(o: ReleaseFleetOptions) {
    const s = o.store.settings;
    const keys = releaseKeys(s.prefix);
    const logger = o.logger.child({ component: 'release-fleet' });
    this.#nodeId = o.nodeId;
    this.election = new LeaderElection({ client: o.store.client, key: keys.leader, nodeId: o.nodeId, ttlMs: s.leaseTtlMs, clock: o.clock, logger });
    this.state = new EtcdReleaseState(o.store.client, keys.state, s.requestTimeoutMs, () => this.election.fence());
    // Long enough to outlast a takeover (the old driver's lease runs out, the next one polls) before answering 503.
    this.requests = new FleetRequests({ client: o.store.client, base: keys.base, nodeId: o.nodeId, clock: o.clock, logger, pollMs: 100, timeoutMs: Math.max(5000, 2 * s.leaseTtlMs + 3000) });
    this.traffic = new FleetTrafficSource(o.store.client, s.prefix, s.requestTimeoutMs);
    this.#publisher = new FleetTrafficPublisher({
      leased: o.store.leased,
      prefix: s.prefix,
      nodeId: o.nodeId,
      intervalMs: Math.min(1000, s.probeIntervalMs),
      clock: o.clock,
      logger,
      collect: () => collectLocalTraffic(o.health),
      version: () => o.store.current.version,
      active: () => this.#active(),
    });
    this.#unsubscribe = o.store.onApplied(() => void this.#publisher.publish());
  }

  /** Counters are published every interval only while `active()` (the controller: a release is running). */
  activeWhen(active: () => boolean): void {
    this.#active = active;
  }

  /** This node's id (recorded on each transition it drives). */
  get nodeId(): string {
    return this.#nodeId;
  }

  start(): void {
    this.#publisher.start();
    this.election.start();
  }

  status(): DriverStatus {
    const holder = this.election.holder;
    return { mode: 'fleet', driving: this.election.leading, driver: holder ? { ...holder, self: holder.id === this.#nodeId && this.election.leading } : null };
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#publisher.close();
    this.requests.close();
    await this.election.close();
  }
}
