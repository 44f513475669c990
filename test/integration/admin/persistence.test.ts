import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { VersionHistory } from '../../../src/control/history.ts';
import { PAUSE_BEFORE_RENAME_ENV } from '../../../src/control/persistence.ts';
import { call, gatewayConfig, request } from './support.ts';

const split = (blue: number, green: number) => ({ split: [{ cluster: 'blue', weight: blue }, { cluster: 'green', weight: green }] });

/** The persisted history, parsed exactly as the gateway parses it (throws on a torn or invalid file). */
function persisted(dir: string): VersionHistory {
  return VersionHistory.parse(JSON.parse(readFileSync(join(dir, 'state', 'config.json'), 'utf8')), 1000);
}

test('admin changes survive a restart; a file with a newer version: wins', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const config = gatewayConfig([blue.address], [green.address]);

  const first = await startGateway(config);
  const dir = first.dir;
  assert.equal((await call(first, 'PUT', '/v1/routes/api/split', { body: split(0, 100) })).status, 200);
  assert.equal(await first.stop('SIGTERM'), 0);

  const second = await startGateway(config, { dir });
  t.after(() => second.stop('SIGKILL'));
  const got = (await call(second, 'GET', '/v1/config')).body;
  assert.equal(got.version, 2);
  assert.deepEqual(got.config.routes[0].split, split(0, 100).split);
  assert.equal((await request(second, '/')).body.color, 'green');
  assert.equal(await second.stop('SIGTERM'), 0);

  // The operator commits a file whose version is newer than the persisted state: the file wins.
  const bumped = { ...config, version: 40, routes: [{ ...(config.routes as object[])[0], split: split(100, 0).split }] };
  const third = await startGateway(bumped, { dir });
  t.after(() => third.stop('SIGKILL'));
  const now = (await call(third, 'GET', '/v1/config')).body;
  assert.equal(now.version, 40);
  assert.deepEqual(now.config.routes[0].split, split(100, 0).split);
  // ...and the next admin change is newer than the file, so it would win at the next start.
  assert.equal((await call(third, 'PUT', '/v1/routes/api/split', { body: split(1, 1) })).body.version, 41);
});

test('kill -9 between writing the temp file and the rename leaves the old version, and the gateway restarts on it', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const config = gatewayConfig([blue.address], [green.address]);

  const first = await startGateway(config);
  const dir = first.dir;
  t.after(() => first.stop('SIGKILL'));
  assert.equal((await call(first, 'PUT', '/v1/routes/api/split', { body: split(30, 70) })).body.version, 2);
  assert.equal(await first.stop('SIGTERM'), 0);

  const marker = join(dir, 'paused-before-rename');
  const paused = await startGateway(config, { dir, env: { [PAUSE_BEFORE_RENAME_ENV]: marker } });
  t.after(() => paused.stop('SIGKILL'));
  // This write reaches the pause (temp file written and fsynced) and never answers.
  const pending = call(paused, 'PUT', '/v1/routes/api/split', { body: split(0, 100) }).catch((err: Error) => err);
  await waitFor(() => existsSync(marker), { what: 'the write to pause before its rename' });
  const tmp = readFileSync(marker, 'utf8');
  assert.ok(existsSync(tmp), 'the temp file exists at the pause');
  await paused.stop('SIGKILL');
  assert.ok((await pending) instanceof Error, 'the client never got an answer');

  // On disk: the old version, intact; the new one only in the leftover temp file.
  const h = persisted(dir);
  assert.equal(h.head?.version, 2);
  assert.deepEqual(h.head?.config.routes[0]!.split, split(30, 70).split);
  assert.equal(JSON.parse(readFileSync(tmp, 'utf8')).current, 3);

  const restarted = await startGateway(config, { dir });
  t.after(() => restarted.stop('SIGKILL'));
  const got = (await call(restarted, 'GET', '/v1/config')).body;
  assert.equal(got.version, 2);
  assert.deepEqual(got.config.routes[0].split, split(30, 70).split);
  assert.deepEqual(readdirSync(join(dir, 'state')).filter((f) => f.includes('.tmp-')), [], 'the leftover temp file was cleaned up');
  assert.equal((await call(restarted, 'PUT', '/v1/routes/api/split', { body: split(1, 2) })).body.version, 3);
});

test('an answered write is durable: kill -9 right after the 200 keeps it', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const config = gatewayConfig([blue.address], [green.address]);
  const first = await startGateway(config);
  t.after(() => first.stop('SIGKILL'));
  const r = await call(first, 'POST', '/v1/clusters/green/endpoints', { body: { address: blue.address } });
  assert.equal(r.status, 200);
  await first.stop('SIGKILL');
  const second = await startGateway(config, { dir: first.dir });
  t.after(() => second.stop('SIGKILL'));
  const got = (await call(second, 'GET', '/v1/config')).body;
  assert.equal(got.version, r.body.version);
  assert.deepEqual(got.config.clusters[1].endpoints, [green.address, blue.address]);
});

test('kill -9 at random moments during a stream of writes never leaves a torn or lost acknowledged version', async (t) => {
  const blue = await startUpstream('blue');
  const green = await startUpstream('green');
  t.after(() => Promise.all([blue.close(), green.close()]));
  const config = gatewayConfig([blue.address], [green.address]);
  let dir: string | undefined;
  for (let round = 0; round < 3; round++) {
    const gw = await startGateway(config, dir ? { dir } : {});
    dir = gw.dir;
    t.after(() => gw.stop('SIGKILL'));
    let acked = (await call(gw, 'GET', '/v1/config')).body.version as number;
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await call(gw, 'PUT', '/v1/routes/api/split', { body: split(1 + (i % 50), 1 + round) });
          if (r.status === 200) acked = Math.max(acked, r.body.version);
        } catch {
          return; // the process is gone
        }
      }
    })();
    // Wait for a few acknowledged writes, then kill at a random point of the stream.
    const start = acked;
    await waitFor(() => acked >= start + 3 + Math.floor(Math.random() * 10), { what: 'some acknowledged writes' });
    await gw.stop('SIGKILL');
    stop = true;
    await writer;
    const h = persisted(dir);
    const head = h.head!.version;
    // Everything acknowledged is on disk; at most the one write in flight at the kill landed without its answer.
    assert.ok(head === acked || head === acked + 1, `round ${round}: on disk ${head}, acknowledged ${acked}`);
  }
  const last = await startGateway(config, { dir: dir! });
  t.after(() => last.stop('SIGKILL'));
  assert.equal((await call(last, 'GET', '/v1/config')).body.version, persisted(dir!).head!.version);
});
