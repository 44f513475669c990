import { randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';
import type { LeasedKeys } from './leased-keys.ts';

/** One route × cluster's cumulative counters on one node. `buckets`: `[le seconds (null = +Inf), cumulative count]`. */
export interface PublishedCounters {
  requests: number;
  errors: number;
  buckets: [number | null, number][];
}

/**
 * What each node publishes under `<prefix>/traffic/<node id>`, on its lease:
 * the counters the release gates read, for every route and cluster it has
 * served, and its outlier ejections, plus the config version it serves (so the
 * driver opens a step's window only once every live node serves that step).
 * `boot` changes when the process restarts: its counters started again at 0.
 */
export interface NodeTraffic {
  node: string;
  boot: string;
  version: number;
  routes: Record<string, Record<string, PublishedCounters>>;
  /** Upstream attempts that failed locally, by cluster (all routes). */
  localFailures: Record<string, number>;
  /** Times each endpoint was ejected, by cluster and address. */
  ejections: Record<string, Record<string, number>>;
}

export const trafficPrefix = (prefix: string) => `${prefix}/traffic/`;

export interface FleetTrafficPublisherOptions {
  leased: LeasedKeys;
  prefix: string;
  nodeId: string;
  intervalMs: number;
  clock: Clock;
  logger: Logger;
  /** This node's counters now (the metrics registry and the health table). */
  collect: () => Promise<Omit<NodeTraffic, 'node' | 'boot' | 'version'>>;
  /** The config version this node serves. */
  version: () => number;
  /** Whether counters are wanted now (a release is running); when not, they are published only when a version is applied. */
  active: () => boolean;
}

/**
 * Publishes this node's counters every interval while a release runs (only
 * when they changed) and at once when asked (a new config version applied,
 * so a step's window opens on counters taken after the node serves it).
 * Idle, it writes nothing: a put per node per second would grow etcd's
 * history for no reader. The counters live on the node's lease: a dead
 * node's counters vanish with it, and the driver's sum is over live nodes only.
 */
export class FleetTrafficPublisher {
  readonly #o: FleetTrafficPublisherOptions;
  readonly #boot = randomUUID();
  #timer: TimerHandle | undefined;
  #closed = false;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(o: FleetTrafficPublisherOptions) {
    this.#o = o;
  }

  /** Publishes once now (so the driver sees this node's counters before any window), then every interval while active. */
  start(): void {
    void this.publish().finally(() => this.#schedule(this.#o.intervalMs));
  }

  /** Publishes now; while one is in flight (possibly read before a version was applied), once more after it. */
  publish(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#publish().finally(() => {
      this.#running = null;
      if (this.#again) {
        this.#again = false;
        void this.publish();
      }
    });
    return this.#running;
  }

  async #publish(): Promise<void> {
    try {
      const t: NodeTraffic = { node: this.#o.nodeId, boot: this.#boot, version: this.#o.version(), ...(await this.#o.collect()) };
      this.#o.leased.set(`${trafficPrefix(this.#o.prefix)}${this.#o.nodeId}`, JSON.stringify(t));
      await this.#o.leased.flush();
    } catch (err) {
      this.#o.logger.debug({ err: (err as Error).message }, 'cannot publish release traffic counters');
    }
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      void (this.#o.active() ? this.publish() : Promise.resolve()).finally(() => this.#schedule(this.#o.intervalMs));
    }, ms);
  }

  close(): void {
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#timer);
  }
}

/** Every live node's published counters (unreadable entries skipped). */
export async function readFleetTraffic(client: Etcd3, prefix: string, timeoutMs: number): Promise<NodeTraffic[]> {
  const res = await client.getAll().prefix(trafficPrefix(prefix)).options({ deadline: Date.now() + timeoutMs }).exec();
  const out: NodeTraffic[] = [];
  for (const kv of res.kvs) {
    try {
      const v = JSON.parse(kv.value.toString()) as NodeTraffic;
      if (typeof v.node === 'string' && typeof v.boot === 'string' && typeof v.routes === 'object') out.push(v);
    } catch {
      /* not ours */
    }
  }
  return out;
}
