import type { Config } from './config/schema/index.ts';
import { loadConfigFile } from './config/load.ts';
import type { Logger } from './util/logger.ts';
import { systemClock, type Clock } from './util/clock.ts';
import { mathRng, type Rng } from './util/rng.ts';
import { parseDuration } from './util/duration.ts';
import { EndpointTable } from './health/endpoint-table.ts';
import { UpstreamPools } from './edge/upstreams.ts';
import { Proxy } from './edge/proxy.ts';
import { UpgradeProxy } from './edge/upgrade.ts';
import { Listeners, type BoundListener } from './edge/listeners.ts';
import { compileEdgeTable } from './edge/compile.ts';
import { AdminServer } from './admin/server.ts';
import { StaticRegionView } from './dns/region-view.ts';
import { collectProcessMetrics } from './metrics/registry.ts';

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
  readonly #pools: UpstreamPools;
  readonly #proxy: Proxy;
  readonly #upgrade: UpgradeProxy;
  readonly #listeners: Listeners;
  #admin: AdminServer | null = null;
  #adminAddress: { address: string; port: number } | null = null;
  #snapshot: AppliedSnapshot;
  #version = 0;
  #started = false;
  #draining = false;
  #applying: Promise<unknown> = Promise.resolve();

  constructor(options: GatewayOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.rng = options.rng ?? mathRng;
    this.baseDir = options.baseDir;
    this.configPath = options.configPath;
    this.endpoints = new EndpointTable();
    this.#pools = new UpstreamPools(this.baseDir);
    const accessLog = options.config.logging?.accessLog ?? false;
    this.#proxy = new Proxy({ directory: this.endpoints, pools: this.#pools, logger: this.logger, accessLog });
    this.#upgrade = new UpgradeProxy({ directory: this.endpoints, pools: this.#pools, logger: this.logger });
    this.#listeners = new Listeners({ proxy: this.#proxy, upgrade: this.#upgrade, logger: this.logger, baseDir: this.baseDir });
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

  get ready(): boolean {
    return this.#started && !this.#draining;
  }

  get draining(): boolean {
    return this.#draining;
  }

  addresses(): GatewayAddresses {
    return { pid: process.pid, listeners: this.#listeners.addresses(), admin: this.#adminAddress };
  }

  /**
   * Applies a validated config: compiles it, then swaps every component to it.
   * Calls are serialised. Throws without changing anything when compiling or
   * binding a new listener fails.
   */
  apply(config: Config, source = 'api'): Promise<AppliedSnapshot> {
    const run = this.#applying.then(() => this.#apply(config, source));
    this.#applying = run.catch(() => {});
    return run;
  }

  /** SIGHUP: re-reads the config file; a bad file is logged and the current config keeps serving. */
  async reloadFromFile(): Promise<AppliedSnapshot | null> {
    if (!this.configPath) return null;
    try {
      const config = loadConfigFile(this.configPath);
      const applied = await this.apply(config, `file:${this.configPath}`);
      this.logger.info({ version: applied.version }, 'config reloaded from file');
      return applied;
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
    if (this.#draining) return { unfinished: this.#proxy.inflight };
    this.#draining = true;
    const drain = this.#snapshot.config.drain;
    const delayMs = parseDuration(drain?.delay ?? '5s');
    const timeoutMs = parseDuration(drain?.timeout ?? '30s');
    this.logger.info({ delayMs, timeoutMs }, 'draining: readiness is now failing');
    await sleep(delayMs);
    this.#listeners.stopAccepting();
    const finished = await Promise.race([this.#proxy.whenIdle().then(() => true), sleep(timeoutMs).then(() => false)]);
    const unfinished = finished ? 0 : this.#proxy.inflight;
    if (!finished) this.logger.warn({ unfinished }, 'drain timeout: closing remaining requests');
    await this.close();
    return { unfinished };
  }

  async close(): Promise<void> {
    this.#draining = true;
    this.#listeners.stopAccepting();
    this.#listeners.destroyAll();
    await this.#admin?.close().catch(() => {});
    this.#admin = null;
    await this.#pools.destroy();
  }

  async #startComponents(config: Config): Promise<void> {
    collectProcessMetrics();
    await this.#apply(config, this.configPath ? `file:${this.configPath}` : 'initial');
    this.#admin = new AdminServer({ config: config.admin, logger: this.logger, isReady: () => this.ready });
    this.#adminAddress = await this.#admin.start();
    this.#started = true;
  }

  async #apply(config: Config, source: string): Promise<AppliedSnapshot> {
    const version = this.#version + 1;
    // Compile first: a config that can't compile changes nothing.
    const table = compileEdgeTable(config, version, this.rng);
    await this.#listeners.apply(config.listeners);
    const removed = this.endpoints.update(config.clusters);
    this.#pools.configure(config.clusters);
    this.#proxy.setTable(table);
    this.#upgrade.setTable(table);
    this.#pools.release(removed);
    this.#version = version;
    this.#snapshot = { version, config, appliedAt: this.clock.wallNow(), source };
    return this.#snapshot;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
