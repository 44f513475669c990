import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failurePercentageOutliers, successRateOutliers } from '../../../src/health/outlier-stats.ts';

test('success rate: hosts below mean - factor x stdev are outliers (worked by hand)', () => {
  // Rates 100, 100, 100, 100, 50 -> mean 90, population stdev 20.
  const samples = [
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 50, fail: 50 },
  ];
  const r = successRateOutliers(samples, { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 });
  assert.equal(r.mean, 90);
  assert.equal(r.threshold, 90 - 1.9 * 20);
  assert.deepEqual(r.outliers, [4]);
  // A factor of 2.5 puts the threshold at 40: 50% is no longer an outlier.
  assert.deepEqual(successRateOutliers(samples, { minimumHosts: 5, requestVolume: 100, stdevFactor: 2.5 }).outliers, []);
});

test('success rate needs minimumHosts hosts with requestVolume each', () => {
  const samples = [
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 100, fail: 0 },
    { ok: 10, fail: 89 }, // 99 requests: below the volume, not counted
  ];
  const r = successRateOutliers(samples, { minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 });
  assert.equal(r.threshold, null, 'only 4 hosts qualify');
  assert.deepEqual(r.outliers, []);
});

test('failure percentage: failure share >= threshold with volume, in clusters of at least minimumHosts', () => {
  const samples = [
    { ok: 50, fail: 0 },
    { ok: 7, fail: 43 }, // 86%
    { ok: 8, fail: 42 }, // 84%
    { ok: 0, fail: 49 }, // below volume
    { ok: 15, fail: 85 }, // exactly 85%
  ];
  assert.deepEqual(failurePercentageOutliers(samples, 5, { minimumHosts: 5, requestVolume: 50, threshold: 85 }), [1, 4]);
  assert.deepEqual(failurePercentageOutliers(samples, 4, { minimumHosts: 5, requestVolume: 50, threshold: 85 }), [], 'cluster too small');
});
