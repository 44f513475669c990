import type { ClusterConfig } from '../config/schema/index.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { DockerSource } from './docker.ts';
import { resolveDockerDiscovery } from './options.ts';

type DockerDiscoveryConfig = NonNullable<NonNullable<ClusterConfig['discovery']>['docker']>;

export { DEFAULT_ENGINE_SOCKET } from './options.ts';

/** `discovery.docker` with its defaults applied. */
export function createDockerSource(cluster: string, d: DockerDiscoveryConfig, deps: { clock: Clock; rng: Rng; logger: Logger }): DockerSource {
  return new DockerSource({ cluster, ...resolveDockerDiscovery(d), ...deps });
}
