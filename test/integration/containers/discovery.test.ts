import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DockerSource } from '../../../src/discovery/docker.ts';
import type { DiscoveryStatus } from '../../../src/discovery/types.ts';
import { systemClock } from '../../../src/util/clock.ts';
import { mathRng } from '../../../src/util/rng.ts';
import { silentLogger } from '../../../src/util/logger.ts';
import { engineUnavailable, execIn, freePort, runService, startEngine, type EngineKind, type TestEngine } from '../../helpers/containers.ts';
import { waitFor } from '../../helpers/wait.ts';

/**
 * Docker discovery against a real daemon: dockerd, then Podman's
 * Docker-compatible service, each started once for its block.
 */
for (const kind of ['docker', 'podman'] as EngineKind[]) {
  describe(`docker discovery against ${kind}`, { concurrency: false }, () => {
    let engine: TestEngine | null = null;
    let skip: string | null = engineUnavailable(kind);

    before(async () => {
      if (skip) return;
      try {
        engine = await startEngine(kind);
        await engine.importService('v1');
      } catch (err) {
        skip = `${kind} could not start here: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`;
      }
    });
    after(async () => {
      await engine?.close();
    });

    function source(app: string, port = 1): { src: DockerSource; sets: string[][]; statuses: DiscoveryStatus[]; last(): string[] } {
      const sets: string[][] = [];
      const statuses: DiscoveryStatus[] = [];
      const src = new DockerSource({
        cluster: `c-${app}`,
        socket: engine!.socket,
        labels: { app, 'edgeplane.test': 'discovery' },
        port,
        network: 'host',
        published: false,
        hostAddress: '127.0.0.1',
        resyncIntervalMs: 30_000,
        clock: systemClock,
        rng: mathRng,
        logger: silentLogger,
      });
      src.start({ endpoints: (a) => void sets.push([...a]), status: (s) => void statuses.push(s) });
      return { src, sets, statuses, last: () => sets[sets.length - 1] ?? [] };
    }

    /** Waits until the source's set is `want`; returns how long that took after `since` (for the report, not asserted). */
    async function follows(s: { last(): string[] }, want: string[], what: string, since = Date.now()): Promise<number> {
      await waitFor(() => JSON.stringify(s.last()) === JSON.stringify([...want].sort()), { timeoutMs: 10_000, intervalMs: 10, what: `${what}: endpoints ${JSON.stringify(want)} (have ${JSON.stringify(s.last())})` });
      return Date.now() - since;
    }

    it('follows start, stop and kill of labelled containers and ignores the others', async (t) => {
      if (skip) return t.skip(skip);
      const e = engine!;
      const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
      const s = source('disc1');
      try {
        await waitFor(() => s.src.status().delivered, { what: 'first list' });
        assert.deepEqual(s.last(), [], 'no container matches yet');
        const labels = { app: 'disc1', 'edgeplane.test': 'discovery', 'edgeplane.port': String(pa) };
        const a = await runService(e, { version: 'v1', port: pa, labels });
        let since = Date.now();
        const startMs = await follows(s, [`127.0.0.1:${pa}`], 'after starting a matching container', since);
        // Same app, another label value: not ours.
        await runService(e, { version: 'v1', port: pb, labels: { app: 'other', 'edgeplane.test': 'discovery', 'edgeplane.port': String(pb) } });
        const c = await runService(e, { version: 'v1', port: pc, labels: { ...labels, 'edgeplane.port': String(pc) } });
        await follows(s, [`127.0.0.1:${pa}`, `127.0.0.1:${pc}`], 'after a second matching container');
        since = Date.now();
        await e.client.expect('POST', `/containers/${c}/stop?t=0`, { timeoutMs: 30_000 }, [304]);
        const stopMs = await follows(s, [`127.0.0.1:${pa}`], 'after stopping one', since);
        since = Date.now();
        await e.client.expect('POST', `/containers/${a}/kill`, { timeoutMs: 30_000 });
        const killMs = await follows(s, [], 'after killing the other', since);
        assert.ok(s.src.status().ok);
        t.diagnostic(`${kind}: endpoints followed start in ${startMs} ms, stop in ${stopMs} ms, kill in ${killMs} ms`);
      } finally {
        s.src.stop();
      }
    });

    it('a container whose health check turns unhealthy leaves rotation, and comes back when healthy', async (t) => {
      if (skip) return t.skip(skip);
      if (kind === 'podman') return t.skip('podman runs container health checks from systemd timers; this machine has no systemd, so they never run (readiness comes from the cluster\'s HTTP check instead, see docs/containers.md)');
      const e = engine!;
      const port = await freePort();
      const s = source('disc2');
      try {
        const id = await runService(e, { version: 'v1', port, labels: { app: 'disc2', 'edgeplane.test': 'discovery', 'edgeplane.port': String(port) }, healthCheck: true });
        await follows(s, [`127.0.0.1:${port}`], 'once the container reports healthy');
        await execIn(e, id, ['/bin/busybox', 'mv', '/www/readyz', '/www/readyz.off']);
        const since = Date.now();
        const outMs = await follows(s, [], 'after its health check fails', since);
        await execIn(e, id, ['/bin/busybox', 'mv', '/www/readyz.off', '/www/readyz']);
        await follows(s, [`127.0.0.1:${port}`], 'after it passes again');
        t.diagnostic(`${kind}: unhealthy container left rotation ${outMs} ms after the failing check started`);
      } finally {
        s.src.stop();
      }
    });

    it('keeps the last endpoints and reports down while the daemon is gone; resyncs when it is back', async (t) => {
      if (skip) return t.skip(skip);
      const e = engine!;
      const port = await freePort();
      const s = source('disc3');
      try {
        await runService(e, { version: 'v1', port, labels: { app: 'disc3', 'edgeplane.test': 'discovery', 'edgeplane.port': String(port) } });
        await follows(s, [`127.0.0.1:${port}`], 'before the daemon stops');
        await e.stopDaemon();
        await waitFor(() => !s.src.status().ok, { timeoutMs: 15_000, what: 'source reported down' });
        assert.deepEqual(s.last(), [`127.0.0.1:${port}`], 'the last set stays in force');
        assert.equal(s.statuses.at(-1)?.ok, false, 'the listener heard that the source is down');
        assert.match(s.src.status().error ?? '', /engine\.sock/);
        const listsBefore = s.src.lists;
        await e.startDaemon();
        await waitFor(() => s.src.status().ok && s.src.lists > listsBefore, { timeoutMs: 20_000, what: 'source recovered with a new list' });
        // What the daemon says now is the set: dockerd stopped the container on shutdown, podman's conmon kept it running.
        const running = await e.client.listContainers({ app: 'disc3' });
        await follows(s, running.length ? [`127.0.0.1:${port}`] : [], 'after the resync');
        const p2 = await freePort();
        await runService(e, { version: 'v1', port: p2, labels: { app: 'disc3', 'edgeplane.test': 'discovery', 'edgeplane.port': String(p2) } });
        await follows(s, [...(running.length ? [`127.0.0.1:${port}`] : []), `127.0.0.1:${p2}`], 'events flow again after the resync');
      } finally {
        s.src.stop();
      }
    });
  });
}
