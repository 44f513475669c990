import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type tls from 'node:tls';
import type { ClusterConfig } from '../../config/schema/index.ts';
import type { Endpoint } from '../../health/types.ts';
import { parseDuration } from '../../util/duration.ts';
import { UpstreamPool, type UpstreamPoolOptions } from './upstream-pool.ts';

interface Entry {
  pool: UpstreamPool;
  fingerprint: string;
  retired: boolean;
}

interface ClusterSettings {
  fingerprint: string;
  tls: tls.ConnectionOptions | null;
  connections: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * The native engine's upstream pools: one UpstreamPool per (cluster, endpoint),
 * kept across snapshots while the cluster's connection settings stay the same,
 * with the same connection cap rule as the undici pools (src/edge/upstreams.ts):
 * `connectionCap(cluster)` bounds each endpoint's pool.
 */
export class Http1PoolSet {
  #pools = new Map<string, Entry>();
  #byEndpoint = new WeakMap<Endpoint, Entry>();
  #clusters = new Map<string, ClusterSettings>();
  readonly #baseDir: string;
  readonly #connectionCap: ((cluster: string) => number | undefined) | undefined;

  constructor(baseDir: string, connectionCap?: (cluster: string) => number | undefined) {
    this.#baseDir = baseDir;
    this.#connectionCap = connectionCap;
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

  get(endpoint: Endpoint): UpstreamPool {
    const cached = this.#byEndpoint.get(endpoint);
    if (cached !== undefined && !cached.retired) return cached.pool;
    const key = endpoint.cluster + '|' + endpoint.address;
    let entry = this.#pools.get(key);
    if (!entry) {
      const s = this.#clusters.get(endpoint.cluster);
      if (!s) throw new Error(`no settings for cluster ${endpoint.cluster}`);
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
    const tlsEnabled = c.tls !== undefined && c.tls.enabled !== false;
    let tlsOptions: tls.ConnectionOptions | null = null;
    if (tlsEnabled) {
      // Verified unless the cluster explicitly opts out; the session cache makes reconnects cheap.
      tlsOptions = { rejectUnauthorized: c.tls!.insecureSkipVerify !== true, ALPNProtocols: ['http/1.1'] };
      if (c.tls!.servername) tlsOptions.servername = c.tls!.servername;
      if (c.tls!.ca) tlsOptions.ca = readFileSync(resolve(this.#baseDir, c.tls!.ca));
    }
    return {
      fingerprint: JSON.stringify({ tls: c.tls ?? null, ct: c.connectTimeout, ka: c.keepAliveTimeout, n: c.connectionsPerEndpoint }),
      tls: tlsOptions,
      connections: c.connectionsPerEndpoint ?? 128,
      connectTimeoutMs: parseDuration(c.connectTimeout ?? '2s'),
      idleTimeoutMs: parseDuration(c.keepAliveTimeout ?? '4s'),
    };
  }
}
