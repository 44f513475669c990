import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from './lib/cluster.ts';
import { RegionAggregator } from '../../src/gossip/aggregator.ts';

test('a partition between two regions: each sees the other down; after healing, everyone is alive again', () => {
  const c = new SimCluster({ n: 20, seed: 4, regions: ['jp', 'sg'] });
  const health = { state: 'up' as const, healthy: 1, names: { 'api.svc.plus': 1 }, at: 0 };
  for (const a of c.agents) a.setLocalHealth(health);
  const jp = c.agents.filter((a) => a.region === 'jp');
  const sg = c.agents.filter((a) => a.region === 'sg');
  const aggJp = new RegionAggregator(jp[0]!, { regions: ['jp', 'sg'] });
  const aggSg = new RegionAggregator(sg[0]!, { regions: ['jp', 'sg'] });
  let changes = 0;
  aggJp.onChange(() => changes++);
  c.run(10_000);
  assert.deepEqual(aggJp.get('sg'), { state: 'up', health: 1 });
  assert.deepEqual(aggSg.get('jp'), { state: 'up', health: 1 });

  c.net.partition(
    jp.map((a) => a.address),
    sg.map((a) => a.address),
  );
  c.run(120_000);
  assert.deepEqual(aggJp.get('sg'), { state: 'down', health: 0 });
  assert.deepEqual(aggSg.get('jp'), { state: 'down', health: 0 });
  assert.deepEqual(aggJp.get('jp'), { state: 'up', health: 1 }, 'its own side stays up');
  assert.ok(changes >= 1);
  for (const a of jp) for (const b of sg) assert.equal(a.member(b.name)?.state, 'dead');

  c.net.heal();
  const t0 = c.clock.now();
  const allAlive = () => c.agents.every((a) => c.agents.every((b) => a.member(b.name)?.state === 'alive'));
  while (!allAlive() && c.clock.now() - t0 < 300_000) c.run(1000);
  assert.ok(allAlive(), 'every member sees every other alive after the heal');
  assert.deepEqual(aggJp.get('sg'), { state: 'up', health: 1 });
  assert.deepEqual(aggSg.get('jp'), { state: 'up', health: 1 });
  aggJp.close();
  aggSg.close();
  for (const a of c.agents) void a.close();
});
