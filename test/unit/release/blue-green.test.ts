import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registry } from '../../../src/metrics/registry.ts';
import { AUTHOR, body, harness, phases } from './harness.ts';

const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
const bg = (extra: Record<string, unknown> = {}) => body({ strategy: 'blue-green', observe: '1m', ...extra });

async function transitions(route: string, phase: string): Promise<number> {
  const m = await registry.getSingleMetric('edgeplane_release_transitions_total')!.get();
  return m.values.find((v) => v.labels.route === route && v.labels.phase === phase)?.value ?? 0;
}

test('blue/green success: ready target takes 100%, the whole window passes the gates, blue stays at weight 0', async () => {
  const h = await harness();
  const succeededBefore = await transitions('api', 'succeeded');
  const started = await h.ctl.start(bg({ webhook: 'http://127.0.0.1:1/hooks/release' }), AUTHOR);
  assert.equal(started.id, 'rel-1');
  assert.equal(started.phase, 'progressing', 'green was ready: traffic moved at once');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);

  // One second short of the window: no verdict yet, whatever the traffic.
  await h.advance(59_000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').phase, 'progressing');
  assert.equal(h.ctl.get('rel-1').readings?.verdict, 'pending');

  await h.advance(1000, () => h.traffic.serve('api', 'green', 5));
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'succeeded', v.reason);
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'promoting', 'succeeded']);
  assert.deepEqual(v.weights, [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  assert.equal(v.readings?.verdict, 'pass');
  assert.equal(v.readings?.requests, 300);
  assert.match(v.reason, /blue at weight 0/);
  // Every step is a config version, written by the release.
  assert.equal(v.versions.length, 1);
  const record = h.store.history.get(v.versions[0]!)!;
  assert.equal(record.author, 'release/rel-1');
  assert.match(record.change, /release rel-1: step 1\/1, green 100%/);
  assert.deepEqual(h.events.map((e) => e.phase), ['waiting', 'progressing', 'promoting', 'succeeded']);
  assert.equal((await transitions('api', 'succeeded')) - succeededBefore, 1);
  h.close();
});

test('blue/green waits for the target readiness before moving any traffic', async () => {
  const h = await harness({ greenState: 'unhealthy' });
  const v = await h.ctl.start(bg(), AUTHOR);
  assert.equal(v.phase, 'waiting');
  assert.match(v.reason, /0\/1 healthy/);
  await h.advance(20_000);
  assert.equal(h.ctl.get('rel-1').phase, 'waiting');
  assert.deepEqual(h.split(), ORIGINAL);
  h.health.set('green', 'healthy');
  await h.ctl.settled();
  assert.equal(h.ctl.get('rel-1').phase, 'progressing', 'a health change is acted on without waiting for a poll');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  h.close();
});

test('blue/green rollback: target never ready within readinessTimeout, nothing shifted', async () => {
  const h = await harness({ greenState: 'unhealthy' });
  await h.ctl.start(bg({ readinessTimeout: '30s' }), AUTHOR);
  await h.advance(30_000);
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /readiness: cluster "green" was not ready within 30s.*no traffic was shifted/);
  assert.deepEqual(h.split(), ORIGINAL);
  assert.deepEqual(v.versions, [], 'no config version was written');
  h.close();
});

test('blue/green rollback on the error-rate gate, mid-window, to the exact previous split', async () => {
  const h = await harness();
  await h.ctl.start(bg(), AUTHOR);
  await h.advance(20_000, () => h.traffic.serve('api', 'green', 10, { errors: 1 }));
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /error rate: 10% \(5 of 50 requests answered 5xx\) is above 1%/);
  assert.deepEqual(h.split(), ORIGINAL);
  assert.equal(v.readings?.verdict, 'fail');
  assert.ok(v.readings!.windowElapsedMs < 60_000, 'failed before the window ended');
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'rolling_back', 'rolled_back']);
  assert.equal(v.versions.length, 2, 'the shift and the rollback are both config versions');
  assert.equal(h.store.current.version, v.versions[1]);
  h.close();
});

test('blue/green: errors below minRequests are not judged yet', async () => {
  const h = await harness();
  await h.ctl.start(bg({ gates: { minRequests: 100 } }), AUTHOR);
  await h.advance(10_000, () => h.traffic.serve('api', 'green', 2, { errors: 1 }));
  assert.equal(h.ctl.get('rel-1').phase, 'progressing', '50% errors over 20 requests: too few for a verdict');
  await h.advance(50_000, () => h.traffic.serve('api', 'green', 2, { errors: 1 }));
  assert.equal(h.ctl.get('rel-1').phase, 'rolled_back');
  h.close();
});

test('blue/green rollback on the p99 latency gate', async () => {
  const h = await harness();
  await h.ctl.start(bg(), AUTHOR);
  await h.advance(10_000, () => h.traffic.serve('api', 'green', 10, { latencyMs: 800 }));
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /p99 latency: \d+(\.\d+)?ms is above 500ms/);
  assert.ok(v.readings!.p99Ms! > 500);
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('blue/green rollback on an outlier ejection, at once (no poll, no request minimum)', async () => {
  const h = await harness();
  await h.ctl.start(bg(), AUTHOR);
  await h.advance(3000, () => h.traffic.serve('api', 'green', 1));
  h.health.set('green', 'ejected', { ejectionsDelta: 1 });
  await h.ctl.settled();
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /ejections: 1 outlier ejection\(s\)/);
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('blue/green rollback when the target loses readiness in the window', async () => {
  const h = await harness();
  await h.ctl.start(bg(), AUTHOR);
  await h.advance(3000);
  h.health.set('green', 'unhealthy');
  await h.ctl.settled();
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /readiness: the target has no healthy endpoint left \(0\/1 healthy/);
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('blue/green never promotes on zero traffic: inconclusive pauses at the weights in force', async () => {
  const h = await harness();
  await h.ctl.start(bg(), AUTHOR);
  await h.advance(60_000, () => h.traffic.serve('api', 'green', 0));
  let v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'paused');
  assert.match(v.reason, /inconclusive: 0 request\(s\) to the target in the window, at least 20 needed/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  await h.advance(10 * 60_000);
  assert.equal(h.ctl.get('rel-1').phase, 'paused', 'a paused release stays paused');

  await h.ctl.resume('rel-1', AUTHOR);
  await h.advance(60_000, () => h.traffic.serve('api', 'green', 1));
  v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'succeeded', v.reason);
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'paused', 'progressing', 'promoting', 'succeeded']);
  h.close();
});
