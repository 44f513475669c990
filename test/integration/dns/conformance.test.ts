import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode, RRClass, RRType } from '../../../src/dns/wire/constants.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { startServer, testConfig, udpExchange, udpQuery, tcpQuery, type Started } from './helpers.ts';

// The fixes of an outside compliance run (issue 16, item 7), each checked on the wire.

let s: Started;
before(async () => {
  const cfg = testConfig();
  cfg.zones[0]!.gtm = [{ name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 1 }, { region: 'sg', vips: ['198.51.100.10'], weight: 1 }] }];
  cfg.geo = { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }, { cidr: '203.0.0.0/17', region: 'sg' }] };
  s = await startServer(cfg);
});
after(async () => {
  await s?.server.close();
});

const ecsOf = (r: ReturnType<typeof decodeMessage>) => {
  const o = r.opt?.options.find((x) => x.code === 8);
  return o ? { family: o.data.readUInt16BE(0), source: o.data[2], scope: o.data[3] } : undefined;
};

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  const hit = data.values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, string>)[k] === val));
  return hit?.value ?? 0;
}

test('a header-only message with an unknown opcode (DSO) gets NOTIMP, not FORMERR', async () => {
  for (const opcode of [6, 3, 15]) {
    const msg = Buffer.alloc(12);
    msg.writeUInt16BE(0xbeef, 0);
    msg[2] = opcode << 3;
    const reply = await udpExchange(s.port, msg);
    assert.ok(reply, `opcode ${opcode}: a reply`);
    const r = decodeMessage(reply);
    assert.equal(r.rcode, Rcode.NOTIMP, `opcode ${opcode}`);
    assert.equal(r.opcode, opcode);
    assert.equal(r.id, 0xbeef);
    assert.equal(r.questions.length, 0);
  }
  // QUERY without a question is still FORMERR
  const noQ = Buffer.alloc(12);
  assert.equal(decodeMessage((await udpExchange(s.port, noQ))!).rcode, Rcode.FORMERR);
});

/** A query with a TSIG record appended (RFC 8945 4.2): key `name`, hmac-sha256, a made-up MAC. */
function tsigSigned(qname: string, keyName: string, edns: boolean): Buffer {
  const base = buildQuery(qname, { id: 0x4321, ...(edns ? { edns: {} } : {}) });
  const wireName = (n: string) => Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const alg = wireName('hmac-sha256');
  const mac = Buffer.alloc(32, 7);
  const rdata = Buffer.concat([alg, Buffer.from([0, 0, 0x65, 0x4f, 0x00, 0x01]), Buffer.from([1, 44]), Buffer.from([0, 32]), mac, Buffer.from([0x43, 0x21]), Buffer.from([0, 0, 0, 0])]);
  const head = Buffer.alloc(10);
  head.writeUInt16BE(RRType.TSIG, 0);
  head.writeUInt16BE(RRClass.ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  const msg = Buffer.concat([base, wireName(keyName), head, rdata]);
  msg.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  return msg;
}

test('a TSIG-signed query gets NOTAUTH with TSIG error BADKEY, unsigned (no keys are configured)', async () => {
  for (const edns of [false, true]) {
    const reply = await udpExchange(s.port, tsigSigned('static.svc.plus', 'transfer-key', edns));
    assert.ok(reply);
    const r = decodeMessage(reply);
    assert.equal(r.rcode, Rcode.NOTAUTH, `edns ${edns}`);
    assert.equal(r.answers.length, 0);
    assert.equal(Boolean(r.opt), edns);
    const tsig = r.additional.find((x) => x.type === RRType.TSIG);
    assert.ok(tsig, 'a TSIG record in the reply');
    assert.equal(r.additional[r.additional.length - 1], tsig, 'TSIG is the last record');
    assert.equal(tsig.name, 'transfer-key.');
    const rd = Buffer.from(tsig.data, 'hex');
    const algLen = rd.indexOf(0) + 1;
    assert.equal(rd.subarray(0, algLen).toString('latin1').slice(1, 5), 'hmac');
    const after = rd.subarray(algLen);
    assert.equal(after.readUInt16BE(6), 300, 'fudge copied');
    assert.equal(after.readUInt16BE(8), 0, 'MAC size 0: unsigned');
    assert.equal(after.readUInt16BE(10), 0x4321, 'original ID');
    assert.equal(after.readUInt16BE(12), 17, 'error BADKEY');
  }
  // a TSIG that is not the last record is malformed
  const signed = tsigSigned('static.svc.plus', 'k', false);
  const opt = buildQuery('x', { edns: {} }).subarray(-11);
  const misplaced = Buffer.concat([signed, opt]);
  misplaced.writeUInt16BE(2, 10);
  assert.equal(decodeMessage((await udpExchange(s.port, misplaced))!).rcode, Rcode.FORMERR);
});

test('the ECS scope never exceeds the source prefix', async () => {
  // 203.0.0.0/16 holds a /17 (sg) and a /24 (jp): the /16 cannot decide, so it is answered for the /16
  const wide = decodeMessage((await udpExchange(s.port, buildQuery('api.svc.plus', { edns: { clientSubnet: '203.0.0.0/16' } })))!);
  assert.deepEqual(ecsOf(wide), { family: 1, source: 16, scope: 16 });
  for (const [subnet, source] of [['203.0.113.0/24', 24], ['203.0.113.128/25', 25], ['203.0.0.0/20', 20], ['10.0.0.0/8', 8], ['203.0.113.7/32', 32]] as const) {
    const r = decodeMessage((await udpExchange(s.port, buildQuery('api.svc.plus', { edns: { clientSubnet: subnet } })))!);
    const e = ecsOf(r)!;
    assert.equal(e.source, source);
    assert.ok(e.scope <= source, `${subnet}: scope ${e.scope} > source ${source}`);
  }
  // the /24 itself is decided by 24 bits (the jp network): a true scope, not 0 and not 32
  const exact = decodeMessage((await udpExchange(s.port, buildQuery('api.svc.plus', { edns: { clientSubnet: '203.0.113.0/24' } })))!);
  assert.equal(ecsOf(exact)!.scope, 24);
  assert.deepEqual(exact.answers.map((a) => a.data), ['203.0.113.10']);
});

test('a truncated UDP answer keeps its OPT and the ECS option', async () => {
  // "big" is ~1.6 KB: TC over UDP
  const r = decodeMessage((await udpExchange(s.port, buildQuery('big.svc.plus', { type: RRType.TXT, edns: { clientSubnet: '198.51.100.0/24', dnssecOk: true } })))!);
  assert.ok(r.tc);
  assert.ok(r.opt, 'OPT kept');
  assert.equal(r.opt.dnssecOk, true);
  assert.deepEqual(ecsOf(r), { family: 1, source: 24, scope: 0 });
  const full = await tcpQuery(s.port, buildQuery('big.svc.plus', { type: RRType.TXT, edns: { clientSubnet: '198.51.100.0/24' } }));
  assert.ok(!full.tc && full.answers.length === 1);
});

test('error replies are counted under the zone of their name; only names outside every zone are "(none)"', async () => {
  const zone = (rcode: string) => ({ zone: 'svc.plus', rcode, transport: 'udp' });
  const none = (rcode: string) => ({ zone: '(none)', rcode, transport: 'udp' });
  const before = {
    notimp: await metric('edgeplane_dns_queries_total', zone('NOTIMP')),
    badvers: await metric('edgeplane_dns_queries_total', zone('BADVERS')),
    refusedCh: await metric('edgeplane_dns_queries_total', zone('REFUSED')),
    notauth: await metric('edgeplane_dns_queries_total', zone('NOTAUTH')),
    outside: await metric('edgeplane_dns_queries_total', none('REFUSED')),
    empty: await metric('edgeplane_dns_queries_total', { zone: '', rcode: 'NOTIMP', transport: 'udp' }),
  };
  await udpQuery(s.port, buildQuery('static.svc.plus', { opcode: 2 }));
  await udpQuery(s.port, buildQuery('nope.svc.plus', { edns: { version: 1 } }));
  await udpQuery(s.port, buildQuery('static.svc.plus', { class: RRClass.CH }));
  await udpQuery(s.port, buildQuery('svc.plus', { type: RRType.AXFR }));
  await udpExchange(s.port, tsigSigned('static.svc.plus', 'k', false));
  await udpQuery(s.port, buildQuery('example.org'));
  assert.equal(await metric('edgeplane_dns_queries_total', zone('NOTIMP')), before.notimp + 1);
  assert.equal(await metric('edgeplane_dns_queries_total', zone('BADVERS')), before.badvers + 1);
  assert.equal(await metric('edgeplane_dns_queries_total', zone('REFUSED')), before.refusedCh + 2);
  assert.equal(await metric('edgeplane_dns_queries_total', zone('NOTAUTH')), before.notauth + 1);
  assert.equal(await metric('edgeplane_dns_queries_total', none('REFUSED')), before.outside + 1);
  const text = await registry.metrics();
  assert.doesNotMatch(text, /edgeplane_dns_queries_total\{[^}]*zone=""/, 'no empty zone label');
  assert.equal(before.empty, 0);
});
