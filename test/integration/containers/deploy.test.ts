import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cliPath, repoRoot, startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { engineUnavailable, freePort, runService, SERVICE_COMMAND, SERVICE_IMAGE, startEngine, type EngineKind, type TestEngine } from '../../helpers/containers.ts';
import { waitFor } from '../../helpers/wait.ts';

/**
 * Deploys against a real daemon: a unit `api` with colors blue and green
 * (two replicas each, host networking on their own loopback ports) behind
 * route `api`; the gateway starts the new color itself, hands over to the
 * release controller and removes the loser. Docker, then Podman.
 */

/** Requests in a loop on a few keep-alive connections; counts every answer that is not a 200. */
function startLoad(base: string, concurrency = 4) {
  const agent = new Agent({ connections: concurrency });
  const stats = { ok: 0, failed: 0, bodies: new Map<string, number>(), errors: [] as string[] };
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const res = await request(`${base}/cgi-bin/version`, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = (await res.body.text()).trim();
        if (res.statusCode === 200) {
          stats.ok++;
          stats.bodies.set(text, (stats.bodies.get(text) ?? 0) + 1);
        } else {
          stats.failed++;
          if (stats.errors.length < 10) stats.errors.push(`${res.statusCode} ${text.slice(0, 80)}`);
        }
      } catch (err) {
        stats.failed++;
        if (stats.errors.length < 10) stats.errors.push((err as Error).message);
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(workers);
      await agent.close();
      return stats;
    },
  };
}

for (const kind of ['docker', 'podman'] as EngineKind[]) {
  describe(`release deploy on ${kind}`, { concurrency: false }, () => {
    let engine: TestEngine | null = null;
    let gw: GatewayProcess | null = null;
    let skip: string | null = engineUnavailable(kind);
    let dir = '';
    let config: Record<string, unknown> = {};

    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${gw!.adminUrl()}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      return { status: res.status, body: (await res.json()) as any };
    };
    const deploy = async (body: Record<string, unknown>) => {
      const res = await admin('POST', '/v1/releases', { kind: 'deploy', unit: 'api', ...body });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    };
    const finished = async (id: string, timeoutMs = 90_000) => {
      let last: any = null;
      try {
        return await waitFor(async () => {
          last = (await admin('GET', `/v1/releases/${id}`)).body;
          return ['succeeded', 'rolled_back', 'aborted', 'failed'].includes(last.phase) ? last : null;
        }, { timeoutMs, intervalMs: 100, what: `deploy ${id} to finish` });
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen: ${last?.phase}: ${last?.reason} (release: ${last?.release?.phase}: ${last?.release?.reason})`);
      }
    };
    const split = async () => {
      const c = await admin('GET', '/v1/config');
      return Object.fromEntries((c.body.config.routes[0].split as { cluster: string; weight: number }[]).map((e) => [e.cluster, e.weight]));
    };
    /** The unit's containers the daemon has (running or not), by color. */
    const containers = async () => {
      const list = await engine!.client.listContainers({ 'edgeplane.unit': 'api' }, { all: true });
      return list.map((c) => ({ color: c.Labels?.['edgeplane.color'], release: c.Labels?.['edgeplane.release'] ?? null, state: c.State, image: c.Image }));
    };

    before(async () => {
      if (skip) return;
      try {
        engine = await startEngine(kind);
        for (const v of ['v1', 'v2', 'bad', '5xx'] as const) await engine.importService(v);
      } catch (err) {
        skip = `${kind} could not start here: ${(err as Error).message.split('\n').slice(0, 6).join(' | ')}`;
        return;
      }
      const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
      const socket = engine.socket;
      const cluster = (color: string) => ({
        name: `api-${color}`,
        discovery: { docker: { socket, labels: { 'edgeplane.unit': 'api', 'edgeplane.color': color }, port: 8080, network: 'host' } },
        healthCheck: { path: '/readyz', interval: '250ms', timeout: '1s', healthyThreshold: 1, unhealthyThreshold: 2 },
      });
      dir = mkdtempSync(join(tmpdir(), 'ep-deploy-'));
      config = {
        node: { id: 'gw-1', region: 'jp' },
        listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
        clusters: [cluster('blue'), cluster('green')],
        routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'api-blue', weight: 100 }, { cluster: 'api-green', weight: 0 }], retries: { attempts: 2, on: ['connect-failure', 'reset', '503'] } }],
        admin: { address: '127.0.0.1:0', stateDir: join(dir, 'state') },
        units: [{
          name: 'api',
          route: 'api',
          runtime: { socket },
          colors: [{ name: 'blue', cluster: 'api-blue', hostPorts: [ports[0], ports[1]] }, { name: 'green', cluster: 'api-green', hostPorts: [ports[2], ports[3]] }],
          template: { image: `${SERVICE_IMAGE}:v1`, command: SERVICE_COMMAND, port: 8080, replicas: 2, network: 'host', stopTimeout: '1s' },
          readinessTimeout: '20s',
          drain: '1s',
        }],
      };
      // The first version runs as blue, started by hand (as before edgeplane managed the unit).
      for (const [i, port] of [ports[0]!, ports[1]!].entries()) {
        await runService(engine, { version: 'v1', port, labels: { 'edgeplane.unit': 'api', 'edgeplane.color': 'blue', 'edgeplane.port': String(port), 'edgeplane.replica': String(i) } });
      }
      gw = await startGateway(config, { dir });
      await waitFor(async () => (await fetch(`${gw!.url('http')}/cgi-bin/version`)).status === 200, { timeoutMs: 20_000, what: 'blue v1 serving through the gateway' });
    });

    after(async () => {
      await gw?.stop('SIGTERM').catch(() => {});
      await engine?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('deploys v2 to green under load: no failed request, green serves everything, blue is removed', async (t) => {
      if (skip) return t.skip(skip);
      const load = startLoad(gw!.url('http'));
      await waitFor(() => load.stats.ok > 50, { what: 'load running' });
      const started = Date.now();
      const id = await deploy({ image: `${SERVICE_IMAGE}:v2`, strategy: 'blue-green', window: '3s', interval: '250ms', gates: { minRequests: 5, maxP99Latency: '10s' } });
      const d = await finished(id);
      const stats = await load.stop();
      assert.equal(d.phase, 'succeeded', d.reason);
      assert.equal(stats.failed, 0, `failed requests: ${stats.errors.join('; ')}`);
      assert.deepEqual(await split(), { 'api-blue': 0, 'api-green': 100 });
      const left = await containers();
      assert.deepEqual(left.map((c) => c.color).sort(), ['green', 'green'], JSON.stringify(left));
      assert.ok(left.every((c) => c.state === 'running' && c.release === id));
      // The deploy's view (the dashboard's containers block reads it) lists each color's containers from the daemon.
      const colors = Object.fromEntries((d.colors as { color: string; weight: number; containers: { state: string; release: string }[] }[]).map((c) => [c.color, c]));
      assert.equal(colors.green!.weight, 100);
      assert.deepEqual(colors.green!.containers.map((c) => `${c.state}/${c.release}`), [`running/${id}`, `running/${id}`]);
      assert.deepEqual(colors.blue!.containers, []);
      // Both color clusters come from the docker source, which is up.
      const health = (await admin('GET', '/v1/health')).body as { clusters: { name: string; discovery: { source: string; ok: boolean } }[] };
      assert.deepEqual(health.clusters.map((c) => [c.name, c.discovery.source, c.discovery.ok]), [['api-blue', 'docker', true], ['api-green', 'docker', true]]);
      const after = await (await fetch(`${gw!.url('http')}/cgi-bin/version`)).text();
      assert.equal(after.trim(), 'v2');
      t.diagnostic(`${kind}: ${stats.ok} requests ok (${[...stats.bodies].map(([b, n]) => `${b}: ${n}`).join(', ')}), 0 failed; timings ${JSON.stringify(d.timings)} ms; total ${Date.now() - started} ms`);
    });

    it('an image that is neither on the host nor pullable is refused before anything changes', async (t) => {
      if (skip) return t.skip(skip);
      const before = await split();
      const beforeContainers = await containers();
      const res = await admin('POST', '/v1/releases', { kind: 'deploy', unit: 'api', image: `${SERVICE_IMAGE}:missing` });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.match(res.body.errors[0].message, /edgeplane-test\/svc:missing is not on the host and cannot be pulled/);
      assert.deepEqual(await split(), before);
      assert.deepEqual(await containers(), beforeContainers);
      const unknown = await admin('POST', '/v1/releases', { kind: 'deploy', unit: 'web', image: 'x:v1' });
      assert.equal(unknown.status, 400);
      assert.deepEqual(unknown.body.errors, [{ path: 'unit', message: 'no unit named "web" (units: api)' }]);
    });

    it('deploying :bad fails at readiness: new containers removed, weights unchanged, no failed request', async (t) => {
      if (skip) return t.skip(skip);
      const before = await split();
      const load = startLoad(gw!.url('http'));
      const id = await deploy({ image: `${SERVICE_IMAGE}:bad`, readinessTimeout: '4s' });
      const d = await finished(id);
      const stats = await load.stop();
      assert.equal(d.phase, 'failed', d.reason);
      assert.match(d.reason, /not ready in time/);
      assert.equal(d.release, null, 'no release was started');
      assert.deepEqual(await split(), before);
      assert.equal(stats.failed, 0, stats.errors.join('; '));
      const left = await containers();
      assert.deepEqual(left.map((c) => c.color), ['green', 'green'], 'only the serving color is left');
    });

    it('a version that is ready but answers 5xx under traffic trips the gate: rolled back, its containers removed', async (t) => {
      if (skip) return t.skip(skip);
      const before = await split();
      const load = startLoad(gw!.url('http'));
      const id = await deploy({ image: `${SERVICE_IMAGE}:5xx`, strategy: 'canary', steps: [20, 100], window: '3s', interval: '250ms', gates: { minRequests: 5, maxErrorRate: 1, maxP99Latency: '10s' } });
      const d = await finished(id);
      const stats = await load.stop();
      assert.equal(d.phase, 'rolled_back', d.reason);
      assert.equal(d.release?.phase, 'rolled_back');
      assert.match(d.release?.reason ?? '', /error rate/i);
      assert.deepEqual(await split(), before);
      const left = await containers();
      assert.deepEqual(left.map((c) => c.color), ['green', 'green']);
      t.diagnostic(`${kind}: ${stats.failed} requests answered 5xx by the canary before the rollback (of ${stats.ok + stats.failed})`);
    });

    it('a gateway killed mid-deploy resumes the release on restart and leaves no orphan container', async (t) => {
      if (skip) return t.skip(skip);
      const id = await deploy({ image: `${SERVICE_IMAGE}:v1`, strategy: 'blue-green', window: '3s', interval: '250ms', gates: { minRequests: 1, maxP99Latency: '10s' } });
      await waitFor(async () => (await admin('GET', `/v1/releases/${id}`)).body.phase === 'releasing', { timeoutMs: 30_000, what: 'deploy releasing' });
      gw!.proc.kill('SIGKILL');
      await waitFor(() => gw!.proc.exitCode !== null || gw!.proc.signalCode !== null, { what: 'gateway killed' });
      // Both colors run now; the stored deploy accounts for blue.
      const during = await containers();
      assert.ok(during.filter((c) => c.color === 'blue').every((c) => c.release === id), JSON.stringify(during));
      gw = await startGateway(config, { dir });
      // A fresh gateway answers 503 until the first active check of an endpoint passes (startHealthy: false): load from then on.
      await waitFor(async () => (await fetch(`${gw!.url('http')}/cgi-bin/version`)).status === 200, { timeoutMs: 20_000, what: 'the restarted gateway serving' });
      const load = startLoad(gw!.url('http'));
      const d = await finished(id);
      const stats = await load.stop();
      assert.equal(d.phase, 'succeeded', d.reason);
      assert.deepEqual(await split(), { 'api-blue': 100, 'api-green': 0 });
      const left = await containers();
      assert.deepEqual(left.map((c) => `${c.color}/${c.release}/${c.state}`), [`blue/${id}/running`, `blue/${id}/running`]);
      assert.equal(stats.failed, 0, stats.errors.join('; '));
    });

    it('a gateway killed before the new color was ready rolls the deploy back on restart', async (t) => {
      if (skip) return t.skip(skip);
      // :bad never gets ready, so the kill lands in readying for sure.
      const before = await split();
      const serving = before['api-blue']! > 0 ? 'blue' : 'green';
      const id = await deploy({ image: `${SERVICE_IMAGE}:bad`, readinessTimeout: '60s' });
      await waitFor(async () => (await containers()).filter((c) => c.release === id).length === 2, { timeoutMs: 30_000, what: 'new containers created' });
      gw!.proc.kill('SIGKILL');
      await waitFor(() => gw!.proc.exitCode !== null || gw!.proc.signalCode !== null, { what: 'gateway killed' });
      // And a container of the idle color left by a deploy this gateway never stored (a lost state dir): an orphan.
      const idle = serving === 'blue' ? 'green' : 'blue';
      const orphanPort = await freePort();
      await runService(engine!, { version: 'v1', port: orphanPort, labels: { 'edgeplane.unit': 'api', 'edgeplane.color': idle, 'edgeplane.release': 'dep-999', 'edgeplane.port': String(orphanPort) } });
      gw = await startGateway(config, { dir });
      const d = await finished(id);
      await waitFor(async () => !(await containers()).some((c) => c.release === 'dep-999'), { timeoutMs: 30_000, what: 'the orphan removed' });
      assert.equal(d.phase, 'failed');
      assert.match(d.reason, /gateway restarted before the new color was ready/);
      const left = await containers();
      assert.deepEqual(left.map((c) => c.color), [serving, serving]);
      assert.deepEqual(await split(), before);
    });

    it('`edgeplane release deploy` follows the deploy with a progress display and exits 0 once it succeeded', async (t) => {
      if (skip) return t.skip(skip);
      const target = (await split())['api-blue']! > 0 ? 'green' : 'blue';
      const run = promisify(execFile);
      const load = startLoad(gw!.url('http'), 2);
      const { stdout } = await run(process.execPath, ['--import', 'tsx', cliPath, 'release', 'deploy', 'api', '--image', `${SERVICE_IMAGE}:v2`, '--window', '1s', '--interval', '250ms', '--min-requests', '1', '--max-p99', '10s', '--admin', gw!.adminUrl()], { cwd: repoRoot, timeout: 120_000 });
      const stats = await load.stop();
      assert.equal(stats.failed, 0, stats.errors.join('; '));
      // One line per step the CLI saw (it polls: a quick step may pass unseen), then the final frame.
      assert.match(stdout, /step: +starting: 0\/2 container\(s\) of (blue|green)/);
      assert.match(stdout, /step: +succeeded/);
      assert.match(stdout, /timings: +containersStarted/);
      assert.equal((await split())[`api-${target}`], 100);
      const id = /^(dep-\d+) {2}unit api/m.exec(stdout)?.[1];
      assert.ok(id, stdout);
      const status = await run(process.execPath, ['--import', 'tsx', cliPath, 'release', 'status', id, '--admin', gw!.adminUrl()], { cwd: repoRoot, timeout: 60_000 });
      assert.match(status.stdout, /step: +succeeded/);
    });
  });
}
