/** One measured row of the benchmark table. */
export interface BenchResult {
  /** e.g. `proxy`, `proxy-tls`, `dns`. */
  scenario: string;
  /** What was measured: `edgeplane`, `nginx`, `knotd`, `direct`, ... */
  subject: string;
  /** Unit of `value`: `req/s`, `qps`, `MB/s`, `ms`, `MB`... */
  metric: string;
  value: number;
  p50Ms?: number;
  p99Ms?: number;
  p999Ms?: number;
  /** Failed requests/queries: non-2xx, socket errors, timeouts, lost queries. */
  errors: number;
  /** Requests or queries sent in the measured window. */
  total?: number;
  /** The subject this row is compared to, measured in the same run. */
  anchor?: string;
  /** value / anchor's value. */
  ratio?: number;
  /** The goal for `ratio` (or `value`) and whether it was met. */
  goal?: { description: string; met: boolean };
  /** Set when the row could not be measured, with the reason (never silently dropped). */
  skipped?: string;
  note?: string;
}

export interface ScenarioOptions {
  /** Short run for CI: a few seconds per subject; fails only on errors. */
  ci: boolean;
}

export type Scenario = (options: ScenarioOptions) => Promise<BenchResult[]>;

/** Adds ratio and anchor fields comparing `row` to the anchor row of the same scenario. */
export function compare(row: BenchResult, anchor: BenchResult | undefined, goalRatio?: number, higherIsBetter = true): BenchResult {
  if (!anchor || anchor.skipped || !anchor.value || row.skipped) return row;
  const ratio = row.value / anchor.value;
  const out: BenchResult = { ...row, anchor: anchor.subject, ratio: Math.round(ratio * 100) / 100 };
  if (goalRatio !== undefined) {
    out.goal = {
      description: `${higherIsBetter ? '>=' : '<='} ${goalRatio}x ${anchor.subject}`,
      met: higherIsBetter ? ratio >= goalRatio : ratio <= goalRatio,
    };
  }
  return out;
}
