// Issue #20 findings 6, 12, 13: what a client can make the gateway forward
// in the headers an upstream trusts (identity, Host, client address).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, devJwt, attackRoutes, type GatewayProcess } from './lib/gateway.ts';
import { startLoggingUpstream, type LoggingUpstream } from './lib/logging-upstream.ts';
import { rawHttp, parseRawResponse } from './lib/clients.ts';

let upstream: LoggingUpstream;
let gw: GatewayProcess;
let port: number;

before(async () => {
  upstream = await startLoggingUpstream();
  gw = await startGateway({
    node: { id: 'sec-headers', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'logged', endpoints: [upstream.address] }],
    routes: attackRoutes('logged'),
    jwt: devJwt(),
  });
  port = gw.ready.listeners.find((l) => l.name === 'http')!.port;
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

const UPGRADE = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

test('finding 6: an Upgrade request never forwards client-sent identity headers or Connection-listed headers', async () => {
  upstream.clear();
  const text = await rawHttp(
    port,
    `GET /public/ws HTTP/1.1\r\nHost: api.svc.plus\r\nX-JWT-Sub: admin\r\nX-JWT-Scope: all\r\nx_jwt_sub: admin\r\nX-Secret: s\r\nConnection: Upgrade, x-secret\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Real-IP: 6.6.6.6\r\n\r\n`,
  );
  assert.equal(parseRawResponse(text).status, 101, text);
  const [r] = upstream.find((x) => x.upgrade);
  assert.ok(r, 'the upgrade reached the upstream');
  for (const name of ['x-jwt-sub', 'x-jwt-scope', 'x_jwt_sub', 'x-secret']) assert.equal(r.headers.has(name), false, `${name} was forwarded`);
  assert.deepEqual(r.headers.get('host'), ['api.svc.plus']);
  assert.deepEqual(r.headers.get('x-real-ip'), ['127.0.0.1']);
  assert.ok(r.headers.has('sec-websocket-key'), 'end-to-end WebSocket headers pass');
});

test('finding 6: underscore spellings of claim headers do not pass the normal path', async () => {
  upstream.clear();
  const res = parseRawResponse(await rawHttp(port, 'GET /public/x HTTP/1.1\r\nHost: api.svc.plus\r\nx_jwt_sub: admin\r\nX_JWT_Scope: all\r\nX-JWT-Sub: admin\r\nConnection: close\r\n\r\n'));
  assert.equal(res.status, 200, res.body);
  const [r] = upstream.log;
  assert.ok(r);
  for (const name of ['x-jwt-sub', 'x_jwt_sub', 'x_jwt_scope']) assert.equal(r.headers.has(name), false, `${name} was forwarded`);
});

test('finding 12: "Connection: close, host" cannot strip the Host the gateway routed by', async () => {
  upstream.clear();
  const res = parseRawResponse(await rawHttp(port, 'GET /public/x HTTP/1.1\r\nHost: api.svc.plus\r\nConnection: close, host\r\n\r\n'));
  assert.equal(res.status, 200, res.body);
  assert.deepEqual(upstream.log[0]?.headers.get('host'), ['api.svc.plus']);
  // And for upgrades too.
  upstream.clear();
  const up = await rawHttp(port, `GET /public/ws HTTP/1.1\r\nHost: api.svc.plus\r\n${UPGRADE.replace('Connection: Upgrade', 'Connection: Upgrade, host')}\r\n`);
  assert.equal(parseRawResponse(up).status, 101);
  assert.deepEqual(upstream.log[0]?.headers.get('host'), ['api.svc.plus']);
});

test('finding 13: Forwarded is appended to and X-Real-IP replaced, like X-Forwarded-For', async () => {
  upstream.clear();
  const res = parseRawResponse(await rawHttp(port, 'GET /public/x HTTP/1.1\r\nHost: api.svc.plus\r\nForwarded: for=203.0.113.9\r\nX-Real-IP: 203.0.113.9\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n'));
  assert.equal(res.status, 200, res.body);
  const r = upstream.log[0]!;
  assert.deepEqual(r.headers.get('x-real-ip'), ['127.0.0.1']);
  assert.deepEqual(r.headers.get('x-forwarded-for'), ['203.0.113.9, 127.0.0.1']);
  assert.deepEqual(r.headers.get('forwarded'), ['for=203.0.113.9, for=127.0.0.1;proto=http;host=api.svc.plus']);
});
