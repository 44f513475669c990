import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { checkConfigFile } from '../../../src/cli/check.ts';
import { split } from '../../../src/cli/release.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const head = 'node: { id: a, region: jp }\n';
const cluster = 'clusters: [ { name: c, endpoints: [127.0.0.1:9] } ]\n';

function issues(text: string) {
  try {
    parseConfig(text);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

test('route methods are an enum of HTTP methods: GETT is refused with its path and line, M-SEARCH and PURGE are accepted', () => {
  const route = (methods: string) => `${head}listeners: [ { name: h, address: 127.0.0.1:0, protocol: http } ]\n${cluster}routes:\n  - name: r\n    match: { methods: [${methods}] }\n    split: [ { cluster: c, weight: 1 } ]\n`;
  const bad = issues(route('GET, GETT'));
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.path, 'routes[0].match.methods[1]');
  assert.equal(bad[0]!.line, 6);
  assert.match(bad[0]!.message, /must be one of GET, HEAD, POST, .*\(got "GETT"\)/);
  assert.deepEqual(issues(route('GET, M-SEARCH, PURGE, get')).map((i) => i.path), ['routes[0].match.methods[3]'], 'lower case is a typo too');
  assert.deepEqual(issues(route('GET, POST, M-SEARCH, PURGE')), []);
});

test('a config without listeners is an error unless it has a dns section (a DNS-only gateway)', async () => {
  const dir = tempDir('edgeplane-rules-');
  const none = join(dir, 'none.yaml');
  writeFileSync(none, `${head}listeners: []\n${cluster}routes: []\nadmin: { address: 127.0.0.1:0 }\n`);
  const dnsOnly = join(dir, 'dns-only.yaml');
  writeFileSync(dnsOnly, `${head}listeners: []\nclusters: []\nroutes: []\nadmin: { address: 127.0.0.1:0 }\ndns:\n  listen: [127.0.0.1:0]\n  zones:\n    - origin: svc.plus\n      soa: { mname: ns1.svc.plus, rname: hostmaster.svc.plus, refresh: 3600, retry: 600, expire: 86400, minimum: 30 }\n      nameservers: [ns1.svc.plus]\n      records: [ { name: ns1, type: A, value: 203.0.113.53 } ]\n`);
  const a = await checkConfigFile(none);
  assert.deepEqual(a.errors, [`${none}: listeners (line 2): no listeners and no dns section: this gateway would serve nothing (add a listener, or a dns section for a DNS-only gateway)`]);
  const b = await checkConfigFile(dnsOnly);
  assert.deepEqual(b.errors, []);
});

test('the release CLI shows relative weights with their share of the total', () => {
  assert.equal(split([{ cluster: 'blue', weight: 9 }, { cluster: 'green', weight: 1 }]), 'blue 9 (90%) / green 1 (10%)');
  assert.equal(split([{ cluster: 'blue', weight: 200 }, { cluster: 'green', weight: 100 }]), 'blue 200 (66.7%) / green 100 (33.3%)');
  assert.equal(split([{ cluster: 'blue', weight: 0 }]), 'blue 0 (0%)');
});
