import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startGateway, repoRoot, type GatewayProcess } from '../../helpers/gateway-process.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstreams.ts';

let upstream: TestUpstream;
let gw: GatewayProcess;

before(async () => {
  upstream = await startUpstream('blue');
  gw = await startGateway({
    node: { id: 'gw-claims', region: 'jp' },
    listeners: [{ name: 'http', address: '127.0.0.1:0', protocol: 'http' }],
    admin: { address: '127.0.0.1:0' },
    clusters: [{ name: 'blue', endpoints: [upstream.address] }],
    routes: [{ name: 'open', match: { hosts: ['open.test'] }, split: [{ cluster: 'blue', weight: 1 }] }],
    jwt: {
      providers: [
        {
          name: 'main',
          issuer: 'https://auth.svc.plus/',
          audiences: ['api.svc.plus'],
          jwks: { file: join(repoRoot, 'certs-dev/jwks.json') },
          claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }],
        },
      ],
    },
  });
});

after(async () => {
  await gw?.stop();
  await upstream?.close();
});

test('a route without auth still strips client-sent claim headers (no spoofing)', async () => {
  const res = await request(gw.url('http') + '/', { headers: { host: 'open.test', 'x-jwt-sub': 'admin', 'x-other': 'kept' } });
  const body = (await res.body.json()) as { headers: Record<string, string> };
  assert.equal(res.statusCode, 200);
  assert.equal(body.headers['x-jwt-sub'], undefined);
  assert.equal(body.headers['x-other'], 'kept');
});
