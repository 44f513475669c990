/**
 * Key rotation without downtime through config reloads (Fleet.reconfigure,
 * which the gateway calls on every applied config): three fleets in this
 * process on 127.0.0.1 with real sockets and the `local` profile go from key
 * k1 to key k2 in memberlist's three steps, one member at a time, and nobody
 * is ever declared dead.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Fleet } from '../../../src/gossip/fleet-service.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';
import type { Config } from '../../../src/config/schema/index.ts';
import { waitFor } from '../../helpers/wait.ts';

const fleets: Fleet[] = [];
after(async () => {
  await Promise.all(fleets.map((f) => f.close(100)));
});

const table = { counts: () => undefined, onChange: () => () => {} };

function config(id: string, keys: string[], seeds: string[]): Config {
  return { node: { id, region: 'jp' }, listeners: [], clusters: [], routes: [], gossip: { bind: '127.0.0.1:0', keys, seeds, profile: 'local' } } as Config;
}

test('rotating the gossip key by reloads, one gateway at a time, never splits the fleet', async () => {
  const k1 = generateKey();
  const k2 = generateKey();
  const start = async (id: string, keys: string[], seeds: string[]) => {
    const c = config(id, keys, seeds);
    const f = await Fleet.start({ config: c, table, currentConfig: () => c });
    fleets.push(f);
    return f;
  };
  const a = await start('a', [k1], []);
  const b = await start('b', [k1], [a.agent.address]);
  const c = await start('c', [k1], [a.agent.address]);
  const all = [a, b, c];
  let deaths = 0;
  for (const f of all) f.agent.on('change', (e) => e.kind === 'member' && e.member.state === 'dead' && deaths++);
  const whole = () => all.every((f) => f.agent.members().filter((m) => m.state === 'alive').length === 3);
  await waitFor(whole, { timeoutMs: 15_000, what: 'three alive' });

  const settle = async () => {
    // A few probe rounds under the new keys: every member probes every other at least once.
    const before = all.map((f) => f.agent.stats.packetsReceived);
    await waitFor(() => all.every((f, i) => f.agent.stats.packetsReceived > before[i]! + 10), { timeoutMs: 15_000, what: 'traffic under the new keys' });
    assert.ok(whole(), 'still whole');
  };
  for (const keys of [[k1, k2], [k2, k1], [k2]]) {
    for (const [i, f] of all.entries()) {
      f.reconfigure(config(['a', 'b', 'c'][i]!, keys, []));
      await settle();
    }
  }
  assert.equal(deaths, 0);
  // Only k2 is left: a member still on k1 alone can't get in.
  const stale = await start('d', [k1], [a.agent.address]);
  await waitFor(() => stale.agent.stats.pushPullFailures > 0, { timeoutMs: 15_000, what: 'the stale member failing to join' });
  assert.equal(a.agent.member('d'), undefined);
  assert.ok(a.agent.stats.droppedAuth > 0);
});
