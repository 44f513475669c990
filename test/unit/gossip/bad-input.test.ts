import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimCluster } from '../../sim/lib/cluster.ts';
import { encodeCompound, encodeMessage, splitPacket, decodeMessage, type Message } from '../../../src/gossip/codec.ts';
import { Envelope } from '../../../src/gossip/envelope.ts';
import { Keyring, generateKey } from '../../../src/gossip/keyring.ts';
import { GossipAgent, simStart } from '../../../src/gossip/agent.ts';
import { seededRng, randomInt } from '../../../src/util/rng.ts';

const KEY = generateKey();

function cluster(n = 6): SimCluster {
  return new SimCluster({ n, seed: 21, keys: [KEY] });
}

function sum(c: SimCluster, k: keyof GossipAgent['stats']): number {
  return c.agents.reduce((s, a) => s + a.stats[k], 0);
}

function deaths(c: SimCluster): () => number {
  let d = 0;
  c.onEvent((_o, e) => {
    if (e.kind === 'member' && e.member.state === 'dead') d++;
  });
  return () => d;
}

test('garbage, truncated, oversized, wrongly keyed and wrongly labelled datagrams are dropped and counted', () => {
  const c = cluster();
  const dead = deaths(c);
  c.run(5000);
  const evil = c.net.transport('evil:1');
  evil.startSync(() => {}, () => {});
  const rng = seededRng(5);
  // Stamped with the simulation's clock: the members' replay windows check the time.
  const now = () => c.clock.wallNow();
  const good = new Envelope('sim', new Keyring([KEY]), { now });
  const wrongKey = new Envelope('sim', new Keyring([generateKey()]), { now });
  const wrongLabel = new Envelope('other', new Keyring([KEY]), { now });
  const plain = new Envelope('sim');
  const ping = encodeMessage({ type: 'ping', seq: 1, node: 'n0' });
  for (let i = 0; i < 2000; i++) {
    const to = c.addrs[randomInt(rng, c.addrs.length)]!;
    const junk = new Uint8Array(randomInt(rng, 300));
    for (let j = 0; j < junk.length; j++) junk[j] = randomInt(rng, 256);
    evil.sendPacket(to, junk);
    const sealed = good.seal(ping);
    evil.sendPacket(to, sealed.subarray(0, randomInt(rng, sealed.length)));
    evil.sendPacket(to, wrongKey.seal(ping));
    evil.sendPacket(to, wrongLabel.seal(ping));
    evil.sendPacket(to, plain.seal(ping));
    evil.sendPacket(to, new Uint8Array(1401 + randomInt(rng, 60_000)));
    // Valid envelope, garbage inside.
    evil.sendPacket(to, good.seal(junk));
  }
  c.run(10_000);
  assert.ok(sum(c, 'droppedAuth') >= 2000 * 4, `auth drops ${sum(c, 'droppedAuth')}`);
  assert.equal(sum(c, 'droppedOversized'), 2000);
  assert.ok(sum(c, 'droppedMalformed') > 0);
  assert.equal(sum(c, 'handlerErrors'), 0);
  assert.equal(dead(), 0);
  for (let i = 0; i < c.agents.length; i++) assert.deepEqual(c.viewsOf(i), { alive: c.agents.length - 1 });
  for (const a of c.agents) void a.close();
});

test('replayed suspect and dead messages are refused by the replay window: counted, no false death', () => {
  const c = cluster();
  const captured: { from: string; to: string; data: Uint8Array }[] = [];
  const env = new Envelope('sim', new Keyring([KEY]));
  const net = c.net as unknown as { send(from: string, to: string, data: Uint8Array): void };
  const send = net.send.bind(net);
  net.send = (from, to, data) => {
    try {
      const msgs = splitPacket(env.open(data)).map(decodeMessage);
      if (msgs.some((m) => (m.type === 'dead' || m.type === 'suspect') && m.node === 'n2')) captured.push({ from, to, data });
    } catch {
      // not ours to judge
    }
    send(from, to, data);
  };
  c.run(5000);
  // n2 crashes and is declared dead; a new n2 process comes back and refutes.
  c.crash(2);
  c.run(40_000);
  assert.equal(c.viewsOf(2, (j) => j !== 2).dead, c.agents.length - 1);
  c.restart(2, 0);
  c.run(10_000);
  assert.equal(c.viewsOf(2).alive, c.agents.length - 1);
  assert.ok(captured.length > 10, `captured ${captured.length} packets`);
  const dead = deaths(c);
  const refusedBefore = sum(c, 'droppedReplayed') + sum(c, 'droppedSkew');
  for (const p of captured) send(p.from, p.to, p.data);
  c.run(10_000);
  // Every replay is refused before it is read (the oldest by their stamp, the recent ones by their nonce).
  assert.ok(sum(c, 'droppedReplayed') + sum(c, 'droppedSkew') - refusedBefore >= captured.length);
  assert.equal(dead(), 0, 'replays did not kill n2');
  assert.equal(c.viewsOf(2).alive, c.agents.length - 1);
  for (const a of c.agents) void a.close();
});

test('a process claiming a live member\'s id never takes it over and causes no death', () => {
  const c = cluster();
  const dead = deaths(c);
  c.run(5000);
  const impostor = new GossipAgent({
    config: { bind: '127.0.0.1:7946', keys: [KEY], label: 'sim' },
    nodeId: 'n1',
    region: 'r0',
    clock: c.clock,
    rng: seededRng(99),
    transport: c.net.transport('impostor:7946'),
  });
  simStart(impostor);
  impostor.join([c.addrs[3]!]).catch(() => {});
  c.run(30_000);
  for (const a of c.agents) assert.equal(a.member('n1')?.addr, 'n1:7946');
  assert.equal(c.viewsOf(1).alive, c.agents.length - 1);
  assert.ok(sum(c, 'droppedConflict') > 0, 'conflicts counted');
  assert.equal(dead(), 0);
  void impostor.close();
  for (const a of c.agents) void a.close();
});

test('incarnations from the future: refuted when plausible, dropped when absurd, never a false death', () => {
  const c = cluster();
  const dead = deaths(c);
  c.run(5000);
  // A member with the key but a bug (or compromised) sends made-up news.
  const env = new Envelope('sim', new Keyring([KEY]), { now: () => c.clock.wallNow() });
  const evil = c.net.transport('n5:7946-evil');
  evil.startSync(() => {}, () => {});
  const inc3 = c.agents[0]!.member('n3')!.incarnation;
  const inc4 = c.agents[0]!.member('n4')!.incarnation;
  const forge = (...m: Message[]) => env.seal(m.length === 1 ? encodeMessage(m[0]!) : encodeCompound(m.map(encodeMessage)));
  for (const to of c.addrs) {
    evil.sendPacket(to, forge({ type: 'suspect', incarnation: inc3 + 5, node: 'n3', from: 'n5' }));
    evil.sendPacket(to, forge({ type: 'dead', incarnation: inc4 + 5, node: 'n4', from: 'n5' }));
    evil.sendPacket(to, forge({ type: 'dead', incarnation: inc4 + (1 << 21), node: 'n4', from: 'n5' }));
    evil.sendPacket(to, forge({ type: 'alive', incarnation: 0xffffffff, node: 'n0', addr: 'n0:7946', region: 'r0' }));
  }
  c.run(30_000);
  assert.equal(dead(), 0);
  for (const i of [0, 3, 4]) assert.equal(c.viewsOf(i).alive, c.agents.length - 1, `n${i} alive everywhere`);
  assert.ok(c.agents[3]!.incarnation > inc3 + 5, 'n3 refuted above the claimed incarnation');
  assert.ok(c.agents[4]!.incarnation > inc4 + 5, 'n4 refuted the downgraded death');
  assert.ok(sum(c, 'downgradedDeaths') > 0);
  assert.ok(sum(c, 'droppedFuture') >= c.agents.length * 2);
  assert.ok(c.agents[0]!.incarnation < 1000, 'n0 did not follow an absurd incarnation');
  for (const a of c.agents) void a.close();
});

test('a member that died may come back from a new address once it is a tombstone, not before', () => {
  const c = cluster();
  c.run(5000);
  c.crash(2);
  c.run(15_000); // dead, still within GossipToTheDeadTime: its name is not up for grabs
  assert.equal(c.viewsOf(2, (j) => j !== 2).dead, c.agents.length - 1);
  const moved = (addr: string) => {
    const a = new GossipAgent({ config: { bind: '127.0.0.1:7946', keys: [KEY], label: 'sim' }, nodeId: 'n2', region: 'r0', clock: c.clock, rng: seededRng(7), transport: c.net.transport(addr) });
    simStart(a);
    a.join([c.addrs[0]!]).catch(() => {});
    return a;
  };
  const early = moved('n2-new:7946');
  c.run(5000);
  assert.equal(c.agents[0]!.member('n2')?.addr, 'n2:7946');
  assert.equal(c.agents[0]!.member('n2')?.state, 'dead');
  void early.close();
  c.run(60_000); // past GossipToTheDeadTime: a tombstone now
  const late = moved('n2-new2:7946');
  c.run(10_000);
  for (let j = 0; j < c.agents.length; j++) {
    if (j === 2) continue;
    assert.equal(c.agents[j]!.member('n2')?.addr, 'n2-new2:7946');
    assert.equal(c.agents[j]!.member('n2')?.state, 'alive');
  }
  void late.close();
  for (const a of c.agents) void a.close();
});
