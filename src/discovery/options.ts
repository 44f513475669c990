import type { ClusterConfig } from '../config/schema/index.ts';
import { DnsDiscovery, FileDiscovery } from '../config/schema/clusters.ts';
import { DockerDiscovery } from '../config/schema/units.ts';
import { defaultsOf } from '../config/schema/defaults.ts';
import { parseDuration } from '../util/duration.ts';

/**
 * The discovery sections resolved once: every default applied (declared on
 * the schema fields, src/config/schema/clusters.ts and units.ts), durations in
 * milliseconds. The config cross-checks and the sources read the same values.
 */

type DiscoveryConfig = NonNullable<ClusterConfig['discovery']>;

const DNS = defaultsOf(DnsDiscovery, ['type', 'minInterval', 'maxInterval', 'timeout']);
const FILE = defaultsOf(FileDiscovery, ['pollInterval']);
const DOCKER = defaultsOf(DockerDiscovery, ['socket', 'network', 'published', 'hostAddress', 'resyncInterval']);

/** The Docker Engine API socket when none is configured (units' runtime.socket shares it). */
export const DEFAULT_ENGINE_SOCKET = DOCKER.socket;

export interface DnsDiscoveryOptions {
  name: string;
  type: 'A' | 'AAAA' | 'SRV';
  port: number | undefined;
  resolvers: string[] | undefined;
  minIntervalMs: number;
  maxIntervalMs: number;
  timeoutMs: number;
}

export function resolveDnsDiscovery(d: NonNullable<DiscoveryConfig['dns']>): DnsDiscoveryOptions {
  return {
    name: d.name,
    type: d.type ?? DNS.type,
    port: d.port,
    resolvers: d.resolvers,
    minIntervalMs: parseDuration(d.minInterval ?? DNS.minInterval),
    maxIntervalMs: parseDuration(d.maxInterval ?? DNS.maxInterval),
    timeoutMs: parseDuration(d.timeout ?? DNS.timeout),
  };
}

export function resolveFilePollIntervalMs(d: NonNullable<DiscoveryConfig['file']>): number {
  return parseDuration(d.pollInterval ?? FILE.pollInterval);
}

export interface DockerDiscoveryOptions {
  socket: string;
  labels: Record<string, string>;
  port: number;
  network: string;
  published: boolean;
  hostAddress: string;
  resyncIntervalMs: number;
}

export function resolveDockerDiscovery(d: NonNullable<DiscoveryConfig['docker']>): DockerDiscoveryOptions {
  return {
    socket: d.socket ?? DOCKER.socket,
    labels: d.labels,
    port: d.port,
    network: d.network ?? DOCKER.network,
    published: d.published ?? DOCKER.published,
    hostAddress: d.hostAddress ?? DOCKER.hostAddress,
    resyncIntervalMs: parseDuration(d.resyncInterval ?? DOCKER.resyncInterval),
  };
}
