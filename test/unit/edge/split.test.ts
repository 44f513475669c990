import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WeightedSplit } from '../../../src/edge/split.ts';
import { seededRng } from '../../../src/util/rng.ts';

function split(weights: Record<string, number>) {
  return new WeightedSplit(Object.entries(weights).map(([name, weight]) => ({ name, weight, cluster: name })));
}

test('90/10 is exact: 9,000 and 1,000 of 10,000 picks', () => {
  const s = split({ blue: 90, green: 10 });
  const counts = [0, 0];
  for (let i = 0; i < 10_000; i++) counts[s.next()]!++;
  assert.deepEqual(counts, [9000, 1000]);
});

test('smooth round-robin interleaves instead of bursting', () => {
  const s = split({ a: 2, b: 1 });
  const seq = Array.from({ length: 6 }, () => s.targets[s.next()]!.name).join('');
  assert.equal(seq, 'abaaba');
});

test('weight 0 never receives traffic, and all-zero returns -1', () => {
  const s = split({ blue: 100, green: 0 });
  for (let i = 0; i < 1000; i++) assert.equal(s.next(), 0);
  assert.equal(split({ a: 0, b: 0 }).next(), -1);
  assert.equal(split({ a: 0, b: 0 }).pick('key'), -1);
});

test('an unavailable cluster gives its weight to the others; none available falls back to configured weights', () => {
  const s = split({ blue: 90, green: 10 });
  for (let i = 0; i < 1000; i++) assert.equal(s.next((i) => i === 0), 0);
  const counts = [0, 0];
  for (let i = 0; i < 1000; i++) counts[s.next(() => false)]!++;
  assert.deepEqual(counts, [900, 100]);
  for (let i = 0; i < 100; i++) assert.equal(s.pick(`user-${i}`, (i) => i === 1), 1);
});

test('sticky picks are deterministic and follow the weights within 1 point over 10,000 keys', () => {
  const s = split({ blue: 90, green: 10 });
  const rng = seededRng(7);
  let green = 0;
  for (let i = 0; i < 10_000; i++) {
    const key = `k${Math.floor(rng.next() * 1e12)}`;
    const a = s.pick(key);
    assert.equal(s.pick(key), a, 'the same key always gets the same cluster');
    if (a === 1) green++;
  }
  assert.ok(Math.abs(green / 10_000 - 0.1) < 0.01, `green share ${green / 10_000}`);
});

test('stickiness is monotone: moving weight to the canary only moves keys old -> new, never back', () => {
  const keys = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
  let previous = keys.map((k) => split({ old: 100, canary: 0 }).pick(k));
  for (const canary of [5, 25, 50, 75, 100]) {
    const s = split({ old: 100 - canary, canary });
    const now = keys.map((k) => s.pick(k));
    let moved = 0;
    now.forEach((c, i) => {
      if (previous[i] === 1) assert.equal(c, 1, `key ${keys[i]} went back to old at canary=${canary}`);
      if (previous[i] === 0 && c === 1) moved++;
    });
    const share = now.filter((c) => c === 1).length / keys.length;
    assert.ok(Math.abs(share - canary / 100) < 0.03, `canary share ${share} at weight ${canary}`);
    assert.ok(canary === 5 || moved > 0);
    previous = now;
  }
});

test('with three clusters, raising one weight only moves keys to it', () => {
  const keys = Array.from({ length: 3000 }, (_, i) => `u${i}`);
  const before = split({ a: 50, b: 30, c: 20 });
  const after = split({ a: 50, b: 30, c: 40 });
  keys.forEach((k) => {
    const x = before.pick(k);
    const y = after.pick(k);
    if (x !== y) assert.equal(y, 2, 'only moves toward the cluster whose weight grew');
  });
});
