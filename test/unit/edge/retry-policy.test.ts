import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retriesFailure, canResend, withinRetryBudget } from '../../../src/edge/retry-policy.ts';
import type { RetryPolicy } from '../../../src/edge/compile.ts';
import { ClusterLoad } from '../../../src/edge/cluster-load.ts';
import type { UpstreamFailure } from '../../../src/edge/upstream-errors.ts';

const policy = (o: Partial<RetryPolicy> = {}): RetryPolicy => ({
  attempts: 2, connectFailure: true, reset: true, timeout: false, statuses: new Set([503]), grpcCodes: new Set(), budgetRatio: 0.2, minConcurrency: 3, perTryTimeoutMs: 0, ...o,
});
const failure = (outcome: UpstreamFailure['outcome'], o: Partial<UpstreamFailure> = {}): UpstreamFailure => ({
  outcome, status: 502, reason: 'x', message: 'x', fromClient: false, wholeRequest: false, ...o,
});

test('failures are retried as the policy names them', () => {
  assert.ok(retriesFailure(policy(), failure('connect-failure')));
  assert.ok(retriesFailure(policy(), failure('reset')));
  assert.ok(!retriesFailure(policy({ reset: false }), failure('reset')));
  assert.ok(!retriesFailure(policy(), failure('timeout')));
  assert.ok(retriesFailure(policy({ timeout: true }), failure('timeout')));
  assert.ok(!retriesFailure(null, failure('connect-failure')));
});

test('a failure the client caused, or the whole-request timeout, is never retried', () => {
  assert.ok(!retriesFailure(policy(), failure('reset', { fromClient: true })));
  assert.ok(!retriesFailure(policy({ timeout: true }), failure('timeout', { wholeRequest: true })));
});

test('only idempotent requests without a consumed body are sent again, unless the body was kept', () => {
  assert.ok(canResend('GET', false, false));
  assert.ok(canResend('PUT', false, false));
  assert.ok(!canResend('POST', false, false));
  assert.ok(!canResend('GET', true, false));
  assert.ok(canResend('POST', true, true));
});

test('the retry budget: max(minimum concurrency, ratio x active) retries in flight', () => {
  const load = new ClusterLoad();
  load.active = 10;
  load.activeRetries = 2;
  assert.ok(withinRetryBudget(policy(), load)); // 3 <= max(3, 2)
  load.activeRetries = 3;
  assert.ok(!withinRetryBudget(policy(), load));
  load.active = 100; // ratio 0.2 x 100 = 20
  assert.ok(withinRetryBudget(policy(), load));
  load.activeRetries = 20;
  assert.ok(!withinRetryBudget(policy(), load));
});
