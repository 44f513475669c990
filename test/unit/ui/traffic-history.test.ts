import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrafficHistory, type Counts, type CumulativeCounts } from '../../../src/admin/ui/traffic-history.ts';

/** Cumulative counters the test moves by hand. */
function fakeCounters(): CumulativeCounts & { set(route: string, cluster: string, c: Counts): void } {
  const m = new Map<string, Counts>();
  return {
    set: (route, cluster, c) => void m.set(route + '\0' + cluster, c),
    read: async () => new Map([...m].map(([k, v]) => [k, [...v] as Counts])),
  };
}

test('samples are the differences between readings; the first reading is only the baseline', async () => {
  const src = fakeCounters();
  let now = 1000;
  const h = new TrafficHistory({ source: src, capacity: 3, intervalMs: 2000, wallNow: () => now });
  src.set('api', 'blue', [10, 1]);
  assert.equal(await h.sample(), null, 'baseline');
  src.set('api', 'blue', [15, 1]);
  src.set('api', 'green', [4, 2]);
  now = 3000;
  const s1 = await h.sample();
  assert.deepEqual(s1, { seq: 1, t: 3000, routes: { api: { blue: [5, 0], green: [4, 2] } } });
  now = 5000;
  const s2 = await h.sample();
  assert.deepEqual(s2!.routes, { api: { blue: [0, 0], green: [0, 0] } }, 'pairs seen before stay, as zeros');
  assert.deepEqual(h.since(1).map((s) => s.seq), [2]);
});

test('a counter that shrank (series re-created) counts from zero; the ring keeps `capacity` samples', async () => {
  const src = fakeCounters();
  const h = new TrafficHistory({ source: src, capacity: 2 });
  src.set('web', 'blue', [100, 10]);
  await h.sample();
  src.set('web', 'blue', [3, 1]);
  assert.deepEqual((await h.sample())!.routes.web!.blue, [3, 1]);
  await h.sample();
  await h.sample();
  const snap = h.snapshot();
  assert.deepEqual(snap.samples.map((s) => s.seq), [2, 3]);
  assert.equal(snap.capacity, 2);
  assert.equal(h.seq, 3);
});

test('overlapping samples are skipped, not queued', async () => {
  let release: () => void = () => {};
  const slow: CumulativeCounts = { read: () => new Promise((r) => (release = () => r(new Map()))) };
  const h = new TrafficHistory({ source: slow });
  const first = h.sample();
  assert.equal(await h.sample(), null);
  release();
  assert.equal(await first, null);
});
