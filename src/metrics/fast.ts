import type { Registry } from 'prom-client';

/**
 * Counter and histogram for the request path. prom-client's `labels(...).inc()`
 * and `.observe()` validate and hash the label set on every call (about 1.5 us
 * per proxied request for the two metrics together, measured with
 * bench/tools/hotpath.ts); here a child is a plain object the caller keeps, and
 * counting is a field increment. prom-client only sees these metrics when it
 * is scraped: each class has the duck-typed surface a Registry reads (`name`,
 * `help`, `type`, `aggregator`, `get()`, `reset()`), so /metrics,
 * `getMetricsAsJSON()` and cluster aggregation treat them like its own.
 */

type Labels = Record<string, string>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

function labelObject(names: readonly string[], values: readonly string[]): Labels {
  const out: Labels = {};
  for (let i = 0; i < names.length; i++) out[names[i]!] = values[i] ?? '';
  return out;
}

export class CounterChild {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) {
    this.labels = labels;
  }
  inc(n = 1): void {
    this.value += n;
  }
}

export class FastCounter {
  readonly name: string;
  readonly help: string;
  readonly type = 'counter' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly string[];
  #children = new Map<string, CounterChild>();

  constructor(o: { name: string; help: string; labelNames: readonly string[]; registry: Registry }) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    o.registry.registerMetric(this as never);
  }

  /** The child for these label values (positional, as prom-client's labels()); keep it to count for free. */
  labels(...values: string[]): CounterChild {
    const key = values.join('\u0000');
    let c = this.#children.get(key);
    if (c === undefined) this.#children.set(key, (c = new CounterChild(labelObject(this.labelNames, values))));
    return c;
  }

  remove(...values: string[]): void {
    this.#children.delete(values.join('\u0000'));
  }

  reset(): void {
    this.#children.clear();
  }

  async get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    for (const c of this.#children.values()) values.push({ labels: { ...c.labels }, value: c.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class HistogramChild {
  readonly labels: Labels;
  readonly #bounds: readonly number[];
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const b = this.#bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class FastHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly labelNames: readonly string[];
  readonly upperBounds: readonly number[];
  #children = new Map<string, HistogramChild>();

  constructor(o: { name: string; help: string; labelNames: readonly string[]; buckets: readonly number[]; registry: Registry }) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames;
    this.upperBounds = [...o.buckets].sort((a, b) => a - b);
    o.registry.registerMetric(this as never);
  }

  labels(...values: string[]): HistogramChild {
    const key = values.join('\u0000');
    let c = this.#children.get(key);
    if (c === undefined) this.#children.set(key, (c = new HistogramChild(labelObject(this.labelNames, values), this.upperBounds)));
    return c;
  }

  remove(...values: string[]): void {
    this.#children.delete(values.join('\u0000'));
  }

  reset(): void {
    this.#children.clear();
  }

  /** prom-client's histogram shape: cumulative `_bucket` series with `le`, then `_sum` and `_count`. */
  async get(): Promise<MetricJson> {
    const values: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.#children.values()) {
      let acc = 0;
      for (let i = 0; i < this.upperBounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ labels: { ...c.labels, le: this.upperBounds[i]! }, value: acc, metricName: bucket });
      }
      values.push({ labels: { ...c.labels, le: '+Inf' }, value: c.count, metricName: bucket });
      values.push({ labels: { ...c.labels }, value: c.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...c.labels }, value: c.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
