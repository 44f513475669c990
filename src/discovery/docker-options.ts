import type { ClusterConfig } from '../config/schema/index.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { parseDuration } from '../util/duration.ts';
import { DockerSource } from './docker.ts';

type DockerDiscoveryConfig = NonNullable<NonNullable<ClusterConfig['discovery']>['docker']>;

export const DEFAULT_ENGINE_SOCKET = 'unix:///var/run/docker.sock';

/** `discovery.docker` with its defaults applied. */
export function createDockerSource(cluster: string, d: DockerDiscoveryConfig, deps: { clock: Clock; rng: Rng; logger: Logger }): DockerSource {
  return new DockerSource({
    cluster,
    socket: d.socket ?? DEFAULT_ENGINE_SOCKET,
    labels: d.labels,
    port: d.port,
    network: d.network ?? 'bridge',
    published: d.published ?? false,
    hostAddress: d.hostAddress ?? '127.0.0.1',
    resyncIntervalMs: parseDuration(d.resyncInterval ?? '30s'),
    ...deps,
  });
}
