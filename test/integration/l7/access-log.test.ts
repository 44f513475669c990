import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import http2 from 'node:http2';
import { request, Agent } from 'undici';
import { SignJWT } from 'jose';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { ISSUER, AUDIENCE, JwksServer, makeKey, type TestKey } from '../../unit/jwt/fixtures.ts';

/** The access log of a real gateway process, read back with jq and GoAccess. */
let json: GatewayProcess;
let combined: GatewayProcess;
let upstream: TestUpstream;
let jwks: JwksServer;
let key: TestKey;
const ca = readFileSync(join(repoRoot, 'certs-dev/ca.crt'));
const agent = new Agent({ connections: 4, connect: { ca, servername: 'api.svc.plus' } });
const SECRET = 'S3CRET-never-logged';

function config(accessLog: unknown) {
  return {
    node: { id: 'gw-accesslog', region: 'jp' },
    listeners: [
      { name: 'http', address: '127.0.0.1:0', protocol: 'http' },
      { name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: { certificates: [{ cert: join(repoRoot, 'certs-dev/server.crt'), key: join(repoRoot, 'certs-dev/server.key') }], http2: true } },
    ],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [
      { name: 'secure', match: { hosts: ['secure.svc.plus'] }, split: [{ cluster: 'up', weight: 1 }], auth: { jwt: 'main' } },
      { name: 'api', match: { hosts: ['api.svc.plus'] }, split: [{ cluster: 'up', weight: 1 }] },
    ],
    jwt: { providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { url: jwks.url } }] },
    logging: { accessLog },
  };
}

before(async () => {
  key = makeKey('k1', 'ES256');
  jwks = await new JwksServer([key]).listen();
  upstream = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = req.url?.startsWith('/status/') ? '' : 'x'.repeat(100);
      res.writeHead(req.url?.startsWith('/status/') ? Number(req.url.slice(8)) : 200, { 'content-type': 'text/plain', 'content-length': String(body.length) }).end(body);
    });
  });
  json = await startGateway(config({ path: 'access.log', jwtSubject: true }));
  combined = await startGateway(config({ path: 'combined.log', format: 'combined' }));
});

after(async () => {
  await json?.stop();
  await combined?.stop();
  await agent.close();
  await upstream?.close();
  await jwks?.close();
});

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function lines(file: string): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [];
}

async function send(gw: GatewayProcess, listener: 'http' | 'https', path: string, headers: Record<string, string>, method = 'GET', body?: string) {
  const res = await request(`${gw.url(listener)}${path}`, { method, headers, body, dispatcher: agent });
  await res.body.text();
  return res;
}

test('JSON lines: every field, through jq; credentials never written', async (t) => {
  if (!has('jq')) return t.skip('jq is not installed (apt-get install jq)');
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 600 }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  await send(json, 'http', `/items?page=2&token=${SECRET}`, { host: 'api.svc.plus', 'user-agent': 'test-agent/1.0', referer: `https://app.svc.plus/?access_token=${SECRET}`, cookie: `session=${SECRET}`, authorization: `Basic ${SECRET}`, 'x-request-id': 'log-test-1' });
  await send(json, 'https', '/upload', { host: 'api.svc.plus', authorization: `Bearer ${jwt}`, 'x-request-id': 'log-test-2', 'content-type': 'text/plain' }, 'POST', 'y'.repeat(42));
  await send(json, 'http', '/private', { host: 'secure.svc.plus', authorization: `Bearer ${jwt}`, 'x-request-id': 'log-test-3' });
  await send(json, 'http', '/status/503', { host: 'api.svc.plus', 'x-request-id': 'log-test-4' });
  await send(json, 'http', '/', { host: 'nowhere.test', 'x-request-id': 'log-test-5' });
  const file = join(json.dir, 'access.log');
  await waitFor(() => lines(file).length >= 4, { what: 'access log lines' });
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(SECRET), 'a credential reached the access log');
  assert.ok(!text.includes(jwt.split('.')[2]!), 'a token reached the access log');
  const jq = spawnSync('jq', ['-c', 'select(.requestId | startswith("log-test-")) | {requestId, clientAddress, method, authority, path, protocol, status, bytesIn, bytesOut, userAgent, referer, route, cluster, endpoint, attempts, tlsVersion, sni, jwtSubject, error, hasTimes: ((.upstreamConnectMs >= 0) and (.upstreamResponseMs >= .upstreamConnectMs) and (.totalMs >= .upstreamResponseMs)), time}'], { input: text, encoding: 'utf8' });
  assert.equal(jq.status, 0, jq.stderr);
  const byId = new Map(jq.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).map((r) => [r.requestId as string, r]));
  const first = byId.get('log-test-1')!;
  assert.deepEqual({ ...first, time: undefined }, {
    requestId: 'log-test-1', clientAddress: '127.0.0.1', method: 'GET', authority: 'api.svc.plus', path: '/items?page=2&token=[redacted]', protocol: 'HTTP/1.1',
    status: 200, bytesIn: 0, bytesOut: 100, userAgent: 'test-agent/1.0', referer: 'https://app.svc.plus/?access_token=[redacted]', route: 'api', cluster: 'up',
    endpoint: upstream.address, attempts: 1, tlsVersion: null, sni: null, jwtSubject: null, error: null, hasTimes: true, time: undefined,
  });
  assert.ok(Math.abs(Date.parse(first.time as string) - Date.now()) < 60_000, `time ${first.time}`);
  const tls = byId.get('log-test-2')!;
  assert.deepEqual([tls.protocol, tls.tlsVersion, tls.sni, tls.method, tls.bytesIn, tls.jwtSubject], ['HTTP/1.1', 'TLSv1.3', 'api.svc.plus', 'POST', 42, null], 'a token on a route without auth is not verified, so no subject');
  assert.equal(byId.get('log-test-3')!.jwtSubject, 'alice');
  assert.deepEqual([byId.get('log-test-4')!.status, byId.get('log-test-4')!.bytesOut], [503, 0]);
  // Requests that match no route are counted in metrics but have no route to log under.
  assert.equal(byId.has('log-test-5'), false);
});

test('HTTP/2 requests are logged with their protocol, TLS version and SNI', async () => {
  const file = join(json.dir, 'access.log');
  const session = http2.connect(json.url('https'), { ca, servername: 'api.svc.plus' });
  try {
    await new Promise<void>((resolve, reject) => {
      const req = session.request({ ':path': '/h2', ':authority': 'api.svc.plus', 'x-request-id': 'log-test-h2' });
      req.on('response', () => {});
      req.resume();
      req.on('end', resolve);
      req.on('error', reject);
      req.end();
    });
  } finally {
    session.close();
  }
  const line = await waitFor(() => lines(file).map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => r.requestId === 'log-test-h2'), { what: 'the h2 line' });
  assert.deepEqual([line.protocol, line.tlsVersion, line.sni, line.authority, line.status, line.bytesOut], ['HTTP/2.0', 'TLSv1.3', 'api.svc.plus', 'api.svc.plus', 200, 100]);
});

test('SIGUSR1 reopens the file after logrotate moved it', async () => {
  const file = join(json.dir, 'access.log');
  await send(json, 'http', '/before-rotate', { host: 'api.svc.plus' });
  await waitFor(() => lines(file).some((l) => l.includes('/before-rotate')), { what: 'line before rotation' });
  renameSync(file, `${file}.1`);
  json.proc.kill('SIGUSR1');
  // The reopen happens when the signal is handled: poll until a request lands in a new file.
  await waitFor(async () => {
    await send(json, 'http', '/after-rotate', { host: 'api.svc.plus' });
    return lines(file).some((l) => l.includes('/after-rotate'));
  }, { what: 'a line in the reopened file', timeoutMs: 15_000 });
  assert.ok(lines(`${file}.1`).some((l) => l.includes('/before-rotate')));
  assert.ok(!lines(file).some((l) => l.includes('/before-rotate')));
  assert.equal(json.proc.exitCode, null, 'the gateway is still running');
  assert.doesNotMatch(json.output(), /Debugger listening/, 'SIGUSR1 did not start the inspector');
});

test('combined format: GoAccess parses every line', async (t) => {
  if (!has('goaccess')) return t.skip('goaccess is not installed (apt-get install goaccess)');
  for (let i = 0; i < 5; i++) await send(combined, 'http', `/page/${i}?token=${SECRET}`, { host: 'api.svc.plus', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) "quoted"', referer: 'https://app.svc.plus/' });
  await send(combined, 'https', '/status/404', { host: 'api.svc.plus' });
  const file = join(combined.dir, 'combined.log');
  await waitFor(() => lines(file).length >= 6, { what: 'combined lines' });
  assert.ok(!readFileSync(file, 'utf8').includes(SECRET));
  const out = join(combined.dir, 'report.json');
  const run = spawnSync('goaccess', [file, '--log-format=COMBINED', '--no-global-config', '-o', out], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(readFileSync(out, 'utf8')) as { general: { total_requests: number; failed_requests: number; bandwidth: number }; status_codes: { data: { data: string; hits: { count: number } }[] } };
  assert.equal(report.general.failed_requests, 0);
  assert.equal(report.general.total_requests, lines(file).length);
  assert.equal(report.general.bandwidth, 500);
  const codes = Object.fromEntries(report.status_codes.data.map((d) => [d.data, d.hits.count]));
  assert.equal(codes['2xx Success'], 5);
  assert.equal(codes['4xx Client Errors'], 1);
});

test('with workers, every worker logs to the file and reopens it on SIGUSR1 to the main process', async () => {
  const gw = await startGateway({ ...config({ path: 'workers.log' }), workers: 2 });
  try {
    const file = join(gw.dir, 'workers.log');
    const pids = (gw.ready.workers as { pid: number }[]).map((w) => w.pid);
    assert.equal(pids.length, 2);
    // Fresh connections are spread over the workers (the cluster module's round-robin).
    await waitFor(async () => {
      const res = await request(`${gw.url('http')}/w`, { headers: { host: 'api.svc.plus', connection: 'close' } });
      await res.body.text();
      return lines(file).length >= 10;
    }, { what: 'worker lines', timeoutMs: 30_000 });
    renameSync(file, `${file}.1`);
    gw.proc.kill('SIGUSR1');
    // Both workers must reopen: keep sending on new connections until 10 lines are in the new file,
    // then check that nothing more goes to the old one.
    await waitFor(async () => {
      const res = await request(`${gw.url('http')}/after`, { headers: { host: 'api.svc.plus', connection: 'close' } });
      await res.body.text();
      return lines(file).length >= 10;
    }, { what: 'lines in the reopened file', timeoutMs: 30_000 });
    const oldCount = lines(`${file}.1`).length;
    for (let i = 0; i < 20; i++) {
      const res = await request(`${gw.url('http')}/late`, { headers: { host: 'api.svc.plus', connection: 'close' } });
      await res.body.text();
    }
    await waitFor(() => lines(file).filter((l) => l.includes('/late')).length === 20, { what: 'late lines' });
    assert.equal(lines(`${file}.1`).length, oldCount, 'a worker kept writing to the rotated file');
  } finally {
    await gw.stop();
  }
});
