import { parseHostPort } from '../util/address.ts';
import type { ClusterConfig } from '../config/schema/index.ts';
import type { ClusterTarget, Endpoint, EndpointDirectory, UpstreamOutcome } from './types.ts';

interface ClusterEntry {
  target: { name: string; endpoints: Endpoint[]; available: boolean; panic: boolean };
  byAddress: Map<string, Endpoint>;
}

/**
 * The endpoint set of every cluster. Endpoint objects are kept across config
 * changes when their address stays, so in-flight counters survive a reload.
 */
export class EndpointTable implements EndpointDirectory {
  #clusters = new Map<string, ClusterEntry>();
  #listeners = new Set<(cluster: string) => void>();

  /** Applies the static endpoints of a new config; returns the endpoints that went away (to drain). */
  update(clusters: readonly ClusterConfig[]): Endpoint[] {
    const removed: Endpoint[] = [];
    const next = new Map<string, ClusterEntry>();
    for (const c of clusters) {
      const prev = this.#clusters.get(c.name);
      const byAddress = new Map<string, Endpoint>();
      for (const address of c.endpoints ?? []) {
        const kept = prev?.byAddress.get(address);
        if (kept) byAddress.set(address, kept);
        else {
          const { host, port } = parseHostPort(address);
          byAddress.set(address, { cluster: c.name, address, host, port, active: 0 });
        }
      }
      if (prev) for (const [addr, ep] of prev.byAddress) if (!byAddress.has(addr)) removed.push(ep);
      const endpoints = [...byAddress.values()];
      next.set(c.name, { target: { name: c.name, endpoints, available: endpoints.length > 0, panic: false }, byAddress });
    }
    for (const [name, entry] of this.#clusters) if (!next.has(name)) removed.push(...entry.byAddress.values());
    const changed = new Set<string>([...this.#clusters.keys(), ...next.keys()]);
    this.#clusters = next;
    for (const name of changed) this.#emit(name);
    return removed;
  }

  cluster(name: string): ClusterTarget | undefined {
    return this.#clusters.get(name)?.target;
  }

  report(_endpoint: Endpoint, _outcome: UpstreamOutcome, _status: number): void {
    // Outcomes feed outlier detection (src/health); the static table keeps no state.
  }

  onChange(listener: (cluster: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(cluster: string): void {
    for (const l of this.#listeners) l(cluster);
  }
}
