/**
 * The response head the proxy writes (on the native engine in one string,
 * built from the parsed upstream fields and the route's precompiled
 * `responseHeaders.set`; src/edge/proxy.ts #writeHeadLines): the same
 * headers and framing on both engines — route set/remove applied, hop-by-hop
 * and Connection-named fields dropped, the upstream's Content-Length kept
 * (no chunked framing beside it), chunked when it has none, no body for HEAD
 * and 204, the request id added.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { rawHttp, parseRawResponse } from '../../helpers/raw-http.ts';

let upstream: TestUpstream;

before(async () => {
  upstream = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/empty') return void res.writeHead(204, ['x-up', '1']).end();
      if (req.url === '/chunked') {
        res.writeHead(200, ['content-type', 'text/plain', 'x-up', '1']);
        res.write('part one, ');
        return void res.end('part two');
      }
      const body = 'hello';
      const hop = req.url === '/listed' ? ['connection', 'keep-alive, x-listed', 'x-listed', 'gone'] : ['keep-alive', 'timeout=5'];
      res.writeHead(200, ['content-type', 'text/plain', 'content-length', String(body.length), 'x-up', '1', 'x-drop', 'secret', 'server', 'up', ...hop]);
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
});

after(async () => {
  await upstream?.close();
});

function config(engine: 'node' | 'native') {
  return {
    node: { id: `head-${engine}`, region: 'jp' },
    engine,
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    drain: { delay: '0s', timeout: '5s' },
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [
      {
        name: 'all',
        match: { path: { prefix: '/' } },
        split: [{ cluster: 'up', weight: 1 }],
        responseHeaders: { set: { 'x-route': 'set-by-route', 'cache-control': 'no-store' }, remove: ['x-drop'] },
      },
    ],
  };
}

for (const engine of ['node', 'native'] as const) {
  describe(`response head, engine: ${engine}`, () => {
    let gw: GatewayProcess;
    let port = 0;

    before(async () => {
      gw = await startGateway(config(engine), { timeoutMs: 120_000 });
      port = Number(new URL(gw.url('http')).port);
    });

    after(async () => {
      await gw?.stop();
    });

    const send = async (method: string, path: string) => parseRawResponse(await rawHttp(port, `${method} ${path} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n`));

    it('route set/remove applied, hop-by-hop dropped, Content-Length kept without chunked framing, request id added', async () => {
      const r = await send('GET', '/plain');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'hello');
      assert.equal(r.headers['content-length'], '5');
      assert.equal(r.headers['transfer-encoding'], undefined);
      assert.equal(r.headers['x-up'], '1');
      assert.equal(r.headers.server, 'up');
      assert.equal(r.headers['x-route'], 'set-by-route');
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(r.headers['x-drop'], undefined);
      assert.equal(r.headers['keep-alive'], undefined);
      assert.match(String(r.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    });

    it('names listed in the upstream Connection header are dropped too', async () => {
      const r = await send('GET', '/listed');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'hello');
      assert.equal(r.headers['x-listed'], undefined);
      assert.equal(r.headers['x-route'], 'set-by-route');
      assert.equal(r.headers['x-up'], '1');
    });

    it('no Content-Length from the upstream: the body arrives whole (chunked on HTTP/1.1)', async () => {
      const r = await send('GET', '/chunked');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'part one, part two');
      assert.equal(r.headers['x-route'], 'set-by-route');
    });

    it('HEAD and 204 carry no body', async () => {
      const head = await send('HEAD', '/plain');
      assert.equal(head.status, 200);
      assert.equal(head.body, '');
      assert.equal(head.headers['content-length'], '5');
      const empty = await send('GET', '/empty');
      assert.equal(empty.status, 204);
      assert.equal(empty.body, '');
      assert.equal(empty.headers['x-route'], 'set-by-route');
    });
  });
}
