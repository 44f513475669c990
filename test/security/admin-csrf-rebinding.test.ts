/**
 * Finding 7 of issue #20: an admin listener without a token (the loopback
 * default) took config changes from any web page. A cross-site text/plain
 * POST (a "simple request" a browser sends without asking) was parsed as
 * JSON, nothing looked at Origin, and `Host: evil.example` (a DNS-rebinding
 * page, same-origin for the browser) was served.
 *
 * Each attack tries to add an attacker's endpoint to the cluster behind the
 * route; afterwards the cluster must be unchanged and the attacker's server
 * must not have received a single request through the gateway.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startServer, startUpstream, type TestUpstream } from '../helpers/upstreams.ts';
import { adminRequest, clusterEndpoints, stopAndRemove } from './lib/control-admin.ts';

let gw: GatewayProcess;
let upstream: TestUpstream;
let attacker: TestUpstream;
const reachedAttacker: string[] = [];

before(async () => {
  upstream = await startUpstream('blue');
  attacker = await startServer((req, res) => {
    reachedAttacker.push(`${req.method} ${req.url}`);
    res.end('owned');
  });
  gw = await startGateway({
    node: { id: 'gw-sec', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [{ name: 'blue', endpoints: [upstream.address] }],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }] }],
    // No token: the loopback default the finding is about.
    admin: { address: '127.0.0.1:0' },
  });
});

after(async () => {
  await stopAndRemove(gw);
  await upstream?.close();
  await attacker?.close();
});

const port = () => new URL(gw.adminUrl()).port;
const addAttacker = () => JSON.stringify({ address: attacker.address });

/** The gateway still routes only to the real upstream, and the config holds only it. */
async function assertUntouched(what: string): Promise<void> {
  assert.deepEqual(await clusterEndpoints(gw, 'blue'), [upstream.address], `${what}: the cluster changed`);
  for (let i = 0; i < 4; i++) {
    const status = await new Promise<number>((resolve, reject) => {
      http.get(`${gw.url('http')}/probe-${i}`, { agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      }).on('error', reject);
    });
    assert.equal(status, 200);
  }
  assert.deepEqual(reachedAttacker, [], `${what}: requests reached the attacker's endpoint`);
}

test('a cross-site text/plain POST (a browser simple request) does not change the config', async () => {
  const r = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', {
    'content-type': 'text/plain;charset=UTF-8',
    origin: 'http://evil.example',
    'sec-fetch-site': 'cross-site',
    'sec-fetch-mode': 'no-cors',
  }, addAttacker());
  assert.equal(r.status, 403, r.body);
  await assertUntouched('cross-site text/plain POST');
});

test('a text/plain or form POST without Origin (an old browser) is refused for its content type', async () => {
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const r = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', { 'content-type': type }, addAttacker());
    assert.equal(r.status, 415, `${type}: ${r.body}`);
    assert.match(JSON.parse(r.body).errors[0].message, /application\/json/);
  }
  // A body without any content type (fetch with a Blob) is no JSON declaration either.
  const r = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', {}, addAttacker());
  assert.equal(r.status, 415, r.body);
  await assertUntouched('non-JSON POST');
});

test('a JSON write from a page of another origin is refused by its Origin or Sec-Fetch-Site', async () => {
  const cases: Record<string, string>[] = [
    { origin: 'http://evil.example' },
    { origin: 'null' },
    // Another local web app (same host name, other port) is another origin.
    { origin: 'http://127.0.0.1:1' },
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
  ];
  for (const headers of cases) {
    const r = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', { 'content-type': 'application/json', ...headers }, addAttacker());
    assert.equal(r.status, 403, `${JSON.stringify(headers)}: ${r.body}`);
  }
  // Reads under /v1 are refused cross-site too (a rebinding page could otherwise read them).
  const read = await adminRequest(gw, 'GET', '/v1/config', { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
  assert.equal(read.status, 403, read.body);
  await assertUntouched('cross-origin JSON POST');
});

test('DNS rebinding: a request whose Host is a foreign name is refused, even when it looks same-origin', async () => {
  const rebound = { host: `evil.example:${port()}`, origin: `http://evil.example:${port()}`, 'sec-fetch-site': 'same-origin' };
  const read = await adminRequest(gw, 'GET', '/v1/config', { host: `evil.example:${port()}` });
  assert.equal(read.status, 403, read.body);
  assert.doesNotMatch(read.body, /"clusters"/);
  const write = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', { ...rebound, 'content-type': 'application/json' }, addAttacker());
  assert.equal(write.status, 403, write.body);
  for (const host of ['evil.example', 'EVIL.example.:80', `localhost.evil.example:${port()}`, '127.0.0.1.nip.io']) {
    const r = await adminRequest(gw, 'GET', '/metrics', { host });
    assert.equal(r.status, 403, `${host}: ${r.body}`);
  }
  await assertUntouched('rebinding');
});

test('legitimate clients still work: the CLI (no Origin), the dashboard (same origin), localhost and IP hosts', async () => {
  const base = { 'content-type': 'application/json' };
  const ok: Record<string, string>[] = [
    base,
    { ...base, origin: `http://127.0.0.1:${port()}`, 'sec-fetch-site': 'same-origin' },
    { ...base, host: `localhost:${port()}`, origin: `http://localhost:${port()}`, 'sec-fetch-site': 'same-origin' },
    { ...base, 'content-type': 'application/json; charset=utf-8', 'sec-fetch-site': 'none' },
  ];
  const extra = ['127.0.0.1:9', '127.0.0.1:10', '127.0.0.1:11', '127.0.0.1:12'];
  for (const [i, headers] of ok.entries()) {
    const add = await adminRequest(gw, 'POST', '/v1/clusters/blue/endpoints', headers, JSON.stringify({ address: extra[i] }));
    assert.equal(add.status, 200, `${JSON.stringify(headers)}: ${add.body}`);
  }
  assert.deepEqual((await clusterEndpoints(gw, 'blue')).sort(), [upstream.address, ...extra].sort());
  // A write without a body needs no content type (DELETE ?address=).
  for (const a of extra) {
    const del = await adminRequest(gw, 'DELETE', `/v1/clusters/blue/endpoints?address=${a}`);
    assert.equal(del.status, 200, del.body);
  }
  for (const host of ['127.0.0.1', `[::1]:${port()}`, 'LOCALHOST.']) {
    const r = await adminRequest(gw, 'GET', '/healthz', { host });
    assert.equal(r.status, 200, `${host}: ${r.body}`);
  }
  // The dashboard page may be opened from a link on another site (a navigation): only its data calls are guarded.
  const page = await adminRequest(gw, 'GET', '/ui/', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' });
  assert.equal(page.status, 200);
  await assertUntouched('legitimate clients');
});

test('admin.allowedHosts: a configured name (a reverse proxy, a scrape by name) is served', async (t) => {
  const named = await startGateway({
    node: { id: 'gw-sec-2', region: 'jp' },
    // A gateway must serve something (edgeplane refuses a config without listeners or dns).
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    clusters: [{ name: 'blue', endpoints: [upstream.address] }],
    routes: [{ name: 'api', match: { path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 100 }] }],
    admin: { address: '127.0.0.1:0', allowedHosts: ['admin.fleet.internal'] },
  });
  t.after(() => stopAndRemove(named));
  const p = new URL(named.adminUrl()).port;
  assert.equal((await adminRequest(named, 'GET', '/metrics', { host: `admin.fleet.internal:${p}` })).status, 200);
  assert.equal((await adminRequest(named, 'GET', '/metrics', { host: 'other.fleet.internal' })).status, 403);
  // Behind a proxy that rewrites Host, the browser's Origin is the proxy's name.
  const viaProxy = await adminRequest(named, 'POST', '/v1/clusters/blue/endpoints', { 'content-type': 'application/json', origin: 'https://admin.fleet.internal', 'sec-fetch-site': 'same-origin' }, JSON.stringify({ address: '127.0.0.1:13' }));
  assert.equal(viaProxy.status, 200, viaProxy.body);
});

test('refused writes are in the audit log with their status', async () => {
  const { readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const entries = readFileSync(join(gw.dir, 'state', 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { method: string; status: number });
  assert.ok(entries.some((e) => e.method === 'POST' && e.status === 403), 'a 403 write');
  assert.ok(entries.some((e) => e.method === 'POST' && e.status === 415), 'a 415 write');
});
