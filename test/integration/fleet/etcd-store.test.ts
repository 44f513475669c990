import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { EtcdCluster, etcdMissing } from './etcd-cluster.ts';
import { PassThrough } from 'node:stream';
import { fleetCommand } from '../../../src/cli/fleet.ts';
import { call, converged, metricValue, newPrefix, nodeConfig, rawClient, request, splitOf, startNodes, versionOf, TOKEN } from './support.ts';

/** Two gateways on one real etcd member: one config for both. */
test('etcd store: two gateways serve one versioned config', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const prefix = newPrefix();
  const [a, b] = await startNodes(etcd, prefix, [blue.address], [green.address], ['gw-a', 'gw-b']);
  t.after(() => Promise.all([a!.stop('SIGKILL'), b!.stop('SIGKILL')]));

  await t.test('the first node seeds the empty store from its file; the second starts from the store', async () => {
    assert.equal(await versionOf(a!), 1);
    assert.equal(await versionOf(b!), 1);
    const status = (await call(b!, 'GET', '/v1/status')).body;
    assert.equal(status.store.kind, 'etcd');
    assert.equal(status.store.up, true);
    assert.equal(status.node.id, 'gw-b');
    await waitFor(async () => (await call(a!, 'GET', '/v1/status')).body.nodes?.length === 2, { what: 'both nodes listed' });
    const nodes = (await call(a!, 'GET', '/v1/status')).body.nodes;
    assert.deepEqual(nodes.map((n: { id: string; version: number }) => [n.id, n.version]), [['gw-a', 1], ['gw-b', 1]]);
  });

  await t.test('a split change through A is served by B', async () => {
    const res = await call(a!, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }] } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.version, 2);
    await converged([a!, b!], 2);
    assert.deepEqual(splitOf((await call(b!, 'GET', '/v1/config')).body), [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]);
    for (let i = 0; i < 5; i++) assert.equal((await request(b!, '/')).body.color, 'green');
    const metrics = (await call(b!, 'GET', '/metrics', { token: null })).body;
    assert.equal(metricValue(metrics, 'edgeplane_config_version'), 2);
    assert.equal(metricValue(metrics, 'edgeplane_config_store_up'), 1);
    // Node-local sections stay each node's own.
    assert.equal((await call(b!, 'GET', '/v1/config')).body.config.node.id, 'gw-b');
  });

  await t.test('edgeplane fleet lists every node with the version it serves', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const code = await fleetCommand(['--admin', b!.adminUrl(), '--token', TOKEN], out, new PassThrough(), {});
    assert.equal(code, 0);
    assert.match(text, /etcd store .* reachable; this node serves version 2, the store holds 2/);
    assert.match(text, /gw-a\s+jp\s+2\s+current/);
    assert.match(text, /gw-b \*\s+jp\s+2\s+current/);
  });

  await t.test('writes through A and B based on the same version (If-Match): exactly one succeeds', async () => {
    // Both name the version they read. Whichever lands second is refused whether it loses the
    // compare-and-swap in etcd (409) or its node already applied the winner (412): never last-writer-wins.
    for (let round = 0; round < 5; round++) {
      const version = await versionOf(a!);
      await converged([a!, b!], version);
      const [ra, rb] = await Promise.all([
        call(a!, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 10 + round }, { cluster: 'green', weight: 90 }] }, headers: { 'if-match': `"${version}"` } }),
        call(b!, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 50 + round }, { cluster: 'green', weight: 50 }] }, headers: { 'if-match': `"${version}"` } }),
      ]);
      const statuses = [ra.status, rb.status].sort();
      assert.equal(statuses.filter((s) => s === 200).length, 1, `round ${round}: ${ra.status} ${JSON.stringify(ra.body)} / ${rb.status} ${JSON.stringify(rb.body)}`);
      assert.ok([409, 412].includes(statuses[1]!), `the loser answers 409/412, got ${statuses[1]}`);
      const winner = ra.status === 200 ? ra : rb;
      assert.equal(winner.body.version, version + 1);
      await converged([a!, b!], version + 1);
    }
  });

  await t.test('If-Match with an older version answers 412 and changes nothing', async () => {
    const version = await versionOf(a!);
    const res = await call(b!, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 1 }, { cluster: 'green', weight: 1 }] }, headers: { 'if-match': `"${version - 1}"` } });
    assert.equal(res.status, 412);
    assert.equal(await versionOf(a!), version);
  });

  await t.test('rollback through B is a new version on both', async () => {
    const version = await versionOf(a!);
    const res = await call(b!, 'POST', '/v1/rollback', { body: { version: 1 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.version, version + 1);
    await converged([a!, b!], version + 1);
    assert.deepEqual(splitOf((await call(a!, 'GET', '/v1/config')).body), [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }]);
    const versions = (await call(a!, 'GET', '/v1/versions')).body;
    assert.equal(versions.current, version + 1);
    assert.equal(versions.versions[0].rolledBackTo, 1);
  });

  await t.test('an invalid document written straight into etcd is refused by every node, which keep serving', async () => {
    const version = await versionOf(a!);
    const client = rawClient(etcd);
    t.after(() => client.close());
    const head = JSON.parse((await client.get(`${prefix}/config`).string())!);
    const bad = { ...head, version: version + 1, writeId: 'by-another-tool', config: { ...head.config, routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'nope', weight: 1 }] }] } };
    await client.put(`${prefix}/config`).value(JSON.stringify(bad)).exec();
    for (const gw of [a!, b!]) {
      const status = await waitFor(async () => {
        const s = (await call(gw, 'GET', '/v1/status')).body;
        return s.store.refused?.version === version + 1 ? s : null;
      }, { what: 'the refusal in /v1/status' });
      assert.equal(status.version, version);
      assert.match(JSON.stringify(status.store.refused.errors), /routes\[0\]\.split\[0\]\.cluster/);
      assert.equal((await request(gw, '/')).status, 200);
    }
    // Not JSON at all: refused too.
    await client.put(`${prefix}/config`).value('{not json').exec();
    await waitFor(async () => /not an edgeplane config/.test(JSON.stringify((await call(a!, 'GET', '/v1/status')).body.store.refused)), { what: 'the garbage document refused' });
    assert.equal(await versionOf(a!), version);
    // A good write through the API replaces the bad document.
    const fix = await call(a!, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 70 }, { cluster: 'green', weight: 30 }] } });
    assert.equal(fix.status, 200, JSON.stringify(fix.body));
    await converged([a!, b!], fix.body.version);
    assert.equal((await call(b!, 'GET', '/v1/status')).body.store.refused, null);
  });
});

/** GTM region weights live in the fleet's document: a change through one node is what every nameserver answers with. */
test('etcd store: region weights set through the admin API are the same on every nameserver', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const prefix = newPrefix();
  const zone = {
    origin: 'fleet.test',
    soa: { mname: 'ns1.fleet.test', rname: 'hostmaster.fleet.test', refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
    nameservers: ['ns1.fleet.test'],
    records: [{ name: 'ns1', type: 'A', value: '192.0.2.53' }],
    gtm: [{ name: 'api', ttl: 20, regions: [{ region: 'jp', vips: ['203.0.113.10'], weight: 120 }, { region: 'sg', vips: ['198.51.100.10'], weight: 80 }] }],
  };
  const dns = (listen: string[]) => ({ dns: { listen, rrl: { enabled: false }, zones: [zone] } });
  const a = await startGateway(nodeConfig('ns-a', etcd, prefix, ['127.0.0.1:9'], ['127.0.0.1:10'], dns(['127.0.0.1:0'])));
  t.after(() => a.stop('SIGKILL'));
  const b = await startGateway(nodeConfig('ns-b', etcd, prefix, ['127.0.0.1:9'], ['127.0.0.1:10'], dns(['127.0.0.1:0', '127.0.0.2:0'])));
  t.after(() => b.stop('SIGKILL'));
  await converged([a, b], 1);

  const current = (await call(a, 'GET', '/v1/config')).body.config;
  current.dns.zones[0].gtm[0].regions[1].weight = 0;
  const res = await call(a, 'PUT', '/v1/config', { body: { config: current } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  await converged([a, b], res.body.version);
  for (const gw of [a, b]) {
    const fleet = (await call(gw, 'GET', '/v1/fleet')).body;
    const api = fleet.dns.find((n: { name: string }) => n.name === 'api.fleet.test' || n.name === 'api');
    assert.ok(api, JSON.stringify(fleet.dns));
    assert.deepEqual(api.regions.map((r: { region: string; configuredWeight: number }) => [r.region, r.configuredWeight]), [['jp', 120], ['sg', 0]]);
  }
  // Each nameserver still binds its own addresses: dns.listen is node-local.
  assert.deepEqual((await call(b, 'GET', '/v1/config')).body.config.dns.listen, ['127.0.0.1:0', '127.0.0.2:0']);
  assert.deepEqual((await call(a, 'GET', '/v1/config')).body.config.dns.listen, ['127.0.0.1:0']);
});
