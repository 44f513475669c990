import { metricsView } from '../../metrics/registry.ts';
import { METRICS } from '../../metrics/catalogue.ts';

/** Requests and 5xx answers of one route and cluster during one sample interval. */
export type Counts = [requests: number, errors: number];

export interface TrafficSample {
  /** Sequence number, so a stream can send only what a client has not seen. */
  seq: number;
  /** Wall-clock ms at the end of the interval. */
  t: number;
  /** route → cluster → counts in the interval. Every pair seen since start is present (zeros included) so charts show gaps as zero, not as missing. */
  routes: Record<string, Record<string, Counts>>;
}

export interface TrafficSnapshot {
  intervalMs: number;
  capacity: number;
  samples: TrafficSample[];
}

export interface CumulativeCounts {
  /** `route \0 cluster` → cumulative [requests, errors]. */
  read(): Promise<Map<string, Counts>>;
}

/**
 * Reads `edgeplane_requests_total{route,cluster,code}` from the process's
 * registry: the counters the proxy already keeps, so the dashboard adds no work
 * to the request path. Answers without a cluster (no route, auth refused) are
 * left out: they belong to no split.
 */
export const registryCounts: CumulativeCounts = {
  async read() {
    const out = new Map<string, Counts>();
    // In a multi-worker gateway the view is the sum over the workers.
    const metric = (await metricsView()).getSingleMetric(METRICS.requestsTotal.name);
    const values = metric ? ((await metric.get()).values as { labels: Record<string, string | number>; value: number }[]) : [];
    for (const s of values) {
      const route = String(s.labels.route ?? '');
      const cluster = String(s.labels.cluster ?? '');
      if (!route || !cluster) continue;
      const key = route + '\0' + cluster;
      const c = out.get(key) ?? [0, 0];
      c[0] += s.value;
      if (Number(s.labels.code) >= 500) c[1] += s.value;
      out.set(key, c);
    }
    return out;
  },
};

export interface TrafficHistoryOptions {
  intervalMs?: number;
  /** Samples kept; the oldest is dropped first. */
  capacity?: number;
  source?: CumulativeCounts;
  wallNow?: () => number;
}

/**
 * A small ring buffer of per-route/cluster request and error counts, sampled
 * every few seconds, so the dashboard has the last minutes of history on its
 * first load instead of starting its charts empty. In memory only: a restarted
 * gateway starts a new history (its counters restart from zero too).
 */
export class TrafficHistory {
  readonly intervalMs: number;
  readonly capacity: number;
  readonly #source: CumulativeCounts;
  readonly #wallNow: () => number;
  readonly #samples: TrafficSample[] = [];
  #last: Map<string, Counts> | null = null;
  #seq = 0;
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(options: TrafficHistoryOptions = {}) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.capacity = options.capacity ?? 300;
    this.#source = options.source ?? registryCounts;
    this.#wallNow = options.wallNow ?? Date.now;
  }

  /** Takes the baseline now and a sample every interval. The timer never keeps the process alive. */
  start(): void {
    if (this.#timer) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Reads the counters; the first call only sets the baseline. Overlapping calls are skipped, not queued. */
  async sample(): Promise<TrafficSample | null> {
    if (this.#busy) return null;
    this.#busy = true;
    try {
      const now = await this.#source.read();
      const previous = this.#last;
      this.#last = now;
      if (!previous) return null;
      const routes: TrafficSample['routes'] = {};
      for (const [key, [req, err]] of now) {
        const [route, cluster] = key.split('\0') as [string, string];
        const before = previous.get(key) ?? [0, 0];
        // A counter only shrinks if its series was removed and re-created: count from zero then.
        const dReq = req >= before[0] ? req - before[0] : req;
        const dErr = err >= before[1] ? err - before[1] : err;
        (routes[route] ??= {})[cluster] = [dReq, dErr];
      }
      const s: TrafficSample = { seq: ++this.#seq, t: this.#wallNow(), routes };
      this.#samples.push(s);
      if (this.#samples.length > this.capacity) this.#samples.shift();
      return s;
    } finally {
      this.#busy = false;
    }
  }

  snapshot(): TrafficSnapshot {
    return { intervalMs: this.intervalMs, capacity: this.capacity, samples: [...this.#samples] };
  }

  /** Samples newer than `seq`, oldest first. */
  since(seq: number): TrafficSample[] {
    return this.#samples.filter((s) => s.seq > seq);
  }

  get seq(): number {
    return this.#seq;
  }
}
