import type { Etcd3 } from 'etcd3';
import { readFleetTraffic, type NodeTraffic, type PublishedCounters } from '../control/fleet-traffic.ts';
import { nodesPrefix } from '../control/etcd-store.ts';
import type { HealthReport } from '../health/types.ts';
import { readAllFromRegistry, type TrafficCounters, type TrafficSource } from './traffic-stats.ts';

/** Which live nodes do not serve a version yet (the driver waits for them before a step's window opens). */
export interface FleetServing {
  live: string[];
  lagging: { node: string; version: number }[];
}

/**
 * The fleet's traffic for the release gates: the sum of what every live node
 * published (src/control/fleet-traffic.ts), kept per node process so that
 * `delta` diffs each on its own. Without it a keepalived BACKUP that becomes
 * the driver would see no requests of its own and pause every release; and a
 * canary whose 5xx all go through another node would pass.
 */
export class FleetTrafficSource implements TrafficSource {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #timeoutMs: number;

  constructor(client: Etcd3, prefix: string, timeoutMs: number) {
    this.#client = client;
    this.#prefix = prefix;
    this.#timeoutMs = timeoutMs;
  }

  #nodes(): Promise<NodeTraffic[]> {
    return readFleetTraffic(this.#client, this.#prefix, this.#timeoutMs);
  }

  async read(route: string, cluster: string): Promise<TrafficCounters> {
    const parts: Record<string, TrafficCounters> = {};
    const sum: TrafficCounters = { requests: 0, errors: 0, localFailures: 0, buckets: [], parts };
    const byLe = new Map<number, number>();
    for (const n of await this.#nodes()) {
      const c: PublishedCounters | undefined = n.routes[route]?.[cluster];
      const part: TrafficCounters = {
        requests: c?.requests ?? 0,
        errors: c?.errors ?? 0,
        localFailures: n.localFailures[cluster] ?? 0,
        buckets: (c?.buckets ?? []).map(([le, count]) => ({ le: le === null ? Infinity : le, count })),
      };
      parts[`${n.node}/${n.boot}`] = part;
      sum.requests += part.requests;
      sum.errors += part.errors;
      sum.localFailures += part.localFailures;
      for (const b of part.buckets) byLe.set(b.le, (byLe.get(b.le) ?? 0) + b.count);
    }
    sum.buckets = [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    return sum;
  }

  /** Ejections of `cluster`'s endpoints as every live node counted them, keyed `node/boot/address`. */
  async ejections(cluster: string): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const n of await this.#nodes()) for (const [address, count] of Object.entries(n.ejections[cluster] ?? {})) out.set(`${n.node}/${n.boot}/${address}`, count);
    return out;
  }

  /**
   * The live nodes (their status keys, `<prefix>/nodes/`, always kept on their
   * lease) and those not ready for a window on `version`: serving an older
   * version, or whose counters taken at that version are not published yet
   * (a node the sum cannot see must hold the window, not be left out of it).
   */
  async serving(version: number): Promise<FleetServing> {
    const [status, traffic] = await Promise.all([
      this.#client.getAll().prefix(nodesPrefix(this.#prefix)).options({ deadline: Date.now() + this.#timeoutMs }).strings(),
      this.#nodes(),
    ]);
    const published = new Map(traffic.map((n) => [n.node, n.version]));
    const live: string[] = [];
    const lagging: FleetServing['lagging'] = [];
    for (const text of Object.values(status)) {
      let s: { id?: unknown; version?: unknown };
      try {
        s = JSON.parse(text) as typeof s;
      } catch {
        continue;
      }
      if (typeof s.id !== 'string') continue;
      live.push(s.id);
      const seen = Math.min(Number(s.version) || 0, published.get(s.id) ?? 0);
      if (seen < version) lagging.push({ node: s.id, version: seen });
    }
    return { live: live.sort(), lagging };
  }
}

/** This node's counters in the published shape (the metrics registry and the health table's ejections). */
export async function collectLocalTraffic(report: () => HealthReport): Promise<Omit<NodeTraffic, 'node' | 'boot' | 'version'>> {
  const { routes, localFailures } = await readAllFromRegistry();
  const out: NodeTraffic['routes'] = {};
  for (const [route, clusters] of Object.entries(routes)) {
    for (const [cluster, c] of Object.entries(clusters)) {
      (out[route] ??= {})[cluster] = { requests: c.requests, errors: c.errors, buckets: c.buckets.map((b) => [Number.isFinite(b.le) ? b.le : null, b.count]) };
    }
  }
  const ejections: NodeTraffic['ejections'] = {};
  for (const c of report().clusters) {
    const eps = c.endpoints.filter((e) => e.ejections > 0);
    if (eps.length) ejections[c.name] = Object.fromEntries(eps.map((e) => [e.address, e.ejections]));
  }
  return { routes: out, localFailures, ejections };
}
