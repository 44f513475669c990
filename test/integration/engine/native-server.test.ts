import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startGateway, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startServer, type TestUpstream } from '../../helpers/upstreams.ts';
import { rawHttp } from '../../helpers/raw-http.ts';
import { waitFor } from '../../helpers/wait.ts';

/** Behaviour specific to the native engine's downstream server (the shared proxy tests run on it via EDGEPLANE_ENGINE=native). */
let upstream: TestUpstream;
let gw: GatewayProcess;
let port: number;
const received: string[] = [];

before(async () => {
  upstream = await startServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      received.push(`${req.method} ${req.url}`);
      const body = `${req.method} ${req.url} ${Buffer.concat(parts).toString()}`;
      if (req.url === '/stream') {
        // No Content-Length: the gateway frames it (chunked for HTTP/1.1, close-delimited for HTTP/1.0).
        res.write('part1-');
        setTimeout(() => res.end('part2'), 20);
        return;
      }
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.end(body), 50);
        return;
      }
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  });
  gw = await startGateway({
    node: { id: 'native', region: 'jp' },
    engine: 'native',
    admin: { address: '127.0.0.1:0' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http', headersTimeout: '500ms', keepAliveTimeout: '400ms', maxHeaderSize: 2048 }],
    clusters: [{ name: 'up', endpoints: [upstream.address] }],
    routes: [{ name: 'all', match: { path: { prefix: '/' } }, split: [{ cluster: 'up', weight: 1 }] }],
  }, { timeoutMs: 120_000 });
  port = gw.ready.listeners[0]!.port;
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

function responses(text: string): { status: number; body: string }[] {
  const out: { status: number; body: string }[] = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, end);
    const status = Number(head.slice(9, 12));
    const len = /content-length: (\d+)/i.exec(head);
    const n = len ? Number(len[1]) : 0;
    out.push({ status, body: rest.slice(end + 4, end + 4 + n) });
    rest = rest.slice(end + 4 + n);
  }
  return out;
}

test('pipelined requests are answered in order, a slow first one included', async () => {
  const text = await rawHttp(port, 'GET /slow1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: a\r\n\r\n', 300);
  const rs = responses(text);
  assert.deepEqual(rs.map((r) => r.body), ['GET /slow1 ', 'POST /two abc', 'GET /three ']);
});

test('Expect: 100-continue gets 100 Continue before the body is sent', async () => {
  const text = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('POST /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n'));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
      if (out.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && !out.includes('200')) s.write('body');
      if (out.includes('POST /expect body')) s.destroy();
    });
    s.on('close', () => resolve(out));
  });
  assert.ok(text.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200'), text);
  assert.ok(text.endsWith('POST /expect body'));
});

test('responses without a length: chunked to HTTP/1.1 clients, close-delimited to HTTP/1.0; HEAD has no body', async () => {
  const h11 = await rawHttp(port, 'GET /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(h11, /transfer-encoding: chunked/i);
  assert.ok(h11.endsWith('6\r\npart1-\r\n5\r\npart2\r\n0\r\n\r\n'), JSON.stringify(h11));
  const h10 = await rawHttp(port, 'GET /stream HTTP/1.0\r\n\r\n');
  assert.doesNotMatch(h10, /transfer-encoding/i);
  assert.match(h10, /connection: close/i);
  assert.ok(h10.endsWith('\r\n\r\npart1-part2'), JSON.stringify(h10));
  const head = await rawHttp(port, 'HEAD /h HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.match(head, /content-length: 8/i);
  assert.ok(head.endsWith('\r\n\r\n'), 'no body after a HEAD response');
});

test('limits and timeouts: 414, 431, 408 for a trickled head, idle keep-alive connections closed', async () => {
  const before = received.length;
  assert.match(await rawHttp(port, `GET /${'u'.repeat(9000)} HTTP/1.1\r\nHost: a\r\n\r\n`), /^HTTP\/1\.1 414 /);
  assert.match(await rawHttp(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(3000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
  // Slowloris: a head that never completes is answered 408 after headersTimeout, whatever the trickle.
  const slow = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: a\r\n'));
    const trickle = setInterval(() => s.writable && s.write('X: 1\r\n'), 100);
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', () => {});
    s.on('close', () => {
      clearInterval(trickle);
      resolve(out);
    });
  });
  assert.match(slow, /^HTTP\/1\.1 408 /);
  assert.equal(received.length, before, 'none of these reached the upstream');
  // An idle keep-alive connection is closed by the gateway after keepAliveTimeout.
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('GET /idle HTTP/1.1\r\nHost: a\r\n\r\n'));
    s.on('data', () => {});
    s.on('close', () => resolve(true));
    setTimeout(() => resolve(false), 5000).unref();
  });
  assert.equal(closed, true);
});

test('the upstream connection is reused across downstream connections (keep-alive pool)', async () => {
  let connections = 0;
  upstream.server.on('connection', () => connections++);
  const start = connections;
  for (let i = 0; i < 5; i++) await rawHttp(port, `GET /reuse${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  await waitFor(() => received.includes('GET /reuse4'), { timeoutMs: 5000 });
  assert.ok(connections - start <= 1, `new upstream connections: ${connections - start}`);
});
