import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTHOR, body, harness, phases, releaseConfig } from './harness.ts';

const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];
const serveGreen = (h: Awaited<ReturnType<typeof harness>>) => () => h.traffic.serve('api', 'green', 5);

test('canary through all default steps (5, 25, 50, 100), each held stepDuration, each a config version', async () => {
  const h = await harness();
  await h.ctl.start(body({ strategy: 'canary', stepDuration: '30s' }), AUTHOR);
  const seen: { percent: number | null; split: unknown }[] = [];
  for (let i = 0; i < 4; i++) {
    const v = h.ctl.get('rel-1');
    seen.push({ percent: v.step.percent, split: h.split() });
    // Held for the whole step: one second short, still the same step.
    await h.advance(29_000, serveGreen(h));
    assert.equal(h.ctl.get('rel-1').step.index, i, `still step ${i + 1} before its window ends`);
    await h.advance(1000, serveGreen(h));
  }
  assert.deepEqual(seen, [
    { percent: 5, split: [{ cluster: 'blue', weight: 95 }, { cluster: 'green', weight: 5 }] },
    { percent: 25, split: [{ cluster: 'blue', weight: 75 }, { cluster: 'green', weight: 25 }] },
    { percent: 50, split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }] },
    { percent: 100, split: [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }] },
  ]);
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'succeeded', v.reason);
  assert.deepEqual(phases(v), ['waiting', 'progressing', 'progressing', 'progressing', 'progressing', 'promoting', 'succeeded']);
  assert.equal(v.versions.length, 4);
  assert.deepEqual(
    v.versions.map((n) => h.store.history.get(n)!.change),
    ['release rel-1: step 1/4, green 5%', 'release rel-1: step 2/4, green 25%', 'release rel-1: step 3/4, green 50%', 'release rel-1: step 4/4, green 100%'],
  );
  h.close();
});

test('canary: a failing step rolls back from the middle to the exact previous split', async () => {
  const h = await harness();
  await h.ctl.start(body({ strategy: 'canary', steps: [10, 50, 100], stepDuration: '30s' }), AUTHOR);
  await h.advance(30_000, serveGreen(h));
  assert.equal(h.ctl.get('rel-1').step.percent, 50);
  await h.advance(10_000, () => h.traffic.serve('api', 'green', 5, { errors: 2 }));
  const v = h.ctl.get('rel-1');
  assert.equal(v.phase, 'rolled_back');
  assert.match(v.reason, /^step 2\/3 \(green 50%\) failed: error rate: 40%/);
  assert.deepEqual(h.split(), ORIGINAL);
  h.close();
});

test('canary: steps at or below the target share are skipped, several old clusters share the rest in proportion', async () => {
  const config = releaseConfig((c) => {
    c.clusters.push({ name: 'teal', endpoints: ['127.0.0.1:9401'] } as never);
    c.routes[1]!.split = [{ cluster: 'blue', weight: 60 }, { cluster: 'teal', weight: 30 }, { cluster: 'green', weight: 10 }];
  });
  const h = await harness({ config });
  const v = await h.ctl.start(body({ route: 'web', strategy: 'canary', steps: [5, 10, 40, 100], stepDuration: '30s' }), AUTHOR);
  assert.deepEqual(v.plan, [40, 100]);
  assert.deepEqual(v.skippedSteps, [5, 10]);
  assert.match(v.history[0]!.reason, /steps 5, 10 skipped/);
  assert.deepEqual(h.split('web'), [{ cluster: 'blue', weight: 40 }, { cluster: 'teal', weight: 20 }, { cluster: 'green', weight: 40 }]);
  await h.advance(60_000, () => h.traffic.serve('web', 'green', 5));
  assert.equal(h.ctl.get('rel-1').phase, 'succeeded');
  assert.deepEqual(h.split('web'), [{ cluster: 'blue', weight: 0 }, { cluster: 'teal', weight: 0 }, { cluster: 'green', weight: 100 }]);
  h.close();
});

test('canary: observe holds the last step; a canary whose last step is below 100 completes to 100 after it', async () => {
  const h = await harness();
  await h.ctl.start(body({ strategy: 'canary', steps: [20, 60], stepDuration: '10s', observe: '40s' }), AUTHOR);
  await h.advance(10_000, serveGreen(h));
  assert.equal(h.ctl.get('rel-1').step.percent, 60);
  assert.equal(h.ctl.get('rel-1').window?.durationMs, 40_000);
  await h.advance(39_000, serveGreen(h));
  assert.equal(h.ctl.get('rel-1').phase, 'progressing');
  await h.advance(1000, serveGreen(h));
  assert.equal(h.ctl.get('rel-1').phase, 'succeeded');
  assert.deepEqual(h.split(), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
  h.close();
});

test('canary: each window counts only its own traffic', async () => {
  const h = await harness();
  await h.ctl.start(body({ strategy: 'canary', steps: [50, 100], stepDuration: '20s' }), AUTHOR);
  await h.advance(20_000, serveGreen(h));
  // Step 2's first reading sees 5 requests per second since its start, not step 1's 100.
  await h.advance(5000, serveGreen(h));
  const r = h.ctl.get('rel-1').readings!;
  assert.equal(h.ctl.get('rel-1').step.percent, 100);
  assert.equal(r.requests, 25);
  h.close();
});
