import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from './lib/cluster.ts';
import { generateKey } from '../../src/gossip/keyring.ts';

test('key rotation without downtime: members mid-rotation (different primary keys) keep the fleet whole', () => {
  const oldKey = generateKey();
  const newKey = generateKey();
  // Step 2 of 3 under way: half the fleet already encrypts with the new key, all still accept both.
  const c = new SimCluster({ n: 12, seed: 17, keyring: (i) => (i % 2 ? [newKey, oldKey] : [oldKey, newKey]) });
  let deaths = 0;
  c.onEvent((_o, e) => {
    if (e.kind === 'member' && e.member.state === 'dead') deaths++;
  });
  c.run(60_000);
  assert.equal(deaths, 0);
  for (let i = 0; i < 12; i++) assert.deepEqual(c.viewsOf(i), { alive: 11 });
  assert.equal(c.agents.reduce((s, a) => s + a.stats.droppedAuth, 0), 0);
  for (const a of c.agents) void a.close();

  // A member that only knows the new key (step 3 done too early) is cut off: no fleet member can read it.
  const d = new SimCluster({ n: 6, seed: 18, keyring: (i) => (i === 0 ? [newKey] : [oldKey]) });
  d.run(60_000);
  assert.equal(d.viewsOf(0, (j) => j !== 0).dead, 5);
  assert.ok(d.agents.slice(1).reduce((s, a) => s + a.stats.droppedAuth, 0) > 0);
  for (const a of d.agents) void a.close();
});

test('a health record with too many names is trimmed to fit one datagram, and still spreads', () => {
  const c = new SimCluster({ n: 8, seed: 19, keys: [generateKey()] });
  const names: Record<string, number> = {};
  for (let i = 0; i < 200; i++) names[`service-${String(i).padStart(3, '0')}-${'x'.repeat(40)}.svc.plus`] = (i % 10) / 10;
  c.agents[0]!.setLocalHealth({ state: 'degraded', healthy: 0.5, names, at: c.clock.wallNow() });
  c.run(5000);
  const seen = c.agents[5]!.healthOf('n0');
  assert.ok(seen, 'the record reached the others');
  const kept = Object.keys(seen.health.names);
  assert.ok(kept.length > 5 && kept.length < 200, `kept ${kept.length} names`);
  assert.deepEqual(kept, Object.keys(names).sort().slice(0, kept.length), 'trimmed in name order');
  assert.ok(c.net.maxPacket <= 1400, `largest datagram ${c.net.maxPacket}`);
  for (const a of c.agents) void a.close();
});
