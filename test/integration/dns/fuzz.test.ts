import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { fuzzPacket, seedQueries } from '../../unit/dns/helpers/fuzz.ts';
import { startServer, testConfig, udpQuery, tcpQuery, eventually } from './helpers.ts';

const UDP_PACKETS = 100_000;
const BATCH = 100;

/** Messages the server has read: answered (any rcode) plus deliberately dropped. */
async function handled(): Promise<number> {
  let n = 0;
  for (const name of ['edgeplane_dns_queries_total', 'edgeplane_dns_dropped_total']) {
    const m = registry.getSingleMetric(name);
    if (m) for (const v of (await m.get()).values) n += v.value;
  }
  return n;
}

test(`the running server survives ${UDP_PACKETS} fuzzed UDP packets and TCP garbage, then answers correctly`, async () => {
  const s = await startServer(testConfig({ rrl: { enabled: true } }));
  try {
    const rng = seededRng(0xbadc0de);
    const seeds = seedQueries();
    const before = await handled();
    const sock = dgram.createSocket('udp4');
    let malformedReplies = 0;
    let sentinel = -1;
    let sentinelSeen: (() => void) | undefined;
    sock.on('message', (m) => {
      let id = -1;
      try {
        const d = decodeMessage(m);
        id = d.qr && d.questions[0]?.name === 'static.svc.plus.' && d.answers.length === 2 ? d.id : -1;
      } catch {
        malformedReplies++;
      }
      if (id === sentinel) sentinelSeen?.();
    });
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    // Batches small enough for the socket buffers, each closed by a sentinel query:
    // loopback keeps order, so its reply means the server has read the whole batch.
    for (let sent = 0, batch = 0; sent < UDP_PACKETS; sent += BATCH, batch++) {
      for (let i = 0; i < BATCH; i++) sock.send(fuzzPacket(rng, seeds), s.port, '127.0.0.1');
      sentinel = batch & 0xffff;
      const seen = new Promise<void>((r) => (sentinelSeen = r));
      const probe = buildQuery('static.svc.plus', { id: sentinel }); // a positive answer: RRL leaves it alone
      for (let attempt = 0; ; attempt++) {
        sock.send(probe, s.port, '127.0.0.1');
        const ok = await Promise.race([seen.then(() => true), delay(500).then(() => false)]);
        if (ok) break;
        assert.ok(attempt < 10, `the server stopped answering after ${sent} fuzzed packets`);
      }
    }
    sock.close();
    assert.equal(malformedReplies, 0, 'every reply the server sent decodes');
    // the server really read them all (answered or deliberately dropped), not the kernel
    assert.ok((await handled()) - before >= UDP_PACKETS, `${(await handled()) - before} handled`);

    // TCP: random streams, absurd length prefixes, half-sent frames
    const garbage = Array.from({ length: 30 }, (_, i) => {
      const len = 1 + Math.floor(rng.next() * 3000);
      const b = Buffer.alloc(len);
      for (let j = 0; j < len; j++) b[j] = Math.floor(rng.next() * 256);
      if (i % 3 === 0) b.writeUInt16BE(12 + (i % 50), 0); // a small frame of junk, then more junk
      return b;
    });
    await Promise.all(garbage.map((g) => new Promise<void>((resolve) => {
      const c = net.connect(s.port, '127.0.0.1', () => c.end(g));
      c.on('data', () => {});
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    })));
    await eventually(async () => {
      const m = await registry.getSingleMetric('edgeplane_dns_tcp_connections')!.get();
      return (m.values[0]?.value ?? 0) === 0;
    }, 5000, 'TCP connections to close');

    // and every kind of valid query is still answered correctly, over both transports
    const pos = await udpQuery(s.port, buildQuery('Static.svc.plus', { edns: { clientSubnet: '203.0.113.0/24' } }));
    assert.deepEqual(pos.answers.map((a) => a.data).sort(), ['192.0.2.10', '192.0.2.11']);
    assert.equal(pos.questions[0]!.name, 'Static.svc.plus.');
    const ref = await udpQuery(s.port, buildQuery('x.sub.svc.plus'));
    assert.equal(ref.authority[0]!.type, RRType.NS);
    const viaTcp = await tcpQuery(s.port, buildQuery('big.svc.plus', { type: RRType.TXT }));
    assert.equal(viaTcp.answers.length, 1);
    const refused = await tcpQuery(s.port, buildQuery('example.org'));
    assert.equal(refused.rcode, Rcode.REFUSED);
  } finally {
    await s.server.close();
  }
});
