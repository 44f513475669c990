/**
 * A discovery source produces the endpoint set of one cluster. It never
 * decides health: the health module checks whatever the source lists.
 */
export type SourceKind = 'static' | 'dns' | 'file' | 'kubernetes' | 'docker';

export interface DiscoveryStatus {
  ok: boolean;
  /** Has the source delivered a set at least once? */
  delivered: boolean;
  error: string | null;
  /** Wall-clock ms. */
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
}

export interface DiscoveryListener {
  /** A new complete endpoint set (`host:port` strings, deduplicated, sorted). Only called when the set changed. */
  endpoints(addresses: readonly string[]): void;
  /** The source's status changed (failing, recovered). The last set stays in force while it fails. */
  status?(status: DiscoveryStatus): void;
}

export interface DiscoverySource {
  readonly kind: SourceKind;
  start(listener: DiscoveryListener): void;
  /** Stops timers, watches and sockets. Idempotent. */
  stop(): void;
  status(): DiscoveryStatus;
}
