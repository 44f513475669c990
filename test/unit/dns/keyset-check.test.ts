import { test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { KeysetCheck } from '../../../src/dns/dnssec/fleet-check.ts';
import { decodeMessage, decodePushPull, encodeMessage, encodePushPull, type HealthRecord } from '../../../src/gossip/codec.ts';
import { fitHealthRecord } from '../../../src/gossip/health-store.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { GossipDecodeError } from '../../../src/gossip/errors.ts';

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

async function gauge(zone: string): Promise<number | undefined> {
  const m = (await registry.getSingleMetric('edgeplane_dns_dnssec_keyset_mismatch')!.get()).values.find((v) => v.labels.zone === zone);
  return m?.value;
}

test('KeysetCheck: agreement, a differing peer, zones only one side serves, recovery', async () => {
  const { logger, lines } = capture();
  const c = new KeysetCheck(logger);
  let r = c.update({ 'svc.plus': '1/aa', 'other.plus': 'unsigned' }, [{ node: 'b', source: 'gossip', keysets: { 'svc.plus': '1/aa', 'only-b.plus': '9/ff' } }]);
  assert.equal(r.state, 'ok');
  assert.deepEqual(r.zones.map((z) => [z.zone, z.peers.length, z.mismatch]), [['other.plus', 0, false], ['svc.plus', 1, false]]);
  assert.equal(await gauge('svc.plus'), 0);
  assert.equal(lines.filter((l) => l.level >= 50).length, 0);

  r = c.update({ 'svc.plus': '1/aa' }, [
    { node: 'b', source: 'gossip', keysets: { 'svc.plus': '1/aa' } },
    { node: 'c', source: 'etcd', keysets: { 'svc.plus': '2/bb' } },
    // the same node through the other source counts once
    { node: 'c', source: 'gossip', keysets: { 'svc.plus': '2/bb' } },
  ]);
  assert.equal(r.state, 'degraded');
  assert.deepEqual(r.reasons, ['dnssec: zone svc.plus: this node serves DNSKEY set 1/aa but c serves 2/bb (1 peer(s) agree with this node)']);
  assert.equal(r.zones[0]!.peers.length, 2);
  assert.equal(await gauge('svc.plus'), 1);
  assert.equal(await gauge('other.plus'), undefined, 'a zone no longer served loses its series');
  const errors = lines.filter((l) => l.level >= 50);
  assert.equal(errors.length, 1);
  // the same picture again is not logged again
  c.update({ 'svc.plus': '1/aa' }, [{ node: 'c', source: 'etcd', keysets: { 'svc.plus': '2/bb' } }, { node: 'b', source: 'gossip', keysets: { 'svc.plus': '1/aa' } }]);
  assert.equal(lines.filter((l) => l.level >= 50).length, 1);

  // signed here, unsigned there is a mismatch too (resolvers with the DS reject the unsigned answers)
  r = c.update({ 'svc.plus': '1/aa' }, [{ node: 'c', source: 'etcd', keysets: { 'svc.plus': 'unsigned' } }]);
  assert.equal(r.state, 'degraded');

  r = c.update({ 'svc.plus': '2/bb' }, [{ node: 'c', source: 'etcd', keysets: { 'svc.plus': '2/bb' } }]);
  assert.equal(r.state, 'ok');
  assert.equal(await gauge('svc.plus'), 0);
  assert.ok(lines.some((l) => l.level === 40 && /agree with every peer again/.test(l.msg)));
});

test('gossip health records carry key sets; records without them keep the old layout', () => {
  const base: HealthRecord = { node: 'jp-1', region: 'jp', version: 7, health: { state: 'degraded', healthy: 0.5, names: { 'api.svc.plus': 0.5 }, at: 1000 } };
  const plain = encodeMessage({ type: 'health', record: base });
  // state byte right after node, region and version: 'degraded' is 1, no flag
  assert.equal(plain[1 + 1 + 4 + 1 + 2 + 8], 1);
  assert.deepEqual(decodeMessage(plain), { type: 'health', record: base });

  const signed: HealthRecord = { ...base, health: { ...base.health, keysets: { 'svc.plus': '12345,60485/9f2c0a1b2c3d4e5f', 'b.plus': 'unsigned' } } };
  const bytes = encodeMessage({ type: 'health', record: signed });
  assert.deepEqual(decodeMessage(bytes), { type: 'health', record: signed });
  // inside push-pull (records back to back) too
  const pp = decodePushPull(encodePushPull({ join: false, nodes: [], health: [signed, base] }));
  assert.deepEqual(pp.health, [signed, base]);

  // a bad fingerprint is a decode error, never anything else
  const bad = Buffer.from(bytes);
  const at = bad.lastIndexOf(Buffer.from('unsigned'));
  bad[at] = 0x20;
  assert.throws(() => decodeMessage(bad), GossipDecodeError);
  // fitHealthRecord keeps the key sets (never trimmed) and drops malformed entries
  const { record } = fitHealthRecord('jp-1', 'jp', 8, { ...signed.health, keysets: { 'svc.plus': '1/aa', 'x.plus': 'NOT VALID' } }, 1400);
  assert.deepEqual(record.health.keysets, { 'svc.plus': '1/aa' });
});
