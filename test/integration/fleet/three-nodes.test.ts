import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { EtcdCluster, etcdMissing } from './etcd-cluster.ts';
import { call, converged, newPrefix, nodeConfig, request, splitOf, TOKEN, versionOf } from './support.ts';

const split = (blue: number, green: number) => ({ split: [{ cluster: 'blue', weight: blue }, { cluster: 'green', weight: green }] });

/** Three gateways on a three-member etcd: the fleet's tests from the issue. */
test('3 gateways on a 3-member etcd', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(3);
  t.after(() => etcd.stop());
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const prefix = newPrefix();
  const admin = { address: '127.0.0.1:0', token: TOKEN, history: 500 };
  const nodes: GatewayProcess[] = [];
  t.after(() => Promise.all(nodes.map((n) => n.stop('SIGKILL'))));
  for (const id of ['gw-a', 'gw-b', 'gw-c']) nodes.push(await startGateway(nodeConfig(id, etcd, prefix, [blue.address], [green.address], { admin })));
  const [a, b, c] = nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
  await converged(nodes, 1);

  await t.test('a split change through A is served by B and C', async () => {
    const res = await call(a, 'PUT', '/v1/routes/api/split', { body: split(0, 100) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await converged(nodes, res.body.version);
    for (const gw of [b, c]) {
      assert.deepEqual(splitOf((await call(gw, 'GET', '/v1/config')).body), split(0, 100).split);
      assert.equal((await request(gw, '/')).body.color, 'green');
    }
    const status = (await call(c, 'GET', '/v1/status')).body;
    await waitFor(async () => (await call(c, 'GET', '/v1/status')).body.nodes?.length === 3, { what: 'three nodes listed' });
    assert.equal(status.store.up, true);
  });

  await t.test('concurrent writes through A and B based on the same version: exactly one success', async () => {
    const version = await versionOf(a);
    await converged(nodes, version);
    const ifMatch = { 'if-match': `"${version}"` };
    const [ra, rb] = await Promise.all([call(a, 'PUT', '/v1/routes/api/split', { body: split(11, 89), headers: ifMatch }), call(b, 'PUT', '/v1/routes/api/split', { body: split(22, 78), headers: ifMatch })]);
    assert.equal([ra, rb].filter((r) => r.status === 200).length, 1, `${ra.status} ${JSON.stringify(ra.body)} / ${rb.status} ${JSON.stringify(rb.body)}`);
    assert.ok([ra, rb].some((r) => r.status === 409 || r.status === 412));
    await converged(nodes, version + 1);
  });

  await t.test('etcd leader killed during a stream of writes: every acknowledged write is in the history, no torn document', async () => {
    const acked = new Map<number, number>();
    const refused: number[] = [];
    const leader = await etcd.leader();
    assert.ok(leader, 'etcd has a leader');
    let killed = false;
    for (let i = 1; i <= 40; i++) {
      if (i === 10) {
        await etcd.kill(leader);
        killed = true;
      }
      const writer = i % 2 ? a : b;
      const res = await call(writer, 'PUT', '/v1/routes/api/split', { body: split(i, 100) });
      if (res.status === 200) acked.set(res.body.version, i);
      else {
        assert.ok([503, 409].includes(res.status), `a write that fails says why: ${res.status} ${JSON.stringify(res.body)}`);
        refused.push(res.status);
      }
      // The other node may not have seen the last write yet: a 409 then is the CAS doing its job.
      if (res.status === 409) await converged(nodes, (await versionOf(writer)) || 0).catch(() => {});
    }
    assert.ok(killed);
    assert.ok(acked.size >= 20, `most writes went through (acked ${acked.size}, refused ${refused.join(',')})`);
    etcd.restart(leader);
    await etcd.waitHealthy();
    const final = Math.max(...acked.keys());
    await converged(nodes, final);
    for (const [version, blueWeight] of acked) {
      const rec = await call(c, 'GET', `/v1/versions/${version}`);
      assert.equal(rec.status, 200, `acknowledged version ${version} is in the history`);
      assert.deepEqual(splitOf(rec.body), split(blueWeight, 100).split, `version ${version} holds what was acknowledged`);
    }
    const configs = await Promise.all(nodes.map(async (n) => (await call(n, 'GET', '/v1/config')).body));
    for (const cfg of configs) {
      assert.equal(cfg.version, final);
      assert.deepEqual(splitOf(cfg), splitOf(configs[0]));
    }
  });
});
