import { test } from 'node:test';
import assert from 'node:assert/strict';
import { delta, type TrafficCounters } from '../../../src/release/traffic-stats.ts';
import { AUTHOR, body, FakeTraffic, harness } from './harness.ts';

const counters = (requests: number, errors: number, fast: number): TrafficCounters => ({
  requests,
  errors,
  localFailures: 0,
  // `fast` answers under 10 ms, the rest at 1 s.
  buckets: [
    { le: 0.01, count: fast },
    { le: 1, count: requests },
    { le: Infinity, count: requests },
  ],
});

test('fleet counters: each node process is diffed on its own', () => {
  const base: TrafficCounters = { ...counters(150, 5, 150), parts: { 'a/boot1': counters(100, 5, 100), 'b/boot1': counters(50, 0, 50) } };
  // a served 10 more (2 errors); b restarted (new boot: its counters began again at 0) and served 4; c joined and served 6, all slow.
  const now: TrafficCounters = { ...counters(0, 0, 0), parts: { 'a/boot1': counters(110, 7, 110), 'b/boot2': counters(4, 0, 4), 'c/boot1': counters(6, 1, 0) } };
  const d = delta(base, now);
  assert.equal(d.requests, 20);
  assert.equal(d.errors, 3);
  // 6 of 20 took 1 s: the p99 is in the slow bucket, summed over the nodes.
  assert.ok(d.p99Ms! > 10, `p99 ${d.p99Ms}`);
  // Without parts (one process) the plain difference, as before.
  assert.equal(delta(counters(10, 1, 10), counters(15, 1, 15)).requests, 5);
});

/** A fleet-wide source as the driver sees it: which live nodes serve which version, and everyone's ejections. */
class FleetFake extends FakeTraffic {
  versions = new Map<string, number>([['gw-a', 0], ['gw-b', 0]]);
  ejected = new Map<string, number>();
  async serving(version: number) {
    return { live: [...this.versions.keys()], lagging: [...this.versions].filter(([, v]) => v < version).map(([node, v]) => ({ node, version: v })) };
  }
  async ejections(_cluster: string) {
    return new Map(this.ejected);
  }
}

test("a step's window opens only once every live node serves the step's version", async () => {
  const traffic = new FleetFake();
  const h = await harness({ traffic });
  // gw-a (this node) serves each version as it writes it; gw-b lags.
  h.store.onApplied((v) => traffic.versions.set('gw-a', v));
  await h.ctl.start(body({ strategy: 'canary', steps: [50, 100], stepDuration: '10s', gates: { minRequests: 1 } }), AUTHOR);
  let v = h.ctl.get('rel-1');
  assert.equal(v.step.index, 0);
  assert.equal(v.window, null, 'no window while gw-b serves the old version');
  assert.match(v.reason, /window waits for gw-b \(serves 0\) to serve version/);
  // Traffic while gw-b lags never counts: 5xx now would fail a window that had opened.
  await h.advance(20_000, () => traffic.serve('api', 'green', 5, { errors: 5 }));
  v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'progressing');
  assert.equal(v.step.index, 0, 'still step 1: its window has not even opened');
  traffic.versions.set('gw-b', h.store.current.version);
  await h.advance(1000);
  v = h.ctl.get('rel-1');
  assert.ok(v.window, 'window open once gw-b serves the step');
  assert.doesNotMatch(v.reason, /window waits/);
  await h.advance(11_000, () => traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.index, 1, 'the step passed on its own window');
  h.close();
});

test('a node that never serves the step rolls the release back after readinessTimeout', async () => {
  const traffic = new FleetFake();
  const h = await harness({ traffic });
  h.store.onApplied((v) => traffic.versions.set('gw-a', v));
  await h.ctl.start(body({ strategy: 'canary', steps: [50, 100], stepDuration: '10s', readinessTimeout: '30s' }), AUTHOR);
  await h.advance(31_000);
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /gw-b \(serves 0\) did not serve version \d+ within 30s/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }]);
  h.close();
});

test("ejections on any node count against the target (the fleet source's, not this node's health table)", async () => {
  const traffic = new FleetFake();
  const h = await harness({ traffic });
  traffic.versions.delete('gw-b');
  h.store.onApplied((v) => traffic.versions.set('gw-a', v));
  await h.ctl.start(body({ strategy: 'canary', steps: [50, 100], stepDuration: '10s', gates: { maxEjections: 0 } }), AUTHOR);
  assert.ok(h.ctl.get('rel-1').window);
  traffic.ejected.set('gw-b/boot/127.0.0.1:9201', 1);
  await h.advance(6000, () => traffic.serve('api', 'green', 5));
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /ejection/);
  h.close();
});
