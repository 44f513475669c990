/**
 * Online signing checked by real validators: unbound with the zone's DS as
 * its only trust anchor must set AD on positive, GTM, CNAME, NODATA and
 * (compact) NXDOMAIN answers, and SERVFAIL when the server signs with a key
 * the DS doesn't match or its signatures have expired. delv +vtrace and kdig
 * +dnssec look at the same names.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DnsConfig } from '../../../src/config/schema/index.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { decodeMessage, type DecodedMessage } from '../../../src/dns/wire/decode.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { dsText, generateKeyPem, loadZoneKey } from '../../../src/dns/dnssec/keys.ts';
import { nameFromText } from '../../../src/dns/wire/name.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { startServer, testZone, udpExchange, tcpQuery, type Started } from './helpers.ts';
import { startUnbound, which, type Unbound } from './unbound.ts';

const execFileAsync = promisify(execFile);
const unboundBin = which('unbound');
let dir = '';
let dsGood = '';
const servers: Started[] = [];
const resolvers: Unbound[] = [];

function signedConfig(keyFile: string, algorithm: 'ecdsap256sha256' | 'ed25519' = 'ecdsap256sha256', extra: Partial<NonNullable<DnsConfig['zones'][number]['dnssec']>> = {}): DnsConfig {
  const zone = testZone();
  zone.gtm = [
    { name: 'api', ttl: 30, regions: [{ region: 'jp', vips: ['203.0.113.10', '2001:db8::10'], weight: 2 }, { region: 'sg', vips: ['198.51.100.10'], weight: 1 }] },
    { name: 'multi', answers: 'all', regions: [{ region: 'jp', vips: ['203.0.113.20', '203.0.113.21'], weight: 1 }, { region: 'sg', vips: ['198.51.100.20'], weight: 1 }] },
  ];
  zone.records!.push({ name: 'alias', type: 'CNAME', value: 'api.svc.plus' }, { name: '*.wild', type: 'A', value: '192.0.2.99' }, { name: '*.wild', type: 'TXT', value: 'synthesized' });
  zone.dnssec = { keys: [{ file: keyFile }], algorithm, ...extra };
  return { listen: ['127.0.0.1:0'], zones: [zone], rrl: { enabled: false }, geo: { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }] } };
}

function keyFile(name: string, algorithm: 'ecdsap256sha256' | 'ed25519' = 'ecdsap256sha256'): { file: string; ds: string } {
  const pem = generateKeyPem(algorithm);
  const file = join(dir, name);
  writeFileSync(file, pem);
  return { file, ds: dsText(nameFromText('svc.plus'), loadZoneKey(pem, 'csk')) };
}

async function serve(config: DnsConfig, options: Parameters<typeof startServer>[1] = {}): Promise<Started> {
  const s = await startServer(config, { baseDir: dir, ...options });
  servers.push(s);
  return s;
}

async function resolver(authPort: number, ds: string): Promise<Unbound> {
  const u = await startUnbound('svc.plus', authPort, ds);
  resolvers.push(u);
  return u;
}

async function ask(port: number, name: string, type: number = RRType.A): Promise<DecodedMessage> {
  const reply = await udpExchange(port, buildQuery(name, { type, rd: true, edns: { dnssecOk: true } }), '127.0.0.1', 5000);
  assert.ok(reply, `${name}: no reply from the resolver`);
  return decodeMessage(reply);
}

let good: Started;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeplane-dnssec-'));
  const k = keyFile('good.pem');
  dsGood = k.ds;
  good = await serve(signedConfig(k.file));
});
after(async () => {
  for (const u of resolvers) await u.stop();
  for (const s of servers) await s.server.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('signed answers on the wire: RRSIGs with DO, none without; compact denial for missing names', async () => {
  const plain = await tcpQuery(good.port, buildQuery('static.svc.plus', { edns: {} }));
  assert.equal(plain.answers.filter((r) => r.type === RRType.RRSIG).length, 0);
  const signed = await tcpQuery(good.port, buildQuery('static.svc.plus', { edns: { dnssecOk: true } }));
  assert.equal(signed.answers.filter((r) => r.type === RRType.A).length, 2);
  assert.equal(signed.answers.filter((r) => r.type === RRType.RRSIG).length, 1);
  assert.equal(signed.ad, false, 'an authoritative server does not set AD');
  const cd = await tcpQuery(good.port, buildQuery('static.svc.plus', { flags3: 0x10, edns: { dnssecOk: true } }));
  assert.equal(cd.cd, true, 'CD is copied from the query');
  // a missing name: NXDOMAIN without DO; with DO, NOERROR and an NSEC at the name with NXNAME (RFC 9824)
  const nx = await tcpQuery(good.port, buildQuery('nope.svc.plus', { edns: {} }));
  assert.equal(nx.rcode, Rcode.NXDOMAIN);
  const nxs = await tcpQuery(good.port, buildQuery('Nope.svc.plus', { edns: { dnssecOk: true } }));
  assert.equal(nxs.rcode, Rcode.NOERROR);
  const nsec = nxs.authority.find((r) => r.type === RRType.NSEC)!;
  assert.ok(nsec, 'an NSEC in the authority section');
  assert.equal(nsec.name.toLowerCase(), 'nope.svc.plus.');
  const bitmap = Buffer.from(nsec.data, 'hex');
  // next name \000.nope.svc.plus, then window 0 (RRSIG 46, NSEC 47) and NXNAME (128)
  assert.equal(bitmap[0], 1);
  assert.equal(bitmap[1], 0);
  assert.equal(nxs.authority.filter((r) => r.type === RRType.RRSIG).length, 2, 'SOA and NSEC signed');
  // DNSKEY, CDS, CDNSKEY at the apex
  for (const type of [RRType.DNSKEY, RRType.CDS, RRType.CDNSKEY]) {
    const r = await tcpQuery(good.port, buildQuery('svc.plus', { type, edns: { dnssecOk: true } }));
    assert.equal(r.answers.filter((a) => a.type === type).length, 1, `type ${type}`);
    assert.equal(r.answers.filter((a) => a.type === RRType.RRSIG).length, 1, `type ${type} signed`);
  }
  // a GTM answer with all addresses: one RRSIG over the picked set
  const multi = await tcpQuery(good.port, buildQuery('multi.svc.plus', { edns: { dnssecOk: true } }));
  assert.equal(multi.answers.filter((a) => a.type === RRType.A).length, 3);
  assert.equal(multi.answers.filter((a) => a.type === RRType.RRSIG).length, 1);
});

test('unbound validates every answer type from the signed zone (AD set)', async (t) => {
  if (!unboundBin) return t.skip('unbound is not installed (apt-get install unbound)');
  const u = await resolver(good.port, dsGood);
  const cases: [string, number, (r: DecodedMessage) => void][] = [
    ['static.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.A).length, 2)],
    ['api.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.A).length, 1)],
    ['api.svc.plus', RRType.AAAA, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.AAAA).length, 1)],
    ['multi.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.A).length, 3)],
    ['alias.svc.plus', RRType.A, (r) => assert.deepEqual(r.answers.filter((a) => a.type !== RRType.RRSIG).map((a) => a.type), [RRType.CNAME, RRType.A])],
    ['www.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.A).length, 2)],
    ['svc.plus', RRType.MX, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.MX).length, 1)],
    ['svc.plus', RRType.DNSKEY, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.DNSKEY).length, 1)],
    ['txt.svc.plus', RRType.TXT, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.TXT).length, 1)],
    // NODATA: the name exists, the type does not
    ['txt.svc.plus', RRType.A, (r) => assert.equal(r.answers.length, 0)],
    // empty non-terminal
    ['b.c.svc.plus', RRType.A, (r) => assert.equal(r.answers.length, 0)],
    // a missing name (compact denial: NOERROR/NODATA with an NXNAME NSEC)
    ['missing.svc.plus', RRType.A, (r) => assert.equal(r.answers.length, 0)],
    ['deeper.missing.svc.plus', RRType.TXT, (r) => assert.equal(r.answers.length, 0)],
    // a CNAME to a missing name
    ['dangling.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.CNAME).length, 1)],
    // wildcard synthesis (RFC 4592), its NODATA, and a deeper name under the same wildcard
    ['any.wild.svc.plus', RRType.A, (r) => assert.deepEqual(r.answers.filter((a) => a.type === RRType.A).map((a) => a.data), ['192.0.2.99'])],
    ['any.wild.svc.plus', RRType.TXT, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.TXT).length, 1)],
    ['any.wild.svc.plus', RRType.MX, (r) => assert.equal(r.answers.length, 0)],
    ['a.b.wild.svc.plus', RRType.A, (r) => assert.equal(r.answers.filter((a) => a.type === RRType.A).length, 1)],
  ];
  for (const [name, type, check] of cases) {
    const r = await ask(u.port, name, type);
    assert.ok(r.rcode === Rcode.NOERROR || r.rcode === Rcode.NXDOMAIN, `${name}/${type}: rcode ${r.rcode}\n${u.log()}`);
    assert.equal(r.ad, true, `${name}/${type}: AD (validated)\n${u.log()}`);
    check(r);
  }
});

test('unbound SERVFAILs when the server signs with a key the DS does not match', async (t) => {
  if (!unboundBin) return t.skip('unbound is not installed (apt-get install unbound)');
  const wrong = keyFile('wrong.pem');
  const s = await serve(signedConfig(wrong.file));
  const u = await resolver(s.port, dsGood);
  for (const [name, type] of [['static.svc.plus', RRType.A], ['api.svc.plus', RRType.A], ['missing.svc.plus', RRType.A]] as const) {
    const r = await ask(u.port, name, type);
    assert.equal(r.rcode, Rcode.SERVFAIL, `${name}: ${u.log()}`);
  }
});

test('unbound SERVFAILs on expired signatures', async (t) => {
  if (!unboundBin) return t.skip('unbound is not installed (apt-get install unbound)');
  const k = keyFile('expired.pem');
  // signed 30 days ago with a 14-day validity: every signature expired two weeks ago
  const clock = new ManualClock(0, Date.now() - 30 * 86_400_000);
  const s = await serve(signedConfig(k.file), { clock });
  const u = await resolver(s.port, k.ds);
  for (const name of ['static.svc.plus', 'api.svc.plus']) {
    const r = await ask(u.port, name);
    assert.equal(r.rcode, Rcode.SERVFAIL, `${name}: ${u.log()}`);
  }
  // the same key signing now validates: the DS was right, only the dates were wrong
  const fresh = await serve(signedConfig(k.file));
  const u2 = await resolver(fresh.port, k.ds);
  assert.equal((await ask(u2.port, 'static.svc.plus')).ad, true);
});

test('ed25519 zones validate too', async (t) => {
  if (!unboundBin) return t.skip('unbound is not installed (apt-get install unbound)');
  const k = keyFile('ed.pem', 'ed25519');
  const s = await serve(signedConfig(k.file, 'ed25519'));
  const u = await resolver(s.port, k.ds);
  for (const name of ['api.svc.plus', 'missing.svc.plus']) assert.equal((await ask(u.port, name)).ad, true, name);
});

test('delv +vtrace fully validates a GTM answer and a missing name with the DS as trust anchor', async (t) => {
  const delv = which('delv');
  if (!delv) return t.skip('delv is not installed (apt-get install bind9-dnsutils)');
  const [tag, alg, digestType, digest] = dsGood.split(' ');
  const anchors = join(dir, 'anchors.conf');
  writeFileSync(anchors, `trust-anchors { "svc.plus." static-ds ${tag} ${alg} ${digestType} "${digest}"; };\n`);
  for (const [name, type] of [['api.svc.plus', 'A'], ['static.svc.plus', 'AAAA'], ['missing.svc.plus', 'A'], ['x.wild.svc.plus', 'A']]) {
    const { stdout, stderr } = await execFileAsync(delv, [`@127.0.0.1`, '-p', String(good.port), '-a', anchors, '+root=svc.plus', '+vtrace', name!, type!], { timeout: 20_000 }).catch((e) => e as { stdout: string; stderr: string });
    assert.match(stdout, /fully validated/, `${name} ${type}:\n${stdout}\n${stderr}`);
  }
});

test('kdig +dnssec shows the RRSIG and the DO bit', async (t) => {
  const kdig = which('kdig');
  if (!kdig) return t.skip('kdig is not installed (apt-get install knot-dnsutils)');
  const { stdout } = await execFileAsync(kdig, ['@127.0.0.1', '-p', String(good.port), '+dnssec', 'api.svc.plus', 'A']);
  assert.match(stdout, /EDNS PSEUDOSECTION:[\s\S]*Version: 0; flags: do/);
  assert.match(stdout, /api\.svc\.plus\.\s+30\s+IN\s+RRSIG\s+A 13 3 30 /);
});

test('fleet signal: the DNSKEY set is named by a fingerprint in dnssecKeysets() and edgeplane_dns_dnssec_keyset_info', async () => {
  const same = await serve(signedConfig(join(dir, 'good.pem')));
  const other = await serve(signedConfig(keyFile('other.pem').file));
  const [a] = good.server.dnssecKeysets();
  assert.equal(a!.zone, 'svc.plus');
  assert.match(a!.fingerprint, /^[0-9a-f]{16}$/);
  assert.deepEqual(same.server.dnssecKeysets(), [a], 'same key files, same set');
  assert.notEqual(other.server.dnssecKeysets()[0]!.fingerprint, a!.fingerprint, 'another key, another set');
  const text = await registry.metrics();
  assert.match(text, /edgeplane_dns_dnssec_keyset_info\{zone="svc.plus",fingerprint="[0-9a-f]{16}",key_tags="\d+"\} 1/);
});
