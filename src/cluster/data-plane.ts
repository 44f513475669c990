import type { AuthHeaders } from '../edge/auth.ts';
import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import type { Clock } from '../util/clock.ts';
import type { Rng } from '../util/rng.ts';
import type { Endpoint, EndpointDirectory } from '../health/types.ts';
import { resolveBreaker } from '../health/options.ts';
import { Proxy } from '../edge/proxy.ts';
import { UpgradeProxy } from '../edge/upgrade.ts';
import { Listeners, type BoundListener } from '../edge/listeners.ts';
import { compileEdgeTable, type EdgeState, type EdgeTable } from '../edge/compile.ts';
import { ClusterLoads } from '../edge/cluster-load.ts';
import { RateLimitStates } from '../edge/rate-limit/index.ts';
import { AccessLogs, type AccessLog } from '../edge/access-log/index.ts';
import { JwtAuthenticator, type AuthRequirement } from '../edge/jwt/index.ts';
import type { TokenLocation } from '../edge/jwt/extract.ts';
import { EnginePools, type EngineName } from '../edge/http1/engine-pools.ts';

export interface DataPlaneOptions {
  engine: EngineName;
  /** EndpointTable in a single process, RemoteDirectory in a worker. */
  directory: EndpointDirectory;
  logger: Logger;
  baseDir: string;
  clock: Clock;
  rng: Rng;
  /** Processes sharing the gateway-wide limits (1 in a single process): each enforces its share. */
  workers: number;
  /** TLS session ticket keys shared by every worker. */
  ticketKeys?: Buffer;
}

/** A snapshot compiled and bound, not yet serving (see DataPlane.stage/commit). */
export interface StagedSnapshot {
  readonly config: Config;
  readonly table: EdgeTable;
  readonly jwt: JwtAuthenticator;
  readonly jwtKey: string;
  readonly accessLog: AccessLog | null;
}

/**
 * The request path of one process — listeners, proxy (route → auth → split →
 * cluster → endpoint → retries), upgrade pass-through, upstream pools of the
 * chosen engine, JWT — wired the same way in the single-process gateway and
 * in every worker. Applying a snapshot is two steps: stage() compiles and
 * binds everything (a failure changes nothing), commit() swaps it in.
 * Per-cluster state that must survive an apply (retry-budget counters here,
 * circuit breakers in the directory, pools while their settings hold) lives
 * beside the snapshot.
 */
export class DataPlane {
  readonly engine: EngineName;
  readonly #o: DataPlaneOptions;
  readonly #pools: EnginePools;
  readonly #proxy: Proxy;
  readonly #upgrade: UpgradeProxy;
  readonly #listeners: Listeners;
  /** Retry-budget loads and rate-limit counters: kept across applies (src/edge/cluster-load.ts, src/edge/rate-limit). */
  readonly #edgeState: EdgeState;
  readonly #accessLogs: AccessLogs;
  #config: Config | null = null;
  #jwt: JwtAuthenticator | null = null;
  #jwtKey = '';

  constructor(options: DataPlaneOptions) {
    this.#o = options;
    this.engine = options.engine;
    const directory = options.directory;
    this.#pools = new EnginePools(options.engine, options.baseDir, (cluster) => {
      // circuitBreaker.maxConnections, shared out over the workers and the cluster's endpoints (requests beyond wait as pending).
      const max = resolveBreaker(this.#config?.clusters.find((c) => c.name === cluster)?.circuitBreaker).maxConnections;
      return Math.ceil(max / Math.max(1, options.workers) / Math.max(1, directory.cluster(cluster)?.endpoints.length ?? 1));
    });
    // The proxy keeps this one object; each requirement is answered by the authenticator that compiled it.
    const auth = {
      compile: (a: Config['routes'][number]['auth']) => this.#jwt!.compile(a),
      authenticate: (r: unknown, h: AuthHeaders, u: string, from?: readonly unknown[]) => this.#jwt!.authenticate(r as AuthRequirement, h, u, from as TokenLocation[] | undefined),
    };
    this.#edgeState = { clusterLoads: new ClusterLoads(), rateLimits: new RateLimitStates({ clock: options.clock }) };
    this.#accessLogs = new AccessLogs({ baseDir: options.baseDir, rng: options.rng, onError: (err) => options.logger.warn({ err: err.message }, 'access log write failed') });
    this.#proxy = new Proxy({ directory, pools: this.#pools.forProxy, logger: options.logger, accessLog: this.#accessLogs, auth });
    this.#upgrade = new UpgradeProxy({ directory, pools: this.#pools.undici, logger: options.logger, auth });
    this.#listeners = new Listeners({
      proxy: this.#proxy,
      upgrade: this.#upgrade,
      logger: options.logger,
      baseDir: options.baseDir,
      engine: options.engine,
      ...(options.ticketKeys ? { ticketKeys: options.ticketKeys } : {}),
    });
  }

  /**
   * Compiles `config` (JWT providers rebuilt only when the `jwt` section
   * changed, so caches and JWKS survive) and binds its listeners. Throws,
   * having changed nothing, when either fails.
   */
  async stage(config: Config, version: number): Promise<StagedSnapshot> {
    const jwtKey = JSON.stringify(config.jwt ?? null);
    const o = this.#o;
    const jwt = this.#jwt !== null && jwtKey === this.#jwtKey ? this.#jwt : new JwtAuthenticator(config.jwt, { baseDir: o.baseDir, clock: o.clock, logger: o.logger.child({ component: 'jwt' }) });
    let accessLog: AccessLog | null = null;
    try {
      if (jwt !== this.#jwt) await jwt.start(); // first JWKS fetch before traffic; failures are retried in the background
      const table = compileEdgeTable(config, version, o.rng, jwt, this.#edgeState);
      accessLog = this.#accessLogs.prepare(config.logging?.accessLog);
      await this.#listeners.apply(config.listeners);
      return { config, table, jwt, jwtKey, accessLog };
    } catch (err) {
      this.#accessLogs.discard(accessLog);
      if (jwt !== this.#jwt) jwt.close();
      throw err;
    }
  }

  /** Swaps a staged snapshot in: requests in flight finish on the one they started with. */
  commit(staged: StagedSnapshot): void {
    this.#config = staged.config;
    this.#pools.configure(staged.config.clusters);
    this.#proxy.setTable(staged.table);
    this.#upgrade.setTable(staged.table);
    this.#accessLogs.commit(staged.config.logging?.accessLog, staged.accessLog);
    if (staged.jwt !== this.#jwt) {
      this.#jwt?.close();
      this.#jwt = staged.jwt;
      this.#jwtKey = staged.jwtKey;
    }
  }

  /** Endpoints that left their cluster: their pools drain (finish what is in flight, then close). */
  release(endpoints: readonly Endpoint[]): void {
    this.#pools.release(endpoints);
  }

  /** SIGUSR1 (logrotate): the access log file is opened again. */
  reopenLogs(): void {
    this.#accessLogs.reopen();
  }

  addresses(): BoundListener[] {
    return this.#listeners.addresses();
  }

  get inflight(): number {
    return this.#proxy.inflight;
  }

  whenIdle(): Promise<void> {
    return this.#proxy.whenIdle();
  }

  stopAccepting(): void {
    this.#listeners.stopAccepting();
  }

  /** Stops accepting, waits up to `timeoutMs` for requests in flight; returns how many were still running. */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.#listeners.stopAccepting();
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([this.#proxy.whenIdle().then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    return { unfinished: finished ? 0 : this.#proxy.inflight };
  }

  /** Closes every listener and downstream connection now. */
  closeListeners(): void {
    this.#listeners.stopAccepting();
    this.#listeners.destroyAll();
  }

  async close(): Promise<void> {
    this.closeListeners();
    await this.#pools.destroy();
    this.#jwt?.close();
    await this.#accessLogs.close();
  }
}
