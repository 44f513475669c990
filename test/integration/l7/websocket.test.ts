import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { SignJWT } from 'jose';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { within } from '../../helpers/wait.ts';
import { ISSUER, AUDIENCE, JwksServer, makeKey, type TestKey } from '../../unit/jwt/fixtures.ts';

/**
 * WebSocket parity with proxied requests, with `ws` on both ends, on both
 * HTTP/1.1 engines: split override and sticky assignment, X-Forwarded-For
 * appended to, JWT routes (token in Authorization, a query parameter or
 * Sec-WebSocket-Protocol, per the route's webSocket.tokenFrom), idle timeout.
 */

interface SeenUpgrade {
  color: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

interface WsUpstream {
  color: string;
  address: string;
  close(): Promise<void>;
}

const seen: SeenUpgrade[] = [];

/** A real `ws` server that records each upgrade request and echoes messages prefixed with its color. */
async function startWsUpstream(color: string): Promise<WsUpstream> {
  const server = http.createServer((_req, res) => res.end('not a websocket'));
  const wss = new WebSocketServer({
    server,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
  });
  wss.on('connection', (ws, req) => {
    seen.push({ color, url: req.url ?? '', headers: req.headers });
    ws.on('message', (data) => ws.send(`${color}:${data.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    color,
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Opened = { ws: WebSocket; color: string; setCookie: string | undefined } | { status: number; body: string };

/** Opens a WebSocket through the gateway and sends one message; the answer names the upstream's color. */
async function open(url: string, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Opened> {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  return within(
    new Promise<Opened>((resolve, reject) => {
      let setCookie: string | undefined;
      ws.on('upgrade', (res) => {
        const c = res.headers['set-cookie'];
        setCookie = Array.isArray(c) ? c[0] : c;
      });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('error', reject);
      ws.on('open', () => ws.send('hello'));
      ws.once('message', (data) => resolve({ ws, color: data.toString().split(':')[0]!, setCookie }));
    }),
    `websocket ${url}`,
  );
}

function opened(o: Opened): Extract<Opened, { ws: WebSocket }> {
  if (!('ws' in o)) assert.fail(`expected a WebSocket, got HTTP ${o.status}: ${o.body}`);
  return o;
}

async function closeWs(o: Opened): Promise<void> {
  if (!('ws' in o)) return;
  if (o.ws.readyState === WebSocket.CLOSED) return;
  const closed = new Promise<void>((resolve) => o.ws.once('close', () => resolve()));
  o.ws.close();
  await within(closed, 'websocket close');
}

let blue: WsUpstream;
let green: WsUpstream;
let jwks: JwksServer;
let key: TestKey;

before(async () => {
  key = makeKey('ws1', 'ES256');
  jwks = await new JwksServer([key]).listen();
  blue = await startWsUpstream('blue');
  green = await startWsUpstream('green');
});

after(async () => {
  await blue?.close();
  await green?.close();
  await jwks?.close();
});

async function token(sub: string, k: TestKey = key): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub, iat: now, exp: now + 600 }).setProtectedHeader({ alg: k.alg, kid: k.kid }).sign(k.privateKey);
}

function config(engine: 'node' | 'native') {
  const split5050 = [{ cluster: 'blue', weight: 50 }, { cluster: 'green', weight: 50 }];
  return {
    node: { id: `gw-ws-${engine}`, region: 'jp' },
    engine,
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [
      { name: 'blue', endpoints: [blue.address] },
      { name: 'green', endpoints: [green.address] },
    ],
    routes: [
      { name: 'override', match: { hosts: ['override.test'] }, split: [{ cluster: 'blue', weight: 1 }, { cluster: 'green', weight: 0 }], override: { header: 'x-edge-cluster' } },
      { name: 'cookie', match: { hosts: ['cookie.test'] }, split: split5050, sticky: { cookie: 'edge-split' } },
      { name: 'header', match: { hosts: ['header.test'] }, split: split5050, sticky: { header: 'x-user-id' } },
      {
        name: 'jwt',
        match: { hosts: ['jwt.test'] },
        split: [{ cluster: 'blue', weight: 1 }],
        auth: { jwt: 'main' },
        webSocket: { tokenFrom: [{ header: 'authorization' }, { query: 'access_token' }, { protocol: 'bearer.' }] },
      },
      { name: 'jwt-default', match: { hosts: ['jwt-default.test'] }, split: [{ cluster: 'blue', weight: 1 }], auth: { jwt: 'main' } },
      { name: 'idle', match: { hosts: ['idle.test'] }, split: [{ cluster: 'blue', weight: 1 }], webSocket: { idleTimeout: '300ms' } },
    ],
    jwt: { providers: [{ name: 'main', issuer: ISSUER, audiences: [AUDIENCE], jwks: { url: jwks.url }, claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }] }] },
  };
}

for (const engine of ['node', 'native'] as const) {
  describe(`WebSocket through the gateway (engine: ${engine})`, () => {
    let gw: GatewayProcess;
    let base: string;
    before(async () => {
      gw = await startGateway(config(engine), { env: { EDGEPLANE_ENGINE: engine } });
      base = `ws://${gw.url('http').replace(/^https?:\/\//, '')}`;
    });
    after(async () => {
      await gw?.stop();
    });

    test('the override header reaches a weight-0 cluster; X-Forwarded-For is appended to', async () => {
      seen.length = 0;
      const plain = opened(await open(`${base}/chat`, { headers: { host: 'override.test' } }));
      assert.equal(plain.color, 'blue');
      await closeWs(plain);
      const forced = opened(await open(`${base}/chat`, { headers: { host: 'override.test', 'x-edge-cluster': 'green', 'x-forwarded-for': '203.0.113.7' } }));
      assert.equal(forced.color, 'green', 'the override names a cluster of the split: its weight does not matter');
      await closeWs(forced);
      const up = seen.find((s) => s.color === 'green')!;
      assert.equal(up.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1', 'the client address is appended, the earlier hop kept');
      assert.equal(up.headers['x-forwarded-proto'], 'http');
      assert.equal(up.headers.host, 'override.test');
    });

    test('sticky cookie: assigned on the 101, then every upgrade with it lands on the same cluster', async () => {
      const first = opened(await open(`${base}/chat`, { headers: { host: 'cookie.test' } }));
      await closeWs(first);
      assert.ok(first.setCookie, 'the 101 carries the sticky cookie');
      assert.match(first.setCookie, /^edge-split=[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/);
      const cookie = first.setCookie.split(';')[0]!;
      // With a 50/50 split, 12 upgrades without stickiness would meet both clusters (round-robin alternates).
      const colors = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const o = opened(await open(`${base}/chat`, { headers: { host: 'cookie.test', cookie } }));
        assert.equal(o.setCookie, undefined, 'a request that has the cookie gets no new one');
        colors.add(o.color);
        await closeWs(o);
      }
      assert.deepEqual([...colors], [first.color], 'the cookie pins the cluster the first upgrade got');
    });

    test('sticky header: each key keeps its cluster, and keys spread over both', async () => {
      const byKey = new Map<string, Set<string>>();
      // Seven keys (odd), so round-robin would hand a key the other cluster in the next round.
      for (let round = 0; round < 3; round++) {
        for (let u = 0; u < 7; u++) {
          const o = opened(await open(`${base}/chat`, { headers: { host: 'header.test', 'x-user-id': `user-${u}` } }));
          const set = byKey.get(`user-${u}`) ?? new Set<string>();
          set.add(o.color);
          byKey.set(`user-${u}`, set);
          await closeWs(o);
        }
      }
      for (const [k, colors] of byKey) assert.equal(colors.size, 1, `${k} moved between clusters: ${[...colors].join(', ')}`);
      const all = new Set([...byKey.values()].flatMap((s) => [...s]));
      assert.equal(all.size, 2, 'seven keys over a 50/50 split reach both clusters');
    });

    test('JWT route: the token is taken from Authorization, a query parameter or Sec-WebSocket-Protocol; missing or bad ones get 401', async () => {
      const good = await token('alice');
      seen.length = 0;

      const none = await open(`${base}/chat`, { headers: { host: 'jwt.test' } });
      assert.ok('status' in none && none.status === 401, `no token: ${JSON.stringify('status' in none ? none : 'opened')}`);
      const forged = await token('mallory', makeKey('ws1', 'ES256'));
      const bad = await open(`${base}/chat`, { headers: { host: 'jwt.test', authorization: `Bearer ${forged}` } });
      assert.ok('status' in bad && bad.status === 401, 'a token signed by another key is refused');
      assert.equal(seen.length, 0, 'no refused upgrade reached the upstream');

      const byHeader = opened(await open(`${base}/chat`, { headers: { host: 'jwt.test', authorization: `Bearer ${good}`, 'x-jwt-sub': 'spoofed' } }));
      await closeWs(byHeader);
      assert.equal(seen.at(-1)!.headers['x-jwt-sub'], 'alice', 'the claim header is the gateway\'s, not the client\'s');
      assert.equal(seen.at(-1)!.headers.authorization, undefined, 'the token is not forwarded');

      const byQuery = opened(await open(`${base}/chat?room=1&access_token=${good}`, { headers: { host: 'jwt.test' } }));
      await closeWs(byQuery);
      assert.equal(seen.at(-1)!.url, '/chat?room=1', 'the token parameter is removed, the rest of the query kept');
      assert.equal(seen.at(-1)!.headers['x-jwt-sub'], 'alice');

      const byProtocol = opened(await open(`${base}/chat`, { headers: { host: 'jwt.test' }, protocols: ['chat', `bearer.${good}`] }));
      assert.equal(byProtocol.ws.protocol, 'chat', 'the upstream chose among the subprotocols left');
      await closeWs(byProtocol);
      assert.equal(seen.at(-1)!.headers['sec-websocket-protocol'], 'chat', 'the token entry is removed from Sec-WebSocket-Protocol');
      assert.equal(seen.at(-1)!.headers['x-jwt-sub'], 'alice');

      // Without tokenFrom, the provider's own location (Authorization: Bearer) is the only one.
      const defaultRoute = opened(await open(`${base}/chat`, { headers: { host: 'jwt-default.test', authorization: `Bearer ${good}` } }));
      await closeWs(defaultRoute);
      const queryOnDefault = await open(`${base}/chat?access_token=${good}`, { headers: { host: 'jwt-default.test' } });
      assert.ok('status' in queryOnDefault && queryOnDefault.status === 401, 'a query token counts only where the route says so');
    });

    test('an upgraded connection with no traffic either way is closed after the route\'s idle timeout', async () => {
      const o = opened(await open(`${base}/chat`, { headers: { host: 'idle.test' } }));
      const closed = new Promise<number>((resolve) => o.ws.once('close', (code) => resolve(code)));
      const code = await within(closed, 'the idle tunnel to be closed by the gateway', 15_000);
      assert.equal(code, 1006, 'closed by the gateway dropping the connection, not by a close frame');
    });
  });
}
