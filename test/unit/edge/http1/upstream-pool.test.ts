import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { UpstreamPool, type DispatchOptions, type UpstreamPoolOptions } from '../../../../src/edge/http1/upstream-pool.ts';

const certs = join(import.meta.dirname, '../../../../certs-dev');

interface Result {
  status: number;
  headers: string[];
  body: string;
}

function request(pool: UpstreamPool, opts: Partial<DispatchOptions> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    let status = 0;
    let headers: string[] = [];
    const chunks: Buffer[] = [];
    pool.dispatch(
      { path: '/', method: 'GET', headers: ['host', 'x'], body: null, ...opts },
      {
        onConnect() {},
        onHeaders(s, raw) {
          status = s;
          headers = raw as string[];
          return true;
        },
        onData(c) {
          chunks.push(Buffer.from(c));
          return true;
        },
        onComplete() {
          resolve({ status, headers, body: Buffer.concat(chunks).toString() });
        },
        onError: reject,
      },
    );
  });
}

async function listen(server: net.Server): Promise<{ port: number; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let total = 0;
  server.on(server instanceof https.Server ? 'secureConnection' : 'connection', (s: net.Socket) => {
    sockets.add(s);
    total++;
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    sockets,
    get total() {
      return total;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  } as { port: number; sockets: Set<net.Socket>; total: number; close(): Promise<void> };
}

function poolFor(port: number, extra: Partial<UpstreamPoolOptions> = {}): UpstreamPool {
  return new UpstreamPool({ host: '127.0.0.1', port, tls: null, connections: 4, connectTimeoutMs: 2000, idleTimeoutMs: 4000, ...extra });
}

test('keep-alive reuse, connection cap, request bodies (length and chunked)', async () => {
  let concurrent = 0;
  let maxConcurrent = 0;
  const up = (await listen(
    http.createServer((req, res) => {
      concurrent++;
      maxConcurrent = Math.max(maxConcurrent, concurrent);
      const parts: Buffer[] = [];
      req.on('data', (d) => parts.push(d));
      req.on('end', () =>
        setTimeout(() => {
          concurrent--;
          res.end(`${req.method} ${req.url} te=${req.headers['transfer-encoding'] ?? ''} cl=${req.headers['content-length'] ?? ''} body=${Buffer.concat(parts)}`);
        }, 5),
      );
    }),
  )) as Awaited<ReturnType<typeof listen>> & { total: number };
  const pool = poolFor(up.port, { connections: 2 });
  try {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => request(pool, { path: `/r${i}` })));
    assert.deepEqual(results.map((r) => r.body), Array.from({ length: 8 }, (_, i) => `GET /r${i} te= cl= body=`));
    assert.equal(maxConcurrent, 2, 'never more requests at once than the cap');
    assert.equal(up.total, 2, 'two connections, reused');
    const cl = await request(pool, { method: 'POST', headers: ['host', 'x', 'content-length', '5'], body: Readable.from([Buffer.from('he'), Buffer.from('llo')]) });
    assert.equal(cl.body, 'POST / te= cl=5 body=hello');
    // Without Host (an HTTP/1.0 client): the endpoint's authority is added, the body framing is unchanged.
    const noHost = await request(pool, { method: 'POST', headers: ['content-length', '5'], body: Readable.from([Buffer.from('hello')]) });
    assert.equal(noHost.body, 'POST / te= cl=5 body=hello');
    const ch = await request(pool, { method: 'POST', body: Readable.from([Buffer.from('stream'), Buffer.from('ed')]) });
    assert.equal(ch.body, 'POST / te=chunked cl= body=streamed');
    assert.equal(up.total, 2);
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('response framing: HEAD, 204, 304 without bodies; chunked; close-delimited', async () => {
  const raw = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
        const line = buf.slice(0, buf.indexOf('\r\n'));
        buf = buf.slice(end + 4);
        const path = line.split(' ')[1];
        if (path === '/head') s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
        else if (path === '/204') s.write('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n');
        else if (path === '/304') s.write('HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n');
        else if (path === '/chunked') s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n');
        else if (path === '/close') s.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
        else if (path === '/bad') s.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n');
      }
    });
  });
  const up = await listen(raw);
  const pool = poolFor(up.port, { connections: 1 });
  try {
    assert.deepEqual(await request(pool, { method: 'HEAD', path: '/head' }), { status: 200, headers: ['Content-Length', '10'], body: '' });
    assert.equal((await request(pool, { path: '/204' })).body, '');
    assert.equal((await request(pool, { path: '/304' })).body, '');
    const c = await request(pool, { path: '/chunked' });
    assert.equal(c.status, 200, 'the interim 100 is skipped');
    assert.equal(c.body, 'abcde');
    assert.equal(pool.connected, 1, 'all of the above on one connection');
    assert.equal((await request(pool, { path: '/close' })).body, 'until close');
    await assert.rejects(request(pool, { path: '/bad' }), (e: NodeJS.ErrnoException) => e.code === 'UND_ERR_SOCKET' && /protocol error/.test(e.message));
  } finally {
    await pool.destroy();
    await up.close();
  }
});

test('resets, refused connections and timeouts surface with the codes breakers and retries classify', async () => {
  const up = await listen(
    http.createServer((req, res) => {
      if (req.url === '/reset') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('partial');
        setTimeout(() => req.socket.destroy(), 5);
      } else if (req.url === '/hang') {
        /* never answers */
      } else res.end('ok');
    }),
  );
  const pool = poolFor(up.port);
  try {
    await assert.rejects(request(pool, { path: '/reset' }), (e: NodeJS.ErrnoException) => e.code === 'UND_ERR_SOCKET' || e.code === 'ECONNRESET');
    await assert.rejects(request(pool, { path: '/hang', headersTimeout: 50 }), (e: NodeJS.ErrnoException) => e.code === 'UND_ERR_HEADERS_TIMEOUT');
    assert.equal((await request(pool)).body, 'ok', 'the pool recovers');
    // An idle connection the upstream closes is dropped, not handed to the next request.
    for (const s of up.sockets) s.destroy();
    const deadline = Date.now() + 2000;
    while (pool.connected > 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    assert.equal((await request(pool)).body, 'ok');
  } finally {
    await pool.destroy();
    await up.close();
  }
  const closedPort = up.port;
  const dead = poolFor(closedPort);
  await assert.rejects(request(dead), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  await dead.destroy();
});

test('TLS upstream verified against the development CA', async () => {
  const server = https.createServer({ cert: readFileSync(join(certs, 'server.crt')), key: readFileSync(join(certs, 'server.key')) }, (req, res) => res.end(`tls ${req.url}`));
  const up = await listen(server);
  const pool = new UpstreamPool({ host: '127.0.0.1', port: up.port, tls: { ca: readFileSync(join(certs, 'ca.crt')), servername: 'localhost' }, connections: 2, connectTimeoutMs: 2000, idleTimeoutMs: 4000 });
  const untrusted = new UpstreamPool({ host: '127.0.0.1', port: up.port, tls: { servername: 'localhost' }, connections: 1, connectTimeoutMs: 2000, idleTimeoutMs: 4000 });
  try {
    assert.equal((await request(pool, { path: '/a' })).body, 'tls /a');
    assert.equal((await request(pool, { path: '/b' })).body, 'tls /b');
    assert.equal(pool.connected, 1);
    await assert.rejects(request(untrusted), (e: NodeJS.ErrnoException) => /CERT|SELF_SIGNED|UNABLE/.test(e.code ?? ''));
  } finally {
    await pool.destroy();
    await untrusted.destroy();
    await up.close();
  }
});
