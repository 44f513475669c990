import type { ClusterConfig } from '../config/schema/index.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { mathRng, type Rng } from '../util/rng.ts';
import { silentLogger, type Logger } from '../util/logger.ts';
import { createDiscoverySource } from '../discovery/index.ts';
import type { DiscoverySource } from '../discovery/types.ts';
import { ClusterHealth, type ProbeFactory } from './cluster-health.ts';
import { resolveClusterOptions } from './cluster-options.ts';
import type { TrackedEndpoint } from './endpoint-state.ts';
import type { ClusterBreaker, ClusterTarget, Endpoint, HealthDirectory, HealthReport, UpstreamOutcome } from './types.ts';

export interface EndpointTableOptions {
  clock?: Clock;
  rng?: Rng;
  logger?: Logger;
  /** Relative paths in the config (file discovery, CA bundles, kubeconfig) resolve against this; default the working directory. */
  baseDir?: string;
  /** How long a removed endpoint may stay `draining` in the report; default 30s. */
  drainTimeoutMs?: number;
  /** Replaces the discovery sources (tests). */
  createSource?: (cluster: ClusterConfig) => DiscoverySource;
  /** Replaces the HTTP/TCP probes (tests). */
  probeFactory?: ProbeFactory;
}

/**
 * The endpoint state table of every cluster: the one place that knows which
 * endpoints exist (discovery), which are healthy (active checks, outlier
 * detection), which are draining, and what the edge should balance across.
 *
 * The edge reads `cluster(name)` per request (a Map lookup returning a
 * precomputed object) and calls `report()` after each upstream attempt
 * (integer increments on the endpoint). Everything else happens on timers and
 * discovery events. Endpoint objects are kept across config changes while
 * their address stays, so in-flight counters and health survive a reload.
 */
export class EndpointTable implements HealthDirectory {
  #clusters = new Map<string, ClusterHealth>();
  #listeners = new Set<(cluster: string) => void>();
  #removedListeners = new Set<(endpoints: readonly Endpoint[]) => void>();
  #collecting: TrackedEndpoint[] | null = null;
  readonly #clock: Clock;
  readonly #rng: Rng;
  readonly #logger: Logger;
  readonly #baseDir: string;
  readonly #drainTimeoutMs: number;
  readonly #createSource: (cluster: ClusterConfig) => DiscoverySource;
  readonly #probeFactory: ProbeFactory | undefined;
  #closed = false;

  constructor(options: EndpointTableOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#rng = options.rng ?? mathRng;
    this.#logger = options.logger ?? silentLogger;
    this.#baseDir = options.baseDir ?? process.cwd();
    this.#drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#probeFactory = options.probeFactory;
    this.#createSource =
      options.createSource ?? ((c) => createDiscoverySource(c, { clock: this.#clock, rng: this.#rng, logger: this.#logger, baseDir: this.#baseDir }));
  }

  /**
   * Applies the clusters of a new config; returns the endpoints this call
   * removed (to drain; `onRemoved` hears about them too). Throws before
   * changing anything if a cluster's health options are invalid.
   */
  update(clusters: readonly ClusterConfig[]): Endpoint[] {
    // Resolve every cluster's options first: one invalid cluster changes nothing.
    const resolved = clusters.map((c) => resolveClusterOptions(c, this.#baseDir));
    const removed: TrackedEndpoint[] = [];
    this.#collecting = removed;
    try {
      const names = new Set<string>();
      clusters.forEach((c, i) => {
        names.add(c.name);
        const existing = this.#clusters.get(c.name);
        if (existing) existing.configure(c, resolved[i]);
        else {
          const h = new ClusterHealth(c, {
            clock: this.#clock,
            rng: this.#rng,
            logger: this.#logger,
            baseDir: this.#baseDir,
            createSource: this.#createSource,
            probeFactory: this.#probeFactory,
            drainTimeoutMs: this.#drainTimeoutMs,
            onTargetChange: (name) => this.#emit(name),
            onRemoved: (eps) => this.#removed(eps),
          }, resolved[i]);
          this.#clusters.set(c.name, h);
          this.#emit(c.name);
        }
      });
      for (const [name, h] of this.#clusters) {
        if (names.has(name)) continue;
        this.#clusters.delete(name);
        this.#removed(h.close());
        this.#emit(name);
      }
    } finally {
      this.#collecting = null;
    }
    return removed;
  }

  cluster(name: string): ClusterTarget | undefined {
    return this.#clusters.get(name)?.target;
  }

  /** Hot path: counters on the endpoint, nothing else. Endpoints this table did not hand out are ignored. */
  report(endpoint: Endpoint, outcome: UpstreamOutcome, _status: number): void {
    const sink = (endpoint as TrackedEndpoint).sink;
    if (sink === null || sink === undefined) return;
    if (!sink.hadTraffic) sink.markTraffic();
    sink.record(endpoint as TrackedEndpoint, outcome);
  }

  breaker(cluster: string): ClusterBreaker | undefined {
    return this.#clusters.get(cluster)?.breaker;
  }

  /** Healthy and total (non-draining) endpoints of a cluster, for region self-health. */
  counts(cluster: string): { healthy: number; total: number } | undefined {
    return this.#clusters.get(cluster)?.counts();
  }

  healthReport(): HealthReport {
    return {
      generatedAt: new Date(this.#clock.wallNow()).toISOString(),
      clusters: [...this.#clusters.values()].map((h) => h.report()),
    };
  }

  onChange(listener: (cluster: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onRemoved(listener: (endpoints: readonly Endpoint[]) => void): () => void {
    this.#removedListeners.add(listener);
    return () => this.#removedListeners.delete(listener);
  }

  /** Stops every check, detector and discovery source. The table answers reads afterwards but no longer changes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#clusters.values()) h.close();
  }

  #removed(endpoints: readonly TrackedEndpoint[]): void {
    if (endpoints.length === 0) return;
    this.#collecting?.push(...endpoints);
    for (const l of this.#removedListeners) l(endpoints);
  }

  #emit(cluster: string): void {
    for (const l of this.#listeners) l(cluster);
  }
}
