import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type tls from 'node:tls';
import type { ClusterConfig } from '../../config/schema/index.ts';
import type { Endpoint } from '../../health/types.ts';
import { resolveUpstreamConnection, resolveUpstreamTls } from '../upstream-options.ts';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.ts';
import type { UpstreamPools } from '../upstreams.ts';
import type { UpstreamDispatcher } from '../h2-upstream.ts';

interface Entry {
  pool: UpstreamPool;
  fingerprint: string;
  retired: boolean;
}

interface ClusterSettings {
  fingerprint: string;
  /** HTTP/2 upstream (protocol h2 or h2c): served by the undici-side pools' H2Upstream. */
  h2: boolean;
  tls: tls.ConnectionOptions | null;
  connections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * The native engine's upstream pools: one UpstreamPool per (cluster, endpoint),
 * kept across snapshots while the cluster's connection settings stay the same,
 * with the same connection cap rule as the undici pools (src/edge/upstreams.ts):
 * `connectionCap(cluster)` bounds each endpoint's pool. Clusters that speak
 * HTTP/2 upstream (`protocol: h2 | h2c`) are not HTTP/1.1: their endpoints are
 * handed to `http2` (the node engine's pools, whose H2Upstream multiplexes one
 * session per endpoint), so gRPC and h2 upstreams work alike on both engines.
 */
export class Http1PoolSet {
  #pools = new Map<string, Entry>();
  #byEndpoint = new WeakMap<Endpoint, Entry>();
  #clusters = new Map<string, ClusterSettings>();
  readonly #baseDir: string;
  readonly #connectionCap: ((cluster: string) => number | undefined) | undefined;
  readonly #http2: Pick<UpstreamPools, 'get'> | null;

  constructor(baseDir: string, connectionCap?: (cluster: string) => number | undefined, http2: Pick<UpstreamPools, 'get'> | null = null) {
    this.#baseDir = baseDir;
    this.#connectionCap = connectionCap;
    this.#http2 = http2;
  }

  configure(clusters: readonly ClusterConfig[]): void {
    const next = new Map<string, ClusterSettings>();
    for (const c of clusters) next.set(c.name, this.#settings(c));
    this.#clusters = next;
    for (const [key, entry] of this.#pools) {
      const settings = next.get(key.slice(0, key.indexOf('|')));
      if (!settings || settings.fingerprint !== entry.fingerprint) this.#retire(key, entry);
    }
  }

  get(endpoint: Endpoint): UpstreamPool | UpstreamDispatcher {
    const cached = this.#byEndpoint.get(endpoint);
    if (cached !== undefined && !cached.retired) return cached.pool;
    const key = endpoint.cluster + '|' + endpoint.address;
    let entry = this.#pools.get(key);
    if (!entry) {
      const s = this.#clusters.get(endpoint.cluster);
      if (!s) throw new Error(`no settings for cluster ${endpoint.cluster}`);
      if (s.h2) {
        if (this.#http2 === null) throw new Error(`cluster ${endpoint.cluster} speaks HTTP/2 upstream and no HTTP/2 pools are configured`);
        return this.#http2.get(endpoint);
      }
      const cap = this.#connectionCap?.(endpoint.cluster);
      const options: UpstreamPoolOptions = {
        host: endpoint.host,
        port: endpoint.port,
        tls: s.tls,
        connections: cap === undefined ? s.connections : Math.max(1, Math.min(s.connections, cap)),
        connectTimeoutMs: s.connectTimeoutMs,
        idleTimeoutMs: s.idleTimeoutMs,
      };
      entry = { pool: new UpstreamPool(options), fingerprint: s.fingerprint, retired: false };
      this.#pools.set(key, entry);
    }
    this.#byEndpoint.set(endpoint, entry);
    return entry.pool;
  }

  release(endpoints: readonly Endpoint[]): void {
    for (const ep of endpoints) {
      const key = ep.cluster + '|' + ep.address;
      const entry = this.#pools.get(key);
      if (entry) this.#retire(key, entry);
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    for (const e of all) e.retired = true;
    this.#pools.clear();
    await Promise.all(all.map((e) => e.pool.close()));
  }

  async destroy(): Promise<void> {
    const all = [...this.#pools.values()];
    for (const e of all) e.retired = true;
    this.#pools.clear();
    await Promise.all(all.map((e) => e.pool.destroy()));
  }

  #retire(key: string, entry: Entry): void {
    entry.retired = true;
    this.#pools.delete(key);
    void entry.pool.close();
  }

  #settings(c: ClusterConfig): ClusterSettings {
    const upstreamTls = resolveUpstreamTls(c.tls);
    const connection = resolveUpstreamConnection(c);
    let tlsOptions: tls.ConnectionOptions | null = null;
    if (upstreamTls.enabled) {
      // Verified unless the cluster explicitly opts out; the session cache makes reconnects cheap.
      tlsOptions = { rejectUnauthorized: upstreamTls.verify, ALPNProtocols: ['http/1.1'] };
      if (c.tls!.servername) tlsOptions.servername = c.tls!.servername;
      if (c.tls!.ca) tlsOptions.ca = readFileSync(resolve(this.#baseDir, c.tls!.ca));
    }
    const h2 = connection.protocol !== 'http1';
    return {
      fingerprint: JSON.stringify({ tls: c.tls ?? null, ct: c.connectTimeout, ka: c.keepAliveTimeout, n: c.connectionsPerEndpoint, p: c.protocol }),
      h2,
      tls: h2 ? null : tlsOptions,
      connections: connection.connectionsPerEndpoint,
      connectTimeoutMs: connection.connectTimeoutMs,
      idleTimeoutMs: connection.keepAliveTimeoutMs,
    };
  }
}
