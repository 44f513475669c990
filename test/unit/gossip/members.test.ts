import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemberTable, type MemberRecord } from '../../../src/gossip/members.ts';
import { seededRng } from '../../../src/util/rng.ts';

function rec(name: string, state: MemberRecord['state'] = 'alive', stateChange = 0): MemberRecord {
  return { name, addr: `${name}:1`, region: 'r', incarnation: 1, state, stateChange, lastHeard: -1, listed: true };
}

test('round-robin probing visits every live member exactly once per round, in a changing order', () => {
  const t = new MemberTable(seededRng(1));
  for (let i = 0; i < 20; i++) t.add(rec(`n${i}`));
  t.add(rec('self'));
  t.add(rec('gone', 'dead', 0));
  const rounds: string[][] = [];
  for (let r = 0; r < 3; r++) {
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) seen.push(t.nextProbeTarget('self', 0, 30_000, 0)!.name);
    rounds.push(seen);
    assert.equal(new Set(seen).size, 20, 'each member once');
    assert.ok(!seen.includes('self') && !seen.includes('gone'));
  }
  assert.notDeepEqual(rounds[1], rounds[2], 'reshuffled between rounds');
});

test('dead members leave the rotation after GossipToTheDeadTime and stay as tombstones', () => {
  const t = new MemberTable(seededRng(2));
  t.add(rec('a'));
  t.add(rec('b', 'dead', 0));
  assert.equal(t.listed, 2);
  t.nextProbeTarget('x', 100_000, 30_000, 0);
  t.nextProbeTarget('x', 100_000, 30_000, 0);
  t.nextProbeTarget('x', 100_000, 30_000, 0);
  assert.equal(t.listed, 1);
  assert.equal(t.get('b')?.listed, false);
  assert.equal(t.size, 2);
  // After the tombstone timeout the record is forgotten.
  t.nextProbeTarget('x', 200_000, 30_000, 50_000);
  t.nextProbeTarget('x', 200_000, 30_000, 50_000);
  assert.equal(t.get('b'), undefined);
});

test('kRandom returns distinct members that pass the filter', () => {
  const t = new MemberTable(seededRng(3));
  for (let i = 0; i < 10; i++) t.add(rec(`n${i}`, i % 2 ? 'alive' : 'suspect'));
  for (let i = 0; i < 50; i++) {
    const k = t.kRandom(3, (m) => m.state === 'alive');
    assert.equal(k.length, 3);
    assert.equal(new Set(k).size, 3);
    assert.ok(k.every((m) => m.state === 'alive'));
  }
  assert.equal(t.kRandom(3, () => false).length, 0);
  assert.equal(t.kRandom(20, () => true).length, 10);
});
