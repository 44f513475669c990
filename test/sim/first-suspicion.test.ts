import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstSuspicion } from './lib/experiments.ts';

// SWIM (Das, Gupta, Motivala 2002), section 3.1: with every member probing one
// member per protocol period, a crashed member is first detected after
// 1 / (1 - (1 - 1/n)^(n-1)) periods on average (-> e/(e-1) ~ 1.58).
// The simulation runs the production GossipAgent (LAN profile, randomized
// round-robin probing as memberlist) and crashes members at random phases.

test('n=16: mean periods to first suspicion matches SWIM within 0.1 (600 crashes)', (t) => {
  const r = firstSuspicion({ n: 16, trials: 600, victims: 1, seed: 1 });
  assert.equal(r.samples, 600);
  t.diagnostic(`n=16: mean ${r.mean.toFixed(3)} +- ${r.stderr.toFixed(3)} periods, SWIM ${r.expected.toFixed(3)}; ${JSON.stringify(r.histogram)}`);
  assert.ok(Math.abs(r.mean - r.expected) <= 0.1, `mean ${r.mean.toFixed(3)} (stderr ${r.stderr.toFixed(3)}) vs ${r.expected.toFixed(3)}; histogram ${JSON.stringify(r.histogram)}`);
  assert.equal(r.falseDeaths, 0, 'no healthy member was declared dead');
});

test('n=1000: mean periods to first suspicion matches SWIM within 0.1 (60 crashes, 10 at a time)', (t) => {
  // 60 crashes at n=1000 cost ~15s of CPU (every suspicion, confirmation and
  // refutation is gossiped to 1000 members), which leaves a standard error of
  // ~0.1 here; bench/scenarios/gossip.ts runs 400 crashes.
  const r = firstSuspicion({ n: 1000, trials: 6, victims: 10, seed: 2 });
  assert.equal(r.samples, 60);
  t.diagnostic(`n=1000: mean ${r.mean.toFixed(3)} +- ${r.stderr.toFixed(3)} periods, SWIM ${r.expected.toFixed(3)}; ${JSON.stringify(r.histogram)}`);
  assert.ok(Math.abs(r.mean - r.expected) <= 0.1, `mean ${r.mean.toFixed(3)} (stderr ${r.stderr.toFixed(3)}) vs ${r.expected.toFixed(3)}; histogram ${JSON.stringify(r.histogram)}`);
  assert.equal(r.falseDeaths, 0);
});
