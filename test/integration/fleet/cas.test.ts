import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../../src/config/schema/index.ts';
import { EtcdConfigStore } from '../../../src/control/etcd-store.ts';
import { StateDir } from '../../../src/control/persistence.ts';
import { ControlError, VersionConflictError } from '../../../src/control/errors.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { waitFor } from '../../helpers/wait.ts';
import { EtcdCluster, etcdMissing } from './etcd-cluster.ts';
import { newPrefix, rawClient } from './support.ts';
import { configKey } from '../../../src/control/fleet-record.ts';

const fileConfig = (id: string) =>
  ({
    node: { id, region: 'jp' },
    listeners: [],
    clusters: [{ name: 'blue', endpoints: ['127.0.0.1:9101'] }, { name: 'green', endpoints: ['127.0.0.1:9201'] }],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }] }],
  }) as unknown as Config;

async function openStore(t: TestContext, etcd: EtcdCluster, prefix: string, id: string, applied: number[], probeInterval = '200ms'): Promise<EtcdConfigStore> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeplane-cas-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = await EtcdConfigStore.open({
    etcd: { endpoints: etcd.endpoints, prefix, probeInterval },
    baseDir: dir,
    stateDir: await StateDir.open(dir),
    historyLimit: 20,
    apply: async (_c, v) => void applied.push(v),
    logger: silentLogger,
    clock: systemClock,
  });
  t.after(() => store.close());
  await store.start(fileConfig(`gw-${id}`), undefined);
  return store;
}

test('the node that seeded the empty store: its first write, made at once, is stored, and the seed applies once', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const prefix = newPrefix();
  const applied: number[] = [];
  const store = await openStore(t, etcd, prefix, 'a', applied);
  assert.equal(store.current.version, 1);
  // No wait for the watch or the probe: the write's compare must be built on the seed's revision, not the empty store's.
  const res = await store.update((d) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]), { source: 'api', author: 't', change: 'first' });
  assert.equal(res.version, 2);
  // A later write from another node reaches this one through its watch, after any event of the seed would have.
  const other = await openStore(t, etcd, prefix, 'b', []);
  assert.equal((await other.update((d) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: 0 }, { cluster: 'green', weight: 100 }]), { source: 'api', author: 't', change: 'second' })).version, 3);
  await waitFor(() => store.current.version === 3, { what: 'the seeding node on version 3' });
  assert.deepEqual(applied, [1, 2, 3], 'each version applied once, in order');
});

/** Two stores in one process on a real etcd, so both writes are built on the same head before either reaches etcd. */
test('two writes based on the same head: etcd\'s compare-and-swap lets exactly one through', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const prefix = newPrefix();
  const applied: Record<string, number[]> = { a: [], b: [] };
  const stores = [await openStore(t, etcd, prefix, 'a', applied.a!), await openStore(t, etcd, prefix, 'b', applied.b!)];
  const [a, b] = stores as [EtcdConfigStore, EtcdConfigStore];
  assert.equal(a.current.version, 1);
  assert.equal(b.current.version, 1);

  // A round races only when both writes are built on the same head. On a
  // loaded machine one store's write can wait in its queue (behind its own
  // last apply) until the other's write has landed and been seen: then both
  // succeed, one after the other, which is correct too. Count the rounds that
  // raced and check both kinds.
  let raced = 0;
  let round = 0;
  for (; raced < 5 && round < 30; round++) {
    const base: number = a.current.version;
    await waitFor(() => b.current.version === base, { what: `b at version ${base}` });
    // Drain both stores' queues (an apply of the last version seen through the
    // watch may still be running there): a no-op edit is queued behind it and
    // answers "unchanged". With both queues idle, the two writes below run
    // their synchronous part in consecutive microtasks, with no I/O between.
    const noop = { source: 'api', author: 't', change: 'noop' } as const;
    const idle = await Promise.all([a.update(() => {}, noop), b.update(() => {}, noop)]);
    assert.deepEqual(idle.map((r) => r.changed), [false, false], 'a no-op edit stores nothing');
    const edit = (w: number) => (d: Config) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: w }, { cluster: 'green', weight: 100 - w }]);
    // Both calls start in the same tick: each builds its compare-and-swap on the head it has now.
    const results = await Promise.allSettled([a.update(edit(10 + (round % 40)), { source: 'api', author: 'a', change: 'a' }), b.update(edit(60 + (round % 40)), { source: 'api', author: 'b', change: 'b' })]);
    const ok = results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<{ version: number }>).value);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    const summary = `round ${round}: ${results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : `ok v${r.value.version}`)).join(' / ')}`;
    if (ok.length === 2) {
      // Not a race: the second write was built on the first one's version; nothing was lost.
      assert.deepEqual(ok.map((r) => r.version).sort((x, y) => x - y), [base + 1, base + 2], summary);
      await waitFor(() => a.current.version === base + 2 && b.current.version === base + 2, { what: 'both on the later write' });
      continue;
    }
    raced++;
    assert.equal(ok.length, 1, summary);
    assert.ok(refused[0]!.reason instanceof VersionConflictError, summary);
    assert.equal((refused[0]!.reason as ControlError).kind, 'conflict', 'a race lost in etcd is a 409, not a 412');
    assert.equal(ok[0]!.version, base + 1, summary);
    // The loser catches up to the winner's version through its watch.
    await waitFor(() => a.current.version === base + 1 && b.current.version === base + 1, { what: 'both on the winner' });
  }
  assert.equal(raced, 5, `only ${raced} of ${round} rounds raced`);
  const last = a.current.version;
  assert.deepEqual([...new Set(applied.a)].sort((x, y) => x - y), Array.from({ length: last }, (_, i) => i + 1));
});

test('a wipe noticed first by a write (another node re-seeded): the write gets a 409, the next one is stored', { skip: etcdMissing() ?? false }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const prefix = newPrefix();
  // A probes once an hour, so only its own write can tell it that etcd was wiped; B probes every 200 ms and re-seeds.
  const a = await openStore(t, etcd, prefix, 'a', [], '1h');
  const b = await openStore(t, etcd, prefix, 'b', []);
  const moved = (w: number) => (d: Config) => void (d.routes[0]!.split = [{ cluster: 'blue', weight: w }, { cluster: 'green', weight: 100 - w }]);
  for (let i = 0; i < 5; i++) await a.update(moved(i), { source: 'api', author: 'a', change: `pre-wipe ${i}` });
  await waitFor(() => b.current.version === 6, { what: 'b on version 6' });
  await etcd.wipe();
  const client = rawClient(etcd);
  t.after(() => client.close());
  await waitFor(async () => (await client.get(configKey(prefix)).exec()).kvs.length === 1, { what: 'b to re-seed the wiped store' });
  // A's head still carries the old store's revision, above anything the new store has written.
  const first = await a.update(moved(50), { source: 'api', author: 'a', change: 'after the wipe' }).then(() => null, (err: unknown) => err);
  assert.ok(first === null || first instanceof VersionConflictError, `a 409 or a success, not ${String(first)}`);
  if (first !== null) {
    const res = await a.update(moved(50), { source: 'api', author: 'a', change: 'after the wipe, again' });
    assert.equal(res.version, 7, 'the retry is built on the re-seeded head');
  }
  await waitFor(() => b.current.version === 7, { what: 'b on the write made through a' });
});
