/**
 * The two statistical outlier tests Envoy runs at every detector interval,
 * as pure functions over (successes, failures) per endpoint so they can be
 * checked by hand.
 */

export interface VolumeSample {
  ok: number;
  fail: number;
}

export interface SuccessRateOptions {
  minimumHosts: number;
  requestVolume: number;
  /** Envoy's stdev factor divided by 1000 (1900 -> 1.9). */
  stdevFactor: number;
}

/**
 * Success-rate ejection: among endpoints with at least `requestVolume`
 * requests in the interval, if there are at least `minimumHosts` of them,
 * those whose success rate is below mean - stdevFactor x stdev are outliers.
 * Returns the indexes of the outliers and the threshold used (null if the test
 * did not run).
 */
export function successRateOutliers(samples: readonly VolumeSample[], o: SuccessRateOptions): { outliers: number[]; threshold: number | null; mean: number | null } {
  const rates: { i: number; rate: number }[] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const total = s.ok + s.fail;
    if (total >= o.requestVolume && total > 0) rates.push({ i, rate: (100 * s.ok) / total });
  }
  if (rates.length === 0 || rates.length < o.minimumHosts) return { outliers: [], threshold: null, mean: null };
  let sum = 0;
  for (const r of rates) sum += r.rate;
  const mean = sum / rates.length;
  let sq = 0;
  for (const r of rates) sq += (r.rate - mean) ** 2;
  const stdev = Math.sqrt(sq / rates.length);
  const threshold = mean - o.stdevFactor * stdev;
  return { outliers: rates.filter((r) => r.rate < threshold).map((r) => r.i), threshold, mean };
}

export interface FailurePercentageOptions {
  /** Minimum endpoints in the cluster (all of them, as in Envoy) for the test to run. */
  minimumHosts: number;
  requestVolume: number;
  threshold: number;
}

/**
 * Failure-percentage ejection: an endpoint with at least `requestVolume`
 * requests whose failure share is >= threshold percent is an outlier,
 * provided the cluster has at least `minimumHosts` endpoints.
 */
export function failurePercentageOutliers(samples: readonly VolumeSample[], clusterSize: number, o: FailurePercentageOptions): number[] {
  if (clusterSize < o.minimumHosts) return [];
  const out: number[] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const total = s.ok + s.fail;
    if (total === 0 || total < o.requestVolume) continue;
    if ((100 * s.fail) / total >= o.threshold) out.push(i);
  }
  return out;
}
