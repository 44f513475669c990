import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { systemClock } from '../util/clock.ts';
import { mathRng } from '../util/rng.ts';
import { UpstreamPools } from '../edge/upstreams.ts';
import { Proxy } from '../edge/proxy.ts';
import { UpgradeProxy } from '../edge/upgrade.ts';
import { Listeners } from '../edge/listeners.ts';
import { compileEdgeTable, type EdgeState } from '../edge/compile.ts';
import { ClusterLoads } from '../edge/cluster-load.ts';
import { RateLimitStates } from '../edge/rate-limit/index.ts';
import { AccessLogs, type AccessLog } from '../edge/access-log/index.ts';
import { JwtAuthenticator, type AuthRequirement } from '../edge/jwt/index.ts';
import { StaticRegionView } from '../dns/region-view.ts';
import { DnsServer } from '../dns/server.ts';
import { RemoteDirectory } from './remote-directory.ts';
import type { OutcomeRuns, Snapshot, TargetState, WorkerAddresses } from './messages.ts';

export interface WorkerPlaneOptions {
  logger: Logger;
  baseDir: string;
  workers: number;
  /** Shared TLS session ticket keys (see Listeners). */
  ticketKeys?: Buffer;
  sendOutcomes(batch: [string, string, OutcomeRuns][]): void;
}

/**
 * The data plane of one worker process: the same components the
 * single-process Gateway wires (listeners, proxy, upgrade proxy, upstream
 * pools, JWT, DNS responder), fed by snapshots and endpoint state from the
 * control process instead of a config store and a health table.
 *
 * apply() has the Gateway's contract: everything is compiled and bound before
 * anything is swapped, so a snapshot that fails here changes nothing in this
 * worker (the control process then puts the other workers back).
 */
export class WorkerDataPlane {
  readonly directory: RemoteDirectory;
  readonly regionView = new StaticRegionView();
  readonly #logger: Logger;
  readonly #baseDir: string;
  readonly #pools: UpstreamPools;
  readonly #proxy: Proxy;
  readonly #upgrade: UpgradeProxy;
  readonly #listeners: Listeners;
  #jwt: JwtAuthenticator | null = null;
  #jwtKey = '';
  #dns: DnsServer | null = null;
  #dnsConfig: Config['dns'] | undefined;
  #version = 0;
  /** Kept across applies, as in the single-process Gateway. */
  readonly #edgeState: EdgeState = { clusterLoads: new ClusterLoads(), rateLimits: new RateLimitStates({ clock: systemClock }) };
  readonly #accessLogs: AccessLogs;

  constructor(options: WorkerPlaneOptions) {
    this.#logger = options.logger;
    this.#baseDir = options.baseDir;
    this.directory = new RemoteDirectory({ workers: options.workers, send: options.sendOutcomes });
    this.#pools = new UpstreamPools(this.#baseDir);
    const auth = {
      compile: (a: Config['routes'][number]['auth']) => this.#jwt!.compile(a),
      authenticate: (r: unknown, h: IncomingHttpHeaders, u: string) => this.#jwt!.authenticate(r as AuthRequirement, h, u),
    };
    this.#accessLogs = new AccessLogs({ baseDir: this.#baseDir, onError: (err) => this.#logger.warn({ err: err.message }, 'access log write failed') });
    this.#proxy = new Proxy({ directory: this.directory, pools: this.#pools, logger: this.#logger, accessLog: this.#accessLogs, auth });
    this.#upgrade = new UpgradeProxy({ directory: this.directory, pools: this.#pools, logger: this.#logger });
    this.#listeners = new Listeners({ proxy: this.#proxy, upgrade: this.#upgrade, logger: this.#logger, baseDir: this.#baseDir, ...(options.ticketKeys ? { ticketKeys: options.ticketKeys } : {}) });
  }

  get version(): number {
    return this.#version;
  }

  async apply(snapshot: Snapshot, targets: readonly TargetState[]): Promise<void> {
    const { config, version } = snapshot;
    const jwtKey = JSON.stringify(config.jwt ?? null);
    const jwt = this.#jwt !== null && jwtKey === this.#jwtKey ? this.#jwt : new JwtAuthenticator(config.jwt, { baseDir: this.#baseDir, clock: systemClock, logger: this.#logger.child({ component: 'jwt' }) });
    let table: ReturnType<typeof compileEdgeTable>;
    let undoDns: (() => Promise<void>) | undefined;
    let accessLog: AccessLog | null = null;
    try {
      if (jwt !== this.#jwt) await jwt.start();
      table = compileEdgeTable(config, version, mathRng, jwt, this.#edgeState);
      accessLog = this.#accessLogs.prepare(config.logging?.accessLog);
      undoDns = await this.#applyDns(config);
      await this.#listeners.apply(config.listeners);
    } catch (err) {
      this.#accessLogs.discard(accessLog);
      if (jwt !== this.#jwt) jwt.close();
      await undoDns?.();
      throw err;
    }
    if (!config.dns && this.#dns) {
      await this.#dns.close();
      this.#dns = null;
    }
    this.#dnsConfig = config.dns;
    this.directory.configure(config.clusters);
    this.directory.setTargets(targets);
    this.#pools.configure(config.clusters);
    this.#proxy.setTable(table);
    this.#upgrade.setTable(table);
    this.#accessLogs.commit(config.logging?.accessLog, accessLog);
    if (jwt !== this.#jwt) {
      this.#jwt?.close();
      this.#jwt = jwt;
      this.#jwtKey = jwtKey;
    }
    this.#version = version;
  }

  /** Endpoints that left their cluster: their pools drain (finish what is in flight, then close). */
  removed(endpoints: readonly [string, string][]): void {
    this.#pools.release(this.directory.forget(endpoints));
  }

  addresses(): WorkerAddresses {
    return { listeners: this.#listeners.addresses(), dns: this.#dns?.addresses() ?? null };
  }

  /** Stops accepting, lets requests in flight finish for up to `timeoutMs`, then closes everything. */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.#listeners.stopAccepting();
    await this.#dns?.close();
    this.#dns = null;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.#proxy.whenIdle().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    const unfinished = finished ? 0 : this.#proxy.inflight;
    await this.close();
    return { unfinished };
  }

  /** SIGUSR1, forwarded by the control process: the access log file is opened again. */
  reopenLogs(): void {
    this.#accessLogs.reopen();
  }

  async close(): Promise<void> {
    this.#listeners.stopAccepting();
    this.#listeners.destroyAll();
    await this.#dns?.close();
    this.#dns = null;
    this.directory.close();
    await this.#pools.destroy();
    this.#jwt?.close();
    await this.#accessLogs.close();
  }

  /** As Gateway#applyDns: a server starts when `dns` appears, is updated in place after that; returns the undo. */
  async #applyDns(config: Config): Promise<() => Promise<void>> {
    if (!config.dns) return async () => {};
    const current = this.#dns;
    if (current) {
      const previous = this.#dnsConfig;
      current.update(config.dns);
      return async () => {
        if (previous) current.update(previous);
      };
    }
    const dns = new DnsServer({
      config: config.dns,
      regionView: this.regionView,
      rng: mathRng,
      clock: systemClock,
      logger: this.#logger.child({ component: 'dns' }),
      baseDir: this.#baseDir,
      nodeRegion: config.node.region,
    });
    await dns.start();
    this.#dns = dns;
    return async () => {
      this.#dns = null;
      await dns.close();
    };
  }
}
