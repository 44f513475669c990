import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from '../../helpers/wait.ts';
import { etcdMissing } from './etcd-cluster.ts';
import { call, converged, splitOf, versionOf } from './support.ts';
import { agreedDriver, canaryBody, releaseReaches, driverSeenBy, releaseOn, startFleet, trafficLoop } from './release-support.ts';

/**
 * SIGSTOP the driver past its lease: another node takes over and carries on
 * from the stored state. On SIGCONT the old driver must not act on what it
 * had in memory: it notices its lease may have expired (or etcd refuses its
 * fenced write), steps down and follows the new driver. Every transition
 * after the takeover is the new driver's.
 */
test('SIGSTOP the release driver past its lease, then SIGCONT: it steps down and never writes again', { skip: etcdMissing() ?? false, timeout: 180_000 }, async (t) => {
  const ids = ['gw-a', 'gw-b'];
  const { nodes, driverId, byId } = await startFleet(t, ids);
  t.after(() => Promise.all(nodes.map((n) => n.proc.kill('SIGCONT'))));

  // Through both nodes (requests to the stopped one time out after 2 s; they count for nothing).
  const load = trafficLoop(nodes.map((gw) => ({ gw, path: '/' })));
  t.after(() => load.stop());
  const started = await call(byId(driverId), 'POST', '/v1/releases', { body: canaryBody({ steps: [20, 50, 100], stepDuration: '2s' }) });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.id as string;
  await waitFor(async () => {
    const r = await releaseOn(byId(driverId), id);
    return r.phase === 'progressing' && r.window;
  }, { timeoutMs: 60_000, intervalMs: 50, what: 'the first step with its window open' });

  // The driver now (on a loaded machine a lease can lapse and the other node may have taken over already).
  const pausedId = await agreedDriver(nodes, ids);
  const paused = byId(pausedId);
  const other = nodes.find((n) => n !== paused)!;
  const otherId = ids.find((x) => x !== pausedId)!;
  const stoppedAt = Date.now();
  paused.proc.kill('SIGSTOP');
  await agreedDriver([other], [otherId], 30_000);
  t.diagnostic(`${otherId} drives ${Date.now() - stoppedAt} ms after SIGSTOP of ${pausedId} (leaseTtl 2s)`);
  // The new driver has stored its takeover before the old one wakes: the old one's windows have all run out meanwhile.
  await waitFor(async () => (await releaseOn(other, id)).history.some((h: any) => h.driver === otherId), { timeoutMs: 30_000, what: 'a transition by the new driver' });
  paused.proc.kill('SIGCONT');

  // It wakes with timers due, steps down, and follows.
  await waitFor(async () => {
    const s = (await call(paused, 'GET', '/v1/status')).body;
    return s.releases?.driving === false && s.releases?.driver?.id === otherId;
  }, { timeoutMs: 30_000, what: `${pausedId} to step down and name ${otherId} as the driver` });
  assert.match(paused.output(), /stepping down as release driver/);
  assert.equal(await driverSeenBy(other), otherId);

  const done = await releaseReaches(other, id, ['succeeded', 'rolled_back', 'aborted', 'failed']);
  assert.equal(done.phase, 'succeeded', done.reason);
  await load.stop();
  const takeover = done.history.findIndex((h: any) => h.driver === otherId);
  assert.ok(takeover > 0);
  const late = done.history.slice(takeover).filter((h: any) => h.driver !== otherId);
  assert.deepEqual(late, [], 'no transition after the takeover came from the paused node');
  for (let i = 0; i < done.plan.length; i++) assert.ok(done.history.some((h: any) => h.phase === 'progressing' && h.step === i), `step ${i + 1} applied`);

  const final = await versionOf(other);
  await converged(nodes, final);
  for (const gw of nodes) assert.deepEqual(splitOf((await call(gw, 'GET', '/v1/config')).body), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  // The paused node's view of the release is the driver's (it follows the state in etcd, re-read every 500 ms).
  await waitFor(async () => (await releaseOn(paused, id)).phase === 'succeeded', { timeoutMs: 10_000, what: `${pausedId} to show the release as the driver stored it` });
});
