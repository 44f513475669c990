import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { TOKEN, call, callRefusedEarly, gatewayConfig, metricValue, request, stateFile } from './support.ts';

/** Polls until `n` consecutive requests are answered by `color`, i.e. the change is in force. */
async function allGoTo(gw: GatewayProcess, color: string, n = 12): Promise<void> {
  await waitFor(async () => {
    for (let i = 0; i < n; i++) {
      const r = await request(gw, '/');
      if (r.status !== 200 || r.body.color !== color) return false;
    }
    return true;
  }, { timeoutMs: 20_000, what: `all traffic on ${color}` });
}

test('admin API', async (t) => {
  const blue1 = await startUpstream('blue');
  const blue2 = await startUpstream('blue-2');
  const green = await startUpstream('green');
  const upstreams: TestUpstream[] = [blue1, blue2, green];
  const gw = await startGateway(gatewayConfig([blue1.address], [green.address]));
  t.after(async () => {
    await gw.stop('SIGKILL');
    await Promise.all(upstreams.map((u) => u.close()));
  });

  await t.test('health, readiness and metrics need no token', async () => {
    assert.equal((await call(gw, 'GET', '/healthz', { token: null })).status, 200);
    const ready = await call(gw, 'GET', '/readyz', { token: null });
    assert.deepEqual([ready.status, ready.body.status], [200, 'ready']);
    const metrics = await call(gw, 'GET', '/metrics', { token: null });
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /edgeplane_config_version 1/);
  });

  await t.test('/v1 without a token, with a wrong one or a malformed header answers 401 and counts it', async () => {
    const before = (await call(gw, 'GET', '/metrics', { token: null })).body as string;
    for (const [token, headers] of [[null, {}], ['wrong-token', {}], [null, { authorization: `Basic ${TOKEN}` }], [TOKEN + 'x', {}]] as const) {
      for (const [method, path] of [['GET', '/v1/config'], ['PUT', '/v1/routes/api/split'], ['POST', '/v1/rollback']]) {
        const r = await call(gw, method!, path!, { token, headers: { ...headers }, ...(method === 'GET' ? {} : { body: { split: [{ cluster: 'green', weight: 1 }] } }) });
        assert.equal(r.status, 401, `${method} ${path} with ${token}`);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="edgeplane-admin"');
        assert.equal(r.body.errors[0].path, 'headers.authorization');
      }
    }
    const after = (await call(gw, 'GET', '/metrics', { token: null })).body as string;
    const delta = (reason: string) => metricValue(after, 'edgeplane_admin_unauthorized_total', { reason }) - metricValue(before, 'edgeplane_admin_unauthorized_total', { reason });
    assert.equal(delta('missing'), 3);
    assert.equal(delta('invalid'), 6);
    assert.equal(delta('malformed'), 3);
    // Nothing of that reached the config.
    assert.equal((await call(gw, 'GET', '/v1/config')).body.version, 1);
  });

  await t.test('GET /v1/config answers {version, config} with an ETag and without secrets', async () => {
    const r = await call(gw, 'GET', '/v1/config');
    assert.equal(r.status, 200);
    assert.equal(r.body.version, 1);
    assert.equal(r.headers.get('etag'), '"1"');
    assert.equal(r.body.config.admin.token, '[redacted]');
    assert.equal(JSON.stringify(r.body).includes(TOKEN), false);
    assert.deepEqual(r.body.config.routes[0].split, [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }]);
    assert.equal(stateFile(gw).includes(TOKEN), false, 'the token is not persisted');
  });

  await t.test('PUT /v1/routes/:name/split takes effect and is a new version', async () => {
    const r = await call(gw, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }] }, headers: { 'x-edgeplane-author': 'alice' } });
    assert.deepEqual([r.status, r.body], [200, { version: 2, previousVersion: 1, changed: true }]);
    await allGoTo(gw, 'green');
    const versions = (await call(gw, 'GET', '/v1/versions')).body;
    assert.equal(versions.current, 2);
    assert.deepEqual(versions.versions.map((v: { version: number }) => v.version), [2, 1]);
    assert.equal(versions.versions[0].author, 'alice');
    assert.equal(versions.versions[0].change, 'PUT /v1/routes/api/split');
    assert.equal(versions.versions[1].source, 'file');
  });

  await t.test('every rejected write answers 400 {errors:[{path,message}]} and changes nothing in memory or on disk', async () => {
    const config = (await call(gw, 'GET', '/v1/config')).body;
    const disk = stateFile(gw);
    const cases: { name: string; method: string; path: string; body?: unknown; raw?: string; errorPath: string }[] = [
      { name: 'malformed JSON', method: 'PUT', path: '/v1/routes/api/split', raw: '{"split": [', errorPath: '' },
      { name: 'wrong type', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'blue', weight: 'ten' }] }, errorPath: 'split[0].weight' },
      { name: 'negative weight', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'blue', weight: -1 }, { cluster: 'green', weight: 5 }] }, errorPath: 'split[0].weight' },
      { name: 'unknown key in the body', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'blue', weight: 1 }], colour: 'x' }, errorPath: 'colour' },
      { name: 'unknown key in an entry', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'blue', weight: 1, extra: true }] }, errorPath: 'split[0].extra' },
      { name: 'weights that add up to nothing', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 0 }] }, errorPath: 'split' },
      { name: 'split naming an unknown cluster', method: 'PUT', path: '/v1/routes/api/split', body: { split: [{ cluster: 'purple', weight: 5 }] }, errorPath: 'split[0].cluster' },
      { name: 'missing split', method: 'PUT', path: '/v1/routes/api/split', body: {}, errorPath: 'split' },
      { name: 'unknown route', method: 'PUT', path: '/v1/routes/nope/split', body: { split: [{ cluster: 'blue', weight: 1 }] }, errorPath: 'name' },
      { name: 'config with an unknown key', method: 'PUT', path: '/v1/config', body: { ...config.config, colour: 'blue' }, errorPath: 'colour' },
      { name: 'config of the wrong type', method: 'PUT', path: '/v1/config', body: { ...config.config, clusters: 'all' }, errorPath: 'clusters' },
      { name: 'config that is not an object', method: 'PUT', path: '/v1/config', body: [1, 2, 3], errorPath: '' },
      { name: 'config changing the admin section', method: 'PUT', path: '/v1/config', body: { ...config.config, admin: { address: '127.0.0.1:1', token: 'mine' } }, errorPath: 'admin' },
      { name: 'rollback to a version that does not exist', method: 'POST', path: '/v1/rollback', body: { version: 999 }, errorPath: 'version' },
      { name: 'rollback with a version that is not a number', method: 'POST', path: '/v1/rollback', body: { version: 'latest' }, errorPath: 'version' },
      { name: 'rollback without a body', method: 'POST', path: '/v1/rollback', errorPath: '' },
      { name: 'endpoint that is not host:port', method: 'POST', path: '/v1/clusters/blue/endpoints', body: { address: 'not-an-address' }, errorPath: 'address' },
      { name: 'endpoint already there', method: 'POST', path: '/v1/clusters/blue/endpoints', body: { address: blue1.address }, errorPath: 'address' },
      { name: 'endpoint of an unknown cluster', method: 'POST', path: '/v1/clusters/purple/endpoints', body: { address: blue2.address }, errorPath: 'name' },
      { name: 'removing an endpoint that is not there', method: 'DELETE', path: '/v1/clusters/blue/endpoints', body: { address: '127.0.0.1:1' }, errorPath: 'address' },
      { name: 'endpoint address of the wrong type', method: 'POST', path: '/v1/clusters/blue/endpoints', body: { address: 9101 }, errorPath: 'address' },
    ];
    for (const c of cases) {
      const r = await call(gw, c.method, c.path, { ...(c.body !== undefined ? { body: c.body } : {}), ...(c.raw !== undefined ? { raw: c.raw, headers: { 'content-type': 'application/json' } } : {}) });
      assert.equal(r.status, 400, `${c.name}: ${JSON.stringify(r.body)}`);
      assert.ok(Array.isArray(r.body.errors) && r.body.errors.length > 0, c.name);
      for (const e of r.body.errors) assert.deepEqual(Object.keys(e).sort(), ['message', 'path'], c.name);
      assert.ok(r.body.errors.some((e: { path: string }) => e.path === c.errorPath), `${c.name}: expected an error at "${c.errorPath}", got ${JSON.stringify(r.body.errors)}`);
      assert.deepEqual((await call(gw, 'GET', '/v1/config')).body, config, `${c.name}: config changed`);
      assert.equal(stateFile(gw), disk, `${c.name}: state on disk changed`);
    }
    await allGoTo(gw, 'green', 4);
  });

  await t.test('an oversized body answers 413 and changes nothing', async () => {
    const disk = stateFile(gw);
    const huge = { split: [{ cluster: 'blue', weight: 1 }], pad: 'x'.repeat(2 * 1024 * 1024) };
    const r = await callRefusedEarly(gw, 'PUT', '/v1/routes/api/split', JSON.stringify(huge));
    assert.equal(r.status, 413);
    assert.equal(r.body.errors[0].path, '');
    assert.equal(stateFile(gw), disk);
    assert.equal((await call(gw, 'GET', '/v1/config')).body.version, 2);
  });

  await t.test('If-Match with a stale version answers 412', async () => {
    const r = await call(gw, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 1 }] }, headers: { 'if-match': '"1"' } });
    assert.equal(r.status, 412);
    assert.equal(r.body.errors[0].path, 'headers.if-match');
  });

  await t.test('endpoints are added and removed; the removed one stops getting traffic', async () => {
    await call(gw, 'PUT', '/v1/routes/api/split', { body: { split: [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }] } });
    const add = await call(gw, 'POST', '/v1/clusters/blue/endpoints', { body: { address: blue2.address } });
    assert.deepEqual([add.status, add.body.changed], [200, true]);
    await waitFor(async () => (await request(gw, '/')).body.color === 'blue-2', { timeoutMs: 20_000, what: 'traffic on the added endpoint' });
    const del = await call(gw, 'DELETE', `/v1/clusters/blue/endpoints?address=${encodeURIComponent(blue1.address)}`);
    assert.deepEqual([del.status, del.body.changed], [200, true]);
    await allGoTo(gw, 'blue-2');
    const cfg = (await call(gw, 'GET', '/v1/config')).body.config;
    assert.deepEqual(cfg.clusters[0].endpoints, [blue2.address]);
  });

  await t.test('PUT /v1/config replaces the whole config (placeholders keep the token)', async () => {
    const { config } = (await call(gw, 'GET', '/v1/config')).body;
    config.routes[0].split = [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 1 }];
    const r = await call(gw, 'PUT', '/v1/config', { body: { config } });
    assert.equal(r.status, 200);
    await allGoTo(gw, 'green');
    // The token still works, so the placeholder kept it.
    assert.equal((await call(gw, 'GET', '/v1/versions')).status, 200);
    assert.equal((await call(gw, 'GET', '/v1/versions', { token: '[redacted]' })).status, 401);
  });

  await t.test('rollback restores an earlier version as a new one', async () => {
    const before = (await call(gw, 'GET', '/v1/versions')).body.current;
    const r = await call(gw, 'POST', '/v1/rollback', { body: { version: 1 } });
    assert.deepEqual([r.status, r.body.version, r.body.changed], [200, before + 1, true]);
    const { config } = (await call(gw, 'GET', '/v1/config')).body;
    assert.deepEqual(config.routes[0].split, [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }]);
    assert.deepEqual(config.clusters[0].endpoints, [blue1.address]);
    const v = (await call(gw, 'GET', `/v1/versions/${r.body.version}`)).body;
    assert.deepEqual([v.source, v.rolledBackTo], ['rollback', 1]);
    await waitFor(async () => (await request(gw, '/')).body.color === 'blue', { timeoutMs: 20_000, what: 'blue after rollback' });
  });

  await t.test('GET /v1/health lists clusters and endpoints', async () => {
    const r = await call(gw, 'GET', '/v1/health');
    assert.equal(r.status, 200);
    const names = r.body.clusters.map((c: { name: string }) => c.name).sort();
    assert.deepEqual(names, ['blue', 'green']);
    const blue = r.body.clusters.find((c: { name: string }) => c.name === 'blue');
    assert.ok(blue.endpoints.some((e: { address: string }) => e.address === blue1.address));
  });

  await t.test('unknown admin paths answer 404 in the error shape', async () => {
    const r = await call(gw, 'GET', '/v1/nothing-here');
    assert.equal(r.status, 404);
    assert.ok(Array.isArray(r.body.errors));
  });

  await t.test('writes are in the audit log, without the token', async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const log = readFileSync(join(gw.dir, 'state', 'audit.log'), 'utf8');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.method === 'PUT' && l.status === 200 && l.author === 'alice'));
    assert.ok(lines.some((l) => l.status === 401));
    assert.ok(lines.some((l) => l.status === 400 && Array.isArray(l.errors)));
    assert.equal(log.includes(TOKEN), false);
  });
});

test('a non-loopback admin address without a token is refused at start', async () => {
  const cfg = gatewayConfig(['127.0.0.1:9'], ['127.0.0.1:9'], { admin: { address: '0.0.0.0:0' } });
  await assert.rejects(startGateway(cfg, { timeoutMs: 20_000 }), /not a loopback address/);
});
