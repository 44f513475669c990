/**
 * What the DNS responder needs to know about regions, and nothing more. The
 * gossip region aggregator (src/gossip) implements it in a fleet; StaticRegionView
 * serves a single gateway fed by its own health and the admin API.
 */
export type RegionState = 'up' | 'degraded' | 'down' | 'unknown';

export interface RegionStatus {
  state: RegionState;
  /** 0..1: scales the configured GTM weight. */
  health: number;
}

export interface RegionView {
  get(region: string): RegionStatus | undefined;
  /** Called after any region's status changed; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}

export class StaticRegionView implements RegionView {
  #regions = new Map<string, RegionStatus>();
  #listeners = new Set<() => void>();

  get(region: string): RegionStatus | undefined {
    return this.#regions.get(region);
  }

  set(region: string, status: RegionStatus): void {
    const prev = this.#regions.get(region);
    if (prev && prev.state === status.state && prev.health === status.health) return;
    this.#regions.set(region, { ...status });
    for (const l of this.#listeners) l();
  }

  entries(): [string, RegionStatus][] {
    return [...this.#regions.entries()];
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
