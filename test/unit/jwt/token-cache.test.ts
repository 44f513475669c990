import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenCache, type VerifiedToken } from '../../../src/edge/jwt/token-cache.ts';
import type { VerifyKey } from '../../../src/edge/jwt/keys.ts';

function entry(expiresAt: number, sub: string): VerifiedToken & { key: { revoked: boolean } } {
  const key = { revoked: false } as unknown as VerifyKey & { revoked: boolean };
  return { payload: { sub }, key, expiresAt, setHeaders: [], scopes: new Set() };
}

describe('TokenCache.lookup (verified tokens by digest)', () => {
  it('a miss returns the digest key; once set, the same token is found again', () => {
    const cache = new TokenCache(10);
    const miss = cache.lookup(0, 'tok-a', 1000);
    assert.equal(miss, TokenCache.key(0, 'tok-a'));
    const e = entry(5000, 'a');
    cache.set(miss as string, e, 1000);
    assert.equal(cache.lookup(0, 'tok-a', 1000), e);
    assert.equal(cache.lookup(0, 'tok-a', 1001), e);
  });

  it('the key covers the whole token and the provider', () => {
    const cache = new TokenCache(10);
    const e = entry(5000, 'a');
    cache.set(TokenCache.key(0, 'tok-a'), e, 1000);
    assert.equal(cache.lookup(0, 'tok-a', 1000), e);
    assert.equal(typeof cache.lookup(0, 'tok-b', 1000), 'string');
    assert.equal(typeof cache.lookup(0, 'tok-a2', 1000), 'string', 'a longer token with the same prefix is another token');
    assert.equal(typeof cache.lookup(1, 'tok-a', 1000), 'string', 'another provider never gets this provider\'s entry');
  });

  it('an expired or revoked entry is not returned', () => {
    const cache = new TokenCache(10);
    const e = entry(5000, 'a');
    cache.set(TokenCache.key(0, 'tok-a'), e, 1000);
    assert.equal(cache.lookup(0, 'tok-a', 1000), e);
    assert.equal(typeof cache.lookup(0, 'tok-a', 5000), 'string', 'expired at expiresAt');
    const f = entry(9000, 'f');
    cache.set(TokenCache.key(0, 'tok-f'), f, 1000);
    assert.equal(cache.lookup(0, 'tok-f', 1000), f);
    f.key.revoked = true;
    assert.equal(typeof cache.lookup(0, 'tok-f', 1000), 'string', 'revoked key: the entry is dead');
  });

  it('clear() forgets every entry', () => {
    const cache = new TokenCache(10);
    const e = entry(5000, 'a');
    cache.set(TokenCache.key(0, 'tok-a'), e, 1000);
    assert.equal(cache.lookup(0, 'tok-a', 1000), e);
    cache.clear();
    assert.equal(typeof cache.lookup(0, 'tok-a', 1000), 'string');
  });
});
