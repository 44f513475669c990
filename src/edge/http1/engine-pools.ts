import type { ClusterConfig, Config } from '../../config/schema/index.ts';
import type { Endpoint } from '../../health/types.ts';
import { UpstreamPools } from '../upstreams.ts';
import { Http1PoolSet } from './pool-set.ts';

export type EngineName = 'node' | 'native';

/**
 * The config's `engine`; without one, EDGEPLANE_ENGINE (node | native) picks
 * it, so the whole test suite can run on either engine unchanged. The default
 * is native; node (node:http + undici) stays selectable as the reference.
 */
export function engineOf(config: Config, env: NodeJS.ProcessEnv = process.env): EngineName {
  if (config.engine !== undefined) return config.engine;
  const fromEnv = env.EDGEPLANE_ENGINE;
  if (fromEnv === undefined || fromEnv === '' || fromEnv === 'native') return 'native';
  if (fromEnv === 'node') return 'node';
  throw new RangeError(`EDGEPLANE_ENGINE must be node or native, got ${JSON.stringify(fromEnv)}`);
}

/**
 * The upstream pools of one data plane for either engine. The node engine
 * proxies through undici; the native engine through Http1PoolSet. WebSocket
 * upgrades keep undici's pools on both (its upgrade support is what the
 * pass-through is built on), and so do HTTP/2 upstream clusters (H2Upstream),
 * so both sets are configured and drained together.
 */
export class EnginePools {
  readonly engine: EngineName;
  readonly undici: UpstreamPools;
  readonly native: Http1PoolSet | null;

  constructor(engine: EngineName, baseDir: string, connectionCap?: (cluster: string) => number | undefined) {
    this.engine = engine;
    this.undici = new UpstreamPools(baseDir, connectionCap);
    // HTTP/2 upstream clusters (h2, h2c: gRPC) stay on the undici side's H2Upstream on both engines.
    this.native = engine === 'native' ? new Http1PoolSet(baseDir, connectionCap, this.undici) : null;
  }

  /**
   * The pools the proxy's Exchange dispatches through. Http1PoolSet's pools
   * implement the part of undici's Pool the Exchange calls (dispatch with the
   * legacy handler), so it is typed as UpstreamPools there.
   */
  get forProxy(): UpstreamPools {
    return (this.native ?? this.undici) as unknown as UpstreamPools;
  }

  configure(clusters: readonly ClusterConfig[]): void {
    this.undici.configure(clusters);
    this.native?.configure(clusters);
  }

  release(endpoints: readonly Endpoint[]): void {
    this.undici.release(endpoints);
    this.native?.release(endpoints);
  }

  async close(): Promise<void> {
    await Promise.all([this.undici.close(), this.native?.close()]);
  }

  async destroy(): Promise<void> {
    await Promise.all([this.undici.destroy(), this.native?.destroy()]);
  }
}
