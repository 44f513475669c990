import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from './lib/cluster.ts';

// memberlist#299: user broadcasts only got the room membership broadcasts
// left, so a burst of joins starved them. Here 150 members join a cluster of
// 50 at once (each join re-broadcasts every member it learns, as memberlist
// does) while one member's health changes; with HealthShare 0 (leftovers
// only, as memberlist) the update waits behind the membership backlog.

function healthDuringJoinStorm(healthShare: number): { intervals: number; backlog: number; maxPacket: number } {
  const c = new SimCluster({ n: 50, seed: 9, protocol: { HealthShare: healthShare, PushPullInterval: 0 } });
  const G = c.agents[0]!.config.GossipInterval;
  c.run(3000);
  c.spawn(150);
  c.run(G); // the joins' push-pulls complete; membership queues fill
  const backlog = c.agents.reduce((s, a) => s + a.queueDepth().membership, 0);
  const src = c.agents[7]!;
  src.setLocalHealth({ state: 'degraded', healthy: 0.5, names: { 'api.svc.plus': 0.5 }, at: c.clock.wallNow() });
  const version = src.healthOf(src.name)!.version;
  const t0 = c.clock.now();
  const have = () => c.agents.filter((a) => a !== src && a.healthOf(src.name)?.version === version).length;
  while (have() < c.agents.length - 1 && c.clock.now() - t0 < 60_000) c.run(G / 4);
  const intervals = (c.clock.now() - t0) / G;
  const maxPacket = c.net.maxPacket;
  for (const a of c.agents) void a.close();
  return { intervals, backlog, maxPacket };
}

test('a health update is not starved by a membership storm (its own queue and a reserved share)', (t) => {
  const fair = healthDuringJoinStorm(0.5);
  const starved = healthDuringJoinStorm(0);
  assert.ok(fair.backlog > 1000, `the storm is real: ${fair.backlog} membership broadcasts pending`);
  const bound = Math.ceil(Math.log2(200)) + 2;
  t.diagnostic(`backlog ${fair.backlog}: health reached everyone in ${fair.intervals} gossip intervals with HealthShare 0.5, ${starved.intervals} with leftovers only`);
  assert.ok(fair.intervals <= bound, `health reached all 199 others after ${fair.intervals} gossip intervals (bound ${bound})`);
  assert.ok(fair.maxPacket <= 1400 && starved.maxPacket <= 1400, `largest datagram ${Math.max(fair.maxPacket, starved.maxPacket)} bytes`);
  assert.ok(fair.maxPacket > 1200, 'the storm filled datagrams to the limit');
  assert.ok(starved.intervals > fair.intervals * 2, `leftovers-only took ${starved.intervals}, reserved share ${fair.intervals}`);
});
