import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseConflictError, ReleaseNotFoundError, ReleaseStateError } from '../../../src/release/errors.ts';
import { AUTHOR, body, harness, phases } from './harness.ts';

const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
const canary = (extra: Record<string, unknown> = {}) => body({ strategy: 'canary', stepDuration: '30s', ...extra });

test('abort rolls back now to the exact previous split and says who', async () => {
  const h = await harness();
  await h.ctl.start(canary({ webhook: 'http://127.0.0.1:1/hook' }), AUTHOR);
  await h.advance(30_000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 25);
  const v = await h.ctl.abort('rel-1', 'alice');
  assert.equal(v.phase, 'aborted');
  assert.equal(v.reason, 'aborted by alice');
  assert.deepEqual(v.weights, ORIGINAL);
  assert.deepEqual(h.split(), ORIGINAL);
  await h.ctl.webhooksFlushed();
  const last = h.events.at(-1)!;
  assert.equal(last.phase, 'aborted');
  assert.equal(last.from, 'rolling_back');
  assert.deepEqual(last.weights, ORIGINAL);
  assert.deepEqual(last.release, { id: 'rel-1', route: 'api', target: 'green', strategy: 'canary' });
  assert.equal(h.ctl.get('rel-1').settings.webhook, 'http://127.0.0.1:1/hook');
  await assert.rejects(h.ctl.abort('rel-1', AUTHOR), (e: unknown) => e instanceof ReleaseStateError && e.kind === 'conflict' && /it is aborted/.test(e.message));
  await assert.rejects(h.ctl.pause('rel-1', AUTHOR), ReleaseStateError);
  h.close();
});

test('abort while waiting for readiness: nothing was shifted, nothing is written', async () => {
  const h = await harness({ greenState: 'unhealthy' });
  await h.ctl.start(canary(), AUTHOR);
  const versionBefore = h.store.current.version;
  const v = await h.ctl.abort('rel-1', AUTHOR);
  assert.equal(v.phase, 'aborted');
  assert.equal(h.store.current.version, versionBefore);
  h.close();
});

test('promote skips the rest of the current window; promote full completes; readiness is never skipped', async () => {
  const h = await harness({ greenState: 'unhealthy' });
  await h.ctl.start(canary(), AUTHOR);
  await assert.rejects(h.ctl.promote('rel-1', AUTHOR), (e: unknown) => e instanceof ReleaseStateError && /promote skips windows, not readiness/.test(e.message));
  h.health.set('green', 'healthy');
  await h.ctl.settled();
  assert.equal(h.ctl.get('rel-1').step.percent, 5);

  let v = await h.ctl.promote('rel-1', 'bob');
  assert.equal(v.step.percent, 25);
  assert.match(v.reason, /promoted by bob: the rest of step 1's window skipped/);
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }]);

  v = await h.ctl.promote('rel-1', 'bob', true);
  assert.equal(v.phase, 'succeeded');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'progressing', 'promoting', 'succeeded']);
  await assert.rejects(h.ctl.promote('rel-1', AUTHOR), ReleaseStateError);
  h.close();
});

test('pause holds the weights (no gates, no steps, no timeout); resume restarts the window', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  await h.advance(20_000, () => h.traffic.serve('api', 'green', 5));
  let v = await h.ctl.pause('rel-1', 'carol');
  assert.equal(v.phase, 'paused');
  assert.equal(v.pausedFrom, 'progressing');
  assert.equal(v.reason, 'paused by carol');
  // An hour of failing traffic while paused: nothing is judged, nothing moves.
  await h.advance(3_600_000, () => h.traffic.serve('api', 'green', 5, { errors: 5 }), 60_000);
  assert.equal(h.ctl.get('rel-1').phase, 'paused');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 95 }, { cluster: 'green', weight: 5 }]);
  v = await h.ctl.resume('rel-1', 'carol');
  assert.equal(v.phase, 'progressing');
  assert.match(v.reason, /resumed by carol: step 1 re-applied, window restarted/);
  await assert.rejects(h.ctl.resume('rel-1', AUTHOR), (e: unknown) => e instanceof ReleaseStateError && /it is progressing/.test(e.message));
  assert.equal(v.step.percent, 5, 'resumed at the step it was paused in');
  // The new window starts from zero: the 20s before the pause do not count.
  await h.advance(29_000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 5);
  await h.advance(1000, () => h.traffic.serve('api', 'green', 5));
  assert.equal(h.ctl.get('rel-1').step.percent, 25);
  h.close();
});

test('one release per route: a second start is refused with 409 naming the running one; other routes are free', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  await assert.rejects(h.ctl.start(canary(), AUTHOR), (e: unknown) => {
    assert.ok(e instanceof ReleaseConflictError);
    assert.equal(e.kind, 'conflict');
    assert.equal(e.releaseId, 'rel-1');
    assert.match(e.issues[0]!.message, /route "api" already has a release in progress: rel-1 \(progressing, target green\)/);
    return true;
  });
  const other = await h.ctl.start(canary({ route: 'web' }), AUTHOR);
  assert.equal(other.id, 'rel-2');
  assert.equal(h.ctl.list().length, 2);
  h.close();
});

test('while a release runs, any other change to its route split is refused with 409 naming it; other changes go through', async () => {
  const h = await harness();
  await h.ctl.start(canary(), AUTHOR);
  const meta = { source: 'api' as const, author: 'someone', change: 'test' };
  const before = h.store.current.version;
  const isConflict = (e: unknown) => e instanceof ReleaseConflictError && e.kind === 'conflict' && /controlled by release rel-1/.test(e.issues[0]!.message);

  await assert.rejects(h.store.update((d) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]), meta), isConflict);
  const replaced = structuredClone(h.store.current.config);
  replaced.routes[0]!.split = [{ cluster: 'blue', weight: 1 }, { cluster: 'green', weight: 0 }];
  await assert.rejects(h.store.replace(replaced, meta), isConflict);
  await assert.rejects(h.store.rollback(1, { author: 'someone', change: 'rollback' }), isConflict, 'restoring a version with another split of the route is a split change too');
  await assert.rejects(
    h.store.update((d) => void d.routes.splice(0, 1), meta),
    (e: unknown) => e instanceof ReleaseConflictError && /cannot be removed/.test(e.message),
  );
  const reloaded = structuredClone(h.store.current.config);
  reloaded.routes[0]!.split = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
  await assert.rejects(h.store.reloadFile(reloaded, 'SIGHUP'), isConflict, 'a SIGHUP reload that would move the split is refused too');
  assert.equal(h.store.current.version, before, 'nothing refused was recorded');

  // Another route's split, or anything else, is not the release's business.
  const other = await h.store.update((d) => void (d.routes[1]!.split = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]), meta);
  assert.equal(other.changed, true);

  await h.ctl.abort('rel-1', AUTHOR);
  const after = await h.store.update((d) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]), meta);
  assert.equal(after.changed, true, 'once the release is over the route is free');
  h.close();
});

test('unknown release ids answer 404', async () => {
  const h = await harness();
  assert.throws(() => h.ctl.get('rel-9'), (e: unknown) => e instanceof ReleaseNotFoundError && e.kind === 'not_found');
  await assert.rejects(h.ctl.abort('rel-9', AUTHOR), ReleaseNotFoundError);
  h.close();
});
