import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { request, Agent } from 'undici';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, startServer, type TestUpstream } from '../../helpers/upstreams.ts';

let good: TestUpstream, flaky: TestUpstream, resetter: TestUpstream, hanging: net.Server;
let closedPort: number, hangingPort: number;
let flakyHits = 0;
let gw: GatewayProcess;
const agent = new Agent({ connections: 8 });

/** A port that refuses connections: bind, learn the port, close. */
async function refusedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  good = await startUpstream('good');
  flaky = await startServer((req, res) => {
    flakyHits++;
    req.resume();
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"flaky":true}');
  });
  // Accepts, reads the request, then resets the connection without answering.
  resetter = await startServer((req) => req.socket.resetAndDestroy());
  // Accepts TCP connections and never answers.
  hanging = net.createServer(() => {});
  await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
  hangingPort = (hanging.address() as net.AddressInfo).port;
  closedPort = await refusedPort();
  gw = await startGateway({
    node: { id: 'gw-retry', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'half-dead', endpoints: [`127.0.0.1:${closedPort}`, good.address], loadBalancer: 'round-robin' },
      { name: 'flaky-then-good', endpoints: [flaky.address, good.address] },
      { name: 'dead', endpoints: [`127.0.0.1:${closedPort}`] },
      { name: 'resets', endpoints: [resetter.address] },
      { name: 'hangs', endpoints: [`127.0.0.1:${hangingPort}`] },
      { name: 'good', endpoints: [good.address] },
    ],
    routes: [
      { name: 'retry-connect', match: { hosts: ['connect.test'] }, split: [{ cluster: 'half-dead', weight: 1 }], retries: { attempts: 2, on: ['connect-failure'] } },
      { name: 'no-retry', match: { hosts: ['noretry.test'] }, split: [{ cluster: 'half-dead', weight: 1 }] },
      { name: 'retry-503', match: { hosts: ['status.test'] }, split: [{ cluster: 'flaky-then-good', weight: 1 }], retries: { attempts: 1, on: ['503'] } },
      { name: 'dead', match: { hosts: ['dead.test'] }, split: [{ cluster: 'dead', weight: 1 }], retries: { attempts: 2, on: ['connect-failure'] } },
      { name: 'resets', match: { hosts: ['reset.test'] }, split: [{ cluster: 'resets', weight: 1 }] },
      { name: 'hangs', match: { hosts: ['hang.test'] }, split: [{ cluster: 'hangs', weight: 1 }], timeout: '300ms' },
      { name: 'slow', match: { hosts: ['slow.test'] }, split: [{ cluster: 'good', weight: 1 }], timeout: '300ms' },
      { name: 'slow-first-byte', match: { hosts: ['firstbyte.test'] }, split: [{ cluster: 'good', weight: 1 }], timeout: '10s', firstByteTimeout: '200ms' },
    ],
  });
});

after(async () => {
  await gw?.stop();
  await agent.close();
  await Promise.all([good?.close(), flaky?.close(), resetter?.close(), new Promise((r) => hanging?.close(r))]);
});

async function call(host: string, path = '/', method = 'GET', body?: string) {
  const res = await request(gw.url('http') + path, { method, headers: { host }, body, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, json: JSON.parse(text), headers: res.headers };
}

test('GETs retry a connect failure on a different endpoint: no client-visible error', async () => {
  for (let i = 0; i < 40; i++) {
    const r = await call('connect.test');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.color, 'good');
  }
});

test('without a retry policy a connect failure is a 502 naming the reason and the endpoint', async () => {
  const statuses = new Map<number, number>();
  let failure: Record<string, string> | undefined;
  for (let i = 0; i < 10; i++) {
    const r = await call('noretry.test');
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    if (r.status === 502) failure = r.json;
  }
  assert.deepEqual(Object.fromEntries(statuses), { 200: 5, 502: 5 });
  assert.equal(failure!.error, 'upstream_connect_failure');
  assert.equal(failure!.endpoint, `127.0.0.1:${closedPort}`);
  assert.equal(failure!.route, 'no-retry');
});

test('a POST with a body is not retried (it may have had effects)', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await call('connect.test', '/', 'POST', 'payload')).status);
  assert.ok(statuses.includes(502), `expected some 502s without retry, got ${statuses}`);
  assert.ok(statuses.includes(200));
});

test('a configured status (503) is retried on the other endpoint', async () => {
  const before = flakyHits;
  for (let i = 0; i < 10; i++) {
    const r = await call('status.test');
    assert.equal(r.status, 200);
    assert.equal(r.json.color, 'good');
  }
  assert.ok(flakyHits > before, 'the 503 endpoint was tried');
  const metrics = await (await request(gw.adminUrl() + '/metrics')).body.text();
  assert.match(metrics, /edgeplane_retries_total\{route="retry-503",cluster="flaky-then-good"\} [1-9]/);
});

test('all endpoints dead: retries exhaust, 502 with reason', async () => {
  const r = await call('dead.test');
  assert.equal(r.status, 502);
  assert.equal(r.json.error, 'upstream_connect_failure');
});

test('an upstream that resets the connection costs only that request: 502 upstream_reset', async () => {
  const r = await call('reset.test');
  assert.equal(r.status, 502);
  assert.equal(r.json.error, 'upstream_reset');
  assert.equal((await call('slow.test', '/fast')).status, 200);
});

test('an upstream that never answers: 504 after the route timeout', async () => {
  const r = await call('hang.test');
  assert.equal(r.status, 504);
  assert.equal(r.json.error, 'upstream_timeout');
});

test('a slow response beyond the route timeout: 504; first-byte timeout applies on its own', async () => {
  const r = await call('slow.test', '/slow?ms=3000');
  assert.equal(r.status, 504);
  assert.equal(r.json.error, 'upstream_timeout');
  const fb = await call('firstbyte.test', '/slow?ms=3000');
  assert.equal(fb.status, 504);
  assert.equal((await call('firstbyte.test', '/slow?ms=1')).status, 200);
});

test('the gateway is still healthy after all of the above', async () => {
  const res = await request(gw.adminUrl() + '/readyz');
  assert.equal(res.statusCode, 200);
  await res.body.text();
  assert.equal((await call('slow.test', '/ok')).status, 200);
});
