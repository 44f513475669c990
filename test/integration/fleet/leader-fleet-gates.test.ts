import { test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdMissing } from './etcd-cluster.ts';
import { call, converged, metricValue, splitOf, versionOf } from './support.ts';
import { canaryBody, releaseReaches, startFleet, trafficLoop } from './release-support.ts';

/**
 * The gates read the whole fleet's traffic: a canary whose 5xx all go
 * through node B (which does not drive) is rolled back by the driver, which
 * sees none of them itself. With gates that read only the driver's own
 * counters this release would pass.
 */
test("a canary whose 5xx come only through the non-driver still trips the driver's gate", { skip: etcdMissing() ?? false, timeout: 180_000 }, async (t) => {
  const ids = ['gw-a', 'gw-b'];
  const { nodes, driverId, byId } = await startFleet(t, ids);
  const driver = byId(driverId);
  const b = nodes.find((n) => n !== driver)!;

  // Through the driver every answer is 200; through B every answer is 503 (the demo upstream's /status/503).
  const load = trafficLoop([
    { gw: driver, path: '/' },
    { gw: b, path: '/status/503' },
  ]);
  t.after(() => load.stop());
  const started = await call(b, 'POST', '/v1/releases', { body: canaryBody({ steps: [50, 100], stepDuration: '6s', gates: { maxErrorRate: 5, maxP99Latency: '5s', maxEjections: 100, minRequests: 10 } }) });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.id as string;

  const done = await releaseReaches(b, id, ['rolled_back', 'succeeded', 'paused', 'failed']);
  await load.stop();
  assert.equal(done.phase, 'rolled_back', `${done.phase}: ${done.reason}`);
  assert.match(done.reason, /error rate/);
  assert.ok(done.history.every((h: any) => h.driver === driverId), 'every transition was the driver\'s');

  // A refusal by the driver comes back through B with its status and message.
  const late = await call(b, 'POST', `/v1/releases/${id}/abort`);
  assert.equal(late.status, 409, JSON.stringify(late.body));
  assert.match(JSON.stringify(late.body), /cannot abort release rel-\d+: it is rolled_back/);
  const second = await call(b, 'POST', '/v1/releases', { body: { ...canaryBody(), to: 'nope' } });
  assert.equal(second.status, 400, JSON.stringify(second.body));

  // The 5xx answers from green were all counted on B: the driver served green none.
  const driverMetrics = (await call(driver, 'GET', '/metrics', { token: null })).body as string;
  const bMetrics = (await call(b, 'GET', '/metrics', { token: null })).body as string;
  assert.ok(metricValue(bMetrics, 'edgeplane_requests_total', { route: 'api', cluster: 'green', code: '503' }) > 0, 'B answered 5xx from green');
  assert.equal(metricValue(driverMetrics, 'edgeplane_requests_total', { route: 'api', cluster: 'green', code: '503' }), 0, 'the driver answered no 5xx from green');
  assert.ok(metricValue(driverMetrics, 'edgeplane_requests_total', { route: 'api', cluster: 'green', code: '200' }) > 0, 'the driver did send green traffic, all of it fine');

  // Rolled back everywhere to the split from before the release.
  const final = await versionOf(b);
  await converged(nodes, final);
  for (const gw of nodes) assert.deepEqual(splitOf((await call(gw, 'GET', '/v1/config')).body), [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }]);
});
