import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import dgram from 'node:dgram';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/gateway-process.ts';
import { buildQuery } from '../../../src/dns/wire/build-query.ts';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';

// A gateway with `workers: 2`: the control process (config store, admin, health) and two
// data-plane workers sharing the listener through node:cluster.
let ok: TestUpstream;
let bad: TestUpstream;
let slow: TestUpstream;
const held: http.ServerResponse[] = [];
let gw: GatewayProcess;
const TOKEN = 'workers-test-token';

function config() {
  return {
    node: { id: 'gw-workers', region: 'jp' },
    workers: 2,
    listeners: [
      { name: 'http', address: '127.0.0.1:0', protocol: 'http' },
      {
        name: 'https',
        address: '127.0.0.1:0',
        protocol: 'https',
        tls: { certificates: [{ cert: join(repoRoot, 'certs-dev/server.crt'), key: join(repoRoot, 'certs-dev/server.key') }] },
      },
    ],
    admin: { address: '127.0.0.1:0', token: TOKEN },
    drain: { delay: '0s', timeout: '2s' },
    clusters: [
      { name: 'ok', endpoints: [ok.address] },
      { name: 'slow', endpoints: [slow.address], circuitBreaker: { maxRequests: 10 } },
      // One endpoint that always answers 503: ejected after 4 in a row, counted over both workers.
      {
        name: 'bad',
        endpoints: [bad.address],
        outlierDetection: { consecutive5xx: 4, consecutiveGatewayFailure: 4, interval: '60s', baseEjectionTime: '60s', maxEjectionPercent: 100 },
      },
    ],
    routes: [
      { name: 'ok', match: { hosts: ['ok.test'] }, split: [{ cluster: 'ok', weight: 1 }] },
      { name: 'bad', match: { hosts: ['bad.test'] }, split: [{ cluster: 'bad', weight: 1 }] },
      { name: 'slow', match: { hosts: ['slow.test'] }, split: [{ cluster: 'slow', weight: 1 }] },
    ],
    dns: {
      listen: ['127.0.0.1:0'],
      zones: [
        {
          origin: 'svc.test',
          soa: { mname: 'ns1.svc.test', rname: 'hostmaster.svc.test', refresh: 3600, retry: 600, expire: 86400, minimum: 30 },
          nameservers: ['ns1.svc.test'],
          records: [
            { name: 'ns1', type: 'A', value: '192.0.2.53' },
            { name: 'www', type: 'A', value: '192.0.2.1' },
          ],
        },
      ],
    },
  };
}

before(async () => {
  ok = await startServer((req, res) => {
    req.resume();
    res.end('ok');
  });
  bad = await startServer((req, res) => {
    req.resume();
    res.writeHead(503).end('down');
  });
  slow = await startServer((req, res) => {
    req.resume();
    held.push(res);
  });
  gw = await startGateway(config(), { timeoutMs: 180_000 });
});

after(async () => {
  for (const r of held.splice(0)) r.end();
  await gw?.stop();
  await ok?.close();
  await bad?.close();
  await slow?.close();
});

/** One request on a new connection, so node:cluster hands it to the next worker. */
function get(host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gw.url('http')}${path}`, { headers: { host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${gw.adminUrl()}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

async function metrics(): Promise<string> {
  return (await fetch(`${gw.adminUrl()}/metrics`)).text();
}

/** label set -> value for every series of a metric. */
function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labels = line.slice(name.length, line.lastIndexOf(' '));
    out.set(labels, Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

function perWorker(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [labels, v] of series(text, name)) {
    const w = /worker="(\d+)"/.exec(labels)?.[1];
    if (w) out.set(w, (out.get(w) ?? 0) + v);
  }
  return out;
}

function workerPids(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const labels of series(text, 'edgeplane_worker_info').keys()) {
    const w = /worker="(\d+)"/.exec(labels)?.[1];
    const pid = /pid="(\d+)"/.exec(labels)?.[1];
    if (w && pid) out.set(w, Number(pid));
  }
  return out;
}

test('the ready file lists two workers besides the control process', () => {
  const workers = gw.ready.workers as { id: number; pid: number }[];
  assert.equal(workers.length, 2);
  assert.deepEqual(workers.map((w) => w.id).sort(), [1, 2]);
  for (const w of workers) assert.notEqual(w.pid, gw.ready.pid);
});

test('the workers answer DNS on the shared UDP socket', async () => {
  const dns = gw.ready.dns as { udp: { port: number }[] };
  const port = dns.udp[0]!.port;
  for (let i = 0; i < 6; i++) {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const s = dgram.createSocket('udp4');
      const timer = setTimeout(() => {
        s.close();
        reject(new Error('no DNS answer'));
      }, 3000);
      s.once('message', (m) => {
        clearTimeout(timer);
        s.close();
        resolve(m);
      });
      s.send(buildQuery('www.svc.test', { id: 0x4000 + i }), port, '127.0.0.1');
    });
    assert.equal(answer.readUInt16BE(0), 0x4000 + i);
    assert.equal(answer[3]! & 0x0f, 0, 'NOERROR');
    assert.ok(answer.includes(Buffer.from([192, 0, 2, 1])), 'the A record is in the answer');
  }
});

test('a TLS session resumes on any worker, also after the TLS settings changed (shared ticket keys)', async () => {
  // node:cluster shares the first worker's ticket keys at listen(); a certificate reload or a TLS settings
  // change (setSecureContext) would give each worker random ones again, unless they are put back.
  const current = await admin('GET', '/v1/config');
  const next = structuredClone(current.json.config);
  next.listeners.find((l: { name: string }) => l.name === 'https').tls.minVersion = 'TLSv1.2';
  assert.equal((await admin('PUT', '/v1/config', next)).status, 200);
  const ca = readFileSync(join(repoRoot, 'certs-dev/ca.crt'));
  const port = Number(new URL(gw.url('https')).port);
  const connect = (session?: Buffer) =>
    new Promise<{ reused: boolean; session: Buffer }>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, servername: 'api.svc.plus', ca, ALPNProtocols: ['http/1.1'], ...(session ? { session } : {}) });
      let ticket: Buffer | undefined;
      s.once('session', (t: Buffer) => (ticket = t));
      s.once('secureConnect', () => {
        // TLS 1.3 tickets arrive after the handshake: a request and its answer make sure one did.
        s.write('GET / HTTP/1.1\r\nhost: ok.test\r\nconnection: close\r\n\r\n');
      });
      s.on('data', () => {});
      s.once('end', () => resolve({ reused: s.isSessionReused(), session: ticket ?? session! }));
      s.once('error', reject);
    });
  const first = await connect();
  assert.equal(first.reused, false);
  const before = perWorker(await metrics(), 'edgeplane_worker_requests_total');
  // Connections go round-robin over the workers: six resumptions land on both.
  const reused: boolean[] = [];
  for (let i = 0; i < 6; i++) reused.push((await connect(first.session)).reused);
  const after = perWorker(await metrics(), 'edgeplane_worker_requests_total');
  const served = ['1', '2'].map((w) => (after.get(w) ?? 0) - (before.get(w) ?? 0));
  assert.ok(served[0]! > 0 && served[1]! > 0, `both workers took resumptions: ${served}`);
  assert.deepEqual(reused, [true, true, true, true, true, true]);
});

test('requests are served by both workers, and /metrics sums them', async () => {
  const before = perWorker(await metrics(), 'edgeplane_worker_requests_total');
  const n = 20;
  for (let i = 0; i < n; i++) {
    const r = await get('ok.test');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'ok');
  }
  const text = await metrics();
  const after = perWorker(text, 'edgeplane_worker_requests_total');
  const served = ['1', '2'].map((w) => (after.get(w) ?? 0) - (before.get(w) ?? 0));
  assert.ok(served[0]! > 0 && served[1]! > 0, `both workers served: ${served}`);
  assert.equal(served[0]! + served[1]!, n);
  const total = [...series(text, 'edgeplane_requests_total')].filter(([l]) => l.includes('route="ok"')).reduce((a, [, v]) => a + v, 0);
  assert.ok(total >= n, `edgeplane_requests_total for route ok sums both workers: ${total}`);
});

test('a config change through the admin API reaches both workers', async () => {
  const current = await admin('GET', '/v1/config');
  assert.equal(current.status, 200);
  const next = structuredClone(current.json.config);
  next.routes.push({ name: 'new', match: { hosts: ['new.test'] }, split: [{ cluster: 'ok', weight: 1 }] });
  const put = await admin('PUT', '/v1/config', next);
  assert.equal(put.status, 200, JSON.stringify(put.json));
  const version = (await admin('GET', '/v1/config')).json.version as number;
  const versions = perWorker(await metrics(), 'edgeplane_worker_config_version');
  assert.deepEqual([versions.get('1'), versions.get('2')], [version, version]);
  for (let i = 0; i < 10; i++) assert.equal((await get('new.test')).status, 200);
});

test('a config the workers cannot apply (a listener on a busy port) is refused and changes nothing', async () => {
  // Only the workers bind listeners: the refusal has to come back from them.
  const busy = http.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const port = (busy.address() as { port: number }).port;
  const current = await admin('GET', '/v1/config');
  const next = structuredClone(current.json.config);
  next.listeners.push({ name: 'busy', address: `127.0.0.1:${port}`, protocol: 'http' });
  const put = await admin('PUT', '/v1/config', next);
  busy.close();
  assert.equal(put.status, 400, JSON.stringify(put.json));
  assert.match(JSON.stringify(put.json), /EADDRINUSE/);
  assert.equal((await admin('GET', '/v1/config')).json.version, current.json.version);
  const versions = perWorker(await metrics(), 'edgeplane_worker_config_version');
  assert.deepEqual([versions.get('1'), versions.get('2')], [current.json.version, current.json.version]);
  for (let i = 0; i < 6; i++) assert.equal((await get('new.test')).status, 200);
});

test('a killed worker comes back with the config in force', async () => {
  const version = (await admin('GET', '/v1/config')).json.version as number;
  const pids = workerPids(await metrics());
  const victim = pids.get('1')!;
  assert.ok(victim > 0);
  process.kill(victim, 'SIGKILL');
  const restarted = await waitFor(
    async () => {
      const text = await metrics();
      const now = workerPids(text);
      const v = perWorker(text, 'edgeplane_worker_config_version');
      return now.get('1') && now.get('1') !== victim && v.get('1') === version ? now.get('1') : undefined;
    },
    { timeoutMs: 120_000, what: 'worker 1 restarted with the current version' },
  );
  assert.notEqual(restarted, victim);
  // The route added through the API (not in the file) is served by the new worker too.
  for (let i = 0; i < 10; i++) assert.equal((await get('new.test')).status, 200);
  assert.ok(gw.output().includes('worker exited; restarting it'), 'the control process logged the restart');
});

test('outlier ejection counts failures across workers (per cluster, not per worker)', async () => {
  const before = perWorker(await metrics(), 'edgeplane_worker_requests_total');
  // 4 consecutive 503s in total, alternating between the workers: neither sees 4 on its own.
  for (let i = 0; i < 4; i++) assert.equal((await get('bad.test')).status, 503);
  const after = perWorker(await metrics(), 'edgeplane_worker_requests_total');
  const served = ['1', '2'].map((w) => (after.get(w) ?? 0) - (before.get(w) ?? 0));
  assert.ok(served.every((n) => n > 0 && n < 4), `each worker sent fewer than the threshold: ${served}`);
  const ejected = await waitFor(
    async () => {
      const health = (await admin('GET', '/v1/health')).json;
      const ep = health.clusters.find((c: { name: string }) => c.name === 'bad').endpoints[0];
      return ep.state === 'ejected' ? ep : undefined;
    },
    { timeoutMs: 5_000, what: 'the bad endpoint ejected' },
  );
  assert.match(ejected.reason, /consecutive/);
});

test('/v1/health shows circuit-breaker counters and in-flight requests summed over the workers', async () => {
  const pending = [get('slow.test'), get('slow.test')];
  await waitFor(() => held.length === 2, { what: 'both requests at the upstream' });
  const cluster = await waitFor(
    async () => {
      const c = (await admin('GET', '/v1/health')).json.clusters.find((x: { name: string }) => x.name === 'slow');
      return c.circuitBreaker.maxRequests.current === 2 ? c : undefined;
    },
    { timeoutMs: 5_000, what: 'maxRequests.current = 2 in /v1/health' },
  );
  assert.equal(cluster.circuitBreaker.maxRequests.limit, 10, 'the configured, gateway-wide limit');
  assert.equal(cluster.endpoints[0].inFlight, 2);
  for (const r of held.splice(0)) r.end('done');
  for (const p of pending) assert.equal((await p).status, 200);
});

test('SIGTERM drains the workers and the control process exits 0', async () => {
  const code = await gw.stop('SIGTERM', 20_000);
  assert.equal(code, 0);
});
