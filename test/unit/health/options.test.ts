import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveActiveCheck, resolveBreaker, resolveOutlier, parseStatusSpec } from '../../../src/health/options.ts';
import { HealthOptionsError } from '../../../src/health/errors.ts';

test('active check defaults', () => {
  assert.deepEqual(resolveActiveCheck({}), {
    type: 'http',
    grpc: null,
    path: '/readyz',
    host: undefined,
    expectedStatuses: [[200, 299]],
    bodyMatch: undefined,
    intervalMs: 5000,
    noTrafficIntervalMs: 60_000,
    jitterMs: 500,
    timeoutMs: 1000,
    healthyThreshold: 2,
    unhealthyThreshold: 3,
    startHealthy: false,
  });
  assert.deepEqual(resolveActiveCheck({ expectedStatuses: [200, '300-302'] }).expectedStatuses, [[200, 200], [300, 302]]);
  assert.throws(() => resolveActiveCheck({ type: 'tcp', path: '/x' }), HealthOptionsError);
  assert.throws(() => parseStatusSpec('299-200'), /empty/);
});

test('outlier defaults follow Envoy, except enforcement of a threshold you set and the small-cluster rule', () => {
  const o = resolveOutlier({});
  assert.equal(o.consecutive5xx, 5);
  assert.equal(o.intervalMs, 10_000);
  assert.equal(o.baseEjectionTimeMs, 30_000);
  assert.equal(o.maxEjectionTimeMs, 300_000);
  assert.equal(o.maxEjectionPercent, 10);
  assert.equal(o.successRateStdevFactor, 1900);
  assert.equal(o.enforcingConsecutive5xx, 100);
  assert.equal(o.enforcingConsecutiveGatewayFailure, 0, 'Envoy: counted, not enforced');
  assert.equal(o.enforcingFailurePercentage, 0);
  assert.equal(o.alwaysEjectOneHost, true, 'differs from Envoy (false)');
  assert.equal(o.successfulActiveHealthCheckUnejectHost, true);
  const set = resolveOutlier({ consecutiveGatewayFailure: 3, failurePercentageThreshold: 70 });
  assert.equal(set.enforcingConsecutiveGatewayFailure, 100, 'setting the threshold asks for it');
  assert.equal(set.enforcingFailurePercentage, 100);
  assert.equal(resolveOutlier({ consecutiveGatewayFailure: 3, enforcingConsecutiveGatewayFailure: 0 }).enforcingConsecutiveGatewayFailure, 0);
  assert.throws(() => resolveOutlier({ baseEjectionTime: '1m', maxEjectionTime: '30s' }), HealthOptionsError);
});

test('breaker limits exist even without config (Envoy defaults)', () => {
  assert.deepEqual(resolveBreaker(undefined), { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 });
  assert.equal(resolveBreaker({ maxRetries: 10 }).maxRetries, 10);
});
