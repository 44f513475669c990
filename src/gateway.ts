import { resolve } from 'node:path';
import type { Config } from './config/schema/index.ts';
import { loadConfigFile } from './config/load.ts';
import type { Logger } from './util/logger.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { mathRng, type Rng } from './util/rng.ts';
import { EndpointTable } from './health/endpoint-table.ts';
import type { BoundListener } from './edge/listeners.ts';
import { DataPlane } from './cluster/data-plane.ts';
import { engineOf } from './edge/http1/engine-pools.ts';
import { AdminServer } from './admin/server.ts';
import type { StateDir } from './control/persistence.ts';
import { openConfigStore } from './control/open-store.ts';
import type { ConfigStore, ChangeResult } from './control/store.ts';
import { AuditLog } from './admin/audit.ts';
import { adminApi } from './admin/api.ts';
import { ReleaseController, RegistryTrafficSource } from './release/index.ts';
import { ReleaseFleet } from './release/fleet.ts';
import { EtcdConfigStore } from './control/etcd-store.ts';
import { DeployOrchestrator } from './deploy/orchestrator.ts';
import { StaticRegionView } from './dns/region-view.ts';
import { DnsServer } from './dns/server.ts';
import { Fleet } from './gtm/fleet-service.ts';
import { KeysetWatch } from './gateway-keysets.ts';
import { fleetApi } from './gtm/admin-route.ts';
import { collectProcessMetrics } from './metrics/registry.ts';
import { ClusterDataPlane } from './cluster/control-plane.ts';
import { resolveWorkers } from './cluster/workers.ts';
import { EdgeplaneError, ConfigError } from './util/errors.ts';
import { controlMetrics } from './control/metrics.ts';
import { adminAddressOf } from './admin/options.ts';
import { resolveDrain } from './gateway-options.ts';

export interface GatewayOptions {
  config: Config;
  /** The file the config came from (SIGHUP reloads it). */
  configPath?: string;
  /** Relative paths in the config (certificates, key files, stateDir) resolve against this. */
  baseDir: string;
  logger: Logger;
  clock?: Clock;
  rng?: Rng;
}

export interface AppliedSnapshot {
  version: number;
  config: Config;
  appliedAt: number;
  source: string;
}

export interface GatewayAddresses {
  pid: number;
  listeners: BoundListener[];
  admin: { address: string; port: number } | null;
  /** DNS UDP and TCP sockets, or null without a `dns` section. */
  dns: ReturnType<DnsServer['addresses']> | null;
  /** The gossip address (UDP and TCP), or null without a `gossip` section. */
  gossip: string | null;
  /** With `workers` > 1: the data-plane worker processes (they serve the listeners and DNS above). */
  workers?: { id: number; pid: number; state: string; version: number }[];
}

/**
 * Wires the components of one gateway process and owns the current snapshot.
 * A new config is compiled completely before anything changes; then every
 * component swaps to it. Requests in flight finish on the snapshot they started with.
 */
export class Gateway {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly baseDir: string;
  readonly configPath: string | undefined;
  readonly endpoints: EndpointTable;
  readonly regionView = new StaticRegionView();
  /** The request path (listeners, proxy, pools, JWT): the same component every worker runs. */
  readonly #plane: DataPlane;
  #admin: AdminServer | null = null;
  #adminAddress: { address: string; port: number } | null = null;
  #snapshot: AppliedSnapshot;
  #stateDir: StateDir | null = null;
  #store: ConfigStore | null = null;
  #audit: AuditLog | null = null;
  #releases: ReleaseController | null = null;
  #deploys: DeployOrchestrator | null = null;
  /** With the etcd store: the election of the fleet's one release driver and the fleet's traffic counters. */
  #releaseFleet: ReleaseFleet | null = null;
  /** The authoritative DNS responder, while the config has a `dns` section. */
  #dns: DnsServer | null = null;
  /** Gossip membership and the region aggregator the DNS reads, with a `gossip` section (settings apply at start). */
  #fleet: Fleet | null = null;
  #keysets: KeysetWatch | null = null;
  #started = false;
  #draining = false;
  /** With `workers` > 1, the data plane runs in worker processes and this one is the control process (src/cluster). */
  #cluster: ClusterDataPlane | null = null;

  constructor(options: GatewayOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.rng = options.rng ?? mathRng;
    this.baseDir = options.baseDir;
    this.configPath = options.configPath;
    this.endpoints = new EndpointTable({ clock: this.clock, rng: this.rng, logger: this.logger.child({ component: 'health' }), baseDir: this.baseDir });
    this.#plane = new DataPlane({
      engine: engineOf(options.config),
      directory: this.endpoints,
      logger: this.logger,
      baseDir: this.baseDir,
      clock: this.clock,
      rng: this.rng,
      workers: 1,
    });
    // Endpoints that discovery removes between config changes drain too (a double release is a no-op).
    this.endpoints.onRemoved((eps) => this.#plane.release(eps));
    this.#snapshot = { version: 0, config: options.config, appliedAt: 0, source: 'initial' };
  }

  /** Builds, configures and starts a gateway; throws (after cleaning up) when anything can't start. */
  static async start(options: GatewayOptions): Promise<Gateway> {
    const gw = new Gateway(options);
    try {
      await gw.#startComponents(options.config);
    } catch (err) {
      await gw.close().catch(() => {});
      throw err;
    }
    return gw;
  }

  get snapshot(): AppliedSnapshot {
    return this.#snapshot;
  }

  /** The versioned config store: every config change goes through it (admin API, SIGHUP, rollback). */
  get store(): ConfigStore {
    if (!this.#store) throw new Error('gateway not started');
    return this.#store;
  }

  /** `admin.stateDir`, for modules that persist their own documents beside the config history. */
  get stateDir(): StateDir {
    if (!this.#stateDir) throw new Error('gateway not started');
    return this.#stateDir;
  }

  get ready(): boolean {
    return this.#started && !this.#draining;
  }

  get draining(): boolean {
    return this.#draining;
  }

  addresses(): GatewayAddresses {
    if (this.#cluster) {
      const { listeners, dns, workers } = this.#cluster.addresses();
      return { pid: process.pid, listeners, admin: this.#adminAddress, dns, gossip: this.#fleet?.agent.address ?? null, workers };
    }
    return { pid: process.pid, listeners: this.#plane.addresses(), admin: this.#adminAddress, dns: this.#dns?.addresses() ?? null, gossip: this.#fleet?.agent.address ?? null };
  }

  /**
   * Replaces the config through the versioned store (validated, applied,
   * persisted as a new version, like PUT /v1/config; `author` is recorded).
   * Calls are serialised. Throws without changing anything when the config is
   * invalid, can't be compiled or a new listener can't bind.
   */
  async apply(config: Config, author = 'api'): Promise<AppliedSnapshot> {
    await this.store.replace(config, { source: 'api', author, change: 'Gateway.apply' });
    return this.#snapshot;
  }

  /** SIGHUP: re-reads the config file; a bad file is logged and the current config keeps serving. */
  async reloadFromFile(): Promise<AppliedSnapshot | null> {
    if (!this.configPath) return null;
    try {
      let config: Config;
      try {
        config = loadConfigFile(this.configPath);
      } catch (err) {
        // A file that fails the schema never reaches the store: count the rejection here (the store counts the rest).
        if (err instanceof ConfigError) controlMetrics.configChanges.labels('file', 'rejected').inc();
        throw err;
      }
      const result: ChangeResult = await this.store.reloadFile(config, `reload ${this.configPath}`);
      this.logger.info({ version: result.version, changed: result.changed }, 'config reloaded from file');
      return this.#snapshot;
    } catch (err) {
      this.logger.error({ err: (err as Error).message }, 'config reload rejected; the previous config keeps serving');
      return null;
    }
  }

  /**
   * Graceful drain: /readyz turns 503 at once; after `drain.delay` listeners stop
   * accepting and idle connections close (Connection: close, GOAWAY); in-flight
   * requests get up to `drain.timeout` to finish; then everything closes.
   */
  async drain(): Promise<{ unfinished: number }> {
    if (this.#draining) return { unfinished: this.#plane.inflight };
    this.#draining = true;
    const { delayMs, timeoutMs } = resolveDrain(this.#snapshot.config.drain);
    this.logger.info({ delayMs, timeoutMs }, 'draining: readiness is now failing');
    await sleep(delayMs);
    if (this.#cluster) {
      const { unfinished } = await this.#cluster.drain(timeoutMs);
      if (unfinished > 0) this.logger.warn({ unfinished }, 'drain timeout: workers closed remaining requests');
      await this.close();
      return { unfinished };
    }
    const { unfinished } = await this.#plane.drain(timeoutMs);
    const finished = unfinished === 0;
    if (!finished) this.logger.warn({ unfinished }, 'drain timeout: closing remaining requests');
    await this.close();
    return { unfinished };
  }

  /** SIGUSR1: the access log file is opened again (after logrotate moved it). */
  reopenLogs(): void {
    this.#plane.reopenLogs();
    // Workers write their own lines to the same file: each reopens it.
    for (const w of this.#cluster?.addresses().workers ?? []) {
      try {
        process.kill(w.pid, 'SIGUSR1');
      } catch {
        // a worker that just exited is restarted with the file opened afresh
      }
    }
  }

  async close(): Promise<void> {
    this.#draining = true;
    this.#plane.closeListeners();
    await this.#cluster?.close();
    this.#keysets?.close();
    // Leave the fleet first: peers mark this gateway left (not dead) and re-plan DNS at once.
    await this.#fleet?.close().catch(() => {});
    this.#fleet = null;
    await this.#dns?.close();
    this.#dns = null;
    await this.#admin?.close().catch(() => {});
    this.#admin = null;
    // Running releases stop here and resume from the persisted state on the next start.
    this.#deploys?.close();
    this.#releases?.close();
    await this.#releaseFleet?.close();
    await this.#store?.close();
    await this.#audit?.close();
    this.endpoints.close();
    await this.#plane.close();
  }

  async #startComponents(config: Config): Promise<void> {
    collectProcessMetrics();
    // Gossip starts before the first apply, so the DNS server reads the fleet's region view from its first answer.
    if (config.gossip) {
      this.#fleet = await Fleet.start({ config, table: this.endpoints, currentConfig: () => this.#snapshot.config, clock: this.clock, rng: this.rng, logger: this.logger });
    }
    const workers = resolveWorkers(config.workers);
    if (workers > 1) {
      this.#cluster = new ClusterDataPlane({ workers, logger: this.logger, baseDir: this.baseDir, endpoints: this.endpoints, regionView: this.#fleet?.aggregator ?? this.regionView, rng: this.rng, clock: this.clock });
    }
    // The store decides between the file and the persisted state (the GitOps rule) and applies the winner.
    // `store` picks the kind: this node's state directory (default) or etcd shared by the fleet (src/control).
    const { store, stateDir } = await openConfigStore({ config, baseDir: this.baseDir, apply: (c, v, s) => this.#apply(c, v, s), logger: this.logger, clock: this.clock });
    this.#stateDir = stateDir;
    this.#store = store;
    await this.#store.start(config, this.configPath);
    this.#audit = new AuditLog({ dir: stateDir.path, logger: this.logger });
    if (!config.admin?.token) this.logger.warn('admin.token is not set: the /v1 admin API is open to every local process');
    // Releases read the target's traffic from the metrics registry and its health from the endpoint table: nothing on the request path.
    // With etcd one elected node drives the fleet's releases and its gates sum every node's published counters.
    const etcdStore = this.#store instanceof EtcdConfigStore ? this.#store : null;
    this.#releaseFleet = etcdStore ? new ReleaseFleet({ store: etcdStore, nodeId: config.node.id, clock: this.clock, logger: this.logger, health: () => this.#healthReport() }) : null;
    this.#releases = await ReleaseController.open({
      store: this.#store,
      stateDir,
      clock: this.clock,
      logger: this.logger,
      traffic: this.#releaseFleet?.traffic ?? new RegistryTrafficSource(),
      ...(this.#releaseFleet ? { fleet: this.#releaseFleet } : {}),
      health: { report: () => this.#healthReport(), onChange: (l) => this.endpoints.onChange(l) },
    });
    // Deploys (release kind `deploy`) start containers of a unit's idle color, then hand the route to the release controller.
    const configStore = this.#store;
    this.#deploys = await DeployOrchestrator.open({ config: () => configStore.current.config, releases: this.#releases, health: () => this.#healthReport(), stateDir, clock: this.clock, logger: this.logger });
    const api = adminApi({
      store: this.#store,
      healthReport: () => this.#healthReport(),
      // Read per request: a SIGHUP reload can rotate the token.
      token: () => this.#snapshot.config.admin?.token,
      audit: this.#audit,
      clock: this.clock,
      releases: this.#releases,
      releaseKinds: { deploy: this.#deploys },
      // The dashboard (/v1/dashboard) reads the same fleet and DNS weights as /v1/fleet.
      fleet: () => this.#fleet?.view() ?? null,
      gtmWeights: () => this.#dns?.gtmWeights() ?? this.#cluster?.gtmWeights() ?? null,
    });
    this.#admin = new AdminServer({ config: config.admin, logger: this.logger, isReady: () => this.ready, plugins: [api, fleetApi({ fleet: () => this.#fleet, node: () => this.#snapshot.config.node, dnsWeights: () => this.#dns?.gtmWeights() ?? this.#cluster?.gtmWeights() ?? null, token: () => this.#snapshot.config.admin?.token })] });
    this.#adminAddress = await this.#admin.start().catch((err: NodeJS.ErrnoException) => {
      // Name the listener: a bare EADDRINUSE doesn't say which of the gateway's sockets is taken.
      throw new EdgeplaneError('EP_ADMIN_LISTEN', `the admin listener cannot bind ${adminAddressOf(config.admin)}: ${err.code ?? err.message}`, { cause: err });
    });
    // Every nameserver of a signed zone must serve the same DNSKEY set: published to and compared with peers (gossip, etcd).
    this.#keysets = new KeysetWatch({ config: () => this.#snapshot.config, baseDir: this.baseDir, fleet: () => this.#fleet, store: () => this.#store, logger: this.logger });
    this.#keysets.start();
    this.#started = true;
  }

  /** The health table's report; with workers, their breaker counters and in-flight requests are added in. */
  #healthReport(): ReturnType<EndpointTable['healthReport']> {
    const report = this.endpoints.healthReport();
    const full = this.#cluster ? this.#cluster.healthReport(report) : report;
    const dnssec = this.#keysets?.report();
    return dnssec ? { ...full, status: dnssec.state, reasons: dnssec.reasons, dnssec } : full;
  }

  /** Gossip membership and region states, or null without a `gossip` section. */
  get fleet(): Fleet | null {
    return this.#fleet;
  }

  /** The DNS server (GTM weights for /v1/fleet: `dns?.gtmWeights()`), or null without a `dns` section. */
  get dns(): DnsServer | null {
    return this.#dns;
  }

  /**
   * DNS follows the config: a server starts (binds) when `dns` appears and is
   * updated in place after that (new zones compile before they replace the
   * old; listen addresses change only on restart). Returns the undo for when a
   * later step of the same apply fails.
   */
  async #applyDns(config: Config): Promise<() => Promise<void>> {
    const current = this.#dns;
    if (!config.dns) return async () => {};
    if (current) {
      const previous = this.#snapshot.config.dns;
      current.update(config.dns);
      return async () => {
        if (previous) current.update(previous);
      };
    }
    const dns = new DnsServer({
      config: config.dns,
      regionView: this.#fleet?.aggregator ?? this.regionView,
      rng: this.rng,
      clock: this.clock,
      logger: this.logger.child({ component: 'dns' }),
      baseDir: this.baseDir,
      nodeRegion: config.node.region,
    });
    await dns.start();
    this.#dns = dns;
    return async () => {
      this.#dns = null;
      await dns.close();
    };
  }

  /** Swaps every component to `config`; the store assigns `version` and records it. */
  async #apply(config: Config, version: number, source: string): Promise<AppliedSnapshot> {
    if (this.#cluster) {
      // Workers compile and bind; a refusal from any of them changes nothing anywhere.
      await this.#cluster.apply(config, version, this.#snapshot.version > 0 ? this.#snapshot.config : null);
      this.#fleet?.reconfigure(config); // new gossip keys apply at once (rotation); never throws
      this.#snapshot = { version, config, appliedAt: this.clock.wallNow(), source };
      return this.#snapshot;
    }
    // Compile and bind first: a config that can't compile or bind changes nothing.
    const undoDns = await this.#applyDns(config);
    let staged;
    try {
      staged = await this.#plane.stage(config, version);
    } catch (err) {
      await undoDns();
      throw err;
    }
    if (!config.dns && this.#dns) {
      await this.#dns.close();
      this.#dns = null;
    }
    const removed = this.endpoints.update(config.clusters);
    this.#plane.commit(staged);
    this.#plane.release(removed);
    this.#fleet?.reconfigure(config); // new gossip keys apply at once (rotation); never throws
    this.#snapshot = { version, config, appliedAt: this.clock.wallNow(), source };
    return this.#snapshot;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

