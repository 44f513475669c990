import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../sim/lib/cluster.ts';
import { RegionAggregator } from '../../../src/gossip/aggregator.ts';
import { fleetView } from '../../../src/gossip/fleet.ts';
import type { RegionSelfHealth } from '../../../src/health/region-health.ts';

const h = (state: RegionSelfHealth['state'], healthy: number): RegionSelfHealth => ({ state, healthy, names: { 'api.svc.plus': healthy }, at: 0 });

// 9 members: n0 n3 n6 in jp, n1 n4 n7 in sg, n2 n5 n8 in us.
function setup(): { c: SimCluster; agg: RegionAggregator } {
  const c = new SimCluster({ n: 9, seed: 8, regions: ['jp', 'sg', 'us'] });
  const agg = new RegionAggregator(c.agents[0]!, { regions: ['jp', 'sg', 'us', 'eu'] });
  return { c, agg };
}

test('regions without reports are unknown (health 1, fail open); regions never seen too', () => {
  const { c, agg } = setup();
  c.run(3000);
  assert.deepEqual(agg.get('sg'), { state: 'unknown', health: 1 });
  assert.deepEqual(agg.get('eu'), { state: 'unknown', health: 1 });
  assert.equal(agg.get('mars'), undefined);
  const sg = agg.regions().find((r) => r.region === 'sg')!;
  assert.deepEqual(sg.gateways, { total: 3, alive: 3, suspect: 0, dead: 0, left: 0, reporting: 0 });
});

test('health fraction is the mean over live reporting gateways; state up/degraded/down from their verdicts', () => {
  const { c, agg } = setup();
  let changes = 0;
  agg.onChange(() => changes++);
  c.agents[1]!.setLocalHealth(h('up', 1));
  c.agents[4]!.setLocalHealth(h('degraded', 0.5));
  c.agents[2]!.setLocalHealth(h('up', 1));
  c.agents[5]!.setLocalHealth(h('up', 0.8));
  c.agents[0]!.setLocalHealth(h('down', 0));
  c.run(3000);
  assert.deepEqual(agg.get('sg'), { state: 'degraded', health: 0.75 });
  assert.deepEqual(agg.get('us'), { state: 'up', health: 0.9 });
  assert.deepEqual(agg.get('jp'), { state: 'down', health: 0 });
  assert.ok(changes >= 3);
  const us = agg.regions().find((r) => r.region === 'us')!;
  assert.deepEqual(us.names, { 'api.svc.plus': 0.9 });
});

test('a region whose gateways all died is down, and stays down after they are reaped from the rotation', () => {
  const { c, agg } = setup();
  for (const i of [1, 4, 7]) c.agents[i]!.setLocalHealth(h('up', 1));
  c.run(3000);
  assert.equal(agg.get('sg')?.state, 'up');
  c.crash(1);
  c.crash(4);
  c.run(60_000);
  assert.deepEqual(agg.get('sg'), { state: 'up', health: 1 }, 'one live gateway keeps it up');
  c.crash(7);
  c.run(60_000);
  assert.deepEqual(agg.get('sg'), { state: 'down', health: 0 });
  c.run(120_000); // well past GossipToTheDeadTime: tombstones
  assert.deepEqual(agg.get('sg'), { state: 'down', health: 0 });
  // A gateway started now learns the tombstones through its join and agrees.
  const fresh = c.restart(2, 3);
  const agg2 = new RegionAggregator(fresh, { regions: ['sg'] });
  c.run(5000);
  assert.deepEqual(agg2.get('sg'), { state: 'down', health: 0 });
});

test('a region whose gateways left gracefully is down, shown as left', async () => {
  const { c, agg } = setup();
  for (const i of [2, 5, 8]) c.agents[i]!.setLocalHealth(h('up', 1));
  c.run(3000);
  for (const i of [2, 5, 8]) {
    const p = c.agents[i]!.leave(5000);
    c.run(5000);
    await p;
    void c.agents[i]!.close();
  }
  c.run(10_000);
  const us = agg.regions().find((r) => r.region === 'us')!;
  assert.equal(us.state, 'down');
  assert.equal(us.gateways.left, 3);
  assert.equal(us.gateways.dead, 0);
});

test('fleetView lists members with state, incarnation and last heard, and the regions', () => {
  const { c, agg } = setup();
  c.agents[0]!.setLocalHealth(h('up', 1));
  c.run(5000);
  const v = fleetView(c.agents[0]!, agg);
  assert.equal(v.self.name, 'n0');
  assert.equal(v.members.length, 9);
  const n3 = v.members.find((m) => m.name === 'n3')!;
  assert.equal(n3.state, 'alive');
  assert.equal(n3.region, 'jp');
  assert.ok(n3.incarnation >= 1);
  assert.ok(v.members.filter((m) => !m.self).some((m) => m.lastHeardMs !== null && m.lastHeardMs < 10_000));
  assert.deepEqual(v.regions.map((r) => r.region), ['eu', 'jp', 'sg', 'us']);
  assert.equal(v.members.find((m) => m.self)!.health?.state, 'up');
});
