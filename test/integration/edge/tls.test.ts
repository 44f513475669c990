import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import { readFileSync, copyFileSync, renameSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';
import { waitFor } from '../../helpers/wait.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const certs = join(repoRoot, 'certs-dev');
const ca = readFileSync(join(certs, 'ca.crt'));
let upstream: TestUpstream;
let gw: GatewayProcess;
let port: number;

before(async () => {
  upstream = await startUpstream('blue');
  // Certificates live in the gateway's temp dir so the reload test can replace them.
  const dir = tempDir('edgeplane-tls-');
  for (const f of ['server.crt', 'server.key', 'other.crt', 'other.key']) copyFileSync(join(certs, f), join(dir, f));
  gw = await startGateway(
    {
      node: { id: 'gw-tls', region: 'jp' },
      listeners: [
        {
          name: 'https',
          address: '127.0.0.1:0',
          protocol: 'https',
          tls: { certificates: [{ cert: 'server.crt', key: 'server.key' }, { cert: 'other.crt', key: 'other.key' }], minVersion: 'TLSv1.2', http2: true },
        },
      ],
      admin: { address: '127.0.0.1:0' },
      clusters: [{ name: 'blue', endpoints: [upstream.address] }],
      routes: [{ name: 'api', match: { hosts: ['api.svc.plus', '*.other.example'] }, split: [{ cluster: 'blue', weight: 1 }] }],
    },
    { dir },
  );
  port = Number(new URL(gw.url('https')).port);
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

function handshake(servername: string, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca, ALPNProtocols: ['h2', 'http/1.1'], ...options }, () => resolve(s));
    s.once('error', reject);
  });
}

function sans(socket: tls.TLSSocket): string {
  return new X509Certificate(socket.getPeerX509Certificate()!.raw).subjectAltName ?? '';
}

test('SNI selects the certificate by SAN: exact, wildcard, and the first as default', async () => {
  const a = await handshake('api.svc.plus');
  assert.match(sans(a), /DNS:api\.svc\.plus/);
  a.destroy();
  const b = await handshake('x.other.example');
  assert.match(sans(b), /DNS:\*\.other\.example/);
  b.destroy();
  const c = await handshake('unknown.example', { rejectUnauthorized: false });
  assert.match(sans(c), /DNS:api\.svc\.plus/);
  c.destroy();
});

test('ALPN offers h2 and http/1.1; TLS 1.1 is refused', async () => {
  const h2 = await handshake('api.svc.plus');
  assert.equal(h2.alpnProtocol, 'h2');
  h2.destroy();
  const h1 = await handshake('api.svc.plus', { ALPNProtocols: ['http/1.1'] });
  assert.equal(h1.alpnProtocol, 'http/1.1');
  assert.ok(['TLSv1.2', 'TLSv1.3'].includes(h1.getProtocol()!));
  h1.destroy();
  await assert.rejects(handshake('api.svc.plus', { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
});

test('HTTP/2 downstream is proxied to an HTTP/1.1 upstream', async () => {
  const client = http2.connect(`https://api.svc.plus:${port}`, { ca, servername: 'api.svc.plus', host: '127.0.0.1' } as http2.SecureClientSessionOptions);
  try {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = client.request({ ':path': '/h2?x=1', ':method': 'GET' });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
    const json = JSON.parse(body);
    assert.equal(json.path, '/h2?x=1');
    assert.equal(json.headers.host, `api.svc.plus:${port}`);
    assert.equal(json.headers['x-forwarded-proto'], 'https');
  } finally {
    client.close();
  }
});

test('certificate files are reloaded on change without dropping open connections', async () => {
  const open = await handshake('api.svc.plus');
  // Replace server.crt/key with the "other" certificate, atomically, as certbot would.
  copyFileSync(join(gw.dir, 'other.crt'), join(gw.dir, 'server.crt.new'));
  copyFileSync(join(gw.dir, 'other.key'), join(gw.dir, 'server.key.new'));
  renameSync(join(gw.dir, 'server.key.new'), join(gw.dir, 'server.key'));
  renameSync(join(gw.dir, 'server.crt.new'), join(gw.dir, 'server.crt'));
  await waitFor(async () => {
    const s = await handshake('unknown.example', { rejectUnauthorized: false });
    const names = sans(s);
    s.destroy();
    return names.includes('other.example') && !names.includes('api.svc.plus');
  }, { timeoutMs: 15_000, what: 'the default certificate to be reloaded' });
  assert.ok(!open.destroyed && open.writable, 'the connection opened before the reload is still open');
  open.destroy();
});
