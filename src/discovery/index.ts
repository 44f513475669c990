import { resolve } from 'node:path';
import type { ClusterConfig } from '../config/schema/index.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Logger } from '../util/logger.ts';
import { resolveDnsDiscovery, resolveFilePollIntervalMs } from './options.ts';
import { DnsSource, resolverServers, wireResolver } from './dns.ts';
import { FileSource } from './file.ts';
import { loadKubeCredentials } from './kube-credentials.ts';
import { KubernetesSource } from './kubernetes.ts';
import { StaticSource } from './static.ts';
import { createDockerSource } from './docker-options.ts';
import type { DiscoverySource } from './types.ts';

export type { DiscoverySource, DiscoveryStatus, DiscoveryListener, SourceKind } from './types.ts';

export interface DiscoveryDeps {
  clock: Clock;
  rng: Rng;
  logger: Logger;
  baseDir: string;
}

/** The cluster's one endpoint source (config cross-checks guarantee there is exactly one). */
export function createDiscoverySource(c: ClusterConfig, deps: DiscoveryDeps): DiscoverySource {
  const { clock, rng, logger, baseDir } = deps;
  const d = c.discovery;
  if (d?.dns) {
    const o = resolveDnsDiscovery(d.dns);
    return new DnsSource({
      cluster: c.name,
      name: o.name,
      type: o.type,
      port: o.port,
      minIntervalMs: o.minIntervalMs,
      maxIntervalMs: o.maxIntervalMs,
      clock,
      rng,
      logger,
      resolver: wireResolver(resolverServers(o.resolvers), o.timeoutMs),
    });
  }
  if (d?.file) {
    return new FileSource({ cluster: c.name, path: resolve(baseDir, d.file.path), pollIntervalMs: resolveFilePollIntervalMs(d.file), clock, logger });
  }
  if (d?.kubernetes) {
    const k = d.kubernetes;
    return new KubernetesSource({
      cluster: c.name,
      namespace: k.namespace,
      service: k.service,
      port: k.port,
      credentials: () => loadKubeCredentials({ apiServer: k.apiServer, kubeconfig: k.kubeconfig, context: k.context, baseDir }),
      clock,
      rng,
      logger,
    });
  }
  if (d?.docker) return createDockerSource(c.name, d.docker, { clock, rng, logger });
  return new StaticSource(c.name, c.endpoints ?? [], clock, logger);
}
