import type { ClusterConfig } from '../config/schema/index.ts';
import type { ClusterBreaker, ClusterTarget, Endpoint, EndpointDirectory, UpstreamOutcome } from '../health/types.ts';
import { CircuitBreaker } from '../health/circuit-breaker.ts';
import { resolveBreaker, type BreakerLimits } from '../health/options.ts';
import { parseHostPort } from '../util/address.ts';
import type { OutcomeRuns, TargetState, WorkerStats } from './messages.ts';
import { appendOutcome, outcomeCode } from './outcomes.ts';

/** A worker's view of one endpoint: identity kept across target updates so in-flight counts and pool lookups survive. */
export class RemoteEndpoint implements Endpoint {
  readonly cluster: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  active = 0;
  /** Outcomes since the last batch (null when none). */
  runs: OutcomeRuns | null = null;
  constructor(cluster: string, address: string) {
    const { host, port } = parseHostPort(address);
    this.cluster = cluster;
    this.address = address;
    this.host = host;
    this.port = port;
  }
}

interface Entry {
  target: { name: string; endpoints: readonly RemoteEndpoint[]; available: boolean; panic: boolean };
  byAddress: Map<string, RemoteEndpoint>;
  breaker: CircuitBreaker | null;
}

export interface RemoteDirectoryOptions {
  /** Workers sharing the cluster-wide circuit-breaker limits (each enforces its share). */
  workers: number;
  /** Sends a batch of outcomes to the control process. */
  send(batch: [string, string, OutcomeRuns][]): void;
  /** How often outcomes are batched; default 100 ms. */
  flushMs?: number;
}

/**
 * The EndpointDirectory of a data-plane worker: endpoint sets and their
 * eligibility come from the control process (which runs health checks and
 * outlier detection for the whole gateway), outcomes go back to it in batches
 * every 100 ms, off the request path. Circuit breakers are local: each worker
 * enforces ceil(limit / workers) of every limit (docs/multicore.md says why).
 */
export class RemoteDirectory implements EndpointDirectory {
  readonly #workers: number;
  readonly #send: RemoteDirectoryOptions['send'];
  #clusters = new Map<string, Entry>();
  #pending: RemoteEndpoint[] = [];
  #listeners = new Set<(cluster: string) => void>();
  #timer: NodeJS.Timeout;

  constructor(options: RemoteDirectoryOptions) {
    this.#workers = Math.max(1, options.workers);
    this.#send = options.send;
    this.#timer = setInterval(() => this.flush(), options.flushMs ?? 100);
    this.#timer.unref();
  }

  cluster(name: string): ClusterTarget | undefined {
    return this.#clusters.get(name)?.target;
  }

  /** Hot path: one field read and an append to the endpoint's run list. */
  report(endpoint: Endpoint, outcome: UpstreamOutcome, _status: number): void {
    const ep = endpoint as RemoteEndpoint;
    if (ep.runs === undefined) return; // not handed out by this directory
    const code = outcomeCode(outcome);
    if (ep.runs === null) {
      ep.runs = [code, 1];
      this.#pending.push(ep);
    } else {
      appendOutcome(ep.runs, code);
    }
  }

  breaker(cluster: string): ClusterBreaker | undefined {
    return this.#clusters.get(cluster)?.breaker ?? undefined;
  }

  onChange(listener: (cluster: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The worker's share of a cluster-wide limit (a limit of 0, e.g. `maxRetries: 0`, stays 0 in every worker). */
  share(limits: BreakerLimits): BreakerLimits {
    const part = (n: number) => (n <= 0 ? 0 : Math.max(1, Math.ceil(n / this.#workers)));
    return { maxConnections: part(limits.maxConnections), maxPendingRequests: part(limits.maxPendingRequests), maxRequests: part(limits.maxRequests), maxRetries: part(limits.maxRetries) };
  }

  /** A new snapshot's clusters: breakers created or re-limited; clusters gone from the config are dropped. */
  configure(clusters: readonly ClusterConfig[]): void {
    const names = new Set<string>();
    for (const c of clusters) {
      names.add(c.name);
      const limits = this.share(resolveBreaker(c.circuitBreaker));
      const entry = this.#entry(c.name);
      if (entry.breaker) entry.breaker.setLimits(limits);
      else entry.breaker = new CircuitBreaker(c.name, limits);
    }
    for (const name of [...this.#clusters.keys()]) {
      if (!names.has(name)) {
        this.#clusters.delete(name);
        this.#emit(name);
      }
    }
  }

  /** Endpoint sets from the control process (all clusters at a snapshot, changed ones otherwise). */
  setTargets(targets: readonly TargetState[]): void {
    for (const t of targets) {
      const entry = this.#entry(t.name);
      const next: RemoteEndpoint[] = [];
      for (const address of t.endpoints) {
        let ep = entry.byAddress.get(address);
        if (ep === undefined) {
          try {
            ep = new RemoteEndpoint(t.name, address);
          } catch {
            continue; // the control process only sends addresses it parsed; skip anything else
          }
          entry.byAddress.set(address, ep);
        }
        next.push(ep);
      }
      entry.target = { name: t.name, endpoints: Object.freeze(next), available: t.available, panic: t.panic };
      this.#emit(t.name);
    }
  }

  /** Endpoints that left their cluster: forgotten here, returned so their pools can drain. */
  forget(endpoints: readonly [string, string][]): RemoteEndpoint[] {
    const out: RemoteEndpoint[] = [];
    for (const [cluster, address] of endpoints) {
      const entry = this.#clusters.get(cluster);
      const ep = entry?.byAddress.get(address);
      if (!entry || !ep) continue;
      entry.byAddress.delete(address);
      out.push(ep);
    }
    return out;
  }

  /** Breaker counters and in-flight requests of this worker, for the control process's /v1/health. */
  stats(): WorkerStats {
    const breakers: WorkerStats['breakers'] = [];
    const inFlight: WorkerStats['inFlight'] = [];
    for (const [name, entry] of this.#clusters) {
      if (entry.breaker) {
        const snap = entry.breaker.snapshot();
        breakers.push([name, {
          maxConnections: { current: snap.maxConnections.current, overflows: snap.maxConnections.overflows },
          maxPendingRequests: { current: snap.maxPendingRequests.current, overflows: snap.maxPendingRequests.overflows },
          maxRequests: { current: snap.maxRequests.current, overflows: snap.maxRequests.overflows },
          maxRetries: { current: snap.maxRetries.current, overflows: snap.maxRetries.overflows },
        }]);
      }
      for (const ep of entry.byAddress.values()) if (ep.active > 0) inFlight.push([name, ep.address, ep.active]);
    }
    return { breakers, inFlight };
  }

  /** Sends the outcomes gathered since the last flush (called by the timer, and before the worker exits). */
  flush(): void {
    if (this.#pending.length === 0) return;
    const batch: [string, string, OutcomeRuns][] = [];
    for (const ep of this.#pending) {
      if (ep.runs !== null) batch.push([ep.cluster, ep.address, ep.runs]);
      ep.runs = null;
    }
    this.#pending = [];
    this.#send(batch);
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }

  #entry(name: string): Entry {
    let entry = this.#clusters.get(name);
    if (!entry) {
      entry = { target: { name, endpoints: Object.freeze([]), available: false, panic: false }, byAddress: new Map(), breaker: null };
      this.#clusters.set(name, entry);
    }
    return entry;
  }

  #emit(cluster: string): void {
    for (const l of this.#listeners) l(cluster);
  }
}
