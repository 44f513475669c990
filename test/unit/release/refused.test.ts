import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReleaseRejectedError } from '../../../src/release/errors.ts';
import { AUTHOR, harness, releaseConfig } from './harness.ts';

/** Each bad request, the path it must name and what the message must say. */
const CASES: { name: string; body: unknown; path: string; message: RegExp }[] = [
  { name: 'not an object', body: ['api'], path: '', message: /JSON object/ },
  { name: 'no route', body: { to: 'green' }, path: 'route', message: /required/ },
  { name: 'unknown route', body: { route: 'nope', to: 'green' }, path: 'route', message: /no route named "nope"/ },
  { name: 'no target', body: { route: 'api' }, path: 'to', message: /required/ },
  { name: 'target cluster does not exist', body: { route: 'api', to: 'purple' }, path: 'to', message: /no cluster named "purple"/ },
  { name: 'target not in the split', body: { route: 'api', to: 'other' }, path: 'to', message: /cluster "other" is not in the split of route "api"/ },
  { name: 'unknown key', body: { route: 'api', to: 'green', color: 'green' }, path: 'color', message: /unknown key/ },
  { name: 'unknown strategy', body: { route: 'api', to: 'green', strategy: 'rolling' }, path: 'strategy', message: /"blue-green" or "canary"/ },
  { name: 'steps not increasing', body: { route: 'api', to: 'green', steps: [5, 50, 25, 100] }, path: 'steps', message: /strictly increase/ },
  { name: 'steps repeating', body: { route: 'api', to: 'green', steps: [5, 5, 100] }, path: 'steps', message: /strictly increase/ },
  { name: 'step over 100', body: { route: 'api', to: 'green', steps: [5, 50, 150] }, path: 'steps', message: /from 1 to 100/ },
  { name: 'step of 0', body: { route: 'api', to: 'green', steps: [0, 100] }, path: 'steps', message: /from 1 to 100/ },
  { name: 'empty steps', body: { route: 'api', to: 'green', steps: [] }, path: 'steps', message: /1 to 20/ },
  { name: 'steps for blue-green', body: { route: 'api', to: 'green', strategy: 'blue-green', steps: [50, 100] }, path: 'steps', message: /canary strategy only/ },
  { name: 'stepDuration for blue-green', body: { route: 'api', to: 'green', strategy: 'blue-green', stepDuration: '1m' }, path: 'stepDuration', message: /canary strategy only/ },
  { name: 'window shorter than the check interval (blue-green)', body: { route: 'api', to: 'green', strategy: 'blue-green', observe: '5s', interval: '10s' }, path: 'observe', message: /the window \(5s\) is shorter than the check interval \(10s\)/ },
  { name: 'window shorter than the check interval (canary)', body: { route: 'api', to: 'green', stepDuration: '5s' }, path: 'stepDuration', message: /shorter than the check interval \(10s\)/ },
  { name: 'window shorter than the target health check interval', body: { route: 'api', to: 'green', stepDuration: '1s', interval: '500ms' }, path: 'stepDuration', message: /shorter than the health check interval of cluster "green" \(2s\)/ },
  { name: 'interval too short', body: { route: 'api', to: 'green', interval: '10ms' }, path: 'interval', message: /at least 100ms/ },
  { name: 'bad duration', body: { route: 'api', to: 'green', strategy: 'blue-green', observe: 'three minutes' }, path: 'observe', message: /invalid duration/ },
  { name: 'minRequests 0 (promotion on zero traffic)', body: { route: 'api', to: 'green', gates: { minRequests: 0 } }, path: 'gates.minRequests', message: /never promoted on zero traffic/ },
  { name: 'error rate over 100', body: { route: 'api', to: 'green', gates: { maxErrorRate: 101 } }, path: 'gates.maxErrorRate', message: /percentage/ },
  { name: 'unknown gate', body: { route: 'api', to: 'green', gates: { maxCpu: 1 } }, path: 'gates.maxCpu', message: /unknown gate/ },
  { name: 'webhook not http', body: { route: 'api', to: 'green', webhook: 'ftp://x/y' }, path: 'webhook', message: /http:\/\/ or https:\/\// },
  { name: 'onRestart', body: { route: 'api', to: 'green', onRestart: 'later' }, path: 'onRestart', message: /"resume"/ },
];

test('refused start requests: 400 with the path and the reason, nothing started, nothing written', async () => {
  const h = await harness();
  const version = h.store.current.version;
  for (const c of CASES) {
    await assert.rejects(h.ctl.start(c.body, AUTHOR), (e: unknown) => {
      assert.ok(e instanceof ReleaseRejectedError, `${c.name}: ${String(e)}`);
      assert.equal(e.kind, 'invalid');
      const issue = e.issues.find((i) => i.path === c.path);
      assert.ok(issue, `${c.name}: expected an issue at "${c.path}", got ${JSON.stringify(e.issues)}`);
      assert.match(issue.message, c.message, c.name);
      return true;
    });
  }
  assert.deepEqual(h.ctl.list(), []);
  assert.equal(h.store.current.version, version);
  // And a correct request still goes through afterwards, with id rel-1: refused ones used no id.
  assert.equal((await h.ctl.start({ route: 'api', to: 'green' }, AUTHOR)).id, 'rel-1');
  h.close();
});

test('refused: every problem of a request is reported at once', async () => {
  const h = await harness();
  await assert.rejects(h.ctl.start({ route: 'api', to: 'purple', strategy: 'x', interval: 5 }, AUTHOR), (e: unknown) => {
    assert.ok(e instanceof ReleaseRejectedError);
    assert.deepEqual(e.issues.map((i) => i.path).sort(), ['interval', 'strategy', 'to']);
    return true;
  });
  h.close();
});

test('refused: a target that already has all the traffic, and steps all below the target share', async () => {
  const config = releaseConfig((c) => {
    c.routes[0]!.split = [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }];
    c.routes[1]!.split = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }];
  });
  const h = await harness({ config });
  await assert.rejects(h.ctl.start({ route: 'api', to: 'green' }, AUTHOR), (e: unknown) => e instanceof ReleaseRejectedError && /already takes all of route "api"'s traffic/.test(e.message));
  await assert.rejects(h.ctl.start({ route: 'web', to: 'green', steps: [10, 25, 50] }, AUTHOR), (e: unknown) => e instanceof ReleaseRejectedError && /every step is at or below "green"'s current share of route "web" \(50%\)/.test(e.message));
  h.close();
});
