// Issue #20 findings 3, 4, 5: requests that reached a protected upstream path
// without a JWT by naming it in a way the router read differently from the upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, devTls, devJwt, attackRoutes, type GatewayProcess } from './lib/gateway.ts';
import { startLoggingUpstream, type LoggingUpstream } from './lib/logging-upstream.ts';
import { rawHttp, parseRawResponse, h2Connect, h2Request } from './lib/clients.ts';

let upstream: LoggingUpstream;
let gw: GatewayProcess;
let httpPort: number;
let httpsPort: number;

before(async () => {
  upstream = await startLoggingUpstream();
  gw = await startGateway({
    node: { id: 'sec-bypass', region: 'jp' },
    listeners: [
      { name: 'http', address: '127.0.0.1:0', protocol: 'http' },
      { name: 'https', address: '127.0.0.1:0', protocol: 'https', tls: devTls() },
    ],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    routes: attackRoutes('logged'),
    jwt: devJwt(),
  });
  httpPort = gw.ready.listeners.find((l) => l.name === 'http')!.port;
  httpsPort = gw.ready.listeners.find((l) => l.name === 'https')!.port;
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

/** Whether anything reached the upstream for a path that resolves to the protected /admin/secret. */
const reachedAdmin = () => upstream.find((r) => /admin/i.test(r.url));

async function h1(target: string, host = 'api.svc.plus', extra = ''): Promise<{ status: number; body: string }> {
  const text = await rawHttp(httpPort, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  const { status, body } = parseRawResponse(text);
  return { status, body };
}

test('finding 4: dot segments and encoded dots cannot climb out of an open route into a protected one (h1)', async () => {
  upstream.clear();
  // The control: the protected path itself needs a token.
  assert.equal((await h1('/admin/secret')).status, 401);
  for (const target of ['/public/../admin/secret', '/public/%2e%2e/admin/secret', '/public/%2E%2E/admin/secret', '/public/.%2e/admin/secret', '/public/./../admin/secret', '/public\\..\\admin/secret', '//admin/secret']) {
    const res = await h1(target);
    assert.equal(res.status, 401, `${target} is routed as /admin/secret and needs a token: ${res.status} ${res.body}`);
  }
  for (const target of ['/public/..%2fadmin/secret', '/public/..%2Fadmin/secret', '/public/..%5cadmin/secret']) {
    const res = await h1(target);
    assert.equal(res.status, 400, `${target}: an encoded slash is refused by default: ${res.status} ${res.body}`);
    assert.equal(JSON.parse(res.body).error, 'escaped_slash');
  }
  assert.equal((await h1('/public/..;/admin/secret')).status, 400, 'Tomcat-style "..;" is refused');
  assert.deepEqual(reachedAdmin().map((r) => r.url), [], 'nothing reached the upstream for /admin');
});

test('finding 4: the upstream receives the normalised path it was routed by', async () => {
  upstream.clear();
  const res = await h1('/public/a/../b/%7euser?x=/../y');
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(upstream.log.map((r) => r.url), ['/public/b/~user?x=/../y'], 'the query string is the application\'s: never rewritten');
});

test('finding 4: the same holds over h2', async () => {
  upstream.clear();
  const session = h2Connect(httpsPort);
  try {
    for (const path of ['/public/../admin/secret', '/public/%2e%2e/admin/secret']) {
      const res = await h2Request(session, { ':method': 'GET', ':path': path, ':authority': 'api.svc.plus', ':scheme': 'https' });
      assert.equal(res.status, 401, `${path} over h2: ${res.status} ${res.body}`);
    }
    const enc = await h2Request(session, { ':method': 'GET', ':path': '/public/..%2fadmin/secret', ':authority': 'api.svc.plus', ':scheme': 'https' });
    assert.equal(enc.status, 400);
  } finally {
    session.close();
  }
  assert.deepEqual(reachedAdmin().map((r) => r.url), []);
});

test('finding 4: and for Upgrade (WebSocket) requests', async () => {
  upstream.clear();
  const text = await rawHttp(httpPort, 'GET /public/../admin/ws HTTP/1.1\r\nHost: api.svc.plus\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  const status = parseRawResponse(text).status;
  assert.notEqual(status, 101, 'the upgrade is routed as /admin/ws, a JWT route, and refused');
  assert.deepEqual(upstream.log.map((r) => r.url), []);
});

test('finding 5: a trailing dot in Host names the same host (h1 and h2)', async () => {
  upstream.clear();
  assert.equal((await h1('/data', 'secure.svc.plus.')).status, 401);
  assert.equal((await h1('/data', 'SECURE.svc.plus.:80')).status, 401);
  const session = h2Connect(httpsPort, 'secure.svc.plus');
  try {
    const res = await h2Request(session, { ':method': 'GET', ':path': '/data', ':authority': 'secure.svc.plus.', ':scheme': 'https' });
    assert.equal(res.status, 401);
  } finally {
    session.close();
  }
  assert.deepEqual(upstream.log.map((r) => r.url), [], 'the catch-all route did not serve secure.svc.plus');
});

test('finding 5: an open route sees the canonical Host', async () => {
  upstream.clear();
  assert.equal((await h1('/public/x', 'API.svc.plus.')).status, 200);
  assert.deepEqual(upstream.log[0]?.headers.get('host'), ['api.svc.plus']);
});

test('finding 3: h2 :authority and host naming different hosts is refused; nothing reaches the upstream', async () => {
  upstream.clear();
  const session = h2Connect(httpsPort);
  try {
    const res = await h2Request(session, { ':method': 'GET', ':path': '/data', ':authority': 'api.svc.plus', ':scheme': 'https', host: 'secure.svc.plus' });
    assert.equal(res.status, 400, res.body);
    assert.equal(JSON.parse(res.body).error, 'authority_mismatch');
    // The same names agreeing (case, trailing dot) are fine, and the upstream sees the routed host.
    const ok = await h2Request(session, { ':method': 'GET', ':path': '/public/x', ':authority': 'api.svc.plus', ':scheme': 'https', host: 'API.svc.plus.' });
    assert.equal(ok.status, 200, ok.body);
  } finally {
    session.close();
  }
  assert.deepEqual(upstream.log.map((r) => [r.url, r.headers.get('host')]), [['/public/x', ['api.svc.plus']]]);
});

test('finding 3 (h1 form): an absolute-form target and a different Host are refused; two Host headers are refused', async () => {
  upstream.clear();
  const abs = parseRawResponse(await rawHttp(httpPort, 'GET http://secure.svc.plus/data HTTP/1.1\r\nHost: api.svc.plus\r\nConnection: close\r\n\r\n'));
  assert.equal(abs.status, 400);
  const two = parseRawResponse(await rawHttp(httpPort, 'GET /data HTTP/1.1\r\nHost: api.svc.plus\r\nHost: secure.svc.plus\r\nConnection: close\r\n\r\n'));
  assert.equal(two.status, 400);
  assert.deepEqual(upstream.log.map((r) => r.url), []);
});
