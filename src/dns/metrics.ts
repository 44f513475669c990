import type { Counter } from 'prom-client';
import { registry, counterOf, gaugeOf } from '../metrics/registry.ts';
import { METRICS } from '../metrics/catalogue.ts';

/**
 * DNS metrics. Per-query counters are tallied in plain arrays and pushed into
 * prom-client when the registry is scraped: a labelled `inc()` hashes its
 * labels every call, which is measurable at 100k queries per second.
 */
class Tally<L extends string> {
  readonly #counter: Counter<L>;
  readonly #labels: Partial<Record<L, string>>[] = [];
  readonly #index = new Map<string, number>();
  #counts = new Float64Array(64);

  constructor(c: Counter<L>) {
    this.#counter = c;
    const previous = (c as unknown as { collect?: () => unknown }).collect;
    // several modules may load this file in tests; chain rather than replace
    Object.assign(c, {
      collect: () => {
        this.flush();
        return previous?.();
      },
    });
  }

  slot(labels: Partial<Record<L, string>>): number {
    const key = JSON.stringify(labels);
    let i = this.#index.get(key);
    if (i === undefined) {
      i = this.#labels.length;
      this.#labels.push(labels);
      this.#index.set(key, i);
      if (i >= this.#counts.length) {
        const next = new Float64Array(this.#counts.length * 2);
        next.set(this.#counts);
        this.#counts = next;
      }
    }
    return i;
  }

  inc(slot: number): void {
    this.#counts[slot]! += 1;
  }

  flush(): void {
    const counts = this.#counts;
    for (let i = 0; i < this.#labels.length; i++) {
      const n = counts[i]!;
      if (n > 0) {
        counts[i] = 0;
        this.#counter.inc(this.#labels[i]!, n);
      }
    }
  }
}

export type Transport = 'udp' | 'tcp';

/** The zone label of queries that name no zone served here (or no name at all). Never empty: an empty label is an absent one. */
export const NO_ZONE_LABEL = '(none)';

const queries = new Tally(counterOf(METRICS.dnsQueriesTotal));
const gtmAnswers = new Tally(counterOf(METRICS.dnsGtmAnswersTotal));
const gtmFailOpen = new Tally(counterOf(METRICS.dnsGtmFailOpenTotal));
const dropped = new Tally(counterOf(METRICS.dnsDroppedTotal));
const tcpClosed = new Tally(counterOf(METRICS.dnsTcpClosedTotal));
const rrlSlipped = new Tally(counterOf(METRICS.dnsRrlSlippedTotal));

/** One label set of a FastHistogram: observe() is a bucket search and three adds. */
export interface HistogramChild {
  observe(seconds: number): void;
}

/**
 * A histogram with prom-client's exposition format but a per-observation cost
 * of a few nanoseconds: prom-client's own observe() hashes its labels and
 * allocates each call, a quarter of the responder's CPU in a profile. It is
 * registered on the shared registry like any other metric.
 */
class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, { labels: Record<string, string>; counts: Float64Array; sum: number; count: number }>();

  constructor(name: string, help: string, bounds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.#bounds = bounds;
  }

  child(labels: Record<string, string>): HistogramChild {
    const key = JSON.stringify(labels);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
      this.#series.set(key, s);
    }
    const series = s;
    const bounds = this.#bounds;
    return {
      observe(v: number): void {
        let i = 0;
        while (i < bounds.length && v > bounds[i]!) i++;
        series.counts[i]! += 1;
        series.sum += v;
        series.count += 1;
      },
    };
  }

  async get() {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const s of this.#series.values()) {
      let acc = 0;
      this.#bounds.forEach((b, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le: b, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: s.labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: s.labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    for (const s of this.#series.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}

function fastHistogram(name: string, help: string, bounds: readonly number[]): FastHistogram {
  const existing = registry.getSingleMetric(name) as unknown as FastHistogram | undefined;
  if (existing) return existing;
  const h = new FastHistogram(name, help, bounds);
  registry.registerMetric(h as never);
  return h;
}

export const answerDuration = fastHistogram(
  METRICS.dnsAnswerDurationSeconds.name,
  METRICS.dnsAnswerDurationSeconds.help,
  [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05],
);
/**
 * One series per signed zone naming its DNSKEY set: every nameserver of a zone
 * must serve the same set, so across a fleet
 * `count by (zone) (count by (zone, fingerprint) (edgeplane_dns_dnssec_keyset_info)) > 1`
 * is the mismatch alert (a node that missed a rollover step).
 */
export const dnssecKeyset = gaugeOf(METRICS.dnsDnssecKeysetInfo);
/** 1 while a peer nameserver (gossip or etcd) serves a different DNSKEY set for the zone than this node; 0 when all agree. */
export const dnssecKeysetMismatch = gaugeOf(METRICS.dnsDnssecKeysetMismatch);
export const tcpConnections = gaugeOf(METRICS.dnsTcpConnections);

const rcodeLabel = (rcode: number) => ({ 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 9: 'NOTAUTH', 16: 'BADVERS', 23: 'BADCOOKIE' } as Record<number, string>)[rcode] ?? String(rcode);

/** Slots for one zone label: [transport][rcode]. */
export class ZoneQuerySlots {
  readonly #udp: number[] = [];
  readonly #tcp: number[] = [];
  readonly #zone: string;
  constructor(zone: string) {
    this.#zone = zone;
  }
  count(rcode: number, tcp: boolean): void {
    const table = tcp ? this.#tcp : this.#udp;
    let s = table[rcode];
    if (s === undefined) {
      s = queries.slot({ zone: this.#zone, rcode: rcodeLabel(rcode), transport: tcp ? 'tcp' : 'udp' });
      table[rcode] = s;
    }
    queries.inc(s);
  }
}

export class GtmSlots {
  readonly #picked: number[];
  readonly #failOpen: number;
  constructor(name: string, regions: readonly string[]) {
    this.#picked = regions.map((region) => gtmAnswers.slot({ name, region }));
    this.#failOpen = gtmFailOpen.slot({ name });
  }
  picked(regionIdx: number): void {
    gtmAnswers.inc(this.#picked[regionIdx]!);
  }
  failOpen(): void {
    gtmFailOpen.inc(this.#failOpen);
  }
}

const droppedSlots = {
  malformed: dropped.slot({ reason: 'malformed' }),
  response: dropped.slot({ reason: 'response' }),
  rrl: dropped.slot({ reason: 'rrl' }),
  tcpOversize: dropped.slot({ reason: 'tcp-oversize' }),
};
const slippedSlot = rrlSlipped.slot({});

export function countDropped(reason: keyof typeof droppedSlots): void {
  dropped.inc(droppedSlots[reason]);
}

const tcpClosedSlots = {
  idle: tcpClosed.slot({ reason: 'idle' }),
  'message-timeout': tcpClosed.slot({ reason: 'message-timeout' }),
  'max-duration': tcpClosed.slot({ reason: 'max-duration' }),
  limit: tcpClosed.slot({ reason: 'limit' }),
  'client-limit': tcpClosed.slot({ reason: 'client-limit' }),
};

export function countTcpClosed(reason: keyof typeof tcpClosedSlots): void {
  tcpClosed.inc(tcpClosedSlots[reason]);
}

export function countSlipped(): void {
  rrlSlipped.inc(slippedSlot);
}
