import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadConfigFile, parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';
import { JwtAuthenticator } from '../../../src/edge/jwt/index.ts';
import { tokenCommand } from '../../../src/cli/token.ts';
import { tempDir } from '../../helpers/temp-dir.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function issues(yamlJwt: string, routesAuth = '{ jwt: main }'): string[] {
  const text = `node: { id: a, region: jp }
listeners: []
clusters: [ { name: c, endpoints: [127.0.0.1:1] } ]
routes:
  - { name: r, match: {}, split: [ { cluster: c, weight: 1 } ], auth: ${routesAuth} }
jwt:
${yamlJwt}`;
  try {
    parseConfig(text);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('jwt config', () => {
  it('accepts the contract shape and every extension', () => {
    assert.deepEqual(issues(`  providers:
    - name: main
      issuer: https://auth.svc.plus/
      audiences: [api.svc.plus]
      jwks: { url: "https://auth.svc.plus/.well-known/jwks.json", cacheTtl: 10m, cooldown: 30s, timeout: 2s }
      claimsToHeaders: [ { claim: sub, header: x-jwt-sub } ]
      algorithms: [ES256, RS256]
      clockSkew: 30s
      requiredClaims: [sub]
      maxAge: 1h
      from: [ { header: authorization, prefix: "Bearer " }, { cookie: session }, { query: access_token } ]
      forward: false
      payloadHeader: x-jwt-payload
      maxTokenSize: 4096
  realm: api
  cache: { enabled: true, maxEntries: 1000 }`), []);
    assert.deepEqual(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json } }, { name: b, issuer: y, jwks: { file: j.json } } ]', '{ jwt: { allOf: [main, { provider: b, scopes: [read], claims: { tenant: acme, "org.role": [admin, ops] } }] }, optional: true, scopes: [x] }'), []);
    assert.deepEqual(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json } }, { name: b, issuer: y, jwks: { file: j.json } } ]', '{ jwt: [main, b] }'), []);
  });

  it('refuses alg none, HMAC next to public keys, short secrets and mixed key sources', () => {
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, algorithms: [none] } ]').join('\n'), /algorithms\[0\]/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, algorithms: [RS256, HS256] } ]').join('\n'), /key confusion/);
    assert.match(issues('  providers: [ { name: main, issuer: x, secret: short } ]').join('\n'), /at least 32 bytes/);
    assert.match(issues('  providers: [ { name: main, issuer: x, secret: "0123456789abcdef0123456789abcdef", algorithms: [HS512] } ]').join('\n'), /HS512 needs a secret of at least 64 bytes/);
    assert.match(issues('  providers: [ { name: main, issuer: x, secret: "0123456789abcdef0123456789abcdef", algorithms: [ES256] } ]').join('\n'), /only verifies HS256/);
    assert.match(issues('  providers: [ { name: main, issuer: x, secret: "0123456789abcdef0123456789abcdef", jwks: { file: j.json } } ]').join('\n'), /exactly one of jwks, publicKey, secret/);
    assert.match(issues('  providers: [ { name: main, issuer: x } ]').join('\n'), /needs one of jwks, publicKey or secret/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: a, url: "http://x/" } } ]').join('\n'), /exactly one of file or url/);
    assert.match(issues('  providers: [ { name: main, issuer: x, publicKey: { pem: "not a key" } } ]').join('\n'), /not a PEM public key/);
  });

  it('refuses reserved or duplicate forwarding headers and bad token locations', () => {
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, claimsToHeaders: [ { claim: sub, header: Host } ] } ]').join('\n'), /"host" is reserved/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, payloadHeader: x-a, claimsToHeaders: [ { claim: sub, header: X-A } ] } ]').join('\n'), /written twice/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, from: { header: x-t }, claimsToHeaders: [ { claim: sub, header: x-t } ] } ]').join('\n'), /reads its token/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, from: { cookie: s, query: t } } ]').join('\n'), /exactly one of header, cookie, query/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, from: { cookie: s, prefix: "x " } } ]').join('\n'), /prefix only applies/);
    assert.match(issues('  providers: [ { name: main, issuer: x, jwks: { file: j.json }, claimsToHeaders: [ { claim: sub, header: "bad header" } ] } ]').join('\n'), /claimsToHeaders\[0\]\.header/);
  });

  it('names unknown and repeated providers in route auth with their path', () => {
    const p = '  providers: [ { name: main, issuer: x, jwks: { file: j.json } } ]';
    assert.deepEqual(issues(p, '{ jwt: nope }'), ['routes[0].auth.jwt: unknown JWT provider "nope"']);
    assert.deepEqual(issues(p, '{ jwt: [main, nope] }'), ['routes[0].auth.jwt[1]: unknown JWT provider "nope"']);
    assert.deepEqual(issues(p, '{ jwt: { anyOf: [main, { provider: zz }] } }'), ['routes[0].auth.jwt.anyOf[1].provider: unknown JWT provider "zz"']);
    assert.deepEqual(issues(p, '{ jwt: [main, main] }'), ['routes[0].auth.jwt[1]: JWT provider "main" is listed twice']);
  });

  it('the authenticator reports unreadable key files as config errors at construction', () => {
    assert.throws(
      () => new JwtAuthenticator({ providers: [{ name: 'main', issuer: 'x', jwks: { file: 'missing.json' } }] }, { baseDir: '/nonexistent' }),
      (err: ConfigError) => err instanceof ConfigError && err.issues[0]!.path === 'jwt.providers[0]' && /cannot read jwks\.file missing\.json: ENOENT/.test(err.issues[0]!.message),
    );
    // A JWKS whose only key is symmetric: never usable for a public-key provider.
    const octKey = { kty: 'oct', k: 'c2VjcmV0', kid: 'x' };
    assert.throws(
      () => new JwtAuthenticator({ providers: [{ name: 'main', issuer: 'x', jwks: { file: 'k.json' } }] }, { baseDir: writeJwks({ keys: [octKey] }) }),
      (err: ConfigError) => err instanceof ConfigError && /no usable signing key/.test(err.issues[0]!.message),
    );
  });

  it('the demo config protects api-secure with the dev JWKS, and `edgeplane token` satisfies it', async () => {
    const file = join(root, 'examples/demo.yaml');
    const config = loadConfigFile(file, { env: {} });
    const route = config.routes.find((r) => r.name === 'api-secure');
    assert.ok(route?.auth, 'the demo has a route that requires a token');
    const auth = new JwtAuthenticator(config.jwt, { baseDir: join(root, 'examples') });
    const req = auth.compile(route.auth);
    assert.equal((await auth.authenticate(req, {}, '/')).ok, false);
    const mintWith = async (args: string[]) => {
      let text = '';
      const out = new Writable({ write(chunk, _e, cb) { text += String(chunk); cb(); } });
      assert.equal(await tokenCommand(args, out), 0);
      return text.trim();
    };
    const withScope = await mintWith(['--scope', 'read']);
    const r = await auth.authenticate(req, { authorization: `Bearer ${withScope}` }, '/');
    assert.ok(r.ok);
    assert.deepEqual(r.setHeaders.find(([k]) => k === 'x-jwt-sub'), ['x-jwt-sub', 'alice']);
    const noScope = await mintWith([]);
    const f = await auth.authenticate(req, { authorization: `Bearer ${noScope}` }, '/');
    assert.equal(f.ok, false);
    assert.equal(!f.ok && f.status, 403);
    auth.close();
  });
});

function writeJwks(doc: unknown): string {
  const dir = tempDir('edgeplane-jwks-');
  writeFileSync(join(dir, 'k.json'), JSON.stringify(doc));
  return dir;
}
