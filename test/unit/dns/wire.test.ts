import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nameFromText, nameToText, isAtOrBelow, lowerKeyOf } from '../../../src/dns/wire/name.ts';
import { parseIPv4, parseIPv6, formatIp, clientAddressBytes } from '../../../src/dns/wire/ip.ts';
import { MessageWriter } from '../../../src/dns/wire/writer.ts';
import { parseQuery, ParsedQuery, QueryStatus } from '../../../src/dns/wire/query.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage, readName, DnsDecodeError } from '../../../src/dns/wire/decode.ts';
import { parseRData, parseCharacterStrings } from '../../../src/dns/wire/rdata.ts';
import { RRType } from '../../../src/dns/wire/constants.ts';
import { DnsError } from '../../../src/dns/errors.ts';

test('names from the config: relative to the origin, absolute with a dot or without origin, validated', () => {
  const origin = nameFromText('svc.plus');
  assert.equal(nameToText(nameFromText('api', origin)), 'api.svc.plus');
  assert.equal(nameToText(nameFromText('@', origin)), 'svc.plus');
  assert.equal(nameToText(nameFromText('Other.Example.', origin)), 'other.example');
  assert.equal(nameToText(nameFromText('ns1.svc.plus')), 'ns1.svc.plus');
  assert.equal(nameToText(nameFromText('.')), '.');
  for (const bad of ['a..b', 'x'.repeat(64) + '.com', 'bad label.com', '*.svc.plus', 'a\\b', '']) {
    assert.throws(() => nameFromText(bad), (e: unknown) => e instanceof DnsError && e.code === 'EP_DNS_NAME', bad);
  }
  assert.throws(() => nameFromText(Array.from({ length: 130 }, () => 'a').join('.')), /255 bytes/);
  assert.ok(isAtOrBelow(nameFromText('a.svc.plus'), origin));
  assert.ok(isAtOrBelow(origin, origin));
  assert.ok(!isAtOrBelow(nameFromText('xsvc.plus'), origin));
  // a label whose bytes happen to end like the parent is not below it
  const tricky = Buffer.from([4, 0x78, 2, 0x61, 0x62, 0]);
  const ab = Buffer.from([2, 0x61, 0x62, 0]);
  assert.ok(tricky.subarray(2).equals(ab), 'the bytes match...');
  assert.ok(!isAtOrBelow(tricky, ab), '...but not on a label boundary');
});

test('lowercasing touches ASCII letters only (RFC 4343)', () => {
  const b = Buffer.from([3, 0x41, 0xc0, 0x5a, 0]);
  assert.equal(lowerKeyOf(b, 0, b.length), String.fromCharCode(3, 0x61, 0xc0, 0x7a, 0));
});

test('IP parsing and formatting round-trip, v4-mapped becomes v4', () => {
  assert.deepEqual([...parseIPv4('192.0.2.1')!], [192, 0, 2, 1]);
  assert.equal(parseIPv4('256.0.0.1'), undefined);
  for (const t of ['2001:db8::1', '::', '::1', 'fe80::1:2:3:4', '2001:db8:0:1:1:1:1:1']) assert.equal(formatIp(parseIPv6(t)!), t);
  assert.equal(formatIp(parseIPv6('::ffff:1.2.3.4')!), '::ffff:102:304');
  assert.equal(formatIp(parseIPv6('1:2:3:4:5:6:1.2.3.4')!), '1:2:3:4:5:6:102:304');
  assert.equal(parseIPv6('1::2::3'), undefined);
  assert.deepEqual([...clientAddressBytes('::ffff:10.1.2.3')!], [10, 1, 2, 3]);
  assert.equal(clientAddressBytes('2001:db8::1')!.length, 16);
});

test('writer compresses repeated suffixes and never compresses when asked not to', () => {
  const w = new MessageWriter(8);
  w.name(nameFromText('a.svc.plus'));
  const afterFirst = w.length;
  w.name(Buffer.from([1, 0x42, 3, 0x53, 0x56, 0x43, 4, 0x70, 0x6c, 0x75, 0x73, 0])); // B.SVC.plus
  assert.equal(w.length - afterFirst, 2 + 2, 'label "b" plus a pointer');
  const before = w.length;
  w.name(nameFromText('a.svc.plus'), false);
  assert.equal(w.length - before, nameFromText('a.svc.plus').length);
  const decoded = readName(w.finish(), afterFirst);
  assert.equal(decoded.name, 'B.svc.plus.', 'the pointer target keeps the case it was first written in');
});

test('rdata parsing per type, with clear errors', () => {
  assert.deepEqual(parseCharacterStrings('"a b" "c\\"d" "\\065"').map(String), ['a b', 'c"d', 'A']);
  assert.equal(parseCharacterStrings('x'.repeat(600)).length, 3);
  assert.throws(() => parseCharacterStrings('"unterminated'), /unterminated/);
  assert.equal(parseRData('MX', '10 mail.example.com').type, RRType.MX);
  assert.throws(() => parseRData('MX', 'mail.example.com'), /preference exchange/);
  assert.throws(() => parseRData('SRV', '1 2 99999 x.example'), /0\.\.65535/);
  assert.throws(() => parseRData('A', '2001:db8::1'), /not an IPv4/);
  assert.throws(() => parseRData('AAAA', '1.2.3.4'), /not an IPv6/);
  assert.throws(() => parseRData('SPF', 'x'), /not supported/);
  const caa = parseRData('CAA', '128 issuewild "ca.example"');
  assert.ok(caa.type === RRType.CAA && caa.flags === 128 && caa.tag === 'issuewild' && caa.value.toString() === 'ca.example');
});

test('parseQuery reads header, question and OPT/ECS and reuses its target', () => {
  const q = new ParsedQuery();
  assert.equal(parseQuery(buildQuery('Api.Svc.Plus', { id: 9, type: RRType.AAAA, edns: { udpSize: 4096, dnssecOk: true, clientSubnet: '198.51.100.77/24' } }), q), QueryStatus.OK);
  assert.equal(q.id, 9);
  assert.equal(q.qtype, RRType.AAAA);
  assert.equal(q.qnameEnd, 12 + nameFromText('api.svc.plus').length);
  assert.ok(q.edns && q.dnssecOk && q.ecs);
  assert.equal(q.udpSize, 4096);
  assert.equal(q.ecsSourcePrefix, 24);
  assert.deepEqual([...q.ecsAddress.subarray(0, 4)], [198, 51, 100, 0]);
  assert.equal(parseQuery(buildQuery('x.example'), q), QueryStatus.OK);
  assert.ok(!q.edns && !q.ecs, 'state from the previous query does not leak');
});

test('parseQuery classifies malformed messages', () => {
  const q = new ParsedQuery();
  const ok = buildQuery('a.example');
  const st = (b: Buffer) => parseQuery(b, q);
  assert.equal(st(Buffer.alloc(5)), QueryStatus.DROP);
  const resp = Buffer.from(ok);
  resp[2]! |= 0x80;
  assert.equal(st(resp), QueryStatus.DROP);
  const pointer = Buffer.concat([ok.subarray(0, 12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1])]);
  assert.equal(st(pointer), QueryStatus.FORMERR_HEADER);
  const longName = buildQuery(Array.from({ length: 5 }, () => 'x'.repeat(63)).join('.'));
  assert.equal(st(longName), QueryStatus.FORMERR_HEADER);
  assert.equal(st(ok.subarray(0, ok.length - 2)), QueryStatus.FORMERR_HEADER, 'question cut short');
  const labelPastEnd = Buffer.concat([ok.subarray(0, 12), Buffer.from([40, 0x61])]);
  assert.equal(st(labelPastEnd), QueryStatus.FORMERR_HEADER);
  const arLies = Buffer.from(ok);
  arLies.writeUInt16BE(3, 10);
  assert.equal(st(arLies), QueryStatus.FORMERR_QUESTION);
  const optNotRoot = Buffer.concat([ok, Buffer.from([1, 0x61, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0])]);
  optNotRoot.writeUInt16BE(1, 10);
  assert.equal(st(optNotRoot), QueryStatus.FORMERR_QUESTION);
  const optOverrun = buildQuery('a.example', { edns: {} });
  optOverrun.writeUInt16BE(50, optOverrun.length - 2);
  assert.equal(st(optOverrun), QueryStatus.FORMERR_QUESTION);
  const badOption = buildQuery('a.example', { edns: { options: [{ code: 8, data: Buffer.from([0, 1]) }] } });
  assert.equal(st(badOption), QueryStatus.FORMERR_OPTION);
  const v6TooLong = buildQuery('a.example', { edns: { options: [{ code: 8, data: Buffer.from([0, 2, 129, 0, ...new Array(17).fill(0)]) }] } });
  assert.equal(st(v6TooLong), QueryStatus.FORMERR_OPTION);
});

test('decodeMessage rejects compression loops, forward pointers and overruns', () => {
  const head = buildQuery('a.example').subarray(0, 12);
  const loop = Buffer.concat([head, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
  assert.throws(() => decodeMessage(loop), DnsDecodeError);
  const forward = Buffer.concat([head, Buffer.from([0xc0, 14, 1, 0x61, 0, 0, 1, 0, 1])]);
  assert.throws(() => decodeMessage(forward), /backwards/);
  const overrun = Buffer.concat([head, Buffer.from([9, 0x61])]);
  assert.throws(() => decodeMessage(overrun), DnsDecodeError);
  const m = decodeMessage(buildQuery('A.Example', { type: RRType.MX, edns: { clientSubnet: '2001:db8::/48' } }));
  assert.equal(m.questions[0]!.name, 'A.Example.');
  assert.equal(m.opt!.options[0]!.code, 8);
});
