import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeResponse, encodeQuery, QTYPE } from '../../../src/discovery/dns-client.ts';
import { addressRecords } from '../../../src/discovery/dns.ts';

/** Builds a response by hand: header, the question, then records. */
function response(id: number, rcode: number, question: Buffer, answers: Buffer[], additionals: Buffer[] = [], flags = 0x8400): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags | rcode, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers.length, 6);
  h.writeUInt16BE(additionals.length, 10);
  return Buffer.concat([h, question, ...answers, ...additionals]);
}

function name(n: string): Buffer {
  return Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
}

function rr(owner: Buffer, type: number, ttl: number, data: Buffer): Buffer {
  const f = Buffer.alloc(10);
  f.writeUInt16BE(type, 0);
  f.writeUInt16BE(1, 2);
  f.writeUInt32BE(ttl, 4);
  f.writeUInt16BE(data.length, 8);
  return Buffer.concat([owner, f, data]);
}

const question = (n: string, t: number) => Buffer.concat([name(n), Buffer.from([0, t, 0, 1])]);
const ptr = (offset: number) => Buffer.from([0xc0 | (offset >> 8), offset & 0xff]);

test('queries carry RD, one question and an EDNS OPT record', () => {
  const q = encodeQuery(0x1234, 'api.svc.plus', QTYPE.SRV);
  assert.equal(q.readUInt16BE(0), 0x1234);
  assert.equal(q.readUInt16BE(2), 0x0100);
  assert.equal(q.readUInt16BE(4), 1);
  assert.equal(q.readUInt16BE(10), 1);
  assert.deepEqual(q.subarray(12, 12 + 14), name('api.svc.plus'));
  assert.throws(() => encodeQuery(1, 'a..b', QTYPE.A), /invalid DNS name/);
  assert.throws(() => encodeQuery(1, `${'a'.repeat(64)}.b`, QTYPE.A), /invalid DNS name/);
});

test('A, AAAA (compressed form), CNAME chains and SRV with compression pointers decode', () => {
  const q = question('api.svc.plus', QTYPE.A);
  // Answer owner names point at the question name (offset 12).
  const msg = response(7, 0, q, [
    rr(ptr(12), QTYPE.CNAME, 300, name('real.svc.plus')),
    rr(name('real.svc.plus'), QTYPE.A, 60, Buffer.from([10, 0, 0, 1])),
    rr(name('real.svc.plus'), QTYPE.A, 30, Buffer.from([10, 0, 0, 2])),
    rr(name('other.svc.plus'), QTYPE.A, 5, Buffer.from([10, 9, 9, 9])),
    rr(name('real.svc.plus'), QTYPE.AAAA, 60, Buffer.from('20010db8000000000000000000000001', 'hex')),
  ]);
  const res = decodeResponse(msg);
  assert.equal(res.id, 7);
  assert.equal(res.rcode, 0);
  assert.equal(res.answers[0]!.name, 'api.svc.plus');
  const a = addressRecords(res, 'api.svc.plus', QTYPE.A);
  assert.deepEqual(a.values, ['10.0.0.1', '10.0.0.2'], 'follows the CNAME, ignores unrelated owners');
  assert.equal(a.ttl, 30, 'smallest TTL along the way');
  assert.deepEqual(addressRecords(res, 'api.svc.plus', QTYPE.AAAA).values, ['2001:db8::1']);

  const sq = question('_http._tcp.api.svc.plus', QTYPE.SRV);
  const srvData = Buffer.concat([Buffer.from([0, 10, 0, 5, 0x1f, 0x90]), name('node1.svc.plus')]);
  const srv = decodeResponse(response(8, 0, sq, [rr(ptr(12), QTYPE.SRV, 120, srvData)], [rr(name('node1.svc.plus'), QTYPE.A, 90, Buffer.from([192, 0, 2, 1]))]));
  assert.deepEqual(srv.answers[0]!.data, { priority: 10, weight: 5, port: 8080, target: 'node1.svc.plus' });
  assert.equal(srv.additionals[0]!.data, '192.0.2.1');
});

test('malformed answers throw instead of looping or reading past the end', () => {
  const q = question('a.b', QTYPE.A);
  const good = response(1, 0, q, [rr(ptr(12), QTYPE.A, 1, Buffer.from([1, 2, 3, 4]))]);
  for (let cut = 1; cut < good.length; cut++) {
    assert.throws(() => decodeResponse(good.subarray(0, cut)), /malformed|shorter/, `truncated at ${cut}`);
  }
  // A pointer to itself: a compression loop.
  const loop = response(1, 0, q, [Buffer.concat([ptr(12 + q.length), Buffer.alloc(10)])]);
  assert.throws(() => decodeResponse(loop), /compression loop|malformed/);
  const notResponse = Buffer.from(good);
  notResponse.writeUInt16BE(0x0100, 2);
  assert.throws(() => decodeResponse(notResponse), /not a response/);
  // Random bytes never crash the process.
  let state = 1;
  for (let i = 0; i < 2000; i++) {
    const len = 12 + (i % 200);
    const b = Buffer.alloc(len);
    for (let j = 0; j < len; j++) b[j] = (state = (state * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    b[2] = b[2]! | 0x80;
    try {
      decodeResponse(b);
    } catch (err) {
      assert.match((err as Error).message, /malformed|shorter/);
    }
  }
});

test('TTLs with the top bit set count as 0 (RFC 2181)', () => {
  const q = question('a.b', QTYPE.A);
  const res = decodeResponse(response(1, 0, q, [rr(ptr(12), QTYPE.A, 0x80000000, Buffer.from([1, 2, 3, 4]))]));
  assert.equal(res.answers[0]!.ttl, 0);
});
