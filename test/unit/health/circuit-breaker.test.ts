import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CircuitBreaker } from '../../../src/health/circuit-breaker.ts';
import { registry } from '../../../src/metrics/registry.ts';

const limits = { maxConnections: 2, maxPendingRequests: 1, maxRequests: 3, maxRetries: 0 };

test('each resource is refused with its limit name once the limit is reached', () => {
  const b = new CircuitBreaker('cb-a', limits);
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), 'maxRequests');
  assert.equal(b.tryAcquire('pending'), null);
  assert.equal(b.tryAcquire('pending'), 'maxPendingRequests');
  assert.equal(b.tryAcquire('retry'), 'maxRetries', 'maxRetries 0 allows no retry');
  assert.equal(b.tryAcquire('connection'), null);
  assert.equal(b.tryAcquire('connection'), null);
  assert.equal(b.tryAcquire('connection'), 'maxConnections');
  b.release('request');
  assert.equal(b.tryAcquire('request'), null, 'a release frees one unit');
  assert.equal(b.tryAcquire('request'), 'maxRequests');
});

test('release never goes below zero, so a double release cannot raise the limit', () => {
  const b = new CircuitBreaker('cb-b', limits);
  b.release('request');
  b.release('request');
  assert.equal(b.current('request'), 0);
  for (let i = 0; i < 3; i++) assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.tryAcquire('request'), 'maxRequests');
});

test('lowering limits keeps in-flight counts; raising them lets work through again', () => {
  const b = new CircuitBreaker('cb-c', limits);
  for (let i = 0; i < 3; i++) b.tryAcquire('request');
  b.setLimits({ ...limits, maxRequests: 1 });
  b.release('request');
  assert.equal(b.tryAcquire('request'), 'maxRequests', '2 in flight, limit 1');
  b.setLimits({ ...limits, maxRequests: 10 });
  assert.equal(b.tryAcquire('request'), null);
  assert.equal(b.current('request'), 3);
});

test('overflows are counted in the snapshot and the metric', async () => {
  const b = new CircuitBreaker('cb-d', limits);
  b.tryAcquire('pending');
  b.tryAcquire('pending');
  b.tryAcquire('pending');
  const snap = b.snapshot();
  assert.deepEqual(snap.maxPendingRequests, { limit: 1, current: 1, overflows: 2 });
  const text = await registry.metrics();
  assert.match(text, /edgeplane_circuit_breaker_overflow_total\{cluster="cb-d",limit="maxPendingRequests"\} 2/);
});
