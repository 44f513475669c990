import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { AgentProcess, stateOf, type MemberInfo } from './lib/agent-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { LOCAL } from '../../../src/gossip/config.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';
import { parseHostPort } from '../../../src/util/address.ts';

// Real processes, one gossip agent each, on 127.0.0.2, .3, ... with ports
// chosen by the OS, the `local` profile and an encryption key.
const KEY = generateKey();
const all: AgentProcess[] = [];
after(async () => {
  await Promise.all(all.map((a) => a.stop()));
});

function start(i: number, seeds: string[], extra: Record<string, unknown> = {}): AgentProcess {
  const a = new AgentProcess({ nodeId: `gw-${i}`, region: i % 2 ? 'jp' : 'sg', bind: `127.0.0.${i + 2}:0`, seeds, keys: [KEY], profile: 'local', joinFor: 10_000, ...extra });
  all.push(a);
  return a;
}

async function startCluster(n: number): Promise<AgentProcess[]> {
  const first = await start(0, []).ready();
  const rest = await Promise.all(Array.from({ length: n - 1 }, (_, k) => start(k + 1, [first.address]).ready()));
  const members = [first, ...rest];
  await waitFor(async () => {
    for (const m of members) {
      const view = await m.members();
      if (view.filter((v) => v.state === 'alive').length !== n) return false;
    }
    return true;
  }, { timeoutMs: 30_000, what: 'every member sees every member alive' });
  return members;
}

/** How long, at most, the protocol takes to declare a crashed member dead everywhere (no loss, awareness 0). */
function deathBound(n: number): number {
  const c = LOCAL;
  const detect = (2 * n - 2) * c.ProbeInterval; // randomized round-robin: the first prober reaches it within two rounds
  const suspicion = c.SuspicionMaxTimeoutMult * c.SuspicionMult * Math.max(1, Math.log10(n)) * c.ProbeInterval;
  const spread = (Math.ceil(Math.log2(n)) + 2) * c.GossipInterval;
  return detect + suspicion + spread;
}

const view = (members: MemberInfo[]) =>
  members
    .map((m) => `${m.name}@${m.addr}:${m.state}`)
    .sort()
    .join(',');

test('join, agreement, SIGSTOP/SIGCONT refutation, SIGKILL death, graceful leave', async (t) => {
  const n = 5;
  const members = await startCluster(n);

  await t.test('all members agree on the membership', async () => {
    const views = await Promise.all(members.map((m) => m.members()));
    for (const v of views) assert.equal(view(v), view(views[0]!));
    assert.deepEqual(views[0]!.map((m) => m.name).sort(), members.map((m) => m.nodeId).sort());
  });

  await t.test('a SIGSTOPped member that comes back refutes; nobody is declared dead', async () => {
    const victim = members[2]!;
    const others = members.filter((m) => m !== victim);
    const before = (await others[0]!.members()).find((m) => m.name === victim.nodeId)!.incarnation;
    const mark = others.map((o) => o.events.length);
    victim.signal('SIGSTOP');
    // Resume as soon as anyone suspects it, well before the suspicion timeout.
    await waitFor(() => others.some((o) => o.memberEvents().some((e) => e.name === victim.nodeId && e.state === 'suspect')), { timeoutMs: 20_000, what: 'suspicion of the stopped member' });
    victim.signal('SIGCONT');
    await waitFor(async () => {
      for (const o of others) {
        const m = (await o.members()).find((x) => x.name === victim.nodeId)!;
        if (m.state !== 'alive' || m.incarnation <= before) return false;
      }
      return true;
    }, { timeoutMs: 20_000, what: 'refutation seen everywhere' });
    const deaths = others.flatMap((o, i) => o.events.slice(mark[i]).filter((e) => e.event === 'member' && e.state === 'dead'));
    assert.deepEqual(deaths, [], 'no member was declared dead');
  });

  await t.test('a SIGKILLed member is declared dead by every other member within the computed bound', async () => {
    const victim = members[3]!;
    const others = members.filter((m) => m !== victim);
    const bound = deathBound(n);
    const t0 = Date.now();
    victim.signal('SIGKILL');
    await victim.exit;
    // The deadline adds scheduling slack for a loaded CI machine; the protocol bound is `bound`.
    await waitFor(async () => {
      for (const o of others) if (stateOf(await o.members(), victim.nodeId) !== 'dead') return false;
      return true;
    }, { timeoutMs: bound + 15_000, what: `dead everywhere (protocol bound ${bound}ms)` });
    t.diagnostic(`dead everywhere after ${Date.now() - t0}ms (protocol bound ${bound}ms)`);
  });

  await t.test('a graceful leave shows as left, not dead', async () => {
    const leaver = members[4]!;
    const others = members.filter((m) => m !== leaver && m !== members[3]);
    leaver.send({ cmd: 'leave' });
    assert.equal(await leaver.exit, 0);
    await waitFor(async () => {
      for (const o of others) if (stateOf(await o.members(), leaver.nodeId) !== 'left') return false;
      return true;
    }, { timeoutMs: 15_000, what: 'left everywhere' });
    for (const o of others) assert.ok(!o.memberEvents().some((e) => e.name === leaver.nodeId && e.state === 'dead'));
  });
});

test('a member with the wrong key never joins; bad datagrams and streams are counted and harmless', async (t) => {
  const base = 10;
  const a = await start(base, []).ready();
  const b = await start(base + 1, [a.address]).ready();
  await waitFor(async () => (await a.members()).filter((m) => m.state === 'alive').length === 2, { timeoutMs: 15_000, what: 'pair joined' });

  const intruder = new AgentProcess({ nodeId: 'intruder', region: 'jp', bind: `127.0.0.${base + 4}:0`, seeds: [a.address], keys: [generateKey()], profile: 'local', joinFor: 2000 });
  all.push(intruder);
  await intruder.ready();
  await waitFor(() => intruder.events.some((e) => e.event === 'join-error'), { timeoutMs: 15_000, what: 'intruder join error' });

  // Garbage, truncated and oversized datagrams straight at a's UDP port.
  const { host, port } = parseHostPort(a.address);
  const sock = createSocket('udp4');
  t.after(() => sock.close());
  for (let i = 0; i < 300; i++) {
    const len = i % 3 === 0 ? 1500 + i : 1 + (i % 200);
    const buf = Buffer.alloc(len);
    for (let j = 0; j < len; j++) buf[j] = (i * 31 + j * 7) & 0xff;
    await new Promise((r) => sock.send(buf, port, host, r));
    if (i % 20 === 19) await a.stats(); // pace: let the member drain its socket
  }
  // Loopback may still drop a few under load; most must arrive and be counted.
  await waitFor(async () => {
    const s = await a.stats();
    return s.droppedOversized! >= 50 && s.droppedAuth! + s.droppedMalformed! >= 100;
  }, { timeoutMs: 10_000, what: 'drops counted' });

  // A push-pull stream whose length prefix lies, and one of garbage: refused, nothing else happens.
  for (const payload of [Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.concat([Buffer.from([0, 0, 0, 8]), Buffer.alloc(8, 7)])]) {
    await new Promise<void>((resolve) => {
      const c = connect({ host, port }, () => c.write(payload));
      c.on('error', () => resolve());
      c.on('close', () => resolve());
      c.setTimeout(5000, () => c.destroy());
    });
  }

  const view = await a.members();
  assert.equal(view.find((m) => m.name === 'intruder'), undefined, 'the intruder is unknown');
  assert.deepEqual(view.map((m) => `${m.name}:${m.state}`).sort(), ['gw-10:alive', 'gw-11:alive']);
  assert.ok(!a.memberEvents().some((e) => e.state === 'dead'));
  assert.ok(!b.exited && !a.exited);
});
