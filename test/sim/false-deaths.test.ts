import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lossyRun, stallRun } from './lib/experiments.ts';

test('5% packet loss on every link for an hour: suspicions happen and are refuted, no healthy member dies', (t) => {
  const r = lossyRun({ n: 24, loss: 0.05, duration: 3_600_000, seed: 3 });
  t.diagnostic(`n=24, 5% loss, 1h: ${r.suspicions} suspicions, ${r.refutes} refutations, ${r.falseDeaths} false deaths`);
  assert.ok(r.suspicions > 0, 'the loss is real: some probes fail');
  assert.ok(r.refutes > 0);
  assert.equal(r.falseDeaths, 0, `false deaths: ${JSON.stringify(r)}`);
});

// A false death: a healthy member declared dead in any member's view, counted
// once per (member, incarnation). In this experiment they all happen in the
// stalled member's own view (its DNS answers from it); see docs/gossip.md.
test('a member whose message handling stalls for 30s: Lifeguard causes >= 10x fewer false deaths', (t) => {
  const common = { n: 16, trials: 5, stallMs: 30_000, recoverMs: 60_000 };
  let without = 0;
  let withLg = 0;
  for (const seed of [1, 2]) {
    without += stallRun({ ...common, seed, lifeguard: false }).falseDeaths;
    withLg += stallRun({ ...common, seed, lifeguard: true }).falseDeaths;
  }
  t.diagnostic(`false deaths (distinct member@incarnation) over 10 stalls: ${without} without Lifeguard, ${withLg} with`);
  assert.ok(without >= 20, `the experiment must produce false deaths without Lifeguard to compare (got ${without})`);
  assert.ok(withLg * 10 <= without, `with Lifeguard ${withLg}, without ${without}`);
});
