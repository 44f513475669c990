import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../util/logger.ts';
import type { RegionStatus } from '../dns/region-view.ts';
import type { MetricJson } from '../metrics/fast.ts';
import { WorkerApplyError, WorkerStartError, WorkerTimeoutError } from './errors.ts';
import { isEdgeplaneMessage, type FromWorker, type OutcomeRuns, type Snapshot, type TargetState, type ToWorker, type WorkerAddresses, type WorkerStats } from './messages.ts';

export interface WorkerPoolOptions {
  count: number;
  logger: Logger;
  /** Relative paths in the config resolve against this in the workers too. */
  baseDir: string;
  /** Called with every outcome batch a worker sends (the control process replays it into its health table). */
  onOutcomes(batch: [string, string, OutcomeRuns][]): void;
  /** The endpoint state and region view to hand a (re)started worker. */
  currentTargets(): TargetState[];
  currentRegions(): [string, RegionStatus][];
  /** How long a worker may take to apply a snapshot; default 15 s. */
  applyTimeoutMs?: number;
}

type SlotState = 'starting' | 'ready' | 'stopping' | 'gone';

interface Slot {
  index: number;
  worker: Worker;
  state: SlotState;
  version: number;
  addresses: WorkerAddresses | null;
  startedAt: number;
  /** Restarts in a row that died young: backs the next restart off. */
  quickDeaths: number;
  /** The last metrics this worker sent, kept for a while after it dies (see #retired). */
  lastMetrics: MetricJson[] | null;
  /** Its latest breaker counters and in-flight requests. */
  stats: WorkerStats | null;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** A worker that lived shorter than this is restarted with a growing delay (100 ms doubling to 5 s). */
const YOUNG_MS = 5_000;

/**
 * The data-plane workers of a multi-worker gateway, seen from the control
 * process: forks them (node:cluster, so every worker can listen on the same
 * addresses), hands each the current snapshot, endpoint state and region
 * view, applies new snapshots to all of them (all or none), restarts a worker
 * that dies with the snapshot in force, and asks them for their metrics.
 */
export class WorkerPool {
  readonly #o: WorkerPoolOptions;
  readonly #log: Logger;
  #slots = new Map<number, Slot>();
  #current: Snapshot | null = null;
  #seq = 0;
  #waiters = new Map<string, Waiter>();
  #closing = false;
  /** Counters and histograms of workers that died, so sums over workers never go backwards. */
  #retired: MetricJson[][] = [];
  #readyWaiters: (() => void)[] = [];
  /** Generated once per gateway run, kept in memory only, handed to every worker (restarted ones too). */
  readonly #ticketKeys = randomBytes(48).toString('base64');

  constructor(options: WorkerPoolOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: 'workers' });
  }

  get count(): number {
    return this.#o.count;
  }

  get started(): boolean {
    return this.#current !== null;
  }

  /** Forks every worker with the first snapshot; resolves when all serve, throws (and stops them) when one can't. */
  async start(snapshot: Snapshot): Promise<void> {
    this.#current = snapshot;
    const entry = fileURLToPath(new URL(`./worker-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));
    cluster.setupPrimary({ exec: entry, args: [], silent: false });
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    const started = [];
    for (let i = 1; i <= this.#o.count; i++) started.push(this.#fork(i, 0));
    try {
      await Promise.all(started);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Sends a snapshot to every live worker and waits for all of them. If any
   * refuses it (a listener can't bind, a certificate is missing), the workers
   * that took it get the previous snapshot back and the error is thrown, so
   * the config store refuses the change as a single process would.
   */
  async apply(snapshot: Snapshot, targets: TargetState[]): Promise<void> {
    const previous = this.#current;
    const live = [...this.#slots.values()].filter((s) => s.state === 'starting' || s.state === 'ready');
    const results = await Promise.allSettled(live.map((s) => this.#applyTo(s, snapshot, targets)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed < 0) {
      this.#current = snapshot;
      return;
    }
    const error = (results[failed] as PromiseRejectedResult).reason as Error;
    if (previous) {
      const back = live.filter((_, i) => results[i]!.status === 'fulfilled');
      await Promise.allSettled(back.map((s) => this.#applyTo(s, previous, this.#o.currentTargets())));
    }
    throw error;
  }

  /** Endpoint state changed in the control process: every worker gets the new sets. */
  setTargets(targets: TargetState[]): void {
    if (targets.length > 0) this.#broadcast({ ep: 'targets', targets });
  }

  removed(endpoints: [string, string][]): void {
    if (endpoints.length > 0) this.#broadcast({ ep: 'removed', endpoints });
  }

  regions(regions: [string, RegionStatus][]): void {
    this.#broadcast({ ep: 'regions', regions });
  }

  /** Metrics of every serving worker (those that don't answer within 2 s are left out) and of workers that died. */
  async metrics(): Promise<MetricJson[][]> {
    const ready = [...this.#slots.values()].filter((s) => s.state === 'ready');
    const replies = await Promise.all(
      ready.map(async (s) => {
        try {
          const m = (await this.#request(s, (seq) => ({ ep: 'metrics', seq }), 2_000)) as MetricJson[];
          s.lastMetrics = m;
          return m;
        } catch {
          return s.lastMetrics ?? [];
        }
      }),
    );
    return [...replies, ...this.#retired];
  }

  /** Addresses the workers bound (they all listen on the same ones), and who they are. */
  addresses(): WorkerAddresses & { workers: { id: number; pid: number; state: SlotState; version: number }[] } {
    const first = [...this.#slots.values()].find((s) => s.addresses !== null);
    return {
      listeners: first?.addresses?.listeners ?? [],
      dns: first?.addresses?.dns ?? null,
      workers: [...this.#slots.values()].map((s) => ({ id: s.index, pid: s.worker.process.pid ?? 0, state: s.state, version: s.version })),
    };
  }

  /** The latest stats of every live worker. */
  stats(): WorkerStats[] {
    return [...this.#slots.values()].filter((s) => s.state === 'ready' && s.stats !== null).map((s) => s.stats!);
  }

  /** Resolves once every worker serves again (tests, after a restart). */
  whenAllReady(): Promise<void> {
    if (this.#allReady()) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /** Graceful: workers stop accepting and finish what is in flight (up to `timeoutMs`), then exit. */
  async drain(timeoutMs: number): Promise<{ unfinished: number }> {
    this.#closing = true;
    const live = [...this.#slots.values()].filter((s) => s.state === 'ready' || s.state === 'starting');
    const results = await Promise.all(
      live.map(async (s) => {
        s.state = 'stopping';
        try {
          const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
          const reply = (await this.#request(s, () => ({ ep: 'drain', timeoutMs }), timeoutMs + 5_000, 'drained')) as { unfinished: number };
          await Promise.race([exited, sleep(2_000)]);
          return reply.unfinished;
        } catch {
          s.worker.kill('SIGKILL');
          return 0;
        }
      }),
    );
    return { unfinished: results.reduce((a, b) => a + b, 0) };
  }

  /** Stops every worker now. */
  async close(): Promise<void> {
    this.#closing = true;
    const exits = [];
    for (const s of this.#slots.values()) {
      if (s.state === 'gone') continue;
      s.state = 'stopping';
      exits.push(new Promise<void>((resolve) => (s.worker.isDead() ? resolve() : s.worker.once('exit', () => resolve()))));
      s.worker.kill('SIGKILL');
    }
    await Promise.race([Promise.all(exits), sleep(5_000)]);
    for (const w of this.#waiters.values()) w.reject(new WorkerStartError('worker pool closed'));
    this.#waiters.clear();
  }

  // ---- internals ----

  #fork(index: number, quickDeaths: number): Promise<void> {
    const worker = cluster.fork({ EDGEPLANE_WORKER_ID: String(index) });
    const slot: Slot = { index, worker, state: 'starting', version: 0, addresses: null, startedAt: Date.now(), quickDeaths, lastMetrics: null, stats: null };
    this.#slots.set(index, slot);
    worker.on('message', (m: unknown) => this.#onMessage(slot, m));
    worker.on('error', (err) => this.#log.warn({ err, worker: index }, 'worker IPC error'));
    const snapshot = this.#current!;
    return new Promise<void>((resolve, reject) => {
      this.#waiters.set(`${worker.id}:ready`, {
        resolve: () => resolve(),
        reject,
      });
      this.#waiters.set(`${worker.id}:hello`, {
        resolve: () => this.#send(slot, {
          ep: 'init',
          worker: index,
          workers: this.#o.count,
          baseDir: this.#o.baseDir,
          ticketKeys: this.#ticketKeys,
          snapshot,
          targets: this.#o.currentTargets(),
          regions: this.#o.currentRegions(),
        }),
        reject: () => {},
      });
    });
  }

  #onMessage(slot: Slot, message: unknown): void {
    if (!isEdgeplaneMessage(message)) return;
    const m = message as FromWorker;
    const id = slot.worker.id;
    switch (m.ep) {
      case 'hello':
        this.#settle(`${id}:hello`, null);
        return;
      case 'ready': {
        slot.state = slot.state === 'starting' ? 'ready' : slot.state;
        slot.version = m.version;
        slot.addresses = m.addresses;
        this.#log.info({ worker: slot.index, pid: slot.worker.process.pid, version: m.version }, 'worker ready');
        this.#settle(`${id}:ready`, null);
        // A snapshot applied while this worker was starting did not reach it: bring it up to date.
        if (this.#current && this.#current.version !== m.version) void this.#catchUp(slot);
        if (this.#allReady()) for (const w of this.#readyWaiters.splice(0)) w();
        return;
      }
      case 'init-failed': {
        this.#settle(`${id}:ready`, new WorkerApplyError(slot.index, m.error));
        return;
      }
      case 'applied':
        if (!m.error) {
          slot.version = m.version;
          if (m.addresses) slot.addresses = m.addresses;
        }
        this.#settle(`${id}:applied:${m.seq}`, m.error ? new WorkerApplyError(slot.index, m.error) : null, m);
        return;
      case 'outcomes':
        this.#o.onOutcomes(m.batch);
        return;
      case 'stats':
        slot.stats = m.stats;
        return;
      case 'metrics':
        this.#settle(`${id}:metrics:${m.seq}`, null, m.metrics);
        return;
      case 'drained':
        this.#settle(`${id}:drained`, null, m);
        return;
    }
  }

  #settle(key: string, err: Error | null, value?: unknown): void {
    const w = this.#waiters.get(key);
    if (!w) return;
    this.#waiters.delete(key);
    if (err) w.reject(err);
    else w.resolve(value);
  }

  #request(slot: Slot, make: (seq: number) => ToWorker, timeoutMs: number, replyKey?: string): Promise<unknown> {
    const seq = ++this.#seq;
    const message = make(seq);
    const key = replyKey ? `${slot.worker.id}:${replyKey}` : `${slot.worker.id}:${message.ep === 'apply' ? 'applied' : message.ep}:${seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(key);
        reject(new WorkerTimeoutError(`worker ${slot.index} ${message.ep}`, timeoutMs));
      }, timeoutMs);
      timer.unref();
      this.#waiters.set(key, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      if (!this.#send(slot, message)) {
        this.#settle(key, new WorkerStartError(`worker ${slot.index} is not connected`));
      }
    });
  }

  async #applyTo(slot: Slot, snapshot: Snapshot, targets: TargetState[]): Promise<void> {
    await this.#request(slot, (seq) => ({ ep: 'apply', seq, snapshot, targets }), this.#o.applyTimeoutMs ?? 15_000);
  }

  async #catchUp(slot: Slot): Promise<void> {
    const snapshot = this.#current!;
    try {
      await this.#applyTo(slot, snapshot, this.#o.currentTargets());
    } catch (err) {
      // The others serve this snapshot: a worker that can't is replaced rather than left behind.
      this.#log.error({ err, worker: slot.index }, 'worker could not catch up with the current snapshot; restarting it');
      slot.worker.kill('SIGKILL');
    }
  }

  #send(slot: Slot, message: ToWorker): boolean {
    if (!slot.worker.isConnected()) return false;
    try {
      slot.worker.send(message);
      return true;
    } catch {
      return false;
    }
  }

  #broadcast(message: ToWorker): void {
    for (const s of this.#slots.values()) if (s.state === 'ready' || s.state === 'starting') this.#send(s, message);
  }

  #allReady(): boolean {
    return [...this.#slots.values()].every((s) => s.state === 'ready');
  }

  #onExit(worker: Worker, code: number | null, signal: string | null): void {
    const slot = [...this.#slots.values()].find((s) => s.worker === worker);
    if (!slot) return;
    const wasStarting = slot.state === 'starting';
    slot.state = 'gone';
    if (slot.lastMetrics) this.#retire(slot.lastMetrics);
    // Whatever it owed an answer to will not come.
    for (const [key, w] of this.#waiters) {
      if (!key.startsWith(`${worker.id}:`)) continue;
      this.#waiters.delete(key);
      w.reject(new WorkerStartError(`worker ${slot.index} exited (${signal ?? code})`));
    }
    if (this.#closing) return;
    const young = Date.now() - slot.startedAt < YOUNG_MS;
    const quickDeaths = young ? slot.quickDeaths + 1 : 0;
    const delay = young ? Math.min(5_000, 100 * 2 ** Math.min(6, quickDeaths - 1)) : 0;
    this.#log.error({ worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delay, wasStarting }, 'worker exited; restarting it with the current snapshot');
    setTimeout(() => {
      if (this.#closing) return;
      this.#fork(slot.index, quickDeaths).catch((err: Error) => this.#log.error({ err, worker: slot.index }, 'restarted worker failed to start'));
    }, delay).unref();
  }

  /**
   * Keeps a dead worker's counters and histograms (as last scraped; gauges
   * describe the living only), folded into one running sum, so totals over
   * workers don't go backwards when one is replaced.
   */
  #retire(metrics: MetricJson[]): void {
    const kept = metrics.filter((m) => m.type === 'counter' || m.type === 'histogram');
    this.#retired = [sumMetrics([...(this.#retired[0] ?? []), ...kept])];
  }
}

/** Adds up series with the same name and labels (counters and histogram parts). */
export function sumMetrics(metrics: readonly MetricJson[]): MetricJson[] {
  const byName = new Map<string, { json: MetricJson; values: Map<string, MetricJson['values'][number]> }>();
  for (const m of metrics) {
    let entry = byName.get(m.name);
    if (!entry) byName.set(m.name, (entry = { json: { ...m, values: [] }, values: new Map() }));
    for (const v of m.values) {
      const key = `${v.metricName ?? ''}|${Object.keys(v.labels).sort().map((k) => `${k}=${v.labels[k]}`).join(',')}`;
      const prev = entry.values.get(key);
      if (prev) prev.value += v.value;
      else entry.values.set(key, { ...v, labels: { ...v.labels } });
    }
  }
  return [...byName.values()].map((e) => ({ ...e.json, values: [...e.values.values()] }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
