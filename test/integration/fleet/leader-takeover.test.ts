import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.ts';
import { etcdMissing } from './etcd-cluster.ts';
import { call, converged, metricValue, rawClient, splitOf, versionOf } from './support.ts';
import { agreedDriver, canaryBody, releaseReaches, releaseOn, startFleet, trafficLoop } from './release-support.ts';

/**
 * kill -9 the node driving a canary: another node takes over from the state
 * stored in etcd and finishes it, with no step skipped, and every node ends on
 * the same weights. The release is started through a node that does not drive
 * (forwarded to the driver through etcd).
 */
test('kill -9 the release driver mid-canary: another node finishes it', { skip: etcdMissing() ?? false, timeout: 180_000 }, async (t) => {
  const ids = ['gw-a', 'gw-b', 'gw-c'];
  const { nodes, driverId, byId, etcd, prefix } = await startFleet(t, ids);
  const starter = nodes.find((n) => n !== byId(driverId))!;

  const load = trafficLoop(nodes.map((gw) => ({ gw, path: '/' })));
  t.after(() => load.stop());

  // Started through a node that does not drive: the action goes to the driver through etcd.
  const started = await call(starter, 'POST', '/v1/releases', { body: canaryBody() });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.id as string;
  assert.equal(started.body.route, 'api');

  // Mid-canary: step 2 (or 3) of 4 has been applied and its window is open.
  await waitFor(async () => {
    const r = await releaseOn(starter, id);
    return r.phase === 'progressing' && r.step.index >= 1 && r.step.index <= 2 && r.window;
  }, { timeoutMs: 60_000, intervalMs: 50, what: 'the canary at step 2/4 with its window open' });

  // The driver now (on a loaded machine a lease can lapse and another node may have taken over already).
  const killedId = await agreedDriver(nodes, ids);
  const driver = byId(killedId);
  const others = nodes.filter((n) => n !== driver);
  t.diagnostic(`killing the driver ${killedId}`);
  const killedAt = Date.now();
  driver.proc.kill('SIGKILL');
  await new Promise((r) => driver.proc.once('exit', r));
  const next = await agreedDriver(others, ids.filter((x) => x !== killedId), 30_000);
  const takeoverMs = Date.now() - killedAt;
  t.diagnostic(`takeover by ${next} ${takeoverMs} ms after kill -9 (leaseTtl 2s)`);

  const done = await releaseReaches(others[0]!, id, ['succeeded', 'rolled_back', 'aborted', 'failed']);
  assert.equal(done.phase, 'succeeded', done.reason);
  await load.stop();

  // No step skipped: every planned step was applied in order, and the step in force at the kill was re-applied with a fresh window.
  const stepsApplied = done.history.filter((h: any) => h.phase === 'progressing').map((h: any) => h.step);
  for (let i = 0; i < done.plan.length; i++) assert.ok(stepsApplied.includes(i), `step ${i + 1} was applied (history steps: ${stepsApplied.join(',')})`);
  assert.deepEqual([...stepsApplied].sort((a: number, b: number) => a - b), stepsApplied, 'steps applied in order');
  assert.ok(done.history.some((h: any) => /takeover/.test(h.reason)), 'the history says where the new driver took over');

  const final = await versionOf(others[0]!);
  await converged(others, final);
  for (const gw of others) {
    const cfg = (await call(gw, 'GET', '/v1/config')).body;
    assert.deepEqual(splitOf(cfg), [
      { cluster: 'blue', weight: 0 },
      { cluster: 'green', weight: 100 },
    ]);
  }
  const status = (await call(others[1]!, 'GET', '/v1/status')).body;
  assert.equal(status.releases.driver.id, next);
  for (const gw of others) {
    const metrics = (await call(gw, 'GET', '/metrics', { token: null })).body as string;
    assert.equal(metricValue(metrics, 'edgeplane_release_driver'), gw === byId(next) ? 1 : 0);
  }

  // A graceful stop hands over at once: the driver revokes its lease instead of letting it run out.
  const last = others.find((n) => n !== byId(next))!;
  const lastId = ids.find((x) => byId(x) === last)!;
  const stoppingAt = Date.now();
  await byId(next).stop('SIGTERM');
  const raw = rawClient(etcd);
  const held = await raw.get(`${prefix}/releases/leader`).string();
  raw.close();
  assert.ok(held === null || JSON.parse(held).id !== next, `the stopped driver's key is gone when it exits (not left to expire): ${held}`);
  await agreedDriver([last], [lastId], 30_000);
  t.diagnostic(`${lastId} drives ${Date.now() - stoppingAt} ms after SIGTERM of ${next} (exit included)`);
});
