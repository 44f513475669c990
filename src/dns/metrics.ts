import type { Counter } from 'prom-client';
import { counter, gauge, histogram } from '../metrics/registry.ts';

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

const queries = new Tally(counter('edgeplane_dns_queries_total', 'DNS queries answered, by zone ("" outside every zone), rcode and transport', ['zone', 'rcode', 'transport'] as const));
const gtmAnswers = new Tally(counter('edgeplane_dns_gtm_answers_total', 'GTM answers by name and the region of the first address', ['name', 'region'] as const));
const gtmFailOpen = new Tally(counter('edgeplane_dns_gtm_fail_open_total', 'GTM answers given while every region of the name was down (answered as if all were up)', ['name'] as const));
const dropped = new Tally(counter('edgeplane_dns_dropped_total', 'DNS messages not answered: malformed beyond a reply, responses, or limited by RRL', ['reason'] as const));
const rrlSlipped = new Tally(counter('edgeplane_dns_rrl_slipped_total', 'answers replaced by an empty TC=1 reply by response rate limiting', [] as const));

export const answerDuration = histogram(
  'edgeplane_dns_answer_duration_seconds',
  'time from receiving a DNS query to handing its answer to the socket',
  ['transport'],
  [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01, 0.05],
);
export const tcpConnections = gauge('edgeplane_dns_tcp_connections', 'open DNS TCP connections', []);

const rcodeLabel = (rcode: number) => ({ 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' } as Record<number, string>)[rcode] ?? String(rcode);

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

export function countSlipped(): void {
  rrlSlipped.inc(slippedSlot);
}
