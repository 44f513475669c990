import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { call, gatewayConfig, request } from './support.ts';

/**
 * `run --watch` with the config file laid out like a Kubernetes ConfigMap
 * mount: edgeplane.yaml → ..data/edgeplane.yaml, ..data → ..<timestamp>/,
 * updated by swapping the ..data symlink atomically.
 */
test('run --watch: edits and ConfigMap symlink swaps are applied; a broken file keeps the running config', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-watch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, '..v1'));
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync('..data/edgeplane.yaml', join(dir, 'edgeplane.yaml'));
  const config = (blueWeight: number, greenWeight: number) => {
    const c = gatewayConfig([blue.address], [green.address]);
    (c.routes as { split: unknown }[])[0]!.split = [{ cluster: 'blue', weight: blueWeight }, { cluster: 'green', weight: greenWeight }];
    return c;
  };
  // startGateway writes through the symlink into ..v1/edgeplane.yaml.
  const gw = await startGateway(config(100, 0), { dir, args: ['--watch'] });
  t.after(() => gw.stop('SIGKILL'));
  const version = async () => (await call(gw, 'GET', '/v1/versions')).body.current as number;
  const swap = (name: string, body: string) => {
    mkdirSync(join(dir, name));
    writeFileSync(join(dir, name, 'edgeplane.yaml'), body);
    symlinkSync(name, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  };
  assert.equal(await version(), 1);

  await t.test('an edit in place is applied as a new version', async () => {
    gw.writeConfig(config(0, 100));
    await waitFor(async () => (await version()) === 2, { what: 'version 2 from the edit' });
    assert.equal((await request(gw, '/')).body.color, 'green');
  });

  await t.test('a symlink swap (ConfigMap update) is applied', async () => {
    swap('..v2', JSON.stringify(config(100, 0)));
    await waitFor(async () => (await version()) === 3, { what: 'version 3 from the swap' });
    assert.equal((await request(gw, '/')).body.color, 'blue');
  });

  await t.test('a broken file is refused with its errors logged; the running config keeps serving', async () => {
    const bad = config(100, 0);
    (bad.routes as { split: unknown }[])[0]!.split = [{ cluster: 'nope', weight: 1 }];
    swap('..v3', JSON.stringify(bad));
    await waitFor(() => /config reload rejected/.test(gw.output()), { what: 'the rejection in the log' });
    assert.match(gw.output(), /routes\[0\]\.split\[0\]\.cluster/);
    swap('..v4', 'node: [not yaml');
    await waitFor(() => (gw.output().match(/config reload rejected/g) ?? []).length >= 2, { what: 'the second rejection' });
    assert.equal(await version(), 3);
    assert.equal((await request(gw, '/')).body.color, 'blue');
  });

  await t.test('fixing the file applies it', async () => {
    swap('..v5', JSON.stringify(config(0, 100)));
    await waitFor(async () => (await version()) === 4, { what: 'version 4 after the fix' });
    assert.equal((await request(gw, '/')).body.color, 'green');
  });
});
