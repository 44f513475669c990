import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { waitFor } from '../../helpers/wait.ts';
import { JwksServer, makeKey, ISSUER, AUDIENCE } from '../../unit/jwt/fixtures.ts';
import { startEchoServer, echoPackage, unary, type EchoServer } from './fixtures/grpc.ts';

/** The gateway's policies applied to gRPC calls: retries on gRPC status, deadlines, rate limits, JWT, metrics, outlier detection. */
let gw: GatewayProcess;
let ok: EchoServer;
let down: EchoServer;
let down2: EchoServer;
let jwks: JwksServer;
const cert = join(repoRoot, 'certs-dev/server.crt');
const key = join(repoRoot, 'certs-dev/server.key');
const ca = readFileSync(join(repoRoot, 'certs-dev/ca.crt'));
const clients: grpc.Client[] = [];

before(async () => {
  ok = await startEchoServer('ok');
  down = await startEchoServer('down', undefined, { alwaysUnavailable: true });
  down2 = await startEchoServer('down2', undefined, { alwaysUnavailable: true });
  jwks = await new JwksServer([makeKey('k1', 'ES256')]).listen();
  gw = await startGateway({
    node: { id: 'gw-grpc-policy', region: 'jp' },
    listeners: [{ name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: { certificates: [{ cert, key }], http2: true } }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'half-down', endpoints: [down.address, ok.address], protocol: 'h2c' },
      { name: 'half-down-2', endpoints: [down.address, ok.address], protocol: 'h2c' },
      { name: 'ok', endpoints: [ok.address], protocol: 'h2c' },
      { name: 'ejectable', endpoints: [down2.address, ok.address], protocol: 'h2c', outlierDetection: { consecutive5xx: 3, consecutiveGatewayFailure: 3, baseEjectionTime: '5m', maxEjectionPercent: 50 } },
    ],
    routes: [
      { name: 'retry', match: { hosts: ['retry.svc.plus'] }, split: [{ cluster: 'half-down', weight: 1 }], retries: { attempts: 1, on: ['unavailable'] } },
      { name: 'noretry', match: { hosts: ['noretry.svc.plus'] }, split: [{ cluster: 'half-down-2', weight: 1 }] },
      { name: 'slow', match: { hosts: ['slow.svc.plus'] }, split: [{ cluster: 'ok', weight: 1 }], timeout: '30s' },
      { name: 'limited', match: { hosts: ['limited.svc.plus'] }, split: [{ cluster: 'ok', weight: 1 }], rateLimit: [{ key: { clientAddress: true }, requests: 1, per: '1h' }] },
      { name: 'secure', match: { hosts: ['secure.svc.plus'] }, split: [{ cluster: 'ok', weight: 1 }], auth: { jwt: 'main' } },
      { name: 'eject', match: { hosts: ['eject.svc.plus'] }, split: [{ cluster: 'ejectable', weight: 1 }] },
    ],
    jwt: { providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { url: jwks.url } }] },
  });
});

after(async () => {
  for (const c of clients) c.close();
  await gw?.stop();
  await Promise.all([ok?.close(), down?.close(), down2?.close(), jwks?.close()]);
});

function client(authority: string): grpc.Client {
  const port = gw.ready.listeners.find((l) => l.name === 'https')!.port;
  const c = new echoPackage.edgeplane.test.Echo(`127.0.0.1:${port}`, grpc.credentials.createSsl(ca), { 'grpc.default_authority': authority, 'grpc.ssl_target_name_override': authority });
  clients.push(c);
  return c;
}

async function metrics(): Promise<string> {
  return (await fetch(`${gw.adminUrl()}/metrics`)).text();
}

function counter(text: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`edgeplane_grpc_requests_total{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('retries on a gRPC status named in the route (unavailable); without the policy the status reaches the client', async () => {
  const c = client('retry.svc.plus');
  for (let i = 0; i < 6; i++) assert.equal((await unary(c, { text: `r${i}`, n: i })).reply.text, `ok:r${i}`);
  assert.ok(down.seen.length >= 3, `the unavailable endpoint was tried (${down.seen.length})`);
  const n = client('noretry.svc.plus');
  const codes: number[] = [];
  for (let i = 0; i < 6; i++) codes.push(await unary(n, { text: 'x', n: 0 }).then(() => 0, (e: grpc.ServiceError) => e.code));
  assert.ok(codes.includes(grpc.status.UNAVAILABLE) && codes.includes(grpc.status.OK), codes.join(','));
  const m = await metrics();
  assert.equal(counter(m, 'route="retry",cluster="half-down",grpc_status="0"'), 6);
  assert.equal(counter(m, 'route="noretry",cluster="half-down-2",grpc_status="14"'), codes.filter((x) => x === 14).length);
});

test('grpc-timeout shortens the route timeout: the gateway answers DEADLINE_EXCEEDED and cancels the upstream call', async () => {
  // A raw HTTP/2 gRPC request, so that only the gateway (not the client library) enforces the deadline.
  const port = gw.ready.listeners.find((l) => l.name === 'https')!.port;
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: 'slow.svc.plus' });
  try {
    const text = Buffer.from('sleep:20000');
    const msg = Buffer.concat([Buffer.from([0x0a, text.length]), text]);
    const frame = Buffer.alloc(5);
    frame.writeUInt32BE(msg.length, 1);
    const stream = session.request({ ':method': 'POST', ':path': '/edgeplane.test.Echo/Unary', ':authority': 'slow.svc.plus', 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '300m' });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.resume();
    stream.end(Buffer.concat([frame, msg]));
    await new Promise<void>((resolve, reject) => {
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    assert.equal(headers[':status'], 200);
    assert.equal(trailers['grpc-status'] ?? headers['grpc-status'], '4');
    assert.match(String(trailers['grpc-message'] ?? headers['grpc-message']), /upstream_timeout/);
  } finally {
    session.close();
  }
  await waitFor(() => ok.cancelled.includes('sleep:20000'), { what: 'the upstream call cancelled' });
});

test('the gateway\'s own refusals are gRPC statuses: rate limit RESOURCE_EXHAUSTED, missing token UNAUTHENTICATED', async () => {
  const limited = client('limited.svc.plus');
  assert.equal((await unary(limited, { text: 'first', n: 0 })).reply.text, 'ok:first');
  await assert.rejects(unary(limited, { text: 'second', n: 0 }), (e: grpc.ServiceError) => e.code === grpc.status.RESOURCE_EXHAUSTED && /rate_limited/.test(e.details));
  await assert.rejects(unary(client('secure.svc.plus'), { text: 'x', n: 0 }), (e: grpc.ServiceError) => e.code === grpc.status.UNAUTHENTICATED);
  const m = await metrics();
  assert.equal(counter(m, 'route="limited",cluster="",grpc_status="8"'), 1);
});

test('outlier detection counts gRPC failures (UNAVAILABLE as a 503): the failing endpoint is ejected', async () => {
  const c = client('eject.svc.plus');
  const report = async () => (await (await fetch(`${gw.adminUrl()}/v1/health`)).json()) as { clusters: { name: string; endpoints: { address: string; state: string }[] }[] };
  await waitFor(async () => {
    await unary(c, { text: 'e', n: 0 }).catch(() => {});
    const cluster = (await report()).clusters.find((x) => x.name === 'ejectable')!;
    return cluster.endpoints.find((e) => e.address === down2.address)?.state === 'ejected';
  }, { what: 'the UNAVAILABLE endpoint ejected', timeoutMs: 20_000 });
  // Once ejected, calls go to the healthy endpoint only.
  for (let i = 0; i < 4; i++) assert.equal((await unary(c, { text: `after${i}`, n: 0 })).reply.text, `ok:after${i}`);
});
