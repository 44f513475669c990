import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool } from 'undici';
import type { ClusterConfig } from '../config/schema/index.ts';
import type { Endpoint } from '../health/types.ts';
import { resolveUpstreamConnection, resolveUpstreamTls } from './upstream-options.ts';
import { H2Upstream, type UpstreamDispatcher } from './h2-upstream.ts';

interface PoolEntry {
  pool: UpstreamDispatcher;
  fingerprint: string;
  /** Set when the pool is replaced or drained, so the per-endpoint cache below misses. */
  retired: boolean;
}

/**
 * One undici Pool per (cluster, endpoint), kept across snapshots while the
 * endpoint and the cluster's connection settings stay the same. Pools of
 * endpoints that went away are closed gracefully: undici finishes the requests
 * already dispatched, then closes the sockets (drain, not cut).
 */
export class UpstreamPools {
  #pools = new Map<string, PoolEntry>();
  /** get() is on the request path: an identity lookup on the endpoint object instead of a key string built per request. */
  #byEndpoint = new WeakMap<Endpoint, PoolEntry>();
  #clusters = new Map<string, ClusterSettings>();
  readonly #baseDir: string;
  readonly #connectionCap: ((cluster: string) => number | undefined) | undefined;

  /**
   * `connectionCap(cluster)` bounds the connections of one endpoint's pool when
   * it is created: the gateway passes the cluster's `circuitBreaker.maxConnections`
   * divided by its endpoint count, so the cluster as a whole stays within it.
   */
  constructor(baseDir: string, connectionCap?: (cluster: string) => number | undefined) {
    this.#baseDir = baseDir;
    this.#connectionCap = connectionCap;
  }

  /** Applies new cluster settings; pools whose settings changed are replaced (the old ones drain). */
  configure(clusters: readonly ClusterConfig[]): void {
    const next = new Map<string, ClusterSettings>();
    for (const c of clusters) next.set(c.name, this.#clusterOptions(c));
    this.#clusters = next;
    for (const [key, entry] of this.#pools) {
      const cluster = key.slice(0, key.indexOf('|'));
      const settings = next.get(cluster);
      if (!settings || settings.fingerprint !== entry.fingerprint) {
        entry.retired = true;
        this.#pools.delete(key);
        void entry.pool.close().catch(() => entry.pool.destroy());
      }
    }
  }

  get(endpoint: Endpoint): UpstreamDispatcher {
    const cached = this.#byEndpoint.get(endpoint);
    if (cached !== undefined && !cached.retired) return cached.pool;
    const key = endpoint.cluster + '|' + endpoint.address;
    let entry = this.#pools.get(key);
    if (!entry) {
      const settings = this.#clusters.get(endpoint.cluster);
      if (!settings) throw new Error(`no settings for cluster ${endpoint.cluster}`);
      const cap = this.#connectionCap?.(endpoint.cluster);
      const options = cap === undefined ? settings.options : { ...settings.options, connections: Math.max(1, Math.min(settings.options.connections ?? cap, cap)) };
      // HTTP/2 clusters multiplex one session per endpoint instead of a pool of HTTP/1.1 connections.
      const pool = settings.h2 !== null ? new H2Upstream({ origin: settings.origin(endpoint), connectTimeoutMs: settings.h2.connectTimeoutMs, ...(settings.h2.tls ? { tls: settings.h2.tls } : {}) }) : new Pool(settings.origin(endpoint), options);
      entry = { pool, fingerprint: settings.fingerprint, retired: false };
      this.#pools.set(key, entry);
    }
    this.#byEndpoint.set(endpoint, entry);
    return entry.pool;
  }

  /** Drains the pools of endpoints that left their cluster. */
  release(endpoints: readonly Endpoint[]): void {
    for (const ep of endpoints) {
      const key = ep.cluster + '|' + ep.address;
      const entry = this.#pools.get(key);
      if (!entry) continue;
      entry.retired = true;
      this.#pools.delete(key);
      void entry.pool.close().catch(() => entry.pool.destroy());
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    for (const e of all) e.retired = true;
    this.#pools.clear();
    await Promise.all(all.map((e) => e.pool.close().catch(() => e.pool.destroy())));
  }

  async destroy(): Promise<void> {
    const all = [...this.#pools.values()];
    for (const e of all) e.retired = true;
    this.#pools.clear();
    await Promise.all(all.map((e) => e.pool.destroy().catch(() => {})));
  }

  #clusterOptions(c: ClusterConfig): ClusterSettings {
    const u = resolveUpstreamConnection(c);
    const protocol = u.protocol;
    // h2 is HTTP/2 over TLS whether or not `tls` is given; h2c never uses TLS.
    const tls = resolveUpstreamTls(c.tls);
    const tlsEnabled = protocol === 'h2' || (protocol === 'http1' && tls.enabled);
    const connect: Record<string, unknown> = { timeout: u.connectTimeoutMs };
    if (tlsEnabled) {
      // Verified unless the cluster explicitly opts out.
      connect.rejectUnauthorized = tls.verify;
      if (c.tls?.servername) connect.servername = c.tls.servername;
      if (c.tls?.ca) connect.ca = readFileSync(resolve(this.#baseDir, c.tls.ca));
    }
    const options: Pool.Options = {
      connections: u.connectionsPerEndpoint,
      pipelining: 1,
      keepAliveTimeout: u.keepAliveTimeoutMs,
      keepAliveMaxTimeout: 600_000,
      headersTimeout: 0, // enforced per request by the proxy (route timeouts)
      bodyTimeout: 0,
      connect: connect as Pool.Options['connect'],
    };
    const scheme = tlsEnabled ? 'https' : 'http';
    const origin = (ep: Endpoint) => `${scheme}://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`;
    const fingerprint = JSON.stringify({ tls: c.tls ?? null, ct: c.connectTimeout, ka: c.keepAliveTimeout, n: c.connectionsPerEndpoint, p: protocol });
    const h2 = protocol === 'http1' ? null : { connectTimeoutMs: connect.timeout as number, ...(tlsEnabled ? { tls: { ...connect, timeout: undefined, ALPNProtocols: ['h2'] } as NonNullable<ClusterSettings['h2']>['tls'] } : {}) };
    return { fingerprint, options, origin, h2 };
  }
}

interface ClusterSettings {
  fingerprint: string;
  options: Pool.Options;
  origin: (ep: Endpoint) => string;
  /** HTTP/2 upstream settings (h2, h2c), null for HTTP/1.1. */
  h2: { connectTimeoutMs: number; tls?: ConstructorParameters<typeof H2Upstream>[0]['tls'] } | null;
}
