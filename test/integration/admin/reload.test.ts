import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { TOKEN, call, gatewayConfig, metricValue, request } from './support.ts';

/** SIGHUP: a good file becomes a version, an unchanged one does not, a bad one is refused with its errors and changes nothing. */
test('SIGHUP reloads the config file through the versioned store', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const config = gatewayConfig([blue.address], [green.address]);
  const gw = await startGateway(config);
  t.after(() => gw.stop('SIGKILL'));
  const current = async (token = TOKEN) => (await call(gw, 'GET', '/v1/versions', { token })).body.current as number;
  const hup = () => gw.proc.kill('SIGHUP');

  await t.test('an unchanged file is not a new version', async () => {
    hup();
    const unchanged = async () => metricValue((await call(gw, 'GET', '/metrics', { token: null })).body, 'edgeplane_config_changes_total', { source: 'file', result: 'unchanged' });
    await waitFor(async () => (await unchanged()) === 1, { what: 'the reload to be counted as unchanged' });
    assert.equal(await current(), 1);
  });

  await t.test('a bad file is refused with its errors logged; the config in force keeps serving', async () => {
    gw.writeConfig({ ...config, routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'nope', weight: 1 }] }] });
    hup();
    await waitFor(() => /config reload rejected/.test(gw.output()), { what: 'the rejection in the log' });
    assert.match(gw.output(), /routes\[0\]\.split\[0\]\.cluster.*unknown cluster \\?"nope\\?"/);
    assert.equal(await current(), 1);
    assert.equal((await request(gw, '/')).status, 200);
    gw.writeConfig('node: [this is: not yaml');
    hup();
    await waitFor(() => (gw.output().match(/config reload rejected/g) ?? []).length >= 2, { what: 'the second rejection in the log' });
    assert.equal(await current(), 1);
  });

  await t.test('a good file is applied as a new version, and can rotate the admin token', async () => {
    const next = gatewayConfig([blue.address], [green.address], { admin: { address: '127.0.0.1:0', token: 'rotated-token-9d2e' } });
    (next.routes as { split: unknown }[])[0]!.split = [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 1 }];
    gw.writeConfig(next);
    hup();
    await waitFor(async () => (await call(gw, 'GET', '/v1/versions', { token: 'rotated-token-9d2e' })).status === 200, { what: 'the new token to work' });
    assert.equal((await call(gw, 'GET', '/v1/versions')).status, 401, 'the old token no longer works');
    // The new snapshot serves (and its token works) a moment before the store records the version.
    await waitFor(async () => (await current('rotated-token-9d2e')) === 2, { what: 'version 2 recorded' });
    await waitFor(async () => (await request(gw, '/')).body.color === 'green', { what: 'traffic on green' });
    const v = (await call(gw, 'GET', '/v1/versions/2', { token: 'rotated-token-9d2e' })).body;
    assert.deepEqual([v.source, v.author], ['file', 'file']);
    assert.match(v.change, /^reload /);
  });
});
