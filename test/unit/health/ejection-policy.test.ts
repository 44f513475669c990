import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decayedMultiplier, ejectionAllowed, ejectionDuration, enforced, nextMultiplier } from '../../../src/health/ejection-policy.ts';
import { seededRng } from '../../../src/util/rng.ts';

test('maxEjectionPercent is exact: ejected/total after the ejection must not exceed it', () => {
  assert.equal(ejectionAllowed(0, 2, 50, false), true, '1 of 2 = 50%');
  assert.equal(ejectionAllowed(1, 2, 50, false), false, '2 of 2 = 100%');
  assert.equal(ejectionAllowed(0, 3, 33, false), false, '1 of 3 = 33.3% > 33%');
  assert.equal(ejectionAllowed(0, 3, 34, false), true);
  assert.equal(ejectionAllowed(1, 10, 20, false), true, '2 of 10 = 20%');
  assert.equal(ejectionAllowed(2, 10, 20, false), false, '3 of 10 = 30%');
  assert.equal(ejectionAllowed(0, 0, 100, true), false, 'nothing to eject');
  assert.equal(ejectionAllowed(0, 1, 100, false), true);
});

test('small-cluster rule: alwaysEjectOneHost lets exactly one endpoint go whatever the percentage', () => {
  // 3 endpoints, 10%: without the rule nothing can ever be ejected.
  assert.equal(ejectionAllowed(0, 3, 10, false), false);
  assert.equal(ejectionAllowed(0, 3, 10, true), true);
  assert.equal(ejectionAllowed(1, 3, 10, true), false, 'never a second one beyond the percentage');
  assert.equal(ejectionAllowed(0, 1, 10, true), true, 'a lone endpoint too, so its cluster becomes unavailable');
  assert.equal(ejectionAllowed(0, 3, 0, true), true, 'even with 0%');
});

test('the multiplier grows by one per ejection until base x multiplier reaches max + base', () => {
  // base 30s, max 300s: grows while 30*m < 330, i.e. up to m = 11.
  let m = 0;
  const seen: number[] = [];
  for (let i = 0; i < 15; i++) {
    m = nextMultiplier(m, 30_000, 300_000);
    seen.push(m);
  }
  assert.deepEqual(seen.slice(0, 12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11]);
  assert.equal(seen[14], 11);
});

test('ejection time is base x multiplier capped at max, plus jitter below the jitter bound', () => {
  const rng = seededRng(7);
  assert.equal(ejectionDuration(1, 30_000, 300_000, 0, rng), 30_000);
  assert.equal(ejectionDuration(3, 30_000, 300_000, 0, rng), 90_000);
  assert.equal(ejectionDuration(11, 30_000, 300_000, 0, rng), 300_000, 'capped');
  assert.equal(ejectionDuration(0, 30_000, 300_000, 0, rng), 30_000, 'never less than base');
  const jittered = new Set<number>();
  for (let i = 0; i < 50; i++) {
    const d = ejectionDuration(2, 30_000, 300_000, 5_000, rng);
    assert.ok(d >= 60_000 && d < 65_000, `jittered duration ${d} within [60000, 65000)`);
    jittered.add(d);
  }
  assert.ok(jittered.size > 10, 'jitter actually varies');
});

test('decay: one step per interval once the endpoint has been back a whole interval', () => {
  assert.equal(decayedMultiplier(3, true, null, 100_000, 10_000), 3, 'not while ejected');
  assert.equal(decayedMultiplier(3, false, 95_000, 100_000, 10_000), 3, 'back for less than an interval');
  assert.equal(decayedMultiplier(3, false, 90_000, 100_000, 10_000), 2);
  assert.equal(decayedMultiplier(0, false, 0, 100_000, 10_000), 0, 'not below zero');
});

test('enforcement percentages: 100 always, 0 never, 50 about half with a seeded rng', () => {
  const rng = seededRng(42);
  assert.equal(enforced(100, rng), true);
  assert.equal(enforced(0, rng), false);
  let yes = 0;
  for (let i = 0; i < 1000; i++) if (enforced(50, rng)) yes++;
  assert.ok(yes > 400 && yes < 600, `50% enforcement gave ${yes}/1000`);
});
