import { test } from 'node:test';
import assert from 'node:assert/strict';
import { takeToken, type BucketPolicy } from '../../../src/edge/rate-limit/index.ts';
import { takeTokenInto } from '../../../src/edge/rate-limit/bucket.ts';

/** Runs requests at the given times against one bucket and returns which passed. */
function run(policy: BucketPolicy, times: number[]): boolean[] {
  let tat: number | undefined;
  return times.map((t) => {
    const d = takeToken(policy, tat, t);
    if (d.allowed) tat = d.tat;
    return d.allowed;
  });
}

test('a full bucket admits exactly `burst` requests at once, then refuses', () => {
  const policy = { interval: 100, burst: 5 }; // 10 per second, burst 5
  assert.deepEqual(run(policy, Array(8).fill(0)), [true, true, true, true, true, false, false, false]);
});

test('tokens come back one per interval, never more than burst', () => {
  const policy = { interval: 100, burst: 3 };
  // Drain at 0; at 99 nothing is back; at 100 one is; after a long quiet period only `burst` pass.
  assert.deepEqual(run(policy, [0, 0, 0, 99, 100, 100, 10_000, 10_000, 10_000, 10_000]), [true, true, true, false, true, false, true, true, true, false]);
});

test('sustained rate over a long run equals requests per period (+ burst)', () => {
  const policy = { interval: 1000 / 50, burst: 10 }; // 50/s
  // A client asking every 5 ms for 10 s: 2000 asks.
  const times = Array.from({ length: 2000 }, (_, i) => i * 5);
  const passed = run(policy, times).filter(Boolean).length;
  // 10 s x 50/s, plus the initial burst, minus the token not yet back at the end.
  assert.ok(passed >= 500 && passed <= 510, `passed ${passed}`);
});

test('remaining, retry-after and reset are exact', () => {
  const policy = { interval: 250, burst: 4 }; // 4 per second
  let d = takeToken(policy, undefined, 1000);
  assert.deepEqual([d.allowed, d.remaining, d.retryAfterMs, d.resetMs], [true, 3, 0, 250]);
  d = takeToken(policy, d.tat, 1000);
  d = takeToken(policy, d.tat, 1000);
  d = takeToken(policy, d.tat, 1000);
  assert.deepEqual([d.allowed, d.remaining, d.retryAfterMs, d.resetMs], [true, 0, 250, 1000]);
  const refused = takeToken(policy, d.tat, 1100);
  assert.deepEqual([refused.allowed, refused.remaining, refused.retryAfterMs, refused.resetMs], [false, 0, 150, 900]);
  assert.equal(refused.tat, d.tat, 'a refused request does not move the bucket');
});

test('takeTokenInto writes the same decision as takeToken into the object it is given', () => {
  const policy = { interval: 100, burst: 3 };
  const out = { allowed: true, tat: -1, remaining: -1, retryAfterMs: -1, resetMs: -1 };
  let tat: number | undefined;
  // Passing, last token, refused, and a full bucket again after a quiet period: every field is rewritten each time.
  for (const now of [0, 0, 0, 0, 50, 150, 10_000]) {
    const expected = takeToken(policy, tat, now);
    const got = takeTokenInto(policy, tat, now, out);
    assert.equal(got, out);
    assert.deepEqual({ ...got }, { ...expected }, `at ${now}`);
    if (expected.allowed) tat = expected.tat;
  }
});
