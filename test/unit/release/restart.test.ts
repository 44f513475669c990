import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../../../src/config/schema/index.ts';
import { AUTHOR, body, harness, phases, releaseConfig } from './harness.ts';

const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
const canary = (extra: Record<string, unknown> = {}) => body({ strategy: 'canary', stepDuration: '30s', ...extra });
const doc = (dir: string) => JSON.parse(readFileSync(join(dir, 'releases.json'), 'utf8'));

/** Rewrites the persisted release as a crash at a given moment would have left it. */
function editDoc(dir: string, edit: (rel: any) => void): void {
  const d = doc(dir);
  edit(d.releases[0]);
  writeFileSync(join(dir, 'releases.json'), JSON.stringify(d));
}

test('restart in the middle: resumes at the same step with the window restarted, then carries on to the end', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  await h.advance(30_000, () => h.traffic.serve('api', 'green', 5));
  await h.advance(20_000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 25);
  const versionsBefore = h.ctl.get('rel-1').versions;

  await h.restart();
  let v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'progressing');
  assert.equal(v.step.percent, 25);
  assert.match(v.reason, /resumed after a gateway restart/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);
  assert.deepEqual(v.versions, versionsBefore, 're-applying the step in force writes no new version');

  // The 20s seen before the restart do not count: the step needs a whole new window.
  await h.advance(29_000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 25, 'never completes a window across a restart');
  await h.advance(1000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 50);
  await h.advance(60_000, () => h.traffic.serve('api', 'green', 5));
  v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'succeeded');
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'progressing', 'progressing', 'progressing', 'progressing', 'promoting', 'succeeded']);
  h.close();
});

test('restart: a fresh health table is waited for before the window restarts (no verdict on unchecked endpoints)', async () => {
  const h = await harness();
  await h.ctl.start(canary({ readinessTimeout: '1m' }), AUTHOR);
  await h.advance(10_000, () => h.traffic.serve('api', 'green', 5));
  h.close();
  h.health.set('green', 'unhealthy'); // what a restarted process sees until the first checks pass
  await h.restart();
  let v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'progressing');
  assert.equal(v.window, null);
  assert.match(v.reason, /gateway restarted: waiting for cluster "green" to be ready before step 1's window restarts: 0\/1 healthy/);
  await h.advance(30_000);
  assert.equal(h.ctl.get('rel-1').phase, 'progressing', 'not rolled back for endpoints that were not checked yet');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 95 }, { cluster: 'green', weight: 5 }]);
  h.health.set('green', 'healthy');
  await h.ctl.settled();
  v = h.ctl.get('rel-1');
  assert.ok(v.window, 'the window restarts once the target is ready');
  assert.match(v.reason, /resumed after a gateway restart once cluster "green" was ready again/);

  // And a target that never comes back is rolled back after readinessTimeout.
  h.close();
  h.health.set('green', 'unhealthy');
  await h.restart();
  await h.advance(60_000);
  v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /not ready within 1m .*after a gateway restart/);
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('restart with onRestart: pause stays paused until resumed', async () => {
  const h = await harness();
  await h.ctl.start(canary({ onRestart: 'pause' }), AUTHOR);
  await h.advance(30_000, () => h.traffic.serve('api', 'green', 5));
  await h.restart();
  let v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'paused');
  assert.match(v.reason, /gateway restarted: paused as configured \(onRestart: pause\)/);
  await h.advance(10 * 60_000, () => h.traffic.serve('api', 'green', 5), 60_000);
  assert.equal(h.ctl.get('rel-1').phase, 'paused');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);
  v = await h.ctl.resume('rel-1', AUTHOR);
  assert.equal(v.phase, 'progressing');
  assert.equal(v.step.percent, 25);
  h.close();
});

test('kill after the step was persisted but before its config write: the restart writes that step', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  h.close();
  // The document says step 2 (25%); the config still has step 1 (5%).
  editDoc(h.dir, (r) => {
    r.step = 1;
    r.window = null;
  });
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 95 }, { cluster: 'green', weight: 5 }]);
  await h.restart();
  assert.equal(h.ctl.get('rel-1').step.percent, 25);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);
  h.close();
});

test('kill while rolling back: the restart finishes the rollback', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  h.close();
  editDoc(h.dir, (r) => {
    r.phase = 'rolling_back';
    r.rollbackTo = 'rolled_back';
    r.reason = 'step 1/4 (green 5%) failed: error rate: 50%';
  });
  await h.restart();
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.equal(v.reason, 'step 1/4 (green 5%) failed: error rate: 50%');
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('kill while completing: the restart completes (the decision was made and recorded before the kill)', async () => {
  const h = await harness();
  await h.ctl.start(canary({ steps: [50, 100] }), AUTHOR);
  h.close();
  editDoc(h.dir, (r) => {
    r.phase = 'promoting';
    r.reason = 'promoted by tester';
  });
  await h.restart();
  assert.equal(h.ctl.get('rel-1').phase, 'succeeded');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  h.close();
});

test('restart after a newer config file changed the split: the release stops touching it and pauses; abort leaves it alone', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  const file: Config = releaseConfig((c) => {
    (c as { version?: number }).version = 100;
    c.routes[0]!.split = [{ cluster: 'blue', weight: 70 }, { cluster: 'green', weight: 30 }];
  });
  await h.restart(file);
  let v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'paused');
  assert.match(v.reason, /the split of route "api" \(blue 70 \/ green 30\) was changed outside the release/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 70 }, { cluster: 'green', weight: 30 }]);
  v = await h.ctl.abort('rel-1', AUTHOR);
  assert.equal(v.phase, 'failed');
  assert.match(v.reason, /the split was left as it is/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 70 }, { cluster: 'green', weight: 30 }]);
  h.close();
});

test('restart while waiting for readiness keeps waiting, with a fresh readiness timeout', async () => {
  const h = await harness({ greenState: 'unhealthy' });
  await h.ctl.start(canary({ readinessTimeout: '1m' }), AUTHOR);
  await h.advance(50_000);
  await h.restart();
  await h.advance(50_000);
  assert.equal(h.ctl.get('rel-1').phase, 'waiting', '100s in all, but never 1m within one process');
  assert.deepEqual(h.split(), ORIGINAL);
  await h.advance(10_000);
  assert.equal(h.ctl.get('rel-1').phase, 'rolled_back');
  h.close();
});

test('an unusable release document is moved aside and the controller starts empty', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  h.close();
  writeFileSync(join(h.dir, 'releases.json'), '{"format": 1, "nextId": "x"}');
  await h.restart();
  assert.deepEqual(h.ctl.list(), []);
  assert.ok(readdirSync(h.dir).some((f) => f.startsWith('releases.json.corrupt-')));
  h.close();
});

test('a disk failure at a step boundary is retried until the state can be persisted; nothing is written to the config before', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  await h.advance(29_000, () => h.traffic.serve('api', 'green', 5));
  renameSync(h.dir, `${h.dir}.away`); // every write in the state directory now fails
  await h.advance(3000, () => h.traffic.serve('api', 'green', 5));
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 95 }, { cluster: 'green', weight: 5 }], 'no config change without its persisted intent');
  assert.equal(h.ctl.get('rel-1').window, null);
  renameSync(`${h.dir}.away`, h.dir);
  await h.advance(1000);
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'progressing');
  assert.equal(v.step.percent, 25);
  assert.ok(v.window, 'the step is applied and its window open');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);
  assert.equal(doc(h.dir).releases[0].step, 1);
  h.close();
});
