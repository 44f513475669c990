import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { compileZones } from '../../../src/dns/zone/compile.ts';
import { startServer, testConfig, testZone, udpQuery, type Started } from './helpers.ts';

// RFC 4592 wildcards, checked on the wire (the signed form is in dnssec.test.ts).

let s: Started;
before(async () => {
  const cfg = testConfig();
  cfg.zones[0]!.records!.push(
    { name: '*.wild', type: 'A', value: '192.0.2.99' },
    { name: '*.wild', type: 'MX', value: '10 mail.svc.plus' },
    { name: 'real.wild', type: 'TXT', value: 'I exist' },
    { name: 'x.ent.wild', type: 'A', value: '192.0.2.98' },
    { name: '*.alias', type: 'CNAME', value: 'static.svc.plus' },
  );
  s = await startServer(cfg);
});
after(async () => {
  await s?.server.close();
});

test('a missing name below a wildcard\'s parent is synthesized with the query name as owner, in the query\'s case', async () => {
  for (const name of ['foo.wild.svc.plus', 'A.B.Wild.svc.plus']) {
    const r = await udpQuery(s.port, buildQuery(name));
    assert.equal(r.rcode, Rcode.NOERROR, name);
    assert.ok(r.aa);
    assert.deepEqual(r.answers.map((a) => [a.name, a.data]), [[`${name}.`, '192.0.2.99']]);
  }
  const mx = await udpQuery(s.port, buildQuery('foo.wild.svc.plus', { type: RRType.MX }));
  assert.deepEqual(mx.answers.map((a) => a.data), ['10 mail.svc.plus.']);
  assert.deepEqual(mx.additional.map((a) => a.data), ['192.0.2.25'], 'additional addresses as for any MX');
});

test('wildcard NODATA, CNAME wildcards, and names that exist (or are empty non-terminals) are not synthesized', async () => {
  const nodata = await udpQuery(s.port, buildQuery('foo.wild.svc.plus', { type: RRType.TXT }));
  assert.equal(nodata.rcode, Rcode.NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authority[0]!.type, RRType.SOA);
  const real = await udpQuery(s.port, buildQuery('real.wild.svc.plus', { type: RRType.A }));
  assert.equal(real.answers.length, 0, 'an existing name blocks the wildcard (NODATA)');
  const ent = await udpQuery(s.port, buildQuery('ent.wild.svc.plus'));
  assert.equal(ent.rcode, Rcode.NOERROR);
  assert.equal(ent.answers.length, 0, 'an empty non-terminal blocks it too');
  const below = await udpQuery(s.port, buildQuery('y.ent.wild.svc.plus'));
  assert.equal(below.rcode, Rcode.NXDOMAIN, 'the closest encloser ent.wild has no wildcard');
  const literal = await udpQuery(s.port, buildQuery('*.wild.svc.plus'));
  assert.deepEqual(literal.answers.map((a) => [a.name, a.data]), [['*.wild.svc.plus.', '192.0.2.99']]);
  const cname = await udpQuery(s.port, buildQuery('q.alias.svc.plus'));
  assert.deepEqual(cname.answers.map((a) => [a.name, a.type]), [['q.alias.svc.plus.', RRType.CNAME], ['static.svc.plus.', RRType.A], ['static.svc.plus.', RRType.A]]);
  assert.equal((await udpQuery(s.port, buildQuery('nothing.svc.plus'))).rcode, Rcode.NXDOMAIN, 'no wildcard at the apex');
});

test('wildcards in the middle of a name, in values, at a GTM name or with NS are config errors', () => {
  const bad = (records: { name: string; type: string; value: string }[], gtm?: string) => {
    const z = testZone();
    z.records = [...z.records!, ...records];
    if (gtm) z.gtm = [{ name: gtm, regions: [{ region: 'jp', vips: ['192.0.2.1'], weight: 1 }] }];
    return compileZones({ listen: ['127.0.0.1:0'], zones: [z] }).issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };
  assert.match(bad([{ name: 'a.*.b', type: 'A', value: '192.0.2.1' }]).join('\n'), /only valid as the first label/);
  assert.match(bad([{ name: 'x', type: 'CNAME', value: '*.svc.plus' }]).join('\n'), /only valid as the first label/);
  assert.match(bad([{ name: '*.d', type: 'NS', value: 'ns1.svc.plus' }]).join('\n'), /cannot be a delegation/);
  assert.match(bad([], '*.g').join('\n'), /GTM names cannot be wildcards/);
  assert.deepEqual(bad([{ name: '*', type: 'TXT', value: 'ok' }]), []);
});
