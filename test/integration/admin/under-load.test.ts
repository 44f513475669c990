import { test } from 'node:test';
import assert from 'node:assert/strict';
import autocannon from 'autocannon';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { call, gatewayConfig } from './support.ts';

/**
 * Weight changes, endpoint removal (and the removed upstream then going
 * away), an endpoint added, a SIGHUP file reload and a full config replace,
 * all under a steady autocannon load: not one request may fail. Routes have
 * no retries, so nothing hides a dropped request. Counts only, no timings.
 */
test('config changes under load lose no request', async (t) => {
  const blue1 = await startUpstream('blue-1');
  const blue2 = await startUpstream('blue-2');
  const blue3 = await startUpstream('blue-3');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue1, blue2, blue3, green].map((u) => u.close())));
  const gw = await startGateway(gatewayConfig([blue1.address, blue2.address], [green.address]));
  t.after(() => gw.stop('SIGKILL'));

  let responses = 0;
  const failures: string[] = [];
  let finish!: (r: autocannon.Result) => void;
  let fail!: (err: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => ((finish = resolve), (fail = reject)));
  // The duration is only a cap: the run is stopped once every change went through.
  const instance = autocannon({ url: `${gw.url('http')}/load`, connections: 8, duration: 120 }, (err, result) => (err ? fail(err) : finish(result)));
  instance.on('response', (_client: unknown, status: number) => {
    responses++;
    if (status < 200 || status > 299) failures.push(`status ${status}`);
  });
  instance.on('reqError', (err: Error) => failures.push(err.message));
  t.after(() => instance.stop());

  /** Lets some load through before and after each change (progress, not time). */
  const progress = async (n = 300) => {
    const target = responses + n;
    await waitFor(() => responses >= target, { timeoutMs: 30_000, what: `${n} more responses under load` });
  };
  const expectVersion = async (gwp: GatewayProcess, v: number) => {
    await waitFor(async () => (await call(gwp, 'GET', '/v1/versions')).body.current === v, { what: `version ${v}` });
  };
  const ok = async (method: string, path: string, body?: unknown) => {
    const r = await call(gw, method, path, body === undefined ? {} : { body });
    assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const split = (b: number, g: number) => ({ split: [{ cluster: 'blue', weight: b }, { cluster: 'green', weight: g }] });

  await progress();
  // Weight changes.
  await ok('PUT', '/v1/routes/api/split', split(50, 50));
  await progress();
  await ok('PUT', '/v1/routes/api/split', split(0, 100));
  await progress();
  await ok('PUT', '/v1/routes/api/split', split(100, 0));
  await progress();

  // Endpoint removal: blue-1 is drained; once the gateway holds no connection to it, it goes away for good.
  await ok('DELETE', '/v1/clusters/blue/endpoints', { address: blue1.address });
  await progress();
  await waitFor(() => new Promise<boolean>((resolve) => blue1.server.getConnections((_e, n) => resolve(n === 0))), { timeoutMs: 15_000, what: 'the removed endpoint to be drained' });
  await blue1.close();
  await progress();

  // An endpoint added.
  await ok('POST', '/v1/clusters/blue/endpoints', { address: blue3.address });
  await progress();

  // SIGHUP: the file now says blue-2 + blue-3 and a 60/40 split.
  const before = (await call(gw, 'GET', '/v1/versions')).body.current as number;
  const fileConfig = gatewayConfig([blue2.address, blue3.address], [green.address]);
  (fileConfig.routes as { split: unknown }[])[0]!.split = split(60, 40).split;
  gw.writeConfig(fileConfig);
  gw.proc.kill('SIGHUP');
  await expectVersion(gw, before + 1);
  await progress();

  // A full replacement through the API.
  const { config } = (await call(gw, 'GET', '/v1/config')).body;
  config.routes[0].split = split(20, 80).split;
  await ok('PUT', '/v1/config', { config });
  await progress();

  instance.stop();
  const result = await done;
  t.diagnostic(`requests answered under load: ${responses} (autocannon 2xx: ${result['2xx']}), versions applied: ${(await call(gw, 'GET', '/v1/versions')).body.current}`);
  assert.deepEqual(failures, []);
  assert.equal(result.errors, 0, 'connection errors');
  assert.equal(result.timeouts, 0, 'timeouts');
  assert.equal(result.non2xx, 0, 'non-2xx answers');
  // Our own count of responses (autocannon's summary may miss the last partial second of a stopped run).
  assert.ok(responses >= 3000, `the load actually ran through every change (${responses} responses)`);
  // Seven changes went in: 3 splits, remove, add, SIGHUP, replace.
  assert.equal((await call(gw, 'GET', '/v1/versions')).body.current, 8);
});
