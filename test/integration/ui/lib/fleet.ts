import http from 'node:http';
import net from 'node:net';
import { startGateway, type GatewayProcess } from '../../../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../../../helpers/upstreams.ts';
import { waitFor } from '../../../helpers/wait.ts';
import { generateKey } from '../../../../src/gossip/keyring.ts';

export const TOKEN = 'dashboard-test-token';
const KEY = generateKey();
export const JP_VIP = '203.0.113.10';
export const SG_VIP = '198.51.100.10';

/** A loopback port nobody listens on right now (for a fixed admin port that survives a restart, and for a dead endpoint). */
export async function freePort(host: string): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Addresses {
  blue: string[];
  green: string;
  dead: string;
}

const dnsSection = (host: string) => ({
  listen: [`${host}:0`],
  zones: [
    {
      origin: 'svc.plus',
      soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
      nameservers: ['ns1.svc.plus'],
      gtm: [{ name: 'api', ttl: 30, regions: [{ region: 'jp', vips: [JP_VIP], weight: 120 }, { region: 'sg', vips: [SG_VIP], weight: 80 }] }],
    },
  ],
  geo: { networks: [{ cidr: '203.0.113.0/24', region: 'jp' }, { cidr: '198.51.100.0/24', region: 'sg' }] },
});

const check = { path: '/readyz', interval: '300ms', timeout: '500ms', healthyThreshold: 1, unhealthyThreshold: 1 };

/** The gateway the browser looks at: two routes, a cluster with a dead endpoint, DNS and gossip. */
export function mainConfig(a: Addresses, adminPort: number, seeds: string[]): Record<string, unknown> {
  const host = '127.0.0.2';
  return {
    node: { id: 'jp-gw-1', region: 'jp' },
    listeners: [{ name: 'http', address: `${host}:0`, protocol: 'http' }],
    clusters: [
      { name: 'blue', endpoints: [...a.blue, a.dead], healthCheck: check },
      { name: 'green', endpoints: [a.green], healthCheck: check },
    ],
    routes: [
      { name: 'api', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }], override: { header: 'x-edge-cluster' } },
      { name: 'web', match: { hosts: ['web.svc.plus'], path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }], override: { header: 'x-edge-cluster' } },
    ],
    admin: { address: `${host}:${adminPort}`, token: TOKEN, stateDir: './state' },
    drain: { delay: '100ms', timeout: '2s' },
    dns: dnsSection(host),
    gossip: { bind: `${host}:0`, seeds, keys: [KEY], profile: 'local' },
  };
}

/** A peer gateway: same zone and gossip, one healthy cluster. */
function peerConfig(id: string, region: string, host: string, upstream: string, seeds: string[]): Record<string, unknown> {
  return {
    node: { id, region },
    listeners: [],
    clusters: [{ name: 'api', endpoints: [upstream] }],
    routes: [{ name: 'api', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: [{ cluster: 'api', weight: 100 }] }],
    admin: { address: `${host}:0`, token: TOKEN, stateDir: './state' },
    dns: dnsSection(host),
    gossip: { bind: `${host}:0`, seeds, keys: [KEY], profile: 'local' },
  };
}

export interface Fleet {
  main: GatewayProcess;
  peers: GatewayProcess[];
  upstreams: TestUpstream[];
  addresses: Addresses;
  adminPort: number;
  adminUrl: string;
  /** Stops jp-gw-1 and starts it again with the same config, state directory and admin port. */
  restartMain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Three gateways (`edgeplane run`) in two regions, gossiping on 127.0.0.2-4
 * with the `local` profile: jp-gw-1 (the one under test) and jp-gw-2 in jp,
 * sg-gw-1 in sg. Waits until every gateway sees all three alive.
 */
export async function startFleet(): Promise<Fleet> {
  const upstreams = await Promise.all([startUpstream('blue'), startUpstream('blue'), startUpstream('green')]);
  const addresses: Addresses = { blue: [upstreams[0]!.address, upstreams[1]!.address], green: upstreams[2]!.address, dead: `127.0.0.1:${await freePort('127.0.0.1')}` };
  const adminPort = await freePort('127.0.0.2');
  const all: GatewayProcess[] = [];
  const fleet: Fleet = {
    main: undefined as unknown as GatewayProcess,
    peers: [],
    upstreams,
    addresses,
    adminPort,
    adminUrl: `http://127.0.0.2:${adminPort}`,
    async restartMain() {
      await fleet.main.stop('SIGTERM');
      const seed = fleet.peers[0]!.ready.gossip as string;
      fleet.main = await startGateway(mainConfig(addresses, adminPort, [seed]), { dir: fleet.main.dir });
      all.push(fleet.main);
    },
    async close() {
      await Promise.all(all.map((g) => g.stop('SIGKILL')));
      await Promise.all(upstreams.map((u) => u.close()));
    },
  };
  try {
    fleet.main = await startGateway(mainConfig(addresses, adminPort, []));
    all.push(fleet.main);
    const seed = fleet.main.ready.gossip as string;
    if (typeof seed !== 'string') throw new Error('the gateway reported no gossip address in its ready file (gossip not wired in gateway.ts?)');
    fleet.peers = await Promise.all([
      startGateway(peerConfig('jp-gw-2', 'jp', '127.0.0.3', upstreams[0]!.address, [seed])),
      startGateway(peerConfig('sg-gw-1', 'sg', '127.0.0.4', upstreams[2]!.address, [seed])),
    ]);
    all.push(...fleet.peers);
    await waitFor(async () => {
      for (const g of [fleet.main, ...fleet.peers]) {
        const port = (g.ready.admin as { port: number }).port;
        const host = (g.ready.admin as { address: string }).address;
        const f = (await (await fetch(`http://${host}:${port}/v1/fleet`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { members: { state: string }[] };
        if (f.members.filter((m) => m.state === 'alive').length !== 3) return false;
      }
      return true;
    }, { timeoutMs: 30_000, what: 'three gateways alive in every member list' });
    return fleet;
  } catch (err) {
    await fleet.close();
    throw err;
  }
}

/** Calls jp-gw-1's admin API with the token. */
export async function admin(fleet: Fleet, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(fleet.adminUrl + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-edgeplane-author': 'ui-test', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** One request through jp-gw-1's HTTP listener; answers the status. */
export function request(fleet: Fleet, host: string, path = '/', headers: Record<string, string> = {}): Promise<number> {
  const port = fleet.main.ready.listeners.find((l) => l.name === 'http')!.port;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.2', port, path, agent: false, headers: { host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}
