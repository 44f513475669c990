import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Writable } from 'node:stream';
import { startGateway, cliPath, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { releaseCommand } from '../../../src/cli/release.ts';

const TOKEN = 'release-test-token-42';
const ORIGINAL = [{ cluster: 'blue', weight: 100 }, { cluster: 'green', weight: 0 }];

/** A green upstream that answers like the demo one until told to fail (503 on everything but /readyz). */
async function greenUpstream(): Promise<TestUpstream & { fail(on: boolean): void; served: () => number }> {
  let failing = false;
  let served = 0;
  const server = await startServer((req, res) => {
    if (req.url === '/readyz') return void res.end('ready');
    served++;
    res.writeHead(failing ? 503 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ service: 'api', color: 'green', failing }));
  });
  return Object.assign(server, { fail: (on: boolean) => void (failing = on), served: () => served });
}

function config(blue: string, green: string): Record<string, unknown> {
  return {
    node: { id: 'gw-release', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [
      { name: 'blue', endpoints: [blue] },
      {
        name: 'green',
        endpoints: [green],
        healthCheck: { path: '/readyz', interval: '200ms', timeout: '1s', healthyThreshold: 1, unhealthyThreshold: 2 },
        // One endpoint: let outlier detection eject it (health takes it out at once; the release makes it permanent).
        outlierDetection: { consecutive5xx: 3, maxEjectionPercent: 100, baseEjectionTime: '30s' },
      },
    ],
    // No retries: every failed request must be counted, not hidden.
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: ORIGINAL, override: { header: 'x-edge-cluster' } }],
    admin: { address: '127.0.0.1:0', token: TOKEN },
    drain: { delay: '100ms', timeout: '5s' },
  };
}

async function admin(gw: GatewayProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(gw.adminUrl() + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'x-edgeplane-author': 'e2e', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
}

function get(gw: GatewayProcess, headers: Record<string, string> = {}): Promise<{ status: number; color: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL('/hello', gw.url('http')), { agent: false, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (data += d));
      res.on('end', () => {
        let color: string | undefined;
        try {
          color = JSON.parse(data).color;
        } catch {
          // an error body from the gateway
        }
        resolve({ status: res.statusCode ?? 0, color });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const split = async (gw: GatewayProcess) => (await admin(gw, 'GET', '/v1/config')).body.config.routes[0].split;

/** Collects webhook deliveries. */
async function webhookReceiver(): Promise<TestUpstream & { events: any[] }> {
  const events: any[] = [];
  const server = await startServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      events.push(JSON.parse(data));
      res.end();
    });
  });
  return Object.assign(server, { events });
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (f: (s: string) => void) => new Writable({ write: (c, _e, cb) => (f(String(c)), cb()) });
  const code = await releaseCommand(args, sink((s) => (out += s)), sink((s) => (err += s)), {});
  return { code, out, err };
}

test('end to end: green starts failing mid-window, the release rolls back on its own and traffic returns to blue with few errors', async (t) => {
  const blue = await startUpstream('blue');
  const green = await greenUpstream();
  const hook = await webhookReceiver();
  const gw = await startGateway(config(blue.address, green.address));
  try {
    // Testers reach green with the override header before any traffic shifts.
    await waitFor(async () => (await get(gw, { 'x-edge-cluster': 'green' })).color === 'green', { what: 'override to green' });
    assert.equal((await get(gw)).color, 'blue');

    const bad = await admin(gw, 'POST', '/v1/releases', { route: 'api', to: 'green', strategy: 'canary', steps: [50, 25] });
    assert.equal(bad.status, 400);
    assert.match(bad.body.errors[0].message, /strictly increase/);
    assert.deepEqual((await admin(gw, 'GET', '/v1/releases')).body.releases, [], 'a refused request starts nothing');

    const started = await admin(gw, 'POST', '/v1/releases', {
      route: 'api', to: 'green', strategy: 'canary', steps: [50, 100], stepDuration: '10m', interval: '200ms',
      gates: { minRequests: 10 }, webhook: `http://127.0.0.1:${hook.port}/release`,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id: string = started.body.id;
    await waitFor(async () => (await admin(gw, 'GET', `/v1/releases/${id}`)).body.window !== null, { what: 'the first step applied', timeoutMs: 15_000 });
    assert.deepEqual(await split(gw), [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]);

    // While it runs: a second release and any other split change of the route are refused, naming it.
    const second = await admin(gw, 'POST', '/v1/releases', { route: 'api', to: 'green' });
    assert.equal(second.status, 409);
    assert.match(second.body.errors[0].message, new RegExp(`already has a release in progress: ${id}`));
    const put = await admin(gw, 'PUT', '/v1/routes/api/split', { split: ORIGINAL });
    assert.equal(put.status, 409);
    assert.match(put.body.errors[0].message, new RegExp(`controlled by release ${id}`));

    const before: Record<string, number> = {};
    for (let i = 0; i < 40; i++) {
      const r = await get(gw);
      assert.equal(r.status, 200);
      before[r.color!] = (before[r.color!] ?? 0) + 1;
    }
    assert.ok(before.green! > 0 && before.blue! > 0, `both sides serve at 50%: ${JSON.stringify(before)}`);

    // Green breaks in the middle of the window. Requests go one at a time, so errors can be counted exactly.
    green.fail(true);
    let errors = 0;
    let sent = 0;
    let phase = '';
    const deadline = Date.now() + 20_000;
    while (phase !== 'rolled_back') {
      assert.ok(Date.now() < deadline, `no rollback in time (phase ${phase}, ${errors} errors in ${sent} requests)`);
      const r = await get(gw);
      sent++;
      if (r.status >= 500) errors++;
      if (sent % 10 === 0) phase = (await admin(gw, 'GET', `/v1/releases/${id}`)).body.phase;
    }
    const rel = (await admin(gw, 'GET', `/v1/releases/${id}`)).body;
    t.diagnostic(`${errors} errors in ${sent} requests; ${rel.reason}`);
    assert.match(rel.reason, /failed: (ejections|error rate|readiness)/);
    assert.ok(errors >= 1, 'green did fail some requests');
    // Outlier detection ejects green after 3 consecutive 5xx (every other request at 50%); the release then rolls back.
    assert.ok(errors <= 10, `errors bounded: ${errors} in ${sent} requests`);
    assert.deepEqual(await split(gw), ORIGINAL, 'the exact previous split');
    assert.deepEqual(rel.weights, ORIGINAL);

    // Traffic is back on blue, by config now, not only by ejection.
    for (let i = 0; i < 30; i++) assert.deepEqual(await get(gw), { status: 200, color: 'blue' });

    const metrics = (await admin(gw, 'GET', '/metrics')).body as string;
    assert.match(metrics, /edgeplane_release_transitions_total\{route="api",phase="rolled_back"\} 1/);
    const versions = (await admin(gw, 'GET', '/v1/versions')).body.versions as { author: string; change: string }[];
    assert.ok(versions.filter((v) => v.author === `release/${id}`).length >= 2, 'the step and the rollback are config versions');
    await waitFor(() => hook.events.some((e) => e.phase === 'rolled_back'), { what: 'webhook rolled_back event' });
    assert.deepEqual(hook.events.map((e) => e.phase), ['waiting', 'progressing', 'rolling_back', 'rolled_back']);
    assert.equal(hook.events[2].release.id, id);
  } finally {
    await gw.stop();
    await Promise.all([blue.close(), green.close(), hook.close()]);
  }
});

test('end to end: kill -9 in the middle of a step, the restarted gateway resumes that step with a fresh window (CLI)', async () => {
  const blue = await startUpstream('blue');
  const green = await greenUpstream();
  let gw = await startGateway(config(blue.address, green.address));
  const flags = () => ['--admin', gw.adminUrl(), '--token', TOKEN];
  try {
    const refused = await cli(['start', '--route', 'nope', '--to', 'green', ...flags()]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /route: no route named "nope"/);

    const start = await cli(['start', '--route', 'api', '--to', 'green', '--strategy', 'canary', '--steps', '50,100', '--step-duration', '10m', '--interval', '200ms', ...flags()]);
    assert.equal(start.code, 0, start.err);
    const id = /^(rel-\d+)/.exec(start.out)![1]!;
    const first = await waitFor(async () => {
      const r = (await admin(gw, 'GET', `/v1/releases/${id}`)).body;
      return r.window ? r : null;
    }, { what: 'step 1 window', timeoutMs: 15_000 });

    gw.proc.kill('SIGKILL');
    assert.equal(await gw.stop(), null);
    gw = await startGateway(config(blue.address, green.address), { dir: gw.dir });

    const resumed = await waitFor(async () => {
      const r = (await admin(gw, 'GET', `/v1/releases/${id}`)).body;
      return r.window ? r : null;
    }, { what: 'the step resumed', timeoutMs: 15_000 });
    assert.equal(resumed.phase, 'progressing');
    assert.equal(resumed.step.index, 0, 'the same step, not the next one');
    assert.ok(Date.parse(resumed.window.startedAt) > Date.parse(first.window.startedAt), 'window restarted');
    assert.match(resumed.reason, /resumed after a gateway restart/);
    assert.deepEqual(await split(gw), [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }]);

    // The CLI binary itself, through the command table.
    const status = await promisify(execFile)(process.execPath, ['--import', 'tsx', cliPath, 'release', 'status', ...flags()], { cwd: repoRoot });
    assert.match(status.stdout, new RegExp(`${id}\\s+api\\s+green\\s+canary\\s+progressing\\s+1/2 \\(50%\\)`));

    const abort = await cli(['abort', id, ...flags()]);
    assert.equal(abort.code, 0, abort.err);
    assert.match(abort.out, /aborted/);
    assert.deepEqual(await split(gw), ORIGINAL);
  } finally {
    await gw.stop();
    await Promise.all([blue.close(), green.close()]);
  }
});
