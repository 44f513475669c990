import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { hostname } from 'node:os';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode, RRClass, RRType } from '../../../src/dns/wire/constants.ts';
import { startServer, testConfig, udpQuery, tcpQuery, type Started } from './helpers.ts';
import { which } from './unbound.ts';

const execFileAsync = promisify(execFile);
const servers: Started[] = [];
after(async () => {
  for (const s of servers) await s.server.close();
});
async function start(identity?: NonNullable<Parameters<typeof testConfig>[0]>['identity']): Promise<Started> {
  const s = await startServer(testConfig(identity ? { identity } : {}));
  servers.push(s);
  return s;
}
const ch = (name: string, type: number = RRType.TXT) => buildQuery(name, { type, class: RRClass.CH });
const nsidOf = (r: Awaited<ReturnType<typeof udpQuery>>) => r.opt?.options.find((o) => o.code === 3)?.data.toString('utf8');

test('defaults: NSID and id.server / hostname.bind say the host name; version.bind is refused', async () => {
  const s = await start();
  const r = await udpQuery(s.port, buildQuery('static.svc.plus', { edns: { options: [{ code: 3, data: Buffer.alloc(0) }] } }));
  assert.equal(r.rcode, Rcode.NOERROR);
  assert.equal(nsidOf(r), hostname());
  // not asked, not sent
  assert.equal(nsidOf(await udpQuery(s.port, buildQuery('static.svc.plus', { edns: {} }))), undefined);
  for (const name of ['id.server', 'HOSTNAME.bind']) {
    const t = await udpQuery(s.port, ch(name));
    assert.equal(t.rcode, Rcode.NOERROR, name);
    assert.ok(t.aa);
    assert.equal(t.answers.length, 1);
    assert.equal(t.answers[0]!.class, RRClass.CH);
    assert.equal(t.answers[0]!.data, JSON.stringify(hostname()));
  }
  assert.equal((await udpQuery(s.port, ch('version.bind'))).rcode, Rcode.REFUSED);
  assert.equal((await udpQuery(s.port, ch('anything.else'))).rcode, Rcode.REFUSED);
});

test('configured: a chosen server id and version; NSID off; everything off', async () => {
  const s = await start({ serverId: 'ns1-jp', version: 'edge 1', nsid: false });
  assert.equal((await tcpQuery(s.port, ch('id.server'))).answers[0]!.data, '"ns1-jp"');
  assert.equal((await udpQuery(s.port, ch('version.bind'))).answers[0]!.data, '"edge 1"');
  assert.equal((await udpQuery(s.port, ch('version.server', RRType.ANY))).answers[0]!.data, '"edge 1"');
  const a = await udpQuery(s.port, ch('id.server', RRType.A));
  assert.equal(a.rcode, Rcode.NOERROR);
  assert.equal(a.answers.length, 0);
  assert.equal(nsidOf(await udpQuery(s.port, buildQuery('static.svc.plus', { edns: { options: [{ code: 3, data: Buffer.alloc(0) }] } }))), undefined);
  const off = await start({ serverId: false, version: false });
  assert.equal((await udpQuery(off.port, ch('id.server'))).rcode, Rcode.REFUSED);
  assert.equal(nsidOf(await udpQuery(off.port, buildQuery('static.svc.plus', { edns: { options: [{ code: 3, data: Buffer.alloc(0) }] } }))), undefined);
});

test('dig +nsid and dig CH TXT id.server show the identity', async (t) => {
  const dig = which('dig');
  if (!dig) return t.skip('dig is not installed (apt-get install bind9-dnsutils)');
  const s = await start({ serverId: 'ns-dig-test' });
  const { stdout } = await execFileAsync(dig, ['@127.0.0.1', '-p', String(s.port), '+nsid', 'static.svc.plus', 'A']);
  assert.match(stdout, /NSID: .*\("ns-dig-test"\)/);
  const chaos = await execFileAsync(dig, ['@127.0.0.1', '-p', String(s.port), '+short', 'CH', 'TXT', 'id.server']);
  assert.equal(chaos.stdout.trim(), '"ns-dig-test"');
});
