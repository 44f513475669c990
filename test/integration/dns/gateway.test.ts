/**
 * `edgeplane run` with a `dns:` section serves DNS: the responder is wired
 * into the gateway, its sockets are in the ready file, and a config change
 * (SIGHUP reload) reaches the zones without a restart.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { Rcode, RRType } from '../../../src/dns/wire/constants.ts';
import { udpQuery, tcpQuery, eventually } from './helpers.ts';

let gw: GatewayProcess | undefined;
after(async () => {
  await gw?.stop();
});

function config(extraRecords: { name: string; type: string; value: string }[] = []) {
  return {
    node: { id: 'gw-dns', region: 'jp' },
    listeners: [],
    clusters: [],
    routes: [],
    admin: { address: '127.0.0.1:0', stateDir: './state' },
    dns: {
      listen: ['127.0.0.1:0'],
      zones: [{
        origin: 'svc.plus',
        soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
        nameservers: ['ns1.svc.plus'],
        records: [{ name: 'ns1', type: 'A', value: '203.0.113.53' }, ...extraRecords],
        gtm: [{ name: 'api', ttl: 30, regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 120 }, { region: 'sg', vips: ['198.51.100.10'], weight: 80 }] }],
      }],
      geo: { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }] },
    },
  };
}

test('a gateway with a dns section answers GTM names over UDP and TCP and picks up zone changes on reload', async () => {
  gw = await startGateway(config());
  const dns = gw.ready.dns as { udp: { port: number }[]; tcp: { port: number }[] };
  assert.ok(dns, 'the ready file lists the DNS sockets');
  const port = dns.udp[0]!.port;
  assert.equal(dns.tcp[0]!.port, port);
  const r = await udpQuery(port, buildQuery('api.svc.plus', { edns: { clientSubnet: '198.51.100.0/24' } }));
  assert.equal(r.rcode, Rcode.NOERROR);
  assert.ok(r.aa);
  assert.deepEqual(r.answers.map((a) => a.data), ['198.51.100.10']);
  const t = await tcpQuery(port, buildQuery('api.svc.plus', { edns: { clientSubnet: '203.0.113.0/24' } }));
  assert.deepEqual(t.answers.map((a) => a.data), ['203.0.113.10']);
  assert.equal((await udpQuery(port, buildQuery('new.svc.plus', { type: RRType.TXT }))).rcode, Rcode.NXDOMAIN);

  gw.writeConfig(config([{ name: 'new', type: 'TXT', value: 'added by reload' }]));
  gw.proc.kill('SIGHUP');
  await eventually(async () => (await udpQuery(port, buildQuery('new.svc.plus', { type: RRType.TXT }))).rcode === Rcode.NOERROR, 10_000, 'the reloaded zone');
  const txt = await udpQuery(port, buildQuery('new.svc.plus', { type: RRType.TXT }));
  assert.equal(txt.answers[0]!.data, '"added by reload"');
});
