import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DnsSource, wireResolver } from '../../../src/discovery/dns.ts';
import { query } from '../../../src/discovery/dns-client.ts';
import { EndpointTable } from '../../../src/health/endpoint-table.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { seededRng } from '../../../src/util/rng.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { waitFor } from '../../helpers/wait.ts';

// A real authoritative server (Knot DNS) serving the zone discovery reads.
const knotd = spawnSync('sh', ['-c', 'command -v knotd'], { encoding: 'utf8' }).stdout.trim();
const knotc = spawnSync('sh', ['-c', 'command -v knotc'], { encoding: 'utf8' }).stdout.trim();
const skip = !knotd || !knotc ? 'knotd/knotc not installed (Debian package knot, listed in .ci/apt-packages.txt)' : false;

const dir = mkdtempSync(join(tmpdir(), 'edgeplane-knot-'));
let proc: ChildProcess | undefined;
let port = 0;
let serial = 1;

const zone = (extra: string) => `$ORIGIN svc.test.
$TTL 1
@ SOA ns1 hostmaster ${serial} 3600 600 86400 1
@ NS ns1
ns1 A 127.0.0.1
_http._tcp.api SRV 10 5 18081 node1
_http._tcp.api SRV 10 5 18082 node2
_http._tcp.api SRV 20 5 18089 backup
_http._tcp.ext SRV 0 0 18090 host.other.test.
node1 A 127.0.0.1
node2 A 127.0.0.2
backup A 127.0.0.9
web A 127.0.0.11
web A 127.0.0.12
alias CNAME web
v6 AAAA ::1
${extra}
`;

const otherZone = `$ORIGIN other.test.
$TTL 1
@ SOA ns1.svc.test. hostmaster 1 3600 600 86400 1
@ NS ns1.svc.test.
host A 127.0.0.21
`;

/** A port free for both UDP and TCP on 127.0.0.1. */
async function freePort(): Promise<number> {
  for (;;) {
    const tcp = net.createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const p = (tcp.address() as net.AddressInfo).port;
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((r) => {
      udp.once('error', () => r(false));
      udp.bind(p, '127.0.0.1', () => r(true));
    });
    udp.close();
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) return p;
  }
}

function reloadZone(extra: string): void {
  serial++;
  writeFileSync(join(dir, 'svc.test.zone'), zone(extra));
  const r = spawnSync(knotc, ['-c', join(dir, 'knot.conf'), 'zone-reload', 'svc.test'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

before(async () => {
  if (skip) return;
  port = await freePort();
  writeFileSync(join(dir, 'svc.test.zone'), zone(''));
  writeFileSync(join(dir, 'other.test.zone'), otherZone);
  writeFileSync(
    join(dir, 'knot.conf'),
    `server:
    listen: 127.0.0.1@${port}
    rundir: ${dir}
database:
    storage: ${dir}
control:
    listen: ${dir}/knot.sock
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: ${dir}
    file: "%s.zone"
    zonefile-load: whole
    journal-content: none
zone:
  - domain: svc.test
  - domain: other.test
`,
  );
  proc = spawn(knotd, ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const resolve = wireResolver([{ host: '127.0.0.1', port }], 500);
  await waitFor(async () => (await resolve('web.svc.test', 'A', 80)).addresses.length === 2, { what: `knotd to answer (${err})` });
});

after(() => {
  proc?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test('SRV: the lowest priority\'s targets with their ports, addresses from the additional section', { skip }, async () => {
  const r = await wireResolver([{ host: '127.0.0.1', port }], 1000)('_http._tcp.api.svc.test', 'SRV', undefined);
  assert.deepEqual(r.addresses.sort(), ['127.0.0.1:18081', '127.0.0.2:18082'], 'priority 20 is only a fallback');
  assert.equal(r.ttl, 1);
});

test('SRV targets outside the answer\'s additional data are resolved with their own query', { skip }, async () => {
  const raw = await query({ host: '127.0.0.1', port }, '_http._tcp.ext.svc.test', 'SRV', 1000);
  assert.equal(raw.additionals.filter((a) => a.name === 'host.other.test').length, 0, 'the server gave no address for the target');
  const r = await wireResolver([{ host: '127.0.0.1', port }], 1000)('_http._tcp.ext.svc.test', 'SRV', undefined);
  assert.deepEqual(r.addresses, ['127.0.0.21:18090']);
});

test('A through a CNAME and AAAA, with the configured port', { skip }, async () => {
  const resolve = wireResolver([{ host: '127.0.0.1', port }], 1000);
  assert.deepEqual((await resolve('alias.svc.test', 'A', 8080)).addresses.sort(), ['127.0.0.11:8080', '127.0.0.12:8080']);
  assert.deepEqual((await resolve('v6.svc.test', 'AAAA', 8080)).addresses, ['[::1]:8080']);
  await assert.rejects(resolve('nope.svc.test', 'A', 80), /NXDOMAIN/);
  await assert.rejects(resolve('api.unknown.zone', 'A', 80), /REFUSED|NXDOMAIN|NOTAUTH|RCODE/);
});

test('through the endpoint table, with the config shape', { skip }, async () => {
  const table = new EndpointTable({ rng: seededRng(3) });
  try {
    table.update([{ name: 'dns', discovery: { dns: { name: 'web.svc.test', type: 'A', port: 9000, resolvers: [`127.0.0.1:${port}`], timeout: '300ms' } } }]);
    await waitFor(() => table.cluster('dns')!.endpoints.length === 2, { what: 'the resolved endpoints' });
    assert.deepEqual(table.cluster('dns')!.endpoints.map((e) => e.address).sort(), ['127.0.0.11:9000', '127.0.0.12:9000']);
    const rep = table.healthReport().clusters[0]!;
    assert.equal(rep.discovery.source, 'dns');
    assert.equal(rep.discovery.ok, true);
  } finally {
    table.close();
  }
});

test('re-resolved on TTL: a changed zone shows up; a failing server keeps the last set (stops knotd: keep last)', { skip }, async () => {
  const sets: string[][] = [];
  const source = new DnsSource({
    cluster: 'dns-knot',
    name: '_http._tcp.api.svc.test',
    type: 'SRV',
    port: undefined,
    minIntervalMs: 200,
    maxIntervalMs: 5000,
    clock: systemClock,
    rng: seededRng(2),
    logger: silentLogger,
    resolver: wireResolver([{ host: '127.0.0.1', port }], 300),
  });
  source.start({ endpoints: (a) => sets.push([...a]) });
  try {
    await waitFor(() => sets.length === 1, { what: 'the first set' });
    reloadZone('node3 A 127.0.0.3\n_http._tcp.api SRV 10 5 18083 node3');
    await waitFor(() => sets.at(-1)?.includes('127.0.0.3:18083'), { what: 'the new SRV record after the TTL' });
    reloadZone('_http._tcp.gone SRV 10 5 1 node1'); // api records unchanged, nothing to announce
    proc!.kill();
    await waitFor(() => !source.status().ok, { what: 'the failure while knotd is down' });
    assert.match(source.status().error!, /timed out|ECONNREFUSED/);
    assert.deepEqual(sets.at(-1)!.sort(), ['127.0.0.1:18081', '127.0.0.2:18082', '127.0.0.3:18083'], 'last set kept');
  } finally {
    source.stop();
  }
});

