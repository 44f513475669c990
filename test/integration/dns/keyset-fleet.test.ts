/**
 * Fleet DNSSEC key-set check: every nameserver of a zone must serve the same
 * DNSKEY set. Real gateways (`edgeplane run`) exchange their key-set
 * fingerprints through gossip (health records) or the etcd store (leased
 * node status keys); with different key files both sides report the mismatch
 * in /v1/health, the metric and the log, with the same keys they are healthy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { tempDir } from '../../helpers/temp-dir.ts';
import { waitFor } from '../../helpers/wait.ts';
import { generateKeyPem, loadZoneKey } from '../../../src/dns/dnssec/keys.ts';
import { generateKey } from '../../../src/gossip/keyring.ts';
import { EtcdCluster, etcdMissing } from '../fleet/etcd-cluster.ts';
import { newPrefix } from '../fleet/support.ts';
import { fleetCommand } from '../../../src/cli/fleet.ts';

const TOKEN = 'keyset-test-token';
const GOSSIP_KEY = generateKey();
const gateways: GatewayProcess[] = [];
let etcd: EtcdCluster | undefined;
after(async () => {
  await Promise.all(gateways.map((g) => g.stop('SIGKILL')));
  await etcd?.stop();
});

function zone(keyFile: string) {
  return {
    origin: 'svc.plus',
    soa: { mname: 'ns1.svc.plus', rname: 'hostmaster.svc.plus', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
    nameservers: ['ns1.svc.plus'],
    records: [{ name: 'ns1', type: 'A', value: '203.0.113.53' }],
    gtm: [{ name: 'api', regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 1 }] }],
    dnssec: { keys: [{ file: keyFile }] },
  };
}

function baseConfig(id: string, keyFile: string, extra: Record<string, unknown>) {
  return {
    node: { id, region: 'jp' },
    listeners: [],
    clusters: [],
    routes: [],
    admin: { address: '127.0.0.1:0', stateDir: './state', token: TOKEN },
    dns: { listen: ['127.0.0.1:0'], zones: [zone(keyFile)] },
    ...extra,
  };
}

/** A gateway dir holding `keys/<name>` with this PEM. */
function dirWithKey(pem: string, name = 'svc.plus.pem'): string {
  const dir = tempDir('edgeplane-keyset-');
  mkdirSync(join(dir, 'keys'), { recursive: true });
  writeFileSync(join(dir, 'keys', name), pem, { mode: 0o600 });
  return dir;
}

const label = (pem: string) => String(loadZoneKey(pem, 'csk').tag);
const admin = (g: GatewayProcess) => `http://127.0.0.1:${(g.ready.admin as { port: number }).port}`;

async function health(g: GatewayProcess): Promise<any> {
  const res = await fetch(`${admin(g)}/v1/health`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  return res.json();
}

/** The mismatch gauge for svc.plus, or undefined when the series is absent. */
async function mismatchMetric(g: GatewayProcess): Promise<number | undefined> {
  const text = await (await fetch(`${admin(g)}/metrics`)).text();
  const m = /^edgeplane_dns_dnssec_keyset_mismatch\{zone="svc\.plus"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Waits until `g` has compared svc.plus with every one of `peers` and reached `state`. */
async function settled(g: GatewayProcess, peers: string[], state: 'ok' | 'degraded'): Promise<any> {
  let last: any;
  await waitFor(async () => {
    last = await health(g);
    const z = last.dnssec?.zones?.find((x: { zone: string }) => x.zone === 'svc.plus');
    if (!z) return false;
    const seen = z.peers.map((p: { node: string }) => p.node).sort();
    return JSON.stringify(seen) === JSON.stringify([...peers].sort()) && last.status === state && (await mismatchMetric(g)) === (state === 'degraded' ? 1 : 0);
  }, { timeoutMs: 30_000, what: `${state} DNSSEC key-set check against ${peers.join(', ')}` }).catch((err: Error) => {
    throw new Error(`${err.message}; last /v1/health: ${JSON.stringify(last?.dnssec)}`);
  });
  return last;
}

test('gossip: different key files are reported by both nodes; the same keys are healthy', async () => {
  const pemA = generateKeyPem('ecdsap256sha256');
  const pemB = generateKeyPem('ecdsap256sha256');
  const gossip = (seeds: string[]) => ({ gossip: { bind: '127.0.0.1:0', seeds, keys: [GOSSIP_KEY], profile: 'local' } });
  const a = await startGateway(baseConfig('ns-a', 'keys/svc.plus.pem', gossip([])), { dir: dirWithKey(pemA) });
  gateways.push(a);
  const seed = a.ready.gossip as string;
  const dirB = dirWithKey(pemB);
  const configB = baseConfig('ns-b', 'keys/svc.plus.pem', gossip([seed]));
  const b = await startGateway(configB, { dir: dirB });
  gateways.push(b);

  const ha = await settled(a, ['ns-b'], 'degraded');
  const hb = await settled(b, ['ns-a'], 'degraded');
  // Each names the other node and both fingerprints (tags first, so an operator sees which key is missing).
  assert.match(ha.reasons.join('\n'), new RegExp(`zone svc\\.plus: this node serves DNSKEY set ${label(pemA)}/[0-9a-f]{16} but ns-b serves ${label(pemB)}/`));
  assert.match(hb.reasons.join('\n'), new RegExp(`this node serves DNSKEY set ${label(pemB)}/[0-9a-f]{16} but ns-a serves ${label(pemA)}/`));
  assert.equal(ha.dnssec.zones[0].peers[0].source, 'gossip');
  for (const g of [a, b]) assert.match(g.output(), /dnssec: zone svc\.plus: this node serves DNSKEY set/, 'an error log line');

  // b gets a's key (a new file, so the config changes) and reloads: both agree, both healthy.
  writeFileSync(join(dirB, 'keys', 'fixed.pem'), pemA, { mode: 0o600 });
  b.writeConfig(baseConfig('ns-b', 'keys/fixed.pem', gossip([seed])));
  b.proc.kill('SIGHUP');
  const fixedA = await settled(a, ['ns-b'], 'ok');
  await settled(b, ['ns-a'], 'ok');
  assert.deepEqual(fixedA.reasons, []);
  assert.equal(fixedA.dnssec.zones[0].peers[0].keyset, fixedA.dnssec.zones[0].keyset);
});

test('etcd store: nodes publish key sets in their leased status; a node with another key is reported until it leaves', async (t) => {
  const missing = etcdMissing();
  if (missing) return t.skip(missing);
  etcd = await EtcdCluster.start(1);
  const prefix = newPrefix();
  const store = { store: { etcd: { endpoints: etcd.endpoints, prefix, dialTimeout: '1s', requestTimeout: '1s', leaseTtl: '2s', keepaliveInterval: '1s', keepaliveTimeout: '1s', probeInterval: '200ms' } } };
  const pem = generateKeyPem('ecdsap256sha256');
  // The zone (and its key path) is a fleet section in etcd; each node reads the file from its own dir.
  const a = await startGateway(baseConfig('etcd-a', 'keys/svc.plus.pem', store), { dir: dirWithKey(pem) });
  gateways.push(a);
  const b = await startGateway(baseConfig('etcd-b', 'keys/svc.plus.pem', store), { dir: dirWithKey(pem) });
  gateways.push(b);
  const ok = await settled(a, ['etcd-b'], 'ok');
  await settled(b, ['etcd-a'], 'ok');
  assert.equal(ok.dnssec.zones[0].peers[0].source, 'etcd');

  const c = await startGateway(baseConfig('etcd-c', 'keys/svc.plus.pem', store), { dir: dirWithKey(generateKeyPem('ecdsap256sha256')) });
  gateways.push(c);
  const ha = await settled(a, ['etcd-b', 'etcd-c'], 'degraded');
  assert.match(ha.reasons.join('\n'), /but etcd-c serves \d+\/[0-9a-f]{16} \(1 peer\(s\) agree with this node\)/);
  const hc = await settled(c, ['etcd-a', 'etcd-b'], 'degraded');
  assert.match(hc.reasons.join('\n'), /but etcd-a serves .*, etcd-b serves /);
  // `edgeplane fleet` lists every node's set from the same status keys
  let out = '';
  const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
  assert.equal(await fleetCommand(['--admin', admin(a), '--token', TOKEN], sink as never, sink as never, {}), 0, out);
  assert.match(out, /dnssec svc\.plus: DNSKEY SETS DIFFER \(etcd-a \d+\/[0-9a-f]{16}, etcd-b \d+\/[0-9a-f]{16}, etcd-c \d+\/[0-9a-f]{16}\)/);

  // c stops (its lease is revoked): a and b are healthy again.
  await c.stop('SIGTERM');
  await settled(a, ['etcd-b'], 'ok');
  await settled(b, ['etcd-a'], 'ok');
});
