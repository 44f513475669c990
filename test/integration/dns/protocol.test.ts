import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode, RRClass, RRType } from '../../../src/dns/wire/constants.ts';
import { startServer, testConfig, udpExchange, udpQuery, tcpQuery, tcpExchange, frame, eventually, type Started } from './helpers.ts';

let s: Started;
before(async () => {
  s = await startServer(testConfig({ tcp: { idleTimeout: '300ms' } }));
});
after(async () => {
  await s?.server.close();
});

const q = (name: string, type: number = RRType.A, opts: Parameters<typeof buildQuery>[1] = {}) => buildQuery(name, { type, ...opts });
const soaCheck = (records: { type: number; name: string; ttl: number }[]) => {
  assert.equal(records.length, 1);
  assert.equal(records[0]!.type, RRType.SOA);
  assert.equal(records[0]!.name.toLowerCase(), 'svc.plus.');
  // RFC 2308: min(SOA TTL 3600, MINIMUM 30)
  assert.equal(records[0]!.ttl, 30);
};

test('positive answer is authoritative, echoes ID and RD, and carries every record of the RRset', async () => {
  const r = await udpQuery(s.port, q('static.svc.plus', RRType.A, { id: 4242, rd: true }));
  assert.equal(r.id, 4242);
  assert.ok(r.qr && r.aa && r.rd && !r.tc && !r.ra);
  assert.equal(r.rcode, Rcode.NOERROR);
  assert.deepEqual(r.answers.map((a) => a.data).sort(), ['192.0.2.10', '192.0.2.11']);
  assert.ok(r.answers.every((a) => a.ttl === 300 && a.type === RRType.A));
  const noRd = await udpQuery(s.port, q('static.svc.plus', RRType.A, { rd: false }));
  assert.equal(noRd.rd, false);
});

test('question is echoed with its original letter case, answers compress against it', async () => {
  const r = await udpQuery(s.port, q('StAtIc.SvC.pLuS', RRType.AAAA));
  assert.equal(r.questions[0]!.name, 'StAtIc.SvC.pLuS.');
  assert.equal(r.answers[0]!.data, '2001:db8::10');
  assert.equal(r.answers[0]!.name.toLowerCase(), 'static.svc.plus.');
});

test('NXDOMAIN carries the SOA with the negative TTL', async () => {
  const r = await udpQuery(s.port, q('nope.svc.plus'));
  assert.equal(r.rcode, Rcode.NXDOMAIN);
  assert.ok(r.aa);
  assert.equal(r.answers.length, 0);
  soaCheck(r.authority);
  assert.equal(r.questions[0]!.name, 'nope.svc.plus.');
});

test('NODATA (name exists, type does not) is NOERROR with the SOA', async () => {
  const r = await udpQuery(s.port, q('txt.svc.plus', RRType.A));
  assert.equal(r.rcode, Rcode.NOERROR);
  assert.ok(r.aa);
  assert.equal(r.answers.length, 0);
  soaCheck(r.authority);
});

test('an empty non-terminal is NODATA, names below data are NXDOMAIN', async () => {
  for (const name of ['b.c.svc.plus', 'c.svc.plus', '_tcp.svc.plus']) {
    const r = await udpQuery(s.port, q(name));
    assert.equal(r.rcode, Rcode.NOERROR, name);
    soaCheck(r.authority);
  }
  const below = await udpQuery(s.port, q('x.a.b.c.svc.plus'));
  assert.equal(below.rcode, Rcode.NXDOMAIN);
});

test('names outside every zone are REFUSED without AA', async () => {
  for (const name of ['example.com', 'plus', '.', 'svc.plus.evil']) {
    const r = await udpQuery(s.port, q(name));
    assert.equal(r.rcode, Rcode.REFUSED, name);
    assert.equal(r.aa, false);
    assert.equal(r.answers.length + r.authority.length, 0);
    assert.equal(r.questions.length, 1);
  }
});

test('unknown opcodes get NOTIMP with the question', async () => {
  for (const opcode of [1, 2, 4, 5, 15]) {
    const r = await udpQuery(s.port, q('static.svc.plus', RRType.A, { opcode }));
    assert.equal(r.rcode, Rcode.NOTIMP, `opcode ${opcode}`);
    assert.equal(r.opcode, opcode);
    assert.equal(r.aa, false);
  }
});

test('FORMERR for several questions, no question, several OPT records, a bad ECS option, lying counts, trailing bytes', async () => {
  const base = q('static.svc.plus');
  const twoQ = Buffer.concat([base, base.subarray(12)]);
  twoQ.writeUInt16BE(2, 4);
  const noQ = Buffer.from(base.subarray(0, 12));
  noQ.writeUInt16BE(0, 4);
  const withOpt = q('static.svc.plus', RRType.A, { edns: {} });
  const twoOpt = Buffer.concat([withOpt, withOpt.subarray(withOpt.length - 11)]);
  twoOpt.writeUInt16BE(2, 10);
  const badFamily = q('static.svc.plus', RRType.A, { edns: { options: [{ code: 8, data: Buffer.from([0, 3, 24, 0, 1, 2, 3]) }] } });
  const nonZeroScope = q('static.svc.plus', RRType.A, { edns: { options: [{ code: 8, data: Buffer.from([0, 1, 24, 8, 1, 2, 3]) }] } });
  const shortAddress = q('static.svc.plus', RRType.A, { edns: { options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 1, 2]) }] } });
  const hostBits = q('static.svc.plus', RRType.A, { edns: { options: [{ code: 8, data: Buffer.from([0, 1, 20, 0, 1, 2, 0x3f]) }] } });
  const twoEcs = q('static.svc.plus', RRType.A, { edns: { clientSubnet: '192.0.2.0/24', options: [{ code: 8, data: Buffer.from([0, 1, 24, 0, 1, 2, 3]) }] } });
  const lyingAn = Buffer.from(base);
  lyingAn.writeUInt16BE(1, 6);
  const trailing = Buffer.concat([base, Buffer.from([1, 2, 3])]);
  const cases: [string, Buffer, { question: boolean; opt: boolean }][] = [
    ['two questions', twoQ, { question: false, opt: false }],
    ['no question', noQ, { question: false, opt: false }],
    ['two OPT', twoOpt, { question: true, opt: false }],
    ['ECS family 3', badFamily, { question: true, opt: true }],
    ['ECS scope in query', nonZeroScope, { question: true, opt: true }],
    ['ECS address too short', shortAddress, { question: true, opt: true }],
    ['ECS bits past prefix', hostBits, { question: true, opt: true }],
    ['two ECS options', twoEcs, { question: true, opt: true }],
    ['ANCOUNT lies', lyingAn, { question: true, opt: false }],
    ['trailing garbage', trailing, { question: true, opt: false }],
  ];
  for (const [what, msg, expect] of cases) {
    const reply = await udpExchange(s.port, msg);
    assert.ok(reply, `${what}: no reply`);
    const r = decodeMessage(reply);
    assert.equal(r.rcode, Rcode.FORMERR, what);
    assert.equal(r.id, 0x1234, what);
    assert.equal(r.questions.length, expect.question ? 1 : 0, what);
    assert.equal(Boolean(r.opt), expect.opt, what);
    assert.equal(r.answers.length, 0, what);
  }
});

test('responses and runts are dropped, not answered', async () => {
  const response = q('static.svc.plus');
  response[2]! |= 0x80;
  assert.equal(await udpExchange(s.port, response, '127.0.0.1', 300), undefined);
  assert.equal(await udpExchange(s.port, Buffer.from([1, 2, 3]), '127.0.0.1', 300), undefined);
});

test('EDNS: OPT in the reply with our 1232 payload size; DO echoed; unknown options and flags ignored, not echoed', async () => {
  const r = await udpQuery(s.port, q('static.svc.plus', RRType.A, { edns: { udpSize: 4096, dnssecOk: true, options: [{ code: 65001, data: Buffer.from('abcd') }, { code: 10, data: Buffer.alloc(8, 7) }] } }));
  assert.equal(r.rcode, Rcode.NOERROR);
  assert.ok(r.opt);
  assert.equal(r.opt!.udpSize, 1232);
  assert.equal(r.opt!.version, 0);
  assert.equal(r.opt!.dnssecOk, true);
  // the unknown option is not echoed; the COOKIE (on by default) comes back with a server cookie
  assert.deepEqual(r.opt!.options.map((o) => o.code), [10]);
  assert.ok(r.opt!.options[0]!.data.subarray(0, 8).equals(Buffer.alloc(8, 7)));
  const plain = await udpQuery(s.port, q('static.svc.plus'));
  assert.equal(plain.opt, undefined);
  // unknown EDNS flag bits (everything but DO) are not echoed
  const zbits = q('static.svc.plus', RRType.A, { edns: {} });
  zbits.writeUInt16BE(0x7fff, zbits.length - 4);
  const zr = await udpQuery(s.port, zbits);
  assert.equal(zr.rcode, Rcode.NOERROR);
  assert.equal(zr.opt!.flags, 0);
  // Z and AD in the query header are not reflected; CD is copied (RFC 4035 3.1.6)
  const z = await udpQuery(s.port, q('static.svc.plus', RRType.A, { flags3: 0x70 }));
  assert.ok(!z.z && !z.ad && z.cd);
  const noCd = await udpQuery(s.port, q('static.svc.plus', RRType.A, { flags3: 0x60 }));
  assert.ok(!noCd.z && !noCd.ad && !noCd.cd);
});

test('EDNS version 1 gets BADVERS with an OPT of version 0', async () => {
  const r = await udpQuery(s.port, q('static.svc.plus', RRType.A, { edns: { version: 1 } }));
  assert.equal(r.rcode, Rcode.BADVERS);
  assert.equal(r.opt!.version, 0);
  assert.equal(r.opt!.extendedRcode, 1);
  assert.equal(r.answers.length, 0);
  assert.equal(r.aa, false);
});

test('TC=1 when the answer does not fit: 512 without EDNS, the smaller of ours and the client\'s with it; OPT kept; TCP gets it all', async () => {
  // "mid" is ~650 bytes: too big for 512, fits 1232
  const classic = await udpQuery(s.port, q('mid.svc.plus', RRType.TXT));
  assert.ok(classic.tc && classic.aa);
  assert.equal(classic.answers.length, 0);
  assert.equal(classic.opt, undefined);
  const edns = await udpQuery(s.port, q('mid.svc.plus', RRType.TXT, { edns: { udpSize: 1232 } }));
  assert.ok(!edns.tc);
  assert.equal(edns.answers.length, 1);
  const smallClient = await udpQuery(s.port, q('mid.svc.plus', RRType.TXT, { edns: { udpSize: 600 } }));
  assert.ok(smallClient.tc);
  assert.ok(smallClient.opt, 'OPT survives truncation');
  const tiny = await udpQuery(s.port, q('mid.svc.plus', RRType.TXT, { edns: { udpSize: 100 } }));
  assert.ok(tiny.tc, 'payload sizes below 512 count as 512');
  // "big" is ~1650 bytes: beyond our own 1232 even if the client offers 4096
  const bigReply = await udpExchange(s.port, q('big.svc.plus', RRType.TXT, { edns: { udpSize: 4096 } }));
  assert.ok(bigReply!.length <= 1232);
  const big = decodeMessage(bigReply!);
  assert.ok(big.tc);
  assert.equal(big.opt!.udpSize, 1232);
  const viaTcp = await tcpQuery(s.port, q('big.svc.plus', RRType.TXT, { edns: { udpSize: 4096 } }));
  assert.ok(!viaTcp.tc);
  assert.equal(viaTcp.answers[0]!.data.split('" "').length, 8);
});

test('ANY gets one RRset (RFC 8482), never the whole node', async () => {
  const apex = await udpQuery(s.port, q('svc.plus', RRType.ANY));
  const types = new Set(apex.answers.map((a) => a.type));
  assert.equal(types.size, 1, 'a single RRset');
  assert.ok(apex.aa);
  const st = await udpQuery(s.port, q('static.svc.plus', RRType.ANY));
  assert.deepEqual([...new Set(st.answers.map((a) => a.type))], [RRType.A]);
  const ent = await udpQuery(s.port, q('c.svc.plus', RRType.ANY));
  assert.equal(ent.answers.length, 0);
  soaCheck(ent.authority);
});

test('CNAME is followed inside the zone; a dangling target is NXDOMAIN with the CNAME; an outside target stops', async () => {
  const www = await udpQuery(s.port, q('www.svc.plus'));
  assert.deepEqual(www.answers.map((a) => a.type), [RRType.CNAME, RRType.A, RRType.A]);
  const asCname = await udpQuery(s.port, q('www.svc.plus', RRType.CNAME));
  assert.deepEqual(asCname.answers.map((a) => a.type), [RRType.CNAME]);
  const dangling = await udpQuery(s.port, q('dangling.svc.plus'));
  assert.equal(dangling.rcode, Rcode.NXDOMAIN);
  assert.equal(dangling.answers[0]!.type, RRType.CNAME);
  soaCheck(dangling.authority);
  const away = await udpQuery(s.port, q('away.svc.plus'));
  assert.equal(away.rcode, Rcode.NOERROR);
  assert.deepEqual(away.answers.map((a) => a.data), ['example.net.']);
});

test('delegations answer with a referral (no AA, NS in authority, glue) and DS at the cut from the parent', async () => {
  for (const name of ['sub.svc.plus', 'deep.below.sub.svc.plus', 'ns.sub.svc.plus']) {
    const r = await udpQuery(s.port, q(name));
    assert.equal(r.rcode, Rcode.NOERROR, name);
    assert.equal(r.aa, false, name);
    assert.equal(r.answers.length, 0);
    assert.deepEqual(r.authority.map((a) => a.data).sort(), ['ns.sub.svc.plus.', 'ns1.svc.plus.']);
    assert.deepEqual(r.additional.map((a) => a.data).sort(), ['192.0.2.53', '203.0.113.53']);
  }
  const ds = await udpQuery(s.port, q('sub.svc.plus', RRType.DS));
  assert.ok(ds.aa);
  soaCheck(ds.authority);
});

test('apex SOA/NS/MX/CAA, SRV and PTR with additional addresses for in-zone targets', async () => {
  const soa = await udpQuery(s.port, q('svc.plus', RRType.SOA));
  assert.equal(soa.answers[0]!.data, 'ns1.svc.plus. hostmaster.svc.plus. 7 3600 600 86400 30');
  const ns = await udpQuery(s.port, q('svc.plus', RRType.NS));
  assert.deepEqual(ns.answers.map((a) => a.data).sort(), ['ns1.svc.plus.', 'ns2.svc.plus.']);
  assert.deepEqual(ns.additional.map((a) => a.data).sort(), ['198.51.100.53', '2001:db8::53', '203.0.113.53']);
  const mx = await udpQuery(s.port, q('svc.plus', RRType.MX));
  assert.equal(mx.answers[0]!.data, '10 mail.svc.plus.');
  assert.equal(mx.additional[0]!.data, '192.0.2.25');
  const caa = await udpQuery(s.port, q('svc.plus', RRType.CAA));
  assert.equal(caa.answers[0]!.data, '0 issue "letsencrypt.org"');
  const srv = await udpQuery(s.port, q('_sip._tcp.svc.plus', RRType.SRV));
  assert.equal(srv.answers[0]!.data, '1 2 5060 ns1.svc.plus.');
  const ptr = await udpQuery(s.port, q('ptr.svc.plus', RRType.PTR));
  assert.equal(ptr.answers[0]!.data, 'static.svc.plus.');
});

test('zone transfers and other classes are refused', async () => {
  for (const type of [RRType.AXFR, RRType.IXFR]) {
    const r = await tcpQuery(s.port, q('svc.plus', type));
    assert.equal(r.rcode, Rcode.REFUSED);
  }
  const ch = await udpQuery(s.port, q('version.bind', RRType.TXT, { class: RRClass.CH }));
  assert.equal(ch.rcode, Rcode.REFUSED);
  const anyClass = await udpQuery(s.port, q('static.svc.plus', RRType.A, { class: RRClass.ANY }));
  assert.equal(anyClass.rcode, Rcode.NOERROR);
  assert.equal(anyClass.questions[0]!.class, RRClass.ANY);
});

test('TCP: pipelined queries on one connection are all answered, in order', async () => {
  const names = ['static.svc.plus', 'nope.svc.plus', 'www.svc.plus', 'example.com', 'txt.svc.plus'];
  const msgs = names.map((n, i) => q(n, RRType.A, { id: 100 + i }));
  const replies = await tcpExchange(s.port, frame(...msgs), msgs.length);
  assert.deepEqual(replies.map((r) => decodeMessage(r).id), [100, 101, 102, 103, 104]);
  assert.deepEqual(replies.map((r) => decodeMessage(r).rcode), [Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.NOERROR, Rcode.REFUSED, Rcode.NOERROR]);
});

test('TCP: a query split across writes byte by byte is still answered', async () => {
  const msg = frame(q('static.svc.plus', RRType.A, { id: 7 }));
  const reply = await new Promise<Buffer>((resolve, reject) => {
    const sock = net.connect(s.port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        sock.destroy();
        resolve(buf.subarray(2));
      }
    });
    sock.on('error', reject);
    sock.setNoDelay(true);
    let i = 0;
    const step = () => {
      if (i >= msg.length) return;
      sock.write(msg.subarray(i, i + 1));
      i++;
      setImmediate(step);
    };
    step();
  });
  assert.equal(decodeMessage(reply).id, 7);
});

test('TCP: idle connections are closed after the idle timeout', async () => {
  const sock = net.connect(s.port, '127.0.0.1');
  let closed = false;
  sock.on('close', () => (closed = true));
  sock.on('error', () => {});
  await eventually(() => closed, 5000, 'idle close');
});

test('TCP: an oversized or zero length prefix closes the connection without a reply', async () => {
  for (const prefix of [Buffer.from([0xff, 0xff]), Buffer.from([0, 0])]) {
    const sock = net.connect(s.port, '127.0.0.1');
    let got = 0;
    let closed = false;
    sock.on('data', (d) => (got += d.length));
    sock.on('close', () => (closed = true));
    sock.on('error', () => {});
    sock.write(Buffer.concat([prefix, Buffer.alloc(100)]));
    await eventually(() => closed, 3000, 'close after bad length');
    assert.equal(got, 0);
  }
  // and the server still answers
  const r = await udpQuery(s.port, q('static.svc.plus'));
  assert.equal(r.rcode, Rcode.NOERROR);
});

test('IPv6 listen address: UDP and TCP on ::1', async (t) => {
  const probe = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
  if (!ok) return t.skip('::1 is not available on this machine');
  const v6 = await (await import('./helpers.ts')).startServer(testConfig({ listen: ['[::1]:0', '127.0.0.1:0'] }));
  try {
    const a = v6.server.addresses();
    assert.equal(a.udp.length, 2);
    assert.equal(a.udp[0]!.address, '::1');
    assert.equal(a.udp[0]!.port, a.tcp[0]!.port, 'UDP and TCP share the port');
    const r = await udpQuery(a.udp[0]!.port, q('static.svc.plus', RRType.AAAA), '::1');
    assert.equal(r.answers[0]!.data, '2001:db8::10');
    const rt = await tcpQuery(a.tcp[0]!.port, q('static.svc.plus'), '::1');
    assert.equal(rt.answers.length, 2);
    const r4 = await udpQuery(a.udp[1]!.port, q('static.svc.plus'));
    assert.equal(r4.answers.length, 2);
  } finally {
    await v6.server.close();
  }
});
