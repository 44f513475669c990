import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig } from '../../../src/config/load.ts';
import type { DnsConfig } from '../../../src/config/schema/index.ts';
import { compileZones } from '../../../src/dns/zone/compile.ts';
import { resolve } from '../../../src/dns/zone/resolve.ts';
import { nameFromText, nameKey } from '../../../src/dns/wire/name.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';

type Zone = DnsConfig['zones'][number];
const soa = { mname: 'ns1.svc.plus', rname: 'hostmaster@svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 };
const zone = (extra: Partial<Zone> = {}): Zone => ({ origin: 'svc.plus', soa, nameservers: ['ns1.svc.plus'], ...extra });
const dns = (zones: Zone[], extra: Partial<DnsConfig> = {}): DnsConfig => ({ listen: ['127.0.0.1:0'], zones, ...extra });

function issues(d: DnsConfig): string[] {
  return checkConfig({ node: { id: 'gw', region: 'jp' }, listeners: [], clusters: [], routes: [], dns: d }).map((i) => `${i.path}: ${i.message}`);
}

test('a valid zone compiles: apex SOA/NS, ENTs, cuts, negative TTL', () => {
  const { zones, issues: errs } = compileZones(dns([zone({
    ttl: 600,
    records: [
      { name: 'a.b.c', type: 'A', value: '192.0.2.1' },
      { name: 'sub', type: 'NS', value: 'ns.sub.svc.plus' },
      { name: 'ns.sub', type: 'A', value: '192.0.2.53' },
    ],
    gtm: [{ name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10', '2001:db8::10'], weight: 1 }] }],
  })]));
  assert.deepEqual(errs, []);
  const z = zones[0]!;
  assert.equal(z.negativeTtl, 30);
  assert.equal(z.soa.ttl, 600, 'SOA ttl defaults to the zone ttl');
  const node = (n: string) => z.nodes.get(nameKey(nameFromText(n)));
  assert.equal(node('b.c.svc.plus')!.rrsets.size, 0, 'empty non-terminal');
  assert.equal(node('c.svc.plus')!.rrsets.size, 0);
  assert.ok(node('sub.svc.plus')!.cut);
  assert.equal(node('ns.sub.svc.plus')!.delegatedAt, node('sub.svc.plus')!.key);
  const api = node('api.svc.plus')!;
  assert.equal(api.gtm!.ttl, 30);
  assert.equal(api.gtm!.answers, 1);
  assert.equal(api.gtm!.regions[0]!.v4.length, 1);
  assert.equal(api.gtm!.regions[0]!.v6.length, 1);
  const r = resolve(z, api, RRType.AAAA);
  assert.equal(r.gtm!.family, 6);
  const nodata = resolve(z, api, RRType.TXT);
  assert.equal(nodata.rcode, Rcode.NOERROR);
  assert.equal(nodata.authority[0]!.rrset.ttl, 30);
  // rname given as a mailbox becomes a name
  const soaRd = z.soa.rdatas[0]!;
  assert.ok(soaRd.type === RRType.SOA && soaRd.rname.equals(nameFromText('hostmaster.svc.plus')));
});

test('zone contradictions are config errors that name the path', () => {
  const errs = issues(dns([zone({
    records: [
      { name: 'www', type: 'CNAME', value: 'api.svc.plus' },
      { name: 'www', type: 'TXT', value: 'x' },
      { name: '@', type: 'CNAME', value: 'x.example' },
      { name: 'dup', type: 'A', value: '192.0.2.1' },
      { name: 'dup', type: 'A', value: '192.0.2.1' },
      { name: 'ttl', type: 'A', value: '192.0.2.1', ttl: 10 },
      { name: 'ttl', type: 'A', value: '192.0.2.2', ttl: 20 },
      { name: 'sub', type: 'NS', value: 'ns.sub.svc.plus' },
      { name: 'x.sub', type: 'TXT', value: 'occluded' },
      { name: 'bad', type: 'A', value: 'not-an-ip' },
      { name: 'odd', type: 'HINFO', value: 'a b' },
      { name: 'out.example.', type: 'A', value: '192.0.2.1' },
      { name: '@', type: 'NS', value: 'ns9.svc.plus' },
      { name: 'api', type: 'A', value: '192.0.2.9' },
    ],
    gtm: [
      { name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 1, fallback: ['jp', 'us'] }] },
      { name: 'api', regions: [{ region: 'jp', vips: ['bogus'], weight: 1 }] },
      { name: 'x.sub', regions: [{ region: 'jp', vips: ['203.0.113.11'], weight: 1 }] },
    ],
  })]));
  const expect = [
    /^dns\.zones\[0\]\.records\[0\]: www\.svc\.plus has a CNAME and other data/,
    /^dns\.zones\[0\]\.records\[2\]\.type: a CNAME at the zone apex/,
    /^dns\.zones\[0\]\.records\[4\]: duplicate record/,
    /^dns\.zones\[0\]\.records\[6\]\.ttl: all A records of ttl\.svc\.plus must have the same TTL/,
    /^dns\.zones\[0\]\.records\[8\]: x\.sub\.svc\.plus is at or below the delegation sub\.svc\.plus/,
    /^dns\.zones\[0\]\.records\[9\]\.value: "not-an-ip" is not an IPv4 address/,
    /^dns\.zones\[0\]\.records\[10\]\.type: record type HINFO is not supported/,
    /^dns\.zones\[0\]\.records\[11\]\.name: out\.example is outside zone svc\.plus/,
    /^dns\.zones\[0\]\.records\[12\]\.type: NS records at the apex come from the zone's nameservers list/,
    /^dns\.zones\[0\]\.records\[13\]: api\.svc\.plus is a GTM name/,
    /^dns\.zones\[0\]\.gtm\[0\]\.regions\[0\]\.fallback\[0\]: a region cannot fall back to itself/,
    /^dns\.zones\[0\]\.gtm\[0\]\.regions\[0\]\.fallback\[1\]: region us is not one of this name's regions/,
    /^dns\.zones\[0\]\.gtm\[1\]\.name: GTM name api\.svc\.plus is already defined/,
    /^dns\.zones\[0\]\.gtm\[2\]: GTM name x\.sub\.svc\.plus is at or below the delegation/,
  ];
  for (const re of expect) assert.ok(errs.some((e) => re.test(e)), `missing ${re} in:\n${errs.join('\n')}`);
});

test('zone-level and dns-level checks: origins, names, nested zones, geo, RRL, listen', () => {
  const errs = issues(dns([
    zone({ records: [{ name: 'x.eu', type: 'A', value: '192.0.2.1' }] }),
    zone(),
    zone({ origin: 'bad..origin' }),
    zone({ origin: 'eu.svc.plus' }),
  ], {
    listen: ['127.0.0.1:5353', '127.0.0.1:5353', 'nonsense'],
    geo: {
      networks: [{ cidr: '10.0.0.0/8', region: 'jp' }, { cidr: '10.0.0.0/8', region: 'jp' }, { cidr: '10.1.2.3/8', region: 'jp' }, { cidr: '300.0.0.0/8', region: 'jp' }, { cidr: '192.0.2.0/24', region: 'mars' }],
      mmdb: { path: 'x.mmdb', countries: { JP: 'jp', XX: 'venus' } },
    },
    rrl: { exempt: ['not-a-cidr'] },
  }));
  const expect = [
    /^dns\.zones\[1\]\.origin: zone svc\.plus is already defined by dns\.zones\[0\]/,
    /^dns\.zones\[2\]\.origin: empty label/,
    /^dns\.zones\[0\]: x\.eu\.svc\.plus belongs to zone eu\.svc\.plus/,
    /^dns\.listen\[1\]: 127\.0\.0\.1:5353 is already listed/,
    /^dns\.listen\[2\]: /,
    /^dns\.geo\.networks\[1\]\.cidr: 10\.0\.0\.0\/8 is already mapped/,
    /^dns\.geo\.networks\[2\]\.cidr: .*bits set past \/8 \(did you mean 10\.0\.0\.0\/8\?\)/,
    /^dns\.geo\.networks\[3\]\.cidr: .*not an IP network/,
    /^dns\.geo\.networks\[4\]\.region: region "mars" is not served by any GTM name/,
    /^dns\.geo\.mmdb\.countries\.XX: region "venus" is not served/,
    /^dns\.rrl\.exempt\[0\]: /,
  ];
  for (const re of expect) assert.ok(errs.some((e) => re.test(e)), `missing ${re} in:\n${errs.join('\n')}`);
});

test('schema rejects unknown keys and bad values in the dns section', () => {
  const errs = issues({ ...dns([zone()]), rrl: { slip: 99 }, udpPayloadSize: 100, geo: { mmdb: { path: 'x', countries: { jp: 'jp' } } }, zones: [{ ...zone(), gtm: [{ name: 'api', answers: 0, regions: [{ region: 'jp', vips: ['1.2.3.4'], weight: 1 }] }] }], typo: 1 } as unknown as DnsConfig);
  for (const re of [/^dns\.rrl\.slip/, /^dns\.udpPayloadSize/, /^dns\.geo\.mmdb\.countries/, /^dns\.zones\[0\]\.gtm\[0\]\.answers/, /typo/]) {
    assert.ok(errs.some((e) => re.test(e)), `missing ${re} in:\n${errs.join('\n')}`);
  }
});

test('the demo config is valid', async () => {
  const { loadConfigFile } = await import('../../../src/config/load.ts');
  const cfg = loadConfigFile(new URL('../../../examples/demo.yaml', import.meta.url).pathname, { env: {} });
  assert.ok(cfg.dns);
  assert.deepEqual(compileZones(cfg.dns!).issues, []);
});
