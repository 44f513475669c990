import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import type { EndpointTable } from '../health/endpoint-table.ts';
import type { Endpoint, HealthReport } from '../health/types.ts';
import type { RegionStatus, RegionView } from '../dns/region-view.ts';
import { DnsServer } from '../dns/server.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { MetricJson } from '../metrics/fast.ts';
import { registry, setMetricsView } from '../metrics/registry.ts';
import { WorkerPool } from './control.ts';
import type { TargetState, WorkerAddresses } from './messages.ts';
import { replayOutcomes } from './outcomes.ts';

export interface ClusterDataPlaneOptions {
  workers: number;
  logger: Logger;
  baseDir: string;
  /** The control process's health table: the one place health checks and outlier detection run. */
  endpoints: EndpointTable;
  regionView: RegionView;
  rng: Rng;
  clock: Clock;
}

/**
 * The control process's side of a multi-worker gateway. It stands where the
 * listeners, proxy and DNS server stand in a single process:
 *
 * - apply(): the health table takes the new clusters first (it validates
 *   them), then every worker gets the snapshot with the resulting endpoint
 *   sets; a worker that refuses it rolls the whole change back.
 * - endpoint state: every change of the health table (checks, ejections,
 *   discovery) is sent to the workers, coalesced per tick; endpoints that left
 *   a cluster are sent so worker pools drain.
 * - outcomes: workers' batches are replayed, in order, into the health table,
 *   so outlier detection counts the whole gateway's traffic (ejection is per
 *   cluster, not per worker).
 * - metrics: the process registry's view is replaced by the sum over the
 *   workers and this process (prom-client's AggregatorRegistry), so /metrics,
 *   release gates and the dashboard see every worker's requests.
 */
export class ClusterDataPlane {
  readonly pool: WorkerPool;
  readonly #endpoints: EndpointTable;
  readonly #regionView: RegionView;
  readonly #log: Logger;
  /** Every endpoint the health table handed out, by cluster and address, until it leaves its cluster. */
  #index = new Map<string, Map<string, Endpoint>>();
  #changed = new Set<string>();
  #flushScheduled = false;
  #regionNames: string[] = [];
  #unsubscribe: (() => void)[] = [];
  #aggregate: Promise<Registry> | null = null;
  /**
   * The DNS zones compiled here too but never bound: a bad `dns` section is
   * refused before any worker sees it, and /v1/fleet and the dashboard read
   * the GTM weights the workers answer with from it.
   */
  #dnsView: DnsServer | null = null;
  #dnsViewConfig: Config['dns'] | undefined;
  readonly #dnsDeps: { rng: Rng; clock: Clock; baseDir: string };

  constructor(options: ClusterDataPlaneOptions) {
    this.#endpoints = options.endpoints;
    this.#regionView = options.regionView;
    this.#log = options.logger;
    this.#dnsDeps = { rng: options.rng, clock: options.clock, baseDir: options.baseDir };
    this.pool = new WorkerPool({
      count: options.workers,
      logger: options.logger,
      baseDir: options.baseDir,
      onOutcomes: (batch) => this.#replay(batch),
      currentTargets: () => this.#targets([...this.#index.keys()]),
      currentRegions: () => this.#regions(),
    });
    this.#unsubscribe.push(
      this.#endpoints.onChange((cluster) => this.#markChanged(cluster)),
      this.#endpoints.onRemoved((eps) => this.#onRemoved(eps)),
      this.#regionView.onChange(() => this.pool.regions(this.#regions())),
    );
    setMetricsView(() => this.#aggregated());
  }

  /** Applies a config: health first (it validates), then the workers; on a refusal the health table goes back to `previous`. */
  async apply(config: Config, version: number, previous: Config | null): Promise<void> {
    if (this.pool.started && previous?.workers !== config.workers) {
      this.#log.warn({ from: previous?.workers, to: config.workers }, 'workers: a new worker count applies on restart');
    }
    const dnsUndo = this.#applyDnsView(config);
    try {
      this.#endpoints.update(config.clusters);
    } catch (err) {
      dnsUndo();
      throw err;
    }
    this.#regionNames = regionNames(config);
    const names = config.clusters.map((c) => c.name);
    for (const n of names) this.#index.set(n, this.#index.get(n) ?? new Map());
    const targets = this.#targets(names);
    try {
      if (!this.pool.started) await this.pool.start({ version, config });
      else await this.pool.apply({ version, config }, targets);
    } catch (err) {
      if (previous) this.#endpoints.update(previous.clusters);
      dnsUndo();
      throw err;
    }
    for (const n of [...this.#index.keys()]) if (!names.includes(n)) this.#index.delete(n);
  }

  /**
   * The health table's report with what only the workers know: circuit-breaker
   * counters and overflows, and requests in flight per endpoint, summed over
   * workers (as of their last stats, sent every second while they change).
   * Limits stay the configured, gateway-wide ones.
   */
  healthReport(report: HealthReport): HealthReport {
    const all = this.pool.stats();
    const breakers = new Map<string, Map<string, { current: number; overflows: number }>>();
    const inFlight = new Map<string, number>();
    for (const st of all) {
      for (const [cluster, snap] of st.breakers) {
        const byLimit = breakers.get(cluster) ?? new Map();
        breakers.set(cluster, byLimit);
        for (const [limit, v] of Object.entries(snap)) {
          const sum = byLimit.get(limit) ?? { current: 0, overflows: 0 };
          sum.current += v.current;
          sum.overflows += v.overflows;
          byLimit.set(limit, sum);
        }
      }
      for (const [cluster, address, n] of st.inFlight) inFlight.set(`${cluster}|${address}`, (inFlight.get(`${cluster}|${address}`) ?? 0) + n);
    }
    for (const c of report.clusters) {
      const sums = breakers.get(c.name);
      for (const limit of Object.keys(c.circuitBreaker) as (keyof typeof c.circuitBreaker)[]) {
        const sum = sums?.get(limit);
        c.circuitBreaker[limit] = { ...c.circuitBreaker[limit], current: sum?.current ?? 0, overflows: sum?.overflows ?? 0 };
      }
      for (const ep of c.endpoints) ep.inFlight = inFlight.get(`${c.name}|${ep.address}`) ?? 0;
    }
    return report;
  }

  /** GTM weights as the workers' DNS responders compute them, or null without `dns`. */
  gtmWeights(): ReturnType<DnsServer['gtmWeights']> | null {
    return this.#dnsView?.gtmWeights() ?? null;
  }

  /** Compiles `dns` (throws ConfigError on a bad section); returns the undo. */
  #applyDnsView(config: Config): () => void {
    const current = this.#dnsView;
    if (!config.dns) {
      this.#dnsView = null;
      return () => (this.#dnsView = current);
    }
    if (current) {
      const previousConfig = this.#dnsViewConfig;
      current.update(config.dns);
      this.#dnsViewConfig = config.dns;
      return () => {
        if (previousConfig) current.update(previousConfig);
        this.#dnsViewConfig = previousConfig;
      };
    }
    this.#dnsView = new DnsServer({ config: config.dns, regionView: this.#regionView, rng: this.#dnsDeps.rng, clock: this.#dnsDeps.clock, logger: this.#log.child({ component: 'dns' }), baseDir: this.#dnsDeps.baseDir, nodeRegion: config.node.region });
    this.#dnsViewConfig = config.dns;
    return () => {
      void this.#dnsView?.close();
      this.#dnsView = null;
    };
  }

  addresses(): WorkerAddresses & { workers: ReturnType<WorkerPool['addresses']>['workers'] } {
    return this.pool.addresses();
  }

  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    return this.pool.drain(timeoutMs);
  }

  async close(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    setMetricsView(null);
    await this.#dnsView?.close();
    this.#dnsView = null;
    await this.pool.close();
  }

  // ---- endpoint state to the workers ----

  #markChanged(cluster: string): void {
    this.#changed.add(cluster);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Coalesced: a config change or a discovery update touches many clusters in one tick.
    setImmediate(() => {
      this.#flushScheduled = false;
      const names = [...this.#changed];
      this.#changed.clear();
      if (this.pool.started) this.pool.setTargets(this.#targets(names));
    });
  }

  #targets(names: readonly string[]): TargetState[] {
    return names.map((name) => {
      const t = this.#endpoints.cluster(name);
      if (!t) return { name, available: false, panic: false, endpoints: [] };
      let byAddress = this.#index.get(name);
      if (!byAddress) this.#index.set(name, (byAddress = new Map()));
      for (const ep of t.endpoints) byAddress.set(ep.address, ep);
      return { name, available: t.available, panic: t.panic, endpoints: t.endpoints.map((e) => e.address) };
    });
  }

  #onRemoved(endpoints: readonly Endpoint[]): void {
    for (const ep of endpoints) this.#index.get(ep.cluster)?.delete(ep.address);
    this.pool.removed(endpoints.map((e) => [e.cluster, e.address] as [string, string]));
  }

  /** Worker outcomes into the health table, in the order each worker saw them. */
  #replay(batch: [string, string, number[]][]): void {
    for (const [cluster, address, runs] of batch) {
      const ep = this.#index.get(cluster)?.get(address);
      if (!ep) continue; // left its cluster since: nothing to detect any more
      replayOutcomes(runs, (outcome) => this.#endpoints.report(ep, outcome, 0));
    }
  }

  #regions(): [string, RegionStatus][] {
    const out: [string, RegionStatus][] = [];
    for (const name of this.#regionNames) {
      const s = this.#regionView.get(name);
      if (s) out.push([name, s]);
    }
    return out;
  }

  // ---- metrics ----

  /** The sum over workers and this process; readers that ask while one is being computed share it. */
  #aggregated(): Promise<Registry> {
    if (this.#aggregate) return this.#aggregate;
    const promise = (async () => {
      const own = (await registry.getMetricsAsJSON()) as unknown as MetricJson[];
      const workers = await this.pool.metrics();
      return AggregatorRegistry.aggregate([own, ...workers] as never) as Registry;
    })();
    this.#aggregate = promise;
    const clear = () => {
      if (this.#aggregate === promise) this.#aggregate = null;
    };
    promise.then(clear, clear);
    return promise;
  }
}

/** Every region the config's GTM names refer to (and this node's): the ones workers need the status of. */
function regionNames(config: Config): string[] {
  const names = new Set<string>([config.node.region]);
  for (const zone of config.dns?.zones ?? []) {
    for (const name of (zone as { gtm?: { regions?: { region: string }[] }[] }).gtm ?? []) {
      for (const r of name.regions ?? []) names.add(r.region);
    }
  }
  return [...names];
}
