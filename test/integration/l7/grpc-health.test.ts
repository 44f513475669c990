import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { createGrpcProbe, decodeResponse, encodeRequest } from '../../../src/health/grpc-probe.ts';
import { startEchoServer, echoPackage, unary, type EchoServer } from './fixtures/grpc.ts';

/**
 * gRPC health checks (grpc.health.v1.Health/Check) against real grpc-js
 * servers with the standard health service: the probe alone (h2c and TLS h2),
 * then a gateway whose h2c cluster is checked that way: NOT_SERVING takes the
 * endpoint out of rotation, SERVING brings it back.
 */
const cert = join(repoRoot, 'certs-dev/server.crt');
const key = join(repoRoot, 'certs-dev/server.key');
const ca = readFileSync(join(repoRoot, 'certs-dev/ca.crt'));
let a: EchoServer;
let b: EchoServer;
let secure: EchoServer;
let gw: GatewayProcess;
const clients: grpc.Client[] = [];

before(async () => {
  a = await startEchoServer('a');
  b = await startEchoServer('b');
  secure = await startEchoServer('secure', { cert, key });
});

after(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
  await Promise.all([a?.close(), b?.close(), secure?.close()]);
});

const target = (s: EchoServer) => ({ host: '127.0.0.1', port: s.port, address: s.address });
const signal = () => new AbortController().signal;

test('the wire format: HealthCheckRequest out, HealthCheckResponse back', () => {
  assert.deepEqual([...encodeRequest('')], [0, 0, 0, 0, 0]);
  assert.deepEqual([...encodeRequest('ab')], [0, 0, 0, 0, 4, 0x0a, 2, 0x61, 0x62]);
  assert.equal(decodeResponse(Buffer.from([0, 0, 0, 0, 2, 0x08, 1])), 1);
  assert.equal(decodeResponse(Buffer.from([0, 0, 0, 0, 0])), 0, 'an absent field is UNKNOWN');
  assert.equal(decodeResponse(Buffer.from([0, 0, 0, 0, 3, 0x08, 1])), undefined, 'length prefix disagrees');
  assert.equal(decodeResponse(Buffer.from([1, 0, 0, 0, 2, 0x08, 1])), undefined, 'compressed');
});

test('probe: SERVING passes, NOT_SERVING and an unknown service fail, the service name is sent (h2c and TLS h2)', async () => {
  const whole = createGrpcProbe({ service: '', authority: undefined });
  const named = createGrpcProbe({ service: 'edgeplane.test.Echo', authority: undefined });
  const unknown = createGrpcProbe({ service: 'no.such.Service', authority: undefined });
  const tls = createGrpcProbe({ service: '', authority: undefined, tls: { ca, servername: 'localhost', rejectUnauthorized: true } });
  const untrusted = createGrpcProbe({ service: '', authority: undefined, tls: { servername: 'localhost', rejectUnauthorized: true } });
  try {
    assert.deepEqual(await whole.probe(target(a), signal()), { ok: true, detail: 'SERVING' });
    assert.deepEqual(await named.probe(target(a), signal()), { ok: true, detail: 'SERVING' });
    assert.deepEqual(a.health.requested.slice(-2), ['', 'edgeplane.test.Echo']);
    const u = await unknown.probe(target(a), signal());
    assert.equal(u.ok, false);
    assert.match(u.detail, /^grpc-status 5: unknown service no\.such\.Service$/);
    a.health.status = 'NOT_SERVING';
    assert.deepEqual(await whole.probe(target(a), signal()), { ok: false, detail: 'NOT_SERVING' }, 'the same session, a new answer');
    a.health.status = 'SERVING';
    assert.deepEqual(await tls.probe(target(secure), signal()), { ok: true, detail: 'SERVING' });
    assert.equal((await untrusted.probe(target(secure), signal())).ok, false, 'an unverified certificate fails the check');
    // Nothing listening; and a server that never answers HTTP/2 ends by the checker's abort.
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    const refused = await whole.probe({ host: '127.0.0.1', port: closed, address: `127.0.0.1:${closed}` }, signal());
    assert.equal(refused.ok, false);
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const sp = (silent.address() as AddressInfo).port;
    const ac = new AbortController();
    const pending = whole.probe({ host: '127.0.0.1', port: sp, address: `127.0.0.1:${sp}` }, ac.signal);
    ac.abort();
    assert.deepEqual(await pending, { ok: false, detail: 'aborted' });
    silent.close();
  } finally {
    await Promise.all([whole.close(), named.close(), unknown.close(), tls.close(), untrusted.close()]);
  }
});

interface EndpointReport {
  address: string;
  state: string;
  active: { state: string; lastResult: string | null };
}

async function endpoints(): Promise<EndpointReport[]> {
  const r = await fetch(`${gw.adminUrl()}/v1/health`);
  const body = (await r.json()) as { clusters: { name: string; endpoints: EndpointReport[] }[] };
  return body.clusters.find((c) => c.name === 'echo')!.endpoints;
}

async function activeState(s: EchoServer): Promise<string | undefined> {
  return (await endpoints()).find((e) => e.address === s.address)?.active.state;
}

test('a gateway ejects an endpoint whose health service answers NOT_SERVING and takes it back on SERVING', async () => {
  gw = await startGateway({
    node: { id: 'gw-grpc-health', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: { certificates: [{ cert, key }], http2: true } }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{
      name: 'echo',
      endpoints: [a.address, b.address],
      protocol: 'h2c',
      healthCheck: { grpc: { service: 'edgeplane.test.Echo' }, interval: '100ms', noTrafficInterval: '100ms', jitter: '0s', timeout: '1s', healthyThreshold: 1, unhealthyThreshold: 1 },
    }],
    routes: [{ name: 'echo', match: { hosts: ['grpc.svc.plus'] }, split: [{ cluster: 'echo', weight: 1 }] }],
  });
  const port = gw.ready.listeners.find((l) => l.name === 'https')!.port;
  const c = new echoPackage.edgeplane.test.Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca), { 'grpc.default_authority': 'grpc.svc.plus', 'grpc.ssl_target_name_override': 'grpc.svc.plus' });
  clients.push(c);
  const servedBy = async (n: number) => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) names.add((await unary(c, { text: 'x', n: 0 })).reply.text.split(':')[0]!);
    return [...names].sort();
  };

  await waitFor(async () => (await activeState(a)) === 'healthy' && (await activeState(b)) === 'healthy', { timeoutMs: 20_000, what: 'both endpoints healthy by gRPC checks' });
  assert.ok(a.health.requested.includes('edgeplane.test.Echo'), 'the gateway asked about the configured service');
  assert.deepEqual(await servedBy(8), ['a', 'b']);

  a.health.status = 'NOT_SERVING';
  await waitFor(async () => (await activeState(a)) === 'unhealthy', { timeoutMs: 20_000, what: 'a unhealthy after NOT_SERVING' });
  const report = (await endpoints()).find((e) => e.address === a.address)!;
  assert.equal(report.active.lastResult, 'NOT_SERVING');
  assert.deepEqual(await servedBy(8), ['b'], 'no call goes to the NOT_SERVING endpoint');

  a.health.status = 'SERVING';
  await waitFor(async () => (await activeState(a)) === 'healthy', { timeoutMs: 20_000, what: 'a healthy again after SERVING' });
  assert.deepEqual(await servedBy(8), ['a', 'b']);
});

test('config: a gRPC check on an HTTP/1.1 cluster is refused with its path', async () => {
  await assert.rejects(
    startGateway({
      node: { id: 'gw-grpc-health-bad', region: 'jp' },
      listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
      clusters: [{ name: 'plain', endpoints: [a.address], healthCheck: { grpc: {} } }],
      routes: [{ name: 'r', match: {}, split: [{ cluster: 'plain', weight: 1 }] }],
    }, { timeoutMs: 30_000 }),
    /clusters\[0\]\.healthCheck\.type: gRPC health checks need the cluster's protocol to be h2 or h2c/,
  );
});
