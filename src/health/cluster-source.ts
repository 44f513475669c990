import type { ClusterConfig } from '../config/schema/index.ts';
import type { DiscoverySource, DiscoveryStatus } from '../discovery/types.ts';
import type { Clock } from '../util/clock.ts';
import type { Logger } from '../util/logger.ts';

/** Stands in for a source that could not even be created: no endpoints, and the reason in the report. */
class UnavailableSource implements DiscoverySource {
  readonly kind: DiscoverySource['kind'];
  readonly #status: DiscoveryStatus;
  constructor(kind: DiscoverySource['kind'], error: string, wallNow: number) {
    this.kind = kind;
    this.#status = { ok: false, delivered: false, error, lastSuccessAt: null, lastErrorAt: wallNow, consecutiveFailures: 1 };
  }
  start(): void {}
  stop(): void {}
  status(): DiscoveryStatus {
    return { ...this.#status };
  }
}

/**
 * The cluster's discovery source; when it cannot even be created (bad source
 * options, e.g. no resolvers on this host) a stand-in without endpoints whose
 * status says why: the cluster keeps what it had rather than failing the reload.
 */
export function createSourceOrStandIn(c: ClusterConfig, deps: { createSource(c: ClusterConfig): DiscoverySource; logger: Logger; clock: Clock }): DiscoverySource {
  try {
    return deps.createSource(c);
  } catch (err) {
    const kind = c.discovery?.dns ? 'dns' : c.discovery?.file ? 'file' : c.discovery?.kubernetes ? 'kubernetes' : c.discovery?.docker ? 'docker' : 'static';
    deps.logger.error({ event: 'discovery_failed', cluster: c.name, source: kind, err: (err as Error).message }, 'cannot start the discovery source; keeping the last known endpoint set');
    return new UnavailableSource(kind, (err as Error).message, deps.clock.wallNow());
  }
}
