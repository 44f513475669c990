/**
 * A pooled upstream connection whose last response ended while reading was
 * paused (the client's buffer was full when the final bytes arrived) must read
 * again when it goes back to the pool: before the fix, the next request on it
 * (here an upload) never saw its response and ended in the route timeout (504).
 * Found by the large-body bench: download 8 MB, then a 100 MB upload within the
 * pool's idle timeout hung on the native engine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startGateway } from '../../helpers/gateway-process.ts';
import { startServer } from '../../helpers/upstreams.ts';

const MB = 1024 * 1024;
const BLOCK = Buffer.alloc(64 * 1024, 'edgeplane-bulk-');

function download(port: number, bytes: number): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: `/download?bytes=${bytes}`, agent: false, headers: { host: 'bulk.test' } }, (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => (received += c.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, received }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

function upload(port: number, bytes: number): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'PUT', agent: false, headers: { host: 'bulk.test', 'content-length': bytes } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    let left = bytes;
    const write = () => {
      while (left > 0) {
        const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        left -= chunk.length;
        if (!req.write(chunk)) return void req.once('drain', write);
      }
      req.end();
    };
    write();
  });
}

for (const engine of ['native', 'node'] as const) {
  test(`engine ${engine}: a request on a connection reused after a download that filled the client's buffer gets its response`, async (t) => {
    const upstream = await startServer((req, res) => {
      if (req.method === 'GET') {
        let left = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
        const pump = () => {
          while (left > 0) {
            const chunk = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
            left -= chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
        return;
      }
      let counted = 0;
      req.on('data', (d: Buffer) => (counted += d.length));
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes: counted })));
    });
    t.after(() => upstream.close());
    const gw = await startGateway({
      node: { id: `reuse-${engine}`, region: 'jp' },
      engine,
      listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
      // One connection, so the upload must reuse the download's.
      clusters: [{ name: 'bulk', endpoints: [upstream.address], circuitBreaker: { maxConnections: 1 } }],
      routes: [{ name: 'bulk', match: { hosts: ['bulk.test'] }, split: [{ cluster: 'bulk', weight: 1 }], timeout: '20s' }],
    });
    t.after(() => gw.stop());
    const port = Number(new URL(gw.url('http')).port);
    for (let round = 0; round < 3; round++) {
      const d = await download(port, 8 * MB);
      assert.deepEqual(d, { status: 200, received: 8 * MB }, `round ${round}: download`);
      const u = await upload(port, 16 * MB);
      assert.equal(u.status, 200, `round ${round}: upload answered ${u.status} ${u.text}`);
      assert.deepEqual(JSON.parse(u.text), { bytes: 16 * MB });
    }
  });
}
