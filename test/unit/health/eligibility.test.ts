import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeEligibility } from '../../../src/health/eligibility.ts';
import { TrackedEndpoint } from '../../../src/health/endpoint-state.ts';

function eps(n: number): TrackedEndpoint[] {
  return Array.from({ length: n }, (_, i) => new TrackedEndpoint('c', `10.0.0.${i}:80`, `10.0.0.${i}`, 80));
}

test('healthy endpoints only, above the panic threshold', () => {
  const all = eps(4);
  all[0]!.activeState = 'unhealthy';
  const e = computeEligibility(all, 50, undefined);
  assert.deepEqual(e.endpoints, all.slice(1));
  assert.equal(e.panic, false);
  assert.equal(e.available, true);
  assert.equal(e.healthy, 3);
});

test('exactly at the threshold is not panic; below it every endpoint is used', () => {
  const all = eps(4);
  all[0]!.activeState = 'unhealthy';
  all[1]!.ejection = { reason: 'consecutive-5xx', at: 0, until: 1, wallAt: 0, wallUntil: 1 };
  assert.equal(computeEligibility(all, 50, undefined).panic, false, '2 of 4 = 50% is not below 50%');
  all[2]!.activeState = 'pending';
  const e = computeEligibility(all, 50, undefined);
  assert.equal(e.panic, true);
  assert.deepEqual(e.endpoints, all);
  assert.equal(e.available, true, 'one healthy endpoint left');
});

test('nothing healthy: unavailable; panic uses all, panic threshold 0 uses none', () => {
  const all = eps(2);
  for (const ep of all) ep.activeState = 'unhealthy';
  const e = computeEligibility(all, 50, undefined);
  assert.equal(e.available, false);
  assert.equal(e.panic, true);
  assert.equal(e.endpoints.length, 2);
  const off = computeEligibility(all, 0, undefined);
  assert.equal(off.available, false);
  assert.equal(off.panic, false);
  assert.equal(off.endpoints.length, 0);
  const none = computeEligibility([], 50, undefined);
  assert.equal(none.available, false);
  assert.equal(none.panic, false);
});

test('the previous list object is kept when nothing changed (balancers cache per list)', () => {
  const all = eps(3);
  const first = computeEligibility(all, 50, undefined);
  const second = computeEligibility(all, 50, first.endpoints);
  assert.equal(second.endpoints, first.endpoints);
  all[1]!.activeState = 'unhealthy';
  const third = computeEligibility(all, 50, second.endpoints);
  assert.notEqual(third.endpoints, second.endpoints);
  assert.ok(Object.isFrozen(third.endpoints));
});
