import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { JwtAuthenticator, type AuthOutcome } from '../../../src/edge/jwt/index.ts';
import type { JwtConfig } from '../../../src/config/schema/index.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { AUDIENCE, b64url, hs256, ISSUER, makeKey, mint, NOW_S, rawToken, signRaw, standardClaims, WALL_START, type TestKey } from './fixtures.ts';

type ProviderConfig = JwtConfig['providers'][number];

let dir: string;
let es: TestKey;
let rsa: TestKey;
let other: TestKey;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeplane-jwt-'));
  es = makeKey('es-1', 'ES256');
  rsa = makeKey('rsa-1', 'RS256');
  other = makeKey('attacker', 'ES256');
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [es.jwk, rsa.jwk] }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const main = (extra: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: 'main',
  issuer: ISSUER,
  audiences: [AUDIENCE],
  jwks: { file: 'jwks.json' },
  claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }],
  ...extra,
});

function setup(providers: ProviderConfig[], cache?: { enabled?: boolean; maxEntries?: number }) {
  const clock = new ManualClock(0, WALL_START);
  const auth = new JwtAuthenticator({ providers }, { baseDir: dir, clock, ...(cache ? { cache } : {}) });
  return { auth, clock };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

async function ok(o: AuthOutcome | Promise<AuthOutcome>): Promise<Extract<AuthOutcome, { ok: true }>> {
  const r = await o;
  assert.equal(r.ok, true, r.ok ? '' : `expected success, got ${r.status} ${r.body}`);
  return r as Extract<AuthOutcome, { ok: true }>;
}

/** Asserts a failure with status and description, and that nothing of the token leaks into the answer. */
async function fails(o: AuthOutcome | Promise<AuthOutcome>, status: 401 | 403, description: string | RegExp, token?: string): Promise<Extract<AuthOutcome, { ok: false }>> {
  const r = await o;
  assert.equal(r.ok, false, 'expected a failure');
  const f = r as Extract<AuthOutcome, { ok: false }>;
  assert.equal(f.status, status);
  const body = JSON.parse(f.body) as { error: string; error_description: string };
  if (typeof description === 'string') assert.equal(body.error_description, description);
  else assert.match(body.error_description, description);
  const challenge = f.headers['www-authenticate']!;
  assert.ok(challenge.startsWith('Bearer realm="edgeplane"'), challenge);
  if (status === 401) assert.equal(body.error, 'invalid_token');
  if (status === 401) assert.match(challenge, /error="invalid_token", error_description="[^"]+"/);
  if (status === 403) assert.match(challenge, /error="insufficient_scope"/);
  if (token) {
    for (const part of token.split('.').filter((p) => p.length >= 8)) {
      assert.ok(!f.body.includes(part) && !challenge.includes(part), 'the answer echoes part of the token');
    }
  }
  return f;
}

/** Reads the counter the way a scrape does (counts are handed to prom-client at collect time). */
async function metric(provider: string, result: string): Promise<number> {
  const m = await registry.getSingleMetric('edgeplane_jwt_total')!.get();
  return m.values.find((v) => v.labels.provider === provider && v.labels.result === result)?.value ?? 0;
}

describe('JwtAuthenticator: valid tokens', () => {
  it('accepts ES256 and RS256 tokens from a JWKS file and forwards claims as headers', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    for (const key of [es, rsa]) {
      const t = await mint(key, { sub: `user-${key.alg}` });
      const r = await ok(auth.authenticate(req, bearer(t), '/'));
      assert.deepEqual(r.setHeaders, [['x-jwt-sub', `user-${key.alg}`]]);
      assert.ok(r.removeHeaders.includes('x-jwt-sub'), 'a client-sent x-jwt-sub is always removed');
      assert.ok(r.removeHeaders.includes('authorization'), 'the token is stripped by default');
      assert.equal(r.url, undefined);
    }
    auth.close();
  });

  it('answers a cache hit synchronously, and always asynchronously with the cache off', async () => {
    const t = await mint(es);
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const first = auth.authenticate(req, bearer(t), '/');
    assert.ok(first instanceof Promise, 'a miss verifies the signature asynchronously');
    await ok(first);
    const second = auth.authenticate(req, bearer(t), '/');
    assert.ok(!(second instanceof Promise), 'a hit returns the outcome itself');
    await ok(second);
    auth.close();

    const off = setup([main()], { enabled: false });
    const req2 = off.auth.compile({ jwt: 'main' });
    await ok(off.auth.authenticate(req2, bearer(t), '/'));
    const again = off.auth.authenticate(req2, bearer(t), '/');
    assert.ok(again instanceof Promise, 'without the cache every request verifies');
    await ok(again);
    off.auth.close();
  });

  it('never serves a cached token past its exp', async () => {
    const { auth, clock } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es, {}, { expIn: 120 });
    await ok(auth.authenticate(req, bearer(t), '/'));
    assert.ok(!(auth.authenticate(req, bearer(t), '/') instanceof Promise));
    clock.advance(121_000); // past exp, within the 60s skew: valid, but the cache entry is gone
    const r = auth.authenticate(req, bearer(t), '/');
    assert.ok(r instanceof Promise, 'the entry did not outlive exp');
    await ok(r);
    clock.advance(60_000); // past exp + skew
    await fails(auth.authenticate(req, bearer(t), '/'), 401, 'token expired', t);
    auth.close();
  });

  it('bounds the cache by entry count', async () => {
    const { auth } = setup([main()], { maxEntries: 2 });
    const req = auth.compile({ jwt: 'main' });
    const tokens = await Promise.all(['a', 'b', 'c'].map((sub) => mint(es, { sub })));
    for (const t of tokens) await ok(auth.authenticate(req, bearer(t), '/'));
    // The oldest entry was evicted, the two newest are still cached.
    assert.ok(auth.authenticate(req, bearer(tokens[0]!), '/') instanceof Promise);
    assert.ok(!(auth.authenticate(req, bearer(tokens[2]!), '/') instanceof Promise));
    auth.close();
  });

  it('accepts a PEM public key regardless of kid, and an HMAC secret for HS256', async () => {
    const secret = 's'.repeat(32);
    const { auth } = setup([
      { name: 'pem', issuer: ISSUER, publicKey: { pem: rsa.publicPem } },
      { name: 'hmac', issuer: 'https://hmac.test/', secret },
    ]);
    await ok(auth.authenticate(auth.compile({ jwt: 'pem' }), bearer(await mint(rsa, {}, { kid: 'whatever' })), '/'));
    const hsToken = hs256({ alg: 'HS256', typ: 'JWT' }, standardClaims({ iss: 'https://hmac.test/' }), secret);
    await ok(auth.authenticate(auth.compile({ jwt: 'hmac' }), bearer(hsToken), '/'));
    const wrongSecret = hs256({ alg: 'HS256' }, standardClaims({ iss: 'https://hmac.test/' }), 'x'.repeat(32));
    await fails(auth.authenticate(auth.compile({ jwt: 'hmac' }), bearer(wrongSecret), '/'), 401, 'signature verification failed', wrongSecret);
    // The secret provider accepts no asymmetric algorithm.
    const rsToken = await mint(rsa, { iss: 'https://hmac.test/' });
    await fails(auth.authenticate(auth.compile({ jwt: 'hmac' }), bearer(rsToken), '/'), 401, 'token algorithm not allowed', rsToken);
    auth.close();
  });

  it('tries every compatible key when the token has no kid', async () => {
    const { auth } = setup([main()]);
    const second = makeKey('es-2', 'ES256');
    writeFileSync(join(dir, 'two.json'), JSON.stringify({ keys: [es.jwk, second.jwk] }));
    const two = setup([main({ name: 'two', jwks: { file: 'two.json' } })]);
    const t = await mint(second, {}, { kid: null });
    await ok(two.auth.authenticate(two.auth.compile({ jwt: 'two' }), bearer(t), '/'));
    const forged = await mint(other, {}, { kid: null });
    await fails(two.auth.authenticate(two.auth.compile({ jwt: 'two' }), bearer(forged), '/'), 401, 'signature verification failed', forged);
    auth.close();
    two.auth.close();
  });
});

describe('JwtAuthenticator: claims', () => {
  it('checks exp, nbf and iat against the clock with the default 60s skew', async () => {
    const { auth } = setup([main({ maxAge: '1h' })]);
    const req = auth.compile({ jwt: 'main' });
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { expIn: -61 })), '/'), 401, 'token expired');
    await ok(auth.authenticate(req, bearer(await mint(es, {}, { expIn: -30 })), '/'));
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { nbf: NOW_S + 120 })), '/'), 401, 'token not yet valid');
    await ok(auth.authenticate(req, bearer(await mint(es, {}, { nbf: NOW_S + 30 })), '/'));
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { iat: NOW_S - 3600 - 61 })), '/'), 401, 'token too old');
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { iat: NOW_S + 120 })), '/'), 401, 'token not yet valid');
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { iat: null })), '/'), 401, 'required claim iat missing');
    auth.close();
  });

  it('honours a configured clock skew', async () => {
    const { auth } = setup([main({ clockSkew: '0s' })]);
    const req = auth.compile({ jwt: 'main' });
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { expIn: -1 })), '/'), 401, 'token expired');
    auth.close();
  });

  it('checks issuer, audiences and required claims', async () => {
    const { auth } = setup([main({ requiredClaims: ['tenant'] })]);
    const req = auth.compile({ jwt: 'main' });
    const c = { tenant: 'acme' };
    await ok(auth.authenticate(req, bearer(await mint(es, c, { aud: ['other', AUDIENCE] })), '/'));
    await fails(auth.authenticate(req, bearer(await mint(es, c, { iss: 'https://evil.test/' })), '/'), 401, 'issuer not accepted');
    await fails(auth.authenticate(req, bearer(await mint(es, c, { aud: 'other' })), '/'), 401, 'audience not accepted');
    await fails(auth.authenticate(req, bearer(await mint(es, { ...c, aud: undefined })), '/'), 401, 'audience not accepted');
    await fails(auth.authenticate(req, bearer(await mint(es)), '/'), 401, 'required claim tenant missing');
    auth.close();
  });

  it('requires scopes from scope or scp and answers 403 insufficient_scope', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main', scopes: ['read', 'write'] });
    await ok(auth.authenticate(req, bearer(await mint(es, { scope: 'write read admin' })), '/'));
    await ok(auth.authenticate(req, bearer(await mint(es, { scp: ['read', 'write'] })), '/'));
    await ok(auth.authenticate(req, bearer(await mint(es, { scope: 'read', scp: 'write' })), '/'));
    const t = await mint(es, { scope: 'read' });
    const f = await fails(auth.authenticate(req, bearer(t), '/'), 403, 'token lacks a required scope', t);
    assert.match(f.headers['www-authenticate']!, /scope="read write"/);
    // Cached tokens are checked against each route's needs, not against the first route's.
    const readOnly = auth.compile({ jwt: 'main', scopes: ['read'] });
    await ok(auth.authenticate(readOnly, bearer(t), '/'));
    auth.close();
  });

  it('matches claims by value, list, nested path and array membership, strictly typed', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main', claims: { tenant: 'acme', 'org.role': ['admin', 'ops'], email_verified: true } });
    const good = { tenant: 'acme', org: { role: 'ops' }, email_verified: true };
    await ok(auth.authenticate(req, bearer(await mint(es, good)), '/'));
    await ok(auth.authenticate(req, bearer(await mint(es, { ...good, tenant: ['x', 'acme'] })), '/'));
    await ok(auth.authenticate(req, bearer(await mint(es, { ...good, org: undefined, 'org.role': 'admin' })), '/'));
    for (const bad of [{ tenant: 'other' }, { org: { role: 'dev' } }, { email_verified: 'true' }, { org: undefined }]) {
      await fails(auth.authenticate(req, bearer(await mint(es, { ...good, ...bad })), '/'), 403, 'token claims do not satisfy this route');
    }
    auth.close();
  });

  it('skips claim headers a header cannot carry instead of forwarding them mangled', async () => {
    const { auth } = setup([main({ claimsToHeaders: [{ claim: 'sub', header: 'x-jwt-sub' }, { claim: 'groups', header: 'x-jwt-groups' }, { claim: 'obj', header: 'x-jwt-obj' }] })]);
    const req = auth.compile({ jwt: 'main' });
    const r = await ok(auth.authenticate(req, bearer(await mint(es, { sub: 'a\r\nx-evil: 1', groups: ['a', 'b'], obj: { a: 1 } })), '/'));
    assert.deepEqual(r.setHeaders, [['x-jwt-groups', 'a,b']]);
    assert.deepEqual([...r.removeHeaders].sort(), ['authorization', 'x-jwt-groups', 'x-jwt-obj', 'x-jwt-sub']);
    auth.close();
  });
});

describe('JwtAuthenticator: bad input gets 401 and never reaches the upstream', () => {
  it('rejects alg none in any spelling, signed or not', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    for (const alg of ['none', 'None', 'NONE']) {
      for (const sig of ['', 'c2ln']) {
        const t = rawToken({ alg, kid: es.kid }, standardClaims(), sig);
        await fails(auth.authenticate(req, bearer(t), '/'), 401, sig === '' && alg !== 'none' ? /not allowed|base64url/ : 'token algorithm not allowed', t);
      }
    }
    auth.close();
  });

  it('rejects HS256 signed with the RSA public key as the secret (key confusion)', async () => {
    const { auth } = setup([main(), { name: 'pem', issuer: ISSUER, publicKey: { pem: rsa.publicPem } }]);
    for (const provider of ['main', 'pem']) {
      for (const secret of [rsa.publicPem, Buffer.from(JSON.stringify(rsa.jwk))]) {
        const t = hs256({ alg: 'HS256', kid: rsa.kid }, standardClaims(), secret);
        await fails(auth.authenticate(auth.compile({ jwt: provider }), bearer(t), '/'), 401, 'token algorithm not allowed', t);
      }
    }
    auth.close();
  });

  it('rejects a kid that is not in the set, and a forged signature under a known kid', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const unknown = await mint(other);
    await fails(auth.authenticate(req, bearer(unknown), '/'), 401, 'signing key not found', unknown);
    const forged = await mint(other, {}, { kid: es.kid });
    await fails(auth.authenticate(req, bearer(forged), '/'), 401, 'signature verification failed', forged);
    // An RS256 token claiming the EC key's kid finds no key of the right type.
    const mismatched = await mint(rsa, {}, { kid: es.kid });
    await fails(auth.authenticate(req, bearer(mismatched), '/'), 401, 'signing key not found', mismatched);
    auth.close();
  });

  it('ignores jku, x5u and embedded jwk headers: keys only come from config', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const pointers = { jku: 'http://127.0.0.1:9/evil-jwks.json', x5u: 'http://127.0.0.1:9/evil.pem', jwk: other.jwk };
    const forged = await mint(other, {}, { header: pointers });
    await fails(auth.authenticate(req, bearer(forged), '/'), 401, 'signing key not found', forged);
    const forgedKnownKid = await mint(other, {}, { kid: es.kid, header: pointers });
    await fails(auth.authenticate(req, bearer(forgedKnownKid), '/'), 401, 'signature verification failed', forgedKnownKid);
    // A genuine token carrying those headers is still fine: they are simply not read.
    await ok(auth.authenticate(req, bearer(await mint(es, {}, { header: pointers })), '/'));
    auth.close();
  });

  it('rejects a crit header it does not understand, even with a valid signature', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const t = signRaw(es, { alg: 'ES256', kid: es.kid, crit: ['x-custom'], 'x-custom': 1 }, standardClaims());
    // Sanity: the same token without crit is valid, so crit alone is what fails it.
    await ok(auth.authenticate(req, bearer(signRaw(es, { alg: 'ES256', kid: es.kid, 'x-custom': 1 }, standardClaims())), '/'));
    await fails(auth.authenticate(req, bearer(t), '/'), 401, /critical header/, t);
    auth.close();
  });

  it('rejects a multi-megabyte token synchronously, before any parsing', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const huge = `${b64url({ alg: 'ES256', kid: es.kid })}.${'A'.repeat(4 * 1024 * 1024)}.c2ln`;
    const r = auth.authenticate(req, bearer(huge), '/');
    assert.ok(!(r instanceof Promise), 'rejected without any asynchronous work');
    await fails(r, 401, 'token too large');
    // The limit is per provider.
    const small = setup([main({ maxTokenSize: 256 })]);
    const t = await mint(es, { pad: 'x'.repeat(300) });
    await fails(small.auth.authenticate(small.auth.compile({ jwt: 'main' }), bearer(t), '/'), 401, 'token too large', t);
    auth.close();
    small.auth.close();
  });

  it('rejects garbage base64, wrong segment counts and non-JSON parts', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    const cases = [
      'garbage',
      'a.b',
      'a.b.c.d',
      '!!!.???.***',
      `${b64url({ alg: 'ES256' })}.@@@@.c2ln`,
      `${b64url({ alg: 'ES256' })}.${b64url(standardClaims())}.sig with spaces`,
      `${b64url('not json')}.${b64url(standardClaims())}.c2ln`,
      `${b64url({ alg: 'ES256' })}.${b64url('{"iss":')}.c2ln`,
      `${b64url({ alg: 'ES256' })}.A.c2ln`,
      `${b64url({ alg: 'ES256', kid: 7 })}.${b64url(standardClaims())}.c2ln`,
      `${b64url({ kid: es.kid })}.${b64url(standardClaims())}.c2ln`,
      `.${b64url(standardClaims())}.c2ln`,
    ];
    for (const t of cases) await fails(auth.authenticate(req, bearer(t), '/'), 401, /^(token|malformed)/, t);
    auth.close();
  });

  it('rejects a payload that is JSON but not an object, even when properly signed', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    for (const payload of ['[1,2]', '"iss"', 'null', '42', 'true']) {
      const t = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'ES256', kid: es.kid }).sign(es.privateKey);
      await fails(auth.authenticate(req, bearer(t), '/'), 401, 'token payload is not a JSON object', t);
    }
    auth.close();
  });

  it('rejects exp, nbf or iat of the wrong type', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    for (const bad of [{ exp: String(NOW_S + 600) }, { nbf: 'yesterday' }, { iat: [NOW_S] }]) {
      const t = await mint(es, bad as Record<string, unknown>);
      await fails(auth.authenticate(req, bearer(t), '/'), 401, /claim (exp|nbf|iat) has the wrong type/, t);
    }
    auth.close();
  });

  it('says what is missing without an error code when there is no token at all (RFC 6750 §3.1)', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main' });
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }]) {
      const r = await auth.authenticate(req, headers, '/');
      assert.equal(r.ok, false);
      const f = r as Extract<AuthOutcome, { ok: false }>;
      assert.equal(f.status, 401);
      assert.equal(f.headers['www-authenticate'], 'Bearer realm="edgeplane"');
    }
    await fails(auth.authenticate(req, { authorization: 'Bearer' }, '/'), 401, 'empty token');
    auth.close();
  });
});

describe('JwtAuthenticator: requirements', () => {
  const partner = (): ProviderConfig => ({
    name: 'partner',
    issuer: 'https://partner.test/',
    jwks: { file: 'jwks.json' },
    from: { header: 'x-partner-token' },
    claimsToHeaders: [{ claim: 'sub', header: 'x-partner-sub' }],
  });

  it('any of: the token of either provider is accepted; the best failure is reported', async () => {
    const { auth } = setup([main(), { ...partner(), from: undefined }]);
    const req = auth.compile({ jwt: ['main', { provider: 'partner', scopes: ['p'] }] });
    const r = await ok(auth.authenticate(req, bearer(await mint(es, { scope: 'p' }, { iss: 'https://partner.test/', sub: 'bob' })), '/'));
    assert.deepEqual(r.setHeaders, [['x-partner-sub', 'bob']]);
    assert.deepEqual([...r.removeHeaders].sort(), ['authorization', 'x-jwt-sub', 'x-partner-sub'], 'both providers\' headers are anti-spoofed');
    await ok(auth.authenticate(req, bearer(await mint(es)), '/'));
    // Valid for partner but lacking its scope, and wrong issuer for main: 403 beats 401.
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { iss: 'https://partner.test/' })), '/'), 403, 'token lacks a required scope');
    await fails(auth.authenticate(req, bearer(await mint(es, {}, { iss: 'https://nobody.test/' })), '/'), 401, 'issuer not accepted');
    const explicit = auth.compile({ jwt: { anyOf: ['partner', 'main'] } });
    await ok(auth.authenticate(explicit, bearer(await mint(rsa)), '/'));
    auth.close();
  });

  it('all of: a valid token for every provider, each from its own location', async () => {
    const { auth } = setup([main(), partner()]);
    const req = auth.compile({ jwt: { allOf: ['main', 'partner'] } });
    const user = await mint(es, {}, { sub: 'alice' });
    const svc = await mint(rsa, {}, { iss: 'https://partner.test/', sub: 'svc' });
    const r = await ok(auth.authenticate(req, { ...bearer(user), 'x-partner-token': svc }, '/'));
    assert.deepEqual(r.setHeaders, [['x-jwt-sub', 'alice'], ['x-partner-sub', 'svc']]);
    assert.deepEqual([...r.removeHeaders].sort(), ['authorization', 'x-jwt-sub', 'x-partner-sub', 'x-partner-token']);
    const missing = await auth.authenticate(req, bearer(user), '/');
    assert.equal(missing.ok, false);
    assert.equal((missing as { headers: Record<string, string> }).headers['www-authenticate'], 'Bearer realm="edgeplane"');
    await fails(auth.authenticate(req, { ...bearer(user), 'x-partner-token': user }, '/'), 401, 'issuer not accepted');
    auth.close();
  });

  it('optional: no token passes (claim headers still stripped), a bad token does not', async () => {
    const { auth } = setup([main()]);
    const req = auth.compile({ jwt: 'main', optional: true });
    const anon = await ok(auth.authenticate(req, { 'x-jwt-sub': 'spoofed' }, '/'));
    assert.deepEqual(anon.setHeaders, []);
    assert.deepEqual(anon.removeHeaders, ['x-jwt-sub']);
    const t = await mint(es, {}, { expIn: -3600 });
    await fails(auth.authenticate(req, bearer(t), '/'), 401, 'token expired', t);
    await ok(auth.authenticate(req, bearer(await mint(es)), '/'));
    const all = auth.compile({ jwt: { allOf: ['main'] }, optional: true });
    await ok(auth.authenticate(all, {}, '/'));
    auth.close();
  });

  it('a route without auth still drops every provider\'s claim headers', () => {
    const { auth } = setup([main(), partner()]);
    const r = auth.authenticate(auth.compile(undefined), { 'x-jwt-sub': 'spoofed' }, '/');
    assert.ok(!(r instanceof Promise));
    assert.deepEqual(r.ok && [...r.removeHeaders].sort(), ['x-jwt-sub', 'x-partner-sub']);
    auth.close();
  });

  it('compile rejects unknown providers with a ConfigError naming the path', () => {
    const { auth } = setup([main()]);
    assert.throws(() => auth.compile({ jwt: ['main', 'nope'] }), (err: Error & { code?: string; issues?: { path: string }[] }) => {
      assert.equal(err.code, 'EP_CONFIG_INVALID');
      assert.equal(err.issues?.[0]?.path, 'auth.jwt[1]');
      return true;
    });
    auth.close();
  });
});

describe('JwtAuthenticator: token locations and forwarding', () => {
  it('reads a custom header with and without a prefix', async () => {
    const { auth } = setup([main({ from: [{ header: 'x-token' }, { header: 'x-auth', prefix: 'JWT ' }] })]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es);
    let r = await ok(auth.authenticate(req, { 'x-token': t }, '/'));
    assert.ok(r.removeHeaders.includes('x-token'));
    r = await ok(auth.authenticate(req, { 'x-auth': `jwt ${t}` }, '/'));
    assert.ok(r.removeHeaders.includes('x-auth'));
    assert.ok(!r.removeHeaders.includes('authorization'));
    assert.equal((await auth.authenticate(req, bearer(t), '/')).ok, false, 'Authorization is not a configured location');
    auth.close();
  });

  it('reads a cookie and strips only that cookie', async () => {
    const { auth } = setup([main({ from: { cookie: 'session' } })]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es);
    const r = await ok(auth.authenticate(req, { cookie: `a=1; session=${t}; b=2` }, '/'));
    assert.ok(r.removeHeaders.includes('cookie'));
    assert.deepEqual(r.setHeaders.find(([k]) => k === 'cookie'), ['cookie', 'a=1; b=2']);
    const only = await ok(auth.authenticate(req, { cookie: `session=${t}` }, '/'));
    assert.ok(only.removeHeaders.includes('cookie'));
    assert.equal(only.setHeaders.find(([k]) => k === 'cookie'), undefined);
    auth.close();
  });

  it('reads a query parameter and removes it from the forwarded URL', async () => {
    const { auth } = setup([main({ from: { query: 'access_token' } })]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es);
    const r = await ok(auth.authenticate(req, {}, `/a/b?x=1&access_token=${t}&y=%20`));
    assert.equal(r.url, '/a/b?x=1&y=%20');
    const only = await ok(auth.authenticate(req, {}, `/p?access_token=${t}`));
    assert.equal(only.url, '/p');
    auth.close();
  });

  it('forwards the token when forward is true', async () => {
    const { auth } = setup([main({ forward: true, from: [{ header: 'authorization', prefix: 'Bearer ' }, { query: 't' }] })]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es);
    const r = await ok(auth.authenticate(req, bearer(t), '/'));
    assert.deepEqual(r.removeHeaders, ['x-jwt-sub']);
    const q = await ok(auth.authenticate(req, {}, `/x?t=${t}`));
    assert.equal(q.url, undefined);
    auth.close();
  });

  it('sends the verified payload as base64url JSON in payloadHeader', async () => {
    const { auth } = setup([main({ payloadHeader: 'x-jwt-payload' })]);
    const req = auth.compile({ jwt: 'main' });
    const t = await mint(es, { tenant: 'acme' });
    const r = await ok(auth.authenticate(req, bearer(t), '/'));
    const value = r.setHeaders.find(([k]) => k === 'x-jwt-payload')?.[1];
    assert.ok(value);
    const payload = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Record<string, unknown>;
    assert.equal(payload.tenant, 'acme');
    assert.equal(payload.iss, ISSUER);
    assert.ok(r.removeHeaders.includes('x-jwt-payload'));
    auth.close();
  });
});

describe('JwtAuthenticator: metrics', () => {
  it('counts edgeplane_jwt_total by provider and result', async () => {
    const { auth } = setup([main({ name: 'metered' })]);
    const req = auth.compile({ jwt: 'metered' });
    const before = { ok: await metric('metered', 'ok'), missing: await metric('metered', 'missing'), expired: await metric('metered', 'expired'), sig: await metric('metered', 'invalid_signature') };
    const t = await mint(es);
    await auth.authenticate(req, bearer(t), '/');
    await auth.authenticate(req, bearer(t), '/');
    await auth.authenticate(req, {}, '/');
    await auth.authenticate(req, bearer(await mint(es, {}, { expIn: -3600 })), '/');
    await auth.authenticate(req, bearer(await mint(other, {}, { kid: es.kid })), '/');
    assert.equal((await metric('metered', 'ok')) - before.ok, 2);
    assert.equal((await metric('metered', 'missing')) - before.missing, 1);
    assert.equal((await metric('metered', 'expired')) - before.expired, 1);
    assert.equal((await metric('metered', 'invalid_signature')) - before.sig, 1);
    auth.close();
  });
});
