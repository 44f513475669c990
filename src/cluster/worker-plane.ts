import type { Config } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { mathRng, type Rng } from '../util/rng.ts';
import type { EngineName } from '../edge/http1/engine-pools.ts';
import { DataPlane } from './data-plane.ts';
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
  /** The data-plane engine (the config's `engine`, fixed at start like the single process's). */
  engine: EngineName;
  clock?: Clock;
  rng?: Rng;
}

/**
 * The data plane of one worker process: the same DataPlane the
 * single-process Gateway runs (listeners, proxy, upgrade proxy, upstream pools
 * with the worker's share of maxConnections, JWT) plus the DNS responder, fed
 * by snapshots and endpoint state from the control process instead of a
 * config store and a health table.
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
  readonly #plane: DataPlane;
  readonly #clock: Clock;
  readonly #rng: Rng;
  #dns: DnsServer | null = null;
  #dnsConfig: Config['dns'] | undefined;
  #version = 0;

  constructor(options: WorkerPlaneOptions) {
    this.#logger = options.logger;
    this.#baseDir = options.baseDir;
    this.#clock = options.clock ?? systemClock;
    this.#rng = options.rng ?? mathRng;
    this.directory = new RemoteDirectory({ workers: options.workers, send: options.sendOutcomes });
    this.#plane = new DataPlane({
      engine: options.engine,
      directory: this.directory,
      logger: this.#logger,
      baseDir: this.#baseDir,
      clock: this.#clock,
      rng: this.#rng,
      workers: options.workers,
      ...(options.ticketKeys ? { ticketKeys: options.ticketKeys } : {}),
    });
  }

  get version(): number {
    return this.#version;
  }

  async apply(snapshot: Snapshot, targets: readonly TargetState[]): Promise<void> {
    const { config, version } = snapshot;
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
    this.#dnsConfig = config.dns;
    this.directory.configure(config.clusters);
    this.directory.setTargets(targets);
    this.#plane.commit(staged);
    this.#version = version;
  }

  /** Endpoints that left their cluster: their pools drain (finish what is in flight, then close). */
  removed(endpoints: readonly [string, string][]): void {
    this.#plane.release(this.directory.forget(endpoints));
  }

  addresses(): WorkerAddresses {
    return { listeners: this.#plane.addresses(), dns: this.#dns?.addresses() ?? null };
  }

  /** Stops accepting, lets requests in flight finish for up to `timeoutMs`, then closes everything. */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.#plane.stopAccepting();
    await this.#dns?.close();
    this.#dns = null;
    const { unfinished } = await this.#plane.drain(timeoutMs);
    await this.close();
    return { unfinished };
  }

  /** SIGUSR1, forwarded by the control process: the access log file is opened again. */
  reopenLogs(): void {
    this.#plane.reopenLogs();
  }

  async close(): Promise<void> {
    this.#plane.closeListeners();
    await this.#dns?.close();
    this.#dns = null;
    this.directory.close();
    await this.#plane.close();
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
      rng: this.#rng,
      clock: this.#clock,
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
