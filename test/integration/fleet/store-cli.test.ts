import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { cliPath, repoRoot, startGateway } from '../../helpers/gateway-process.ts';
import { EtcdCluster, etcdMissing } from './etcd-cluster.ts';
import { call, newPrefix, nodeConfig, splitOf, versionOf } from './support.ts';

const run = promisify(execFile);
const cli = (args: string[]) => run(process.execPath, ['--import', 'tsx', cliPath, ...args], { cwd: repoRoot }).then(
  (r) => ({ code: 0, ...r }),
  (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
);

test('edgeplane store import / export move a config between a file and etcd', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-store-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = newPrefix();
  const file = join(dir, 'edgeplane.yaml');
  const config: Record<string, unknown> = { version: 7, ...nodeConfig('gw-import', etcd, prefix, ['127.0.0.1:9'], ['127.0.0.1:10']) };
  (config.routes as { split: unknown }[])[0]!.split = [{ cluster: 'blue', weight: 33 }, { cluster: 'green', weight: 67 }];
  writeFileSync(file, JSON.stringify(config));

  await t.test('import writes the file as the fleet\'s version; a second import of the same file changes nothing', async () => {
    const first = await cli(['store', 'import', '--config', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /imported the config file as version 7/);
    const again = await cli(['store', 'import', '--config', file]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /unchanged: version 7/);
  });

  await t.test('a gateway pointed at the store serves the imported version, with its own node-local sections', async () => {
    const gw = await startGateway(nodeConfig('gw-new', etcd, prefix, ['127.0.0.1:1'], ['127.0.0.1:2']));
    t.after(() => gw.stop('SIGKILL'));
    assert.equal(await versionOf(gw), 7);
    const body = (await call(gw, 'GET', '/v1/config')).body;
    assert.deepEqual(splitOf(body), [{ cluster: 'blue', weight: 33 }, { cluster: 'green', weight: 67 }]);
    assert.equal(body.config.node.id, 'gw-new');
  });

  await t.test('export prints the fleet version as a config file', async () => {
    const out = join(dir, 'exported.yaml');
    const res = await cli(['store', 'export', '--config', file, '--output', out]);
    assert.equal(res.code, 0, res.stderr);
    const exported = parse(readFileSync(out, 'utf8'));
    assert.equal(exported.version, 7);
    assert.equal(exported.node.id, 'gw-import');
    assert.deepEqual(exported.routes[0].split, [{ cluster: 'blue', weight: 33 }, { cluster: 'green', weight: 67 }]);
    const check = await cli(['validate', out]);
    assert.equal(check.code, 0, check.stderr + check.stdout);
  });

  await t.test('an unreachable etcd is a clear error, exit 1', async () => {
    const res = await cli(['store', 'export', '--config', file, '--endpoints', 'http://127.0.0.1:1']);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot reach etcd/);
  });
});
