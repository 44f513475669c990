import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { LeaderElection } from '../../../src/control/leader-election.ts';
import { FencedDocument } from '../../../src/control/fenced-document.ts';
import { FencedError } from '../../../src/control/errors.ts';
import { FleetRequests, RequestTimeoutError } from '../../../src/control/fleet-requests.ts';
import { ManualClock, systemClock } from '../../../src/util/clock.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { waitFor } from '../../helpers/wait.ts';
import { EtcdCluster, etcdMissing } from './etcd-cluster.ts';
import { newPrefix } from './support.ts';

/** The election and the fence against a real etcd: one leader, takeover, and a deposed leader's writes refused. */
test('leader election and fencing on a real etcd', { skip: etcdMissing() ?? false, timeout: 60_000 }, async (t) => {
  const etcd = await EtcdCluster.start(1);
  t.after(() => etcd.stop());
  const clients: Etcd3[] = [];
  const client = () => {
    const c = new Etcd3({ hosts: etcd.endpoints });
    clients.push(c);
    return c;
  };
  const elections: LeaderElection[] = [];
  t.after(async () => {
    await Promise.all(elections.map((e) => e.close()));
    for (const c of clients) c.close();
  });
  const elect = (nodeId: string, key: string, clock = systemClock) => {
    const e = new LeaderElection({ client: client(), key, nodeId, ttlMs: 1000, clock, logger: silentLogger, pollMs: 50 });
    elections.push(e);
    return e;
  };

  await t.test('exactly one of two candidates leads; the other takes over when it resigns', async () => {
    const key = `${newPrefix()}/releases/leader`;
    const a = elect('a', key);
    const b = elect('b', key);
    a.start();
    b.start();
    await waitFor(() => a.leading || b.leading, { what: 'a leader' });
    // Both keep polling: still exactly one.
    await waitFor(() => a.holder?.id !== undefined && b.holder?.id !== undefined, { what: 'both see the holder' });
    assert.equal([a, b].filter((e) => e.leading).length, 1);
    const [leader, other] = a.leading ? [a, b] : [b, a];
    assert.equal(other.holder?.id, leader === a ? 'a' : 'b');
    const before = leader.fence()!.revision;
    await leader.close();
    await waitFor(() => other.leading, { timeoutMs: 5000, what: 'the other candidate to take over' });
    assert.ok(other.fence()!.revision > before, 'a new leader key, a new (higher) fencing revision');
  });

  await t.test("a deposed leader that still believes it leads is refused by etcd; the new leader's write goes through", async () => {
    const prefix = newPrefix();
    const key = `${prefix}/releases/leader`;
    // A's clock stands still: like a process paused right after a check, it never notices on its own.
    const frozen = new ManualClock();
    const a = elect('a', key, frozen);
    a.start();
    frozen.advance(0);
    await waitFor(() => a.leading, { what: 'a to lead' });
    const staleFence = a.fence()!;
    // Its key goes (as when its lease expired during the pause); B is elected.
    const raw = client();
    await raw.delete().key(key).exec();
    const b = elect('b', key);
    b.start();
    await waitFor(() => b.leading, { timeoutMs: 5000, what: 'b to lead' });
    assert.deepEqual(a.fence(), staleFence, 'A still believes it leads');

    const doc = `${prefix}/releases/state`;
    await assert.rejects(new FencedDocument(client(), doc, 2000).write('{"from":"a"}', staleFence), (err: unknown) => err instanceof FencedError && /revision/.test((err as Error).message));
    await new FencedDocument(client(), doc, 2000).write('{"from":"b"}', b.fence());
    assert.equal(await raw.get(doc).string(), '{"from":"b"}', "only the new leader's write is stored");
    // A fenced take (how the driver claims forwarded requests) is refused the same way.
    await raw.put(`${prefix}/releases/requests/x`).value('{}').exec();
    assert.equal(await new FencedDocument(client(), doc, 2000).take(`${prefix}/releases/requests/x`, staleFence), false);
    assert.equal(await new FencedDocument(client(), doc, 2000).take(`${prefix}/releases/requests/x`, b.fence()), true);
  });

  await t.test('a leader whose lease may have run out (no keepalive acknowledged within the TTL) stops acting by itself', async () => {
    const key = `${newPrefix()}/releases/leader`;
    const clock = new ManualClock();
    const a = elect('a', key, clock);
    const changes: boolean[] = [];
    a.onChange((l) => changes.push(l));
    a.start();
    clock.advance(0);
    await waitFor(() => a.leading, { what: 'a to lead' });
    // Time jumps past the TTL as it does for a process resumed after SIGSTOP: no acknowledged keepalive covers it.
    clock.advance(5000);
    assert.equal(a.fence(), null);
    assert.equal(a.leading, false);
    assert.deepEqual(changes, [true, false]);
  });

  await t.test('requests reach whichever node leads, once; with no leader they are withdrawn untouched', async () => {
    const prefix = newPrefix();
    const key = `${prefix}/releases/leader`;
    const requests = (nodeId: string, timeoutMs: number) => new FleetRequests({ client: client(), base: `${prefix}/releases`, nodeId, clock: systemClock, logger: silentLogger, pollMs: 20, timeoutMs });
    // Nobody serves: the request is withdrawn and says nothing was done.
    await assert.rejects(requests('b', 300).send({ op: 'abort' }), (err: unknown) => err instanceof RequestTimeoutError && !err.taken && /nothing was done/.test(err.message));
    const raw = client();
    assert.equal((await raw.getAll().prefix(`${prefix}/releases/requests/`).keys()).length, 0, 'the withdrawn request is gone');

    const a = elect('a', key);
    a.start();
    await waitFor(() => a.leading, { what: 'a to lead' });
    const served = requests('a', 5000);
    t.after(() => served.close());
    const seen: unknown[] = [];
    served.serve(async (payload) => {
      seen.push(payload);
      return { ok: true, echo: payload };
    }, () => a.fence());
    const answer = await requests('b', 5000).send({ op: 'promote', id: 'rel-1' });
    assert.deepEqual(answer, { ok: true, echo: { op: 'promote', id: 'rel-1' } });
    assert.deepEqual(seen, [{ op: 'promote', id: 'rel-1' }], 'acted on exactly once');
    assert.equal((await raw.getAll().prefix(`${prefix}/releases/`).keys()).filter((k) => !k.endsWith('/leader')).length, 0, 'request and answer are both gone');
  });
});
