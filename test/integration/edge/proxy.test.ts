import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request, Agent } from 'undici';
import net from 'node:net';
import http from 'node:http';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { rawHttp, parseRawResponse } from '../../helpers/raw-http.ts';

let blue1: TestUpstream, blue2: TestUpstream, green: TestUpstream, echo: TestUpstream, wsServer: TestUpstream;
let gw: GatewayProcess;
let base: string;
const agent = new Agent({ connections: 4 });

before(async () => {
  [blue1, blue2, green] = await Promise.all([startUpstream('blue'), startUpstream('blue'), startUpstream('green')]);
  // Echoes what it received, including hop-by-hop headers, and sends some of its own.
  echo = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ headers: req.headers, rawHeaders: req.rawHeaders, url: req.url });
      res.writeHead(200, ['content-type', 'application/json', 'connection', 'keep-alive, x-upstream-private', 'x-upstream-private', 'secret', 'keep-alive', 'timeout=5', 'x-kept', 'yes']);
      res.end(body);
    });
  });
  // A minimal WebSocket-style upgrade server: 101, then echoes bytes uppercased.
  wsServer = await startServer((_req, res) => res.end('no upgrade'));
  wsServer.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: ${req.headers.upgrade}\r\nconnection: Upgrade\r\n\r\n`);
    socket.on('data', (d) => socket.write(d.toString().toUpperCase()));
  });
  gw = await startGateway({
    node: { id: 'gw-test', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http', maxHeaderSize: 4096 }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'blue', endpoints: [blue1.address, blue2.address] },
      { name: 'green', endpoints: [green.address] },
      { name: 'echo', endpoints: [echo.address] },
      { name: 'ws', endpoints: [wsServer.address] },
    ],
    routes: [
      { name: 'api', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } }, split: [{ cluster: 'blue', weight: 90 }, { cluster: 'green', weight: 10 }], override: { header: 'x-edge-cluster' } },
      { name: 'sticky', match: { hosts: ['sticky.svc.plus'] }, split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }], sticky: { cookie: 'edge-split' } },
      { name: 'sticky-header', match: { hosts: ['user.svc.plus'] }, split: [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }], sticky: { header: 'x-user-id' } },
      { name: 'echo', match: { hosts: ['echo.svc.plus'] }, split: [{ cluster: 'echo', weight: 1 }], requestHeaders: { set: { 'x-added': 'by-route' }, remove: ['x-remove-me'] }, responseHeaders: { remove: ['x-kept-not'] } },
      { name: 'rewrite', match: { hosts: ['echo.svc.plus'], path: { prefix: '/old/' } }, split: [{ cluster: 'echo', weight: 1 }], rewrite: { prefix: '/new/', host: 'internal.example' } },
      { name: 'ws', match: { hosts: ['ws.svc.plus'] }, split: [{ cluster: 'ws', weight: 1 }] },
    ],
  });
  base = gw.url('http');
});

after(async () => {
  await gw?.stop();
  await agent.close();
  await Promise.all([blue1, blue2, green, echo, wsServer].map((u) => u?.close()));
});

async function get(path: string, headers: Record<string, string>) {
  const res = await request(base + path, { headers, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

test('a 90/10 split is exact over 2,000 requests, and all endpoints of blue take turns', async () => {
  const colors = new Map<string, number>();
  const endpoints = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const r = await get('/hello', { host: 'api.svc.plus' });
    assert.equal(r.status, 200);
    const body = r.json();
    colors.set(body.color, (colors.get(body.color) ?? 0) + 1);
    endpoints.add(body.endpoint);
  }
  assert.deepEqual(Object.fromEntries(colors), { blue: 1800, green: 200 });
  assert.equal(endpoints.size, 3);
});

test('the override header forces a cluster of the split, and is ignored for clusters outside it', async () => {
  for (let i = 0; i < 20; i++) assert.equal((await get('/', { host: 'api.svc.plus', 'x-edge-cluster': 'green' })).json().color, 'green');
  const r = await get('/', { host: 'api.svc.plus', 'x-edge-cluster': 'echo' });
  assert.ok(['blue', 'green'].includes(r.json().color));
});

test('sticky cookie: set when absent, then the client stays on one cluster', async () => {
  const first = await get('/', { host: 'sticky.svc.plus' });
  const setCookie = String(first.headers['set-cookie']);
  assert.match(setCookie, /^edge-split=[A-Za-z0-9_-]+; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/);
  const cookie = setCookie.split(';')[0]!;
  const color = (await get('/', { host: 'sticky.svc.plus', cookie })).json().color;
  for (let i = 0; i < 30; i++) {
    const r = await get('/', { host: 'sticky.svc.plus', cookie: `other=1; ${cookie}` });
    assert.equal(r.json().color, color);
    assert.equal(r.headers['set-cookie'], undefined, 'no new cookie once the client has one');
  }
});

test('sticky header: many users spread over both clusters, each user always on the same one', async () => {
  const seen = new Set<string>();
  for (let u = 0; u < 40; u++) {
    const first = (await get('/', { host: 'user.svc.plus', 'x-user-id': `user-${u}` })).json().color;
    seen.add(first);
    for (let i = 0; i < 3; i++) assert.equal((await get('/', { host: 'user.svc.plus', 'x-user-id': `user-${u}` })).json().color, first);
  }
  assert.deepEqual([...seen].sort(), ['blue', 'green']);
});

test('request headers: hop-by-hop removed (incl. Connection-named), X-Forwarded-* set, XFF appended, Host kept, route ops applied', async () => {
  // A raw request: HTTP clients refuse to send some of these headers.
  const text = await rawHttp(
    Number(new URL(base).port),
    'GET /h?q=1 HTTP/1.1\r\nHost: echo.svc.plus\r\nConnection: close, X-Private-Hop\r\nX-Private-Hop: must-not-pass\r\nTE: trailers\r\n' +
      'Proxy-Authorization: Basic abc\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: spoofed\r\nX-Remove-Me: 1\r\nX-Request-Id: req-12345678\r\n\r\n',
  );
  const r = parseRawResponse(text);
  assert.equal(r.status, 200);
  const { headers, url } = JSON.parse(r.body);
  assert.equal(url, '/h?q=1');
  assert.equal(headers.host, 'echo.svc.plus');
  assert.equal(headers['x-private-hop'], undefined);
  assert.equal(headers.te, undefined);
  assert.equal(headers['proxy-authorization'], undefined);
  assert.equal(headers['x-remove-me'], undefined);
  assert.equal(headers['x-added'], 'by-route');
  assert.equal(headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-forwarded-host'], 'echo.svc.plus');
  assert.equal(headers['x-request-id'], 'req-12345678');
  assert.equal(r.headers['x-request-id'], 'req-12345678');
  // Response: hop-by-hop and Connection-named headers from the upstream are removed.
  assert.equal(r.headers['x-upstream-private'], undefined);
  assert.equal(r.headers['keep-alive'], undefined);
  assert.equal(r.headers['x-kept'], 'yes');
});

test('an invalid X-Request-Id is replaced by a generated one', async () => {
  const r = await get('/', { host: 'echo.svc.plus', 'x-request-id': 'bad id with spaces' });
  const sent = r.json().headers['x-request-id'];
  assert.match(sent, /^[0-9a-f-]{36}$/);
  assert.equal(r.headers['x-request-id'], sent);
});

test('prefix and host rewrite', async () => {
  const r = await get('/old/thing?x=1', { host: 'echo.svc.plus' });
  const body = r.json();
  assert.equal(body.url, '/new/thing?x=1');
  assert.equal(body.headers.host, 'internal.example');
  assert.equal(body.headers['x-forwarded-host'], 'echo.svc.plus');
});

test('no matching route: 404 with a JSON reason', async () => {
  const r = await get('/x', { host: 'unknown.example' });
  assert.equal(r.status, 404);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.json().error, 'no_route');
});

test('request and response bodies stream through (1 MiB up, echoed size down)', async () => {
  const payload = Buffer.alloc(1024 * 1024, 7);
  const res = await request(base + '/upload', { method: 'POST', headers: { host: 'echo.svc.plus' }, body: payload, dispatcher: agent });
  assert.equal(res.statusCode, 200);
  await res.body.text();
});

test('WebSocket-style upgrade passes through and carries bytes both ways', async () => {
  const port = Number(new URL(base).port);
  const socket = net.connect(port, '127.0.0.1');
  socket.write('GET /chat HTTP/1.1\r\nHost: ws.svc.plus\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  let received = '';
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (d) => {
      received += d.toString();
      if (received.includes('\r\n\r\n') && !received.includes('HELLO')) socket.write('hello');
      if (received.includes('HELLO')) resolve();
    });
  });
  socket.destroy();
  assert.match(received, /^HTTP\/1\.1 101 /);
  assert.match(received, /HELLO$/);
});
