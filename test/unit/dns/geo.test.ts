import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CidrTrie } from '../../../src/dns/geo/cidr-trie.ts';
import { parseCidr } from '../../../src/dns/geo/cidr.ts';
import { GeoLocator } from '../../../src/dns/geo/locator.ts';
import { MmdbRegionMap } from '../../../src/dns/geo/mmdb.ts';
import { parseIPv4, parseIPv6 } from '../../../src/dns/wire/ip.ts';
import { DnsError } from '../../../src/dns/errors.ts';
import { writeMmdb } from './helpers/mmdb-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-geo-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function trie4(entries: [string, string][]): CidrTrie<string> {
  const t = new CidrTrie<string>(4);
  for (const [cidr, v] of entries) {
    const c = parseCidr(cidr);
    t.insert(c.bytes, c.prefix, v);
  }
  return t;
}

test('longest prefix wins, and decidedBits says how much of the address mattered', () => {
  const t = trie4([['10.0.0.0/8', 'a'], ['10.1.0.0/16', 'b'], ['10.1.2.0/24', 'c'], ['0.0.0.0/0', 'default']]);
  const look = (ip: string, bits?: number) => ({ ...t.lookup(parseIPv4(ip)!, bits) });
  assert.deepEqual(look('10.1.2.3'), { value: 'c', prefix: 24, decidedBits: 24 });
  assert.equal(look('10.1.3.3').value, 'b');
  assert.equal(look('10.2.0.1').value, 'a');
  assert.equal(look('192.0.2.1').value, 'default');
  // 10.2.0.1 matches /8, but 10.1/16 is near: only the first 15 bits decide
  assert.equal(look('10.2.0.1').decidedBits, 15);
  assert.equal(look('192.0.2.1').decidedBits, 1);
  // an ECS /12 can't tell 10.0/16 from 10.1/16: it needs more bits than it has
  const short = look('10.0.0.0', 12);
  assert.equal(short.value, 'a');
  assert.equal(short.decidedBits, 13);
  assert.equal(t.insert(parseIPv4('10.0.0.0')!, 8, 'again'), false, 'duplicates keep the first');
  const empty = new CidrTrie<string>(4);
  assert.deepEqual({ ...empty.lookup(parseIPv4('1.2.3.4')!) }, { value: undefined, prefix: 0, decidedBits: 0 });
});

test('IPv6 trie', () => {
  const t = new CidrTrie<string>(6);
  t.insert(parseIPv6('2001:db8::')!, 32, 'doc');
  t.insert(parseIPv6('2001:db8:aa::')!, 48, 'aa');
  assert.equal(t.lookup(parseIPv6('2001:db8:aa::1')!).value, 'aa');
  assert.equal(t.lookup(parseIPv6('2001:db8:bb::1')!).value, 'doc');
  assert.equal(t.lookup(parseIPv6('2001:db9::1')!).value, undefined);
});

test('parseCidr rejects host bits and bad prefixes', () => {
  assert.equal(parseCidr('192.0.2.7').prefix, 32);
  assert.throws(() => parseCidr('192.0.2.7/24'), (e: unknown) => e instanceof DnsError && /did you mean 192\.0\.2\.0\/24/.test(e.message));
  assert.throws(() => parseCidr('192.0.2.0/33'), /prefix length/);
  assert.throws(() => parseCidr('2001:db8::/129'), /prefix length/);
});

test('locator: CIDR table first, then MMDB country, then continent; scope from both', () => {
  const file = join(dir, 'test.mmdb');
  writeFileSync(file, writeMmdb([
    { cidr: '203.0.113.0/24', country: 'JP', continent: 'AS' },
    { cidr: '198.51.100.0/24', country: 'SG', continent: 'AS' },
    { cidr: '192.0.2.0/25', country: 'DE', continent: 'EU' },
    { cidr: '2001:db8:1::/48', country: 'JP', continent: 'AS' },
  ]));
  const mmdb = new MmdbRegionMap(file, { JP: 'jp', SG: 'sg' }, { EU: 'eu' });
  const loc = new GeoLocator([{ cidr: '203.0.113.128/25', region: 'sg' }], mmdb, ['jp', 'sg', 'eu']);
  const at = (ip: string) => {
    const r = loc.locateAddress(ip);
    return { region: r.region < 0 ? undefined : loc.regions[r.region], scope: r.scope };
  };
  assert.deepEqual(at('203.0.113.200'), { region: 'sg', scope: 25 }, 'explicit network beats MMDB');
  // MMDB says /24 is JP, but the upper /25 is mapped to sg explicitly: 25 bits decide
  assert.deepEqual(at('203.0.113.7'), { region: 'jp', scope: 25 }, 'MMDB country');
  assert.deepEqual(at('192.0.2.5'), { region: 'eu', scope: 25 }, 'continent when the country is unmapped');
  assert.equal(at('2001:db8:1::5').region, 'jp');
  assert.equal(at('::ffff:203.0.113.7').region, 'jp', 'v4-mapped addresses are IPv4');
  assert.equal(at('100.64.0.1').region, undefined);
  assert.equal(loc.locateAddress('203.0.113.7'), loc.locateAddress('203.0.113.7'), 'resolver addresses are cached');
  // ECS with source 0: the client asked not to be located
  assert.deepEqual(loc.locateBytes(parseIPv4('203.0.113.7')!, 4, 0), { region: -1, scope: 0 });
});

test('MMDB errors are DnsErrors with the reason', () => {
  assert.throws(() => new MmdbRegionMap(join(dir, 'missing.mmdb')), (e: unknown) => e instanceof DnsError && /ENOENT/.test(e.message));
  const junk = join(dir, 'junk.mmdb');
  writeFileSync(junk, 'not a database');
  assert.throws(() => new MmdbRegionMap(junk), /not a MaxMind DB/);
});
