import type { ClusterConfig } from '../config/schema/index.ts';
import { Cluster, UpstreamTls } from '../config/schema/clusters.ts';
import { defaultsOf } from '../config/schema/defaults.ts';
import { parseDuration } from '../util/duration.ts';

/**
 * How a cluster's upstream connections are made, resolved once with every
 * default applied (declared on the schema fields, src/config/schema/clusters.ts).
 * Both engines' pools read these: src/edge/upstreams.ts (node) and
 * src/edge/http1/pool-set.ts (native).
 */
export interface UpstreamConnectionOptions {
  protocol: 'http1' | 'h2' | 'h2c';
  loadBalancer: 'round-robin' | 'least-request' | 'consistent-hash';
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
  connectionsPerEndpoint: number;
}

const D = defaultsOf(Cluster, ['protocol', 'loadBalancer', 'connectTimeout', 'keepAliveTimeout', 'connectionsPerEndpoint']);

const TLS = defaultsOf(UpstreamTls, ['enabled', 'insecureSkipVerify']);

/** `tls` of a cluster: whether it is on (a present section with enabled unset is on) and whether certificates are verified. */
export function resolveUpstreamTls(tls: ClusterConfig['tls']): { enabled: boolean; verify: boolean } {
  return { enabled: tls !== undefined && (tls.enabled ?? TLS.enabled), verify: !(tls?.insecureSkipVerify ?? TLS.insecureSkipVerify) };
}

export function resolveUpstreamConnection(c: ClusterConfig): UpstreamConnectionOptions {
  return {
    protocol: c.protocol ?? D.protocol,
    loadBalancer: c.loadBalancer ?? D.loadBalancer,
    connectTimeoutMs: parseDuration(c.connectTimeout ?? D.connectTimeout),
    keepAliveTimeoutMs: parseDuration(c.keepAliveTimeout ?? D.keepAliveTimeout),
    connectionsPerEndpoint: c.connectionsPerEndpoint ?? D.connectionsPerEndpoint,
  };
}
