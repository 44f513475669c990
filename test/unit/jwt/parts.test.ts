/** The small pieces on their own: token extraction, JWKS parsing and rotation, claims, challenges. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { compileLocations, findToken, headerValue, readCookie, readQuery, removeCookie, removeQueryParam } from '../../../src/edge/jwt/extract.ts';
import { KeySet, parseJwks } from '../../../src/edge/jwt/keys.ts';
import { claimHeaderValue, compileClaimPath, readClaim, tokenScopes } from '../../../src/edge/jwt/claims.ts';
import { failureOutcome, JwtVerifyError, quote } from '../../../src/edge/jwt/errors.ts';
import { decodeToken } from '../../../src/edge/jwt/decode.ts';
import { makeKey, rawToken, standardClaims } from './fixtures.ts';
import { NativeRequest } from '../../../src/edge/http1/messages.ts';
import type { RequestHead } from '../../../src/edge/http1/request-parser.ts';

const ALL = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

describe('token extraction', () => {
  it('reads Authorization Bearer case-insensitively and treats other schemes as absent', () => {
    const locs = compileLocations(undefined);
    assert.equal(findToken(locs, { authorization: 'Bearer abc' }, '/')?.token, 'abc');
    assert.equal(findToken(locs, { authorization: 'bearer   abc  ' }, '/')?.token, 'abc');
    assert.equal(findToken(locs, { authorization: 'BEARER abc' }, '/')?.token, 'abc');
    assert.equal(findToken(locs, { authorization: 'Basic dXNlcg==' }, '/'), undefined);
    assert.equal(findToken(locs, { authorization: 'Bearer' }, '/')?.token, '');
    assert.equal(findToken(locs, {}, '/'), undefined);
  });

  it('reads a header token from the raw fields of a request, as its header object would give it', () => {
    const request = (raw: string[]) => new NativeRequest({ rawHeaders: raw, method: 'GET', url: '/', versionMinor: 1 } as unknown as RequestHead, { remoteAddress: '127.0.0.1' });
    // A field sent once: read from the raw list, whatever its spelling, and the header object is never built.
    const once = { rawHeaders: ['Host', 'a', 'AUTHORIZATION', 'Bearer abc', 'Accept', '*/*'], get headers(): never { throw new Error('header object built'); } };
    assert.equal(findToken(compileLocations(undefined), once, '/')?.token, 'abc');
    assert.equal(findToken(compileLocations(undefined), { rawHeaders: ['host', 'a'], get headers(): never { throw new Error('header object built'); } }, '/'), undefined);
    // A field with a name of the same length that is not it is skipped.
    assert.equal(headerValue({ rawHeaders: ['Authorizatiom', 'x', 'authorization', 'Bearer y'], headers: {} }, 'authorization'), 'Bearer y');
    // Repeated fields: node:http keeps the first Authorization and joins other names with ', '; so does the raw read.
    for (const [raw, name] of [[['Authorization', 'Bearer one', 'authorization', 'Bearer two'], 'authorization'], [['X-Token', 'a', 'x-token', 'b'], 'x-token'], [['x-token', 'c'], 'x-token']] as const) {
      const req = request([...raw]);
      assert.deepEqual(headerValue(req, name), req.headers[name], raw.join(' '));
    }
    assert.equal(findToken(compileLocations(undefined), request(['Authorization', 'Bearer one', 'authorization', 'Bearer two']), '/')?.token, 'one');
    assert.equal(findToken(compileLocations({ header: 'x-token' }), request(['X-Token', 'a', 'x-token', 'b']), '/')?.token, 'a, b');
    // Cookie and query locations read the header object of a request as before.
    assert.equal(findToken(compileLocations({ cookie: 's' }), request(['Cookie', 'a=1', 'cookie', 's=tok']), '/')?.token, 'tok');
  });

  it('tries locations in order', () => {
    const locs = compileLocations([{ cookie: 's' }, { query: 't' }, { header: 'x-token' }]);
    assert.equal(findToken(locs, { cookie: 'a=1; s=fromcookie', 'x-token': 'fromheader' }, '/?t=fromquery')?.token, 'fromcookie');
    assert.equal(findToken(locs, { 'x-token': 'fromheader' }, '/?t=fromquery')?.token, 'fromquery');
    assert.equal(findToken(locs, { 'x-token': 'fromheader' }, '/')?.token, 'fromheader');
  });

  it('parses cookies without being fooled by prefixes or spacing, and removes only the named one', () => {
    assert.equal(readCookie('xs=1; s=2', 's'), '2');
    assert.equal(readCookie('s=2;x=3', 's'), '2');
    assert.equal(readCookie('ss=1', 's'), undefined);
    assert.equal(readCookie('a=1;   s="quoted"', 's'), 'quoted');
    assert.equal(removeCookie('a=1; s=2; b=3', 's'), 'a=1; b=3');
    assert.equal(removeCookie('s=2', 's'), undefined);
    assert.equal(removeCookie('ss=1; s=2', 's'), 'ss=1');
  });

  it('parses query parameters (encoded names, fragments, undecodable values) and strips every occurrence', () => {
    assert.equal(readQuery('/p?a=1&t=x%2Ey', 't'), 'x.y');
    assert.equal(readQuery('/p?a=1&%74=enc', 't'), 'enc');
    assert.equal(readQuery('/p?a=1#t=frag', 't'), undefined);
    assert.equal(readQuery('/p?t=%E0%A4%A', 't'), '', 'undecodable counts as present but empty (fails as malformed)');
    assert.equal(readQuery('/p?tt=1', 't'), undefined);
    assert.equal(removeQueryParam('/p?t=1&a=%20&t=2', 't'), '/p?a=%20');
    assert.equal(removeQueryParam('/p?t=1#frag', 't'), '/p#frag');
    assert.equal(removeQueryParam('/p', 't'), '/p');
  });
});

describe('JWKS parsing', () => {
  it('keeps usable public signing keys and says why the others were skipped', () => {
    const good = makeKey('good', 'ES256');
    const ed = makeKey('ed', 'EdDSA');
    const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const { set, skipped } = parseJwks({
      keys: [
        good.jwk,
        ed.jwk,
        { ...weakRsa, kid: 'weak' },
        { ...priv, kid: 'private' },
        { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
        { ...good.jwk, kid: 'enc', use: 'enc' },
        { ...good.jwk, kid: 'ops', key_ops: ['sign'] },
        { kty: 'EC', crv: 'P-256', x: '!!', y: '??', kid: 'broken' },
        'not an object',
      ],
    }, ALL);
    assert.deepEqual(set.keys.map((k) => k.kid), ['good', 'ed']);
    assert.equal(skipped.length, 7);
    assert.ok(skipped.every((s) => !s.includes(String(priv.d))), 'no key material in messages');
  });

  it('refuses documents that are not a key set or have no usable key', () => {
    for (const doc of [null, [], {}, { keys: {} }, { keys: [] }, { keys: [{ kty: 'oct', k: 'AA' }] }]) {
      assert.throws(() => parseJwks(doc, ALL), (e: Error & { result?: string }) => e.result === 'invalid');
    }
    const es = makeKey('es', 'ES256');
    assert.throws(() => parseJwks({ keys: [es.jwk] }, ['RS256']), /no usable signing key/);
  });

  it('matches candidates by kid, algorithm, key type, curve and pinned alg', () => {
    const es = makeKey('a', 'ES256');
    const rs = makeKey('b', 'RS256');
    const { set } = parseJwks({ keys: [es.jwk, rs.jwk, { ...rs.jwk, kid: 'c', alg: undefined }] }, ALL);
    assert.deepEqual(set.candidates('ES256', 'a').map((k) => k.kid), ['a']);
    assert.deepEqual(set.candidates('ES384', 'a'), []);
    assert.deepEqual(set.candidates('RS256', 'a'), []);
    assert.deepEqual(set.candidates('PS256', 'b'), [], 'b pins RS256');
    assert.deepEqual(set.candidates('PS256', 'c').map((k) => k.kid), ['c']);
    assert.deepEqual(set.candidates('RS256', undefined).map((k) => k.kid), ['b', 'c']);
  });

  it('carries kept keys over a refresh and revokes the ones that left', () => {
    const a = makeKey('a');
    const b = makeKey('b');
    const c = makeKey('c');
    const first = parseJwks({ keys: [a.jwk, b.jwk] }, ALL).set;
    const [ka, kb] = first.keys;
    const next = first.replaceWith(parseJwks({ keys: [b.jwk, c.jwk] }, ALL).set);
    assert.equal(ka!.revoked, true);
    assert.equal(kb!.revoked, false);
    assert.equal(next.keys[0], kb, 'the same object, so its cached tokens stay valid');
    assert.deepEqual(next.keys.map((k) => k.kid), ['b', 'c']);
    // The same kid with different key material is a different key.
    const swapped = next.replaceWith(new KeySet([...parseJwks({ keys: [{ ...a.jwk, kid: 'b' }] }, ALL).set.keys]));
    assert.equal(kb!.revoked, true);
    assert.equal(swapped.keys[0]!.kid, 'b');
  });
});

describe('claims and answers', () => {
  it('reads nested and dotted claims from own properties only', () => {
    const p = JSON.parse('{"org":{"role":"ops"},"a.b":1,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(readClaim(p, compileClaimPath('org.role')), 'ops');
    assert.equal(readClaim(p, compileClaimPath('a.b')), 1);
    assert.equal(readClaim(p, compileClaimPath('polluted')), undefined);
    assert.equal(readClaim(p, compileClaimPath('toString')), undefined);
    assert.equal(readClaim(p, compileClaimPath('org.role.x')), undefined);
  });

  it('turns claims into header values only when a header can carry them', () => {
    assert.equal(claimHeaderValue('alice'), 'alice');
    assert.equal(claimHeaderValue(42), '42');
    assert.equal(claimHeaderValue(false), 'false');
    assert.equal(claimHeaderValue(['a', 1, true]), 'a,1,true');
    assert.equal(claimHeaderValue({ a: 1 }), undefined);
    assert.equal(claimHeaderValue([{ a: 1 }]), undefined);
    assert.equal(claimHeaderValue('a\nb'), undefined);
    assert.equal(claimHeaderValue('日本'), undefined);
    assert.equal(claimHeaderValue(undefined), undefined);
  });

  it('collects scopes from scope and scp', () => {
    assert.deepEqual([...tokenScopes({ scope: ' a  b ', scp: ['c', 7, ''] })].sort(), ['a', 'b', 'c']);
    assert.deepEqual([...tokenScopes({ scp: 'x y' })].sort(), ['x', 'y']);
    assert.deepEqual([...tokenScopes({ scope: 5 })], []);
  });

  it('quotes challenge parameters safely', () => {
    assert.equal(quote('a "b" \\ c\r\n'), '"a \\"b\\" \\\\ c"');
    const o = failureOutcome('r"x', new JwtVerifyError('insufficient_scope', 'needs "x"', { scope: 'a b' }));
    assert.equal(o.status, 403);
    assert.equal(o.headers['www-authenticate'], 'Bearer realm="r\\"x", error="insufficient_scope", error_description="needs \\"x\\"", scope="a b"');
  });

  it('decodes only well-formed compact tokens', () => {
    const ok = decodeToken(rawToken({ alg: 'ES256', kid: 'k' }, standardClaims()), 8192);
    assert.equal(ok.alg, 'ES256');
    assert.equal(ok.kid, 'k');
    assert.equal(ok.payload.sub, 'alice');
    assert.throws(() => decodeToken('a'.repeat(9000), 8192), (e: JwtVerifyError) => e.result === 'too_large');
    assert.throws(() => decodeToken(rawToken({ alg: 'ES256', crit: ['b64'] }, standardClaims()), 8192), (e: JwtVerifyError) => e.result === 'unsupported_crit');
    assert.throws(() => decodeToken(rawToken({ alg: 'nOnE' }, standardClaims()), 8192), (e: JwtVerifyError) => e.result === 'alg_not_allowed');
  });
});
