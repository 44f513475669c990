/**
 * Three gateways (`edgeplane run`) in two regions gossip on 127.0.0.2-4 with
 * the `local` profile; each serves DNS. When sg's only gateway is SIGKILLed,
 * the jp gateways' DNS stops answering sg's VIP (even for sg clients) within
 * the protocol's bound, and /v1/fleet and `edgeplane fleet` show it dead.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { udpQuery } from '../dns/helpers.ts';
import { LOCAL } from '../../../src/gossip/config.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';
import { fleetCommand } from '../../../src/cli/fleet.ts';

const KEY = generateKey();
const TOKEN = 'fleet-test-token';
const JP_VIP = '203.0.113.10';
const SG_VIP = '198.51.100.10';
const gateways: GatewayProcess[] = [];
let upstream: TestUpstream | undefined;
after(async () => {
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  await upstream?.close();
});

function config(id: string, region: string, host: string, seeds: string[]) {
  return {
    node: { id, region },
    listeners: [],
    clusters: [{ name: 'api', endpoints: [upstream!.address] }],
    routes: [{ name: 'api', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: [{ cluster: 'api', weight: 100 }] }],
    admin: { address: `${host}:0`, stateDir: './state', token: TOKEN },
    dns: {
      listen: [`${host}:0`],
      zones: [{
        origin: 'svc.plus',
        soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
        nameservers: ['ns1.svc.plus'],
        gtm: [{ name: 'api', ttl: 30, regions: [{ region: 'jp', vips: [JP_VIP], weight: 120 }, { region: 'sg', vips: [SG_VIP], weight: 80 }] }],
      }],
      geo: { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }] },
    },
    gossip: { bind: `${host}:0`, seeds, keys: [KEY], profile: 'local' },
  };
}

const dnsPort = (g: GatewayProcess) => (g.ready.dns as { udp: { port: number }[] }).udp[0]!.port;
const host = (g: GatewayProcess) => (g.ready.admin as { address: string }).address;
const admin = (g: GatewayProcess) => `http://${host(g)}:${(g.ready.admin as { port: number }).port}`;

async function answerForSgClient(g: GatewayProcess): Promise<string[]> {
  const r = await udpQuery(dnsPort(g), buildQuery('api.svc.plus', { edns: { clientSubnet: '198.51.100.0/24' } }), host(g));
  return r.answers.map((a) => a.data as string);
}

async function fleet(g: GatewayProcess): Promise<{ members: { name: string; state: string }[]; regions: { region: string; state: string }[]; dns: { regions: { region: string; effectiveWeight: number }[] }[] }> {
  const res = await fetch(`${admin(g)}/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  return (await res.json()) as never;
}

test('SIGKILL of a region\'s last gateway: every other gateway\'s DNS stops returning its VIP', async (t) => {
  upstream = await startUpstream('blue');
  const jp1 = await startGateway(config('jp-gw-1', 'jp', '127.0.0.2', []));
  gateways.push(jp1);
  const seed = jp1.ready.gossip as string;
  assert.match(seed, /^127\.0\.0\.2:\d+$/);
  const [jp2, sg1] = await Promise.all([startGateway(config('jp-gw-2', 'jp', '127.0.0.3', [seed])), startGateway(config('sg-gw-1', 'sg', '127.0.0.4', [seed]))]);
  gateways.push(jp2!, sg1!);
  const jp = [jp1, jp2!];

  // Converged: three members alive, both regions up, sg clients get sg's VIP.
  await waitFor(async () => {
    for (const g of [...jp, sg1!]) {
      const f = await fleet(g);
      if (f.members.filter((m) => m.state === 'alive').length !== 3) return false;
      if (!f.regions.every((r) => r.state === 'up')) return false;
    }
    return true;
  }, { timeoutMs: 30_000, what: 'three members alive and both regions up everywhere' });
  for (const g of jp) assert.deepEqual(await answerForSgClient(g), [SG_VIP]);

  await t.test('unauthenticated /v1/fleet is refused', async () => {
    const res = await fetch(`${admin(jp1)}/v1/fleet`);
    assert.equal(res.status, 401);
  });

  const n = 3;
  const c = LOCAL;
  const bound = (2 * n - 2) * c.ProbeInterval + c.SuspicionMaxTimeoutMult * c.SuspicionMult * c.ProbeInterval + (Math.ceil(Math.log2(n)) + 2) * c.GossipInterval;
  const t0 = Date.now();
  sg1!.proc.kill('SIGKILL');
  for (const g of jp) {
    await waitFor(async () => (await answerForSgClient(g))[0] === JP_VIP, { timeoutMs: bound + 15_000, what: `jp gateway DNS drops sg (protocol bound ${bound}ms)` });
  }
  t.diagnostic(`both jp gateways stopped answering sg's VIP after ${Date.now() - t0}ms (protocol bound ${bound}ms)`);
  // And it stays that way: no answer carries sg's VIP any more.
  for (const g of jp) for (let i = 0; i < 20; i++) assert.deepEqual(await answerForSgClient(g), [JP_VIP]);

  const f = await fleet(jp1);
  assert.equal(f.members.find((m) => m.name === 'sg-gw-1')?.state, 'dead');
  assert.equal(f.regions.find((r) => r.region === 'sg')?.state, 'down');
  assert.equal(f.dns[0]!.regions.find((r) => r.region === 'sg')?.effectiveWeight, 0);

  await t.test('edgeplane fleet prints the same as tables', async () => {
    let out = '';
    const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
    const code = await fleetCommand(['--admin', admin(jp1), '--token', TOKEN], sink, sink, {});
    assert.equal(code, 0, out);
    assert.match(out, /sg-gw-1\s+sg\s+127\.0\.0\.4:\d+\s+dead/);
    assert.match(out, /jp-gw-2\s+jp\s+127\.0\.0\.3:\d+\s+alive/);
    assert.match(out, /^sg\s+down\s+0%/m);
    assert.match(out, /api\.svc\.plus/);
    const bad = await fleetCommand(['--admin', admin(jp1), '--token', 'wrong'], sink, sink, {});
    assert.equal(bad, 1);
  });
});
