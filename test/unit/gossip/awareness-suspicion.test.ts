import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Awareness } from '../../../src/gossip/awareness.ts';
import { Suspicion } from '../../../src/gossip/suspicion.ts';
import { ManualClock } from '../../../src/util/clock.ts';

test('awareness saturates at max - 1 and scales timeouts by score + 1', () => {
  const a = new Awareness(8);
  assert.equal(a.scaleTimeout(500), 500);
  a.applyDelta(3);
  assert.equal(a.scaleTimeout(500), 2000);
  a.applyDelta(100);
  assert.equal(a.score, 7);
  assert.equal(a.scaleTimeout(1000), 8000);
  a.applyDelta(-100);
  assert.equal(a.score, 0);
});

test('remaining suspicion time shrinks on a log scale with confirmations (memberlist table)', () => {
  const min = 2000;
  const max = 30_000;
  const k = 3;
  // memberlist suspicion_test.go TestSuspicion_remainingSuspicionTime
  assert.equal(Suspicion.remaining(0, k, 0, min, max), 30_000);
  assert.equal(Suspicion.remaining(1, k, 2000, min, max), 14_000);
  assert.equal(Suspicion.remaining(2, k, 3000, min, max), 4810);
  assert.equal(Suspicion.remaining(3, k, 4000, min, max), -2000);
  assert.equal(Suspicion.remaining(4, k, 5000, min, max), -3000);
  assert.equal(Suspicion.remaining(5, k, 10_000, min, max), -8000);
});

test('a lone accuser waits max; k confirmations bring it down to min', () => {
  const clock = new ManualClock();
  let fired = -1;
  const s = new Suspicion(clock, 'a', 3, 2000, 30_000, (n) => (fired = n));
  clock.advance(29_999);
  assert.equal(fired, -1);
  clock.advance(1);
  assert.equal(fired, 0);
  assert.equal(s.confirm('b'), false, 'no confirmations after firing');

  const clock2 = new ManualClock();
  let at = -1;
  const s2 = new Suspicion(clock2, 'a', 3, 2000, 30_000, () => (at = clock2.now()));
  assert.equal(s2.confirm('a'), false, 'the accuser does not confirm itself');
  assert.equal(s2.confirm('b'), true);
  assert.equal(s2.confirm('b'), false, 'one confirmation per member');
  assert.equal(s2.confirm('c'), true);
  assert.equal(s2.confirm('d'), true);
  assert.equal(s2.confirm('e'), false, 'no more than k');
  clock2.advance(2000);
  assert.equal(at, 2000);
});

test('with k = 0 the timeout is min, and stop() cancels', () => {
  const clock = new ManualClock();
  let fired = 0;
  new Suspicion(clock, 'a', 0, 1000, 6000, () => fired++);
  const s = new Suspicion(clock, 'a', 0, 1000, 6000, () => fired++);
  s.stop();
  clock.advance(10_000);
  assert.equal(fired, 1);
});
