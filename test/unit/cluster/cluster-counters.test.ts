import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileEdgeTable, type EdgeState } from '../../../src/edge/compile.ts';
import { ClusterLoads } from '../../../src/edge/cluster-load.ts';
import { RateLimitStates } from '../../../src/edge/rate-limit/index.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import type { Config } from '../../../src/config/schema/index.ts';

function config(clusters: string[], lb = 'round-robin'): Config {
  return {
    node: { id: 'n', region: 'r' },
    listeners: [],
    clusters: clusters.map((name) => ({ name, endpoints: ['127.0.0.1:1'], loadBalancer: lb })),
    routes: [{ name: 'r', match: {}, split: clusters.map((c) => ({ cluster: c, weight: 1 })) }],
  } as unknown as Config;
}

function edgeState(): EdgeState {
  return { clusterLoads: new ClusterLoads(), rateLimits: new RateLimitStates({ clock: new ManualClock() }) };
}

test('retry-budget counters survive a config apply and follow requests still on the old snapshot', () => {
  const state = edgeState();
  const v1 = compileEdgeTable(config(['a', 'b']), 1, seededRng(1), undefined, state);
  const a1 = v1.clusters.get('a')!;
  a1.load.active += 3;
  a1.load.activeRetries += 1;
  // A new snapshot (even with a changed load balancer) sees the requests in flight ...
  const v2 = compileEdgeTable(config(['a', 'b'], 'least-request'), 2, seededRng(1), undefined, state);
  const a2 = v2.clusters.get('a')!;
  assert.notEqual(a2, a1);
  assert.equal(a2.load.active, 3);
  assert.equal(a2.load.activeRetries, 1);
  // ... and requests that started on the old one finish there, visibly to the new one.
  a1.load.active--;
  a1.load.activeRetries--;
  assert.equal(a2.load.active, 2);
  assert.equal(a2.load.activeRetries, 0);
});

test('without shared state every table starts from zero (the old behaviour, still what one-off compiles get)', () => {
  const v1 = compileEdgeTable(config(['a']), 1, seededRng(1));
  v1.clusters.get('a')!.load.active = 5;
  assert.equal(compileEdgeTable(config(['a']), 2, seededRng(1)).clusters.get('a')!.load.active, 0);
});
