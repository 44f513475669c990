/**
 * JWKS over HTTP against real loopback servers: initial fetch, rotation,
 * unknown-kid refetch with cooldown, background refresh, stale-while-error
 * (error status, garbage, oversized, hanging, server gone). Time that matters
 * (cache TTL, cooldown, fetch timeout) runs on a ManualClock; network waits
 * are polled with a deadline.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JwtAuthenticator, type AuthOutcome } from '../../../src/edge/jwt/index.ts';
import type { JwtConfig } from '../../../src/config/schema/index.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import { registry } from '../../../src/metrics/registry.ts';
import { ISSUER, JwksServer, makeKey, mint, waitFor, WALL_START, type TestKey } from '../../unit/jwt/fixtures.ts';

type ProviderConfig = JwtConfig['providers'][number];

let seq = 0;

function metricValue(name: string, labels: Record<string, string>): number {
  const m = registry.getSingleMetric(name) as unknown as { hashMap: Record<string, { labels: Record<string, string>; value: number }> } | undefined;
  if (!m) return 0;
  for (const v of Object.values(m.hashMap)) if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) return v.value;
  return 0;
}

async function setup(keys: TestKey[], jwks: Partial<NonNullable<ProviderConfig['jwks']>> = {}) {
  const server = await new JwksServer(keys).listen();
  const clock = new ManualClock(0, WALL_START);
  const name = `remote-${++seq}`;
  const auth = new JwtAuthenticator({ providers: [{ name, issuer: ISSUER, jwks: { url: server.url, ...jwks } }] }, { baseDir: '.', clock });
  const req = auth.compile({ jwt: name });
  const fetches = (result = 'ok') => metricValue('edgeplane_jwks_fetch_total', { provider: name, result });
  const check = (t: string) => auth.authenticate(req, { authorization: `Bearer ${t}` }, '/');
  /**
   * Moves virtual time in 1s steps, letting any fetch a step started finish
   * before the next: one big jump would also fire that fetch's own timeout.
   */
  const tick = async (ms: number) => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(Math.min(1000, ms - t));
      await auth.whenIdle();
    }
  };
  const cleanup = async () => {
    auth.close();
    await server.close();
  };
  return { server, clock, auth, name, fetches, check, tick, cleanup };
}

async function expectOk(o: AuthOutcome | Promise<AuthOutcome>): Promise<void> {
  const r = await o;
  assert.equal(r.ok, true, r.ok ? '' : `expected success, got ${r.status} ${r.body}`);
}

async function expectFail(o: AuthOutcome | Promise<AuthOutcome>, description: string): Promise<void> {
  const r = await o;
  assert.equal(r.ok, false, 'expected a failure');
  assert.equal(JSON.parse((r as { body: string }).body).error_description, description);
}

describe('remote JWKS', () => {
  it('fetches the key set once at start and verifies against it', async () => {
    const k1 = makeKey('k1');
    const s = await setup([k1]);
    await s.auth.start();
    assert.equal(s.server.requests, 1);
    await expectOk(s.check(await mint(k1)));
    await expectOk(s.check(await mint(k1, { sub: 'other' })));
    assert.equal(s.server.requests, 1, 'verification does not refetch');
    assert.equal(metricValue('edgeplane_jwks_keys', { provider: s.name }), 1);
    await s.cleanup();
  });

  it('follows a rotation: an unknown kid refetches, a rotated-out key stops working even for cached tokens', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2', 'RS256');
    const s = await setup([k1]);
    await s.auth.start();
    const old = await mint(k1);
    await expectOk(s.check(old));
    assert.ok(!(s.check(old) instanceof Promise), 'cached');

    s.server.keys = [k2];
    const fresh = await mint(k2);
    await expectOk(s.check(fresh));
    assert.equal(s.server.requests, 2, 'one refetch for the new kid');
    await expectFail(s.check(old), 'signing key not found');
    assert.equal(s.server.requests, 2, 'the old kid is within the cooldown: no second refetch');
    await s.cleanup();
  });

  it('refetches on unknown kids at most once per cooldown, sharing the fetch in flight', async () => {
    const k1 = makeKey('k1');
    const s = await setup([k1], { cooldown: '30s' });
    await s.auth.start();
    const strangers = await Promise.all([1, 2, 3, 4, 5].map((i) => mint(makeKey(`stranger-${i}`))));
    const outcomes = await Promise.all(strangers.map((t) => s.check(t)));
    for (const o of outcomes) assert.equal(o.ok, false);
    assert.equal(s.server.requests, 2, 'five unknown kids, one refetch');
    await expectFail(s.check(strangers[0]!), 'signing key not found');
    assert.equal(s.server.requests, 2);
    s.clock.advance(30_000);
    await expectFail(s.check(strangers[1]!), 'signing key not found');
    assert.equal(s.server.requests, 3, 'after the cooldown an unknown kid may refetch again');
    await s.cleanup();
  });

  it('refreshes in the background before the cache TTL, so a new key is known before any token needs it', async () => {
    const k1 = makeKey('k1');
    const k2 = makeKey('k2');
    const s = await setup([k1], { cacheTtl: '10m' });
    await s.auth.start();
    const t1 = await mint(k1);
    await expectOk(s.check(t1));
    s.server.keys = [k1, k2];
    s.clock.advance(7 * 60_000);
    assert.equal(s.server.requests, 1, 'nothing before 80% of the TTL');
    s.clock.advance(60_000);
    await waitFor(() => s.fetches() === 2, 'background refresh');
    assert.equal(s.server.requests, 2);
    // The cached k1 token is answered synchronously throughout: no request waits for the refresh.
    assert.ok(!(s.check(t1) instanceof Promise));
    await expectOk(s.check(await mint(k2)));
    assert.equal(s.server.requests, 2, 'k2 was already known: no refetch');
    s.clock.advance(8 * 60_000);
    await waitFor(() => s.fetches() === 3, 'next background refresh');
    await s.cleanup();
  });

  for (const mode of ['error', 'garbage', 'empty', 'huge'] as const) {
    it(`keeps serving the last good key set when the JWKS answers ${mode}`, async () => {
      const k1 = makeKey('k1');
      const k2 = makeKey('k2');
      const s = await setup([k1], { cacheTtl: '1m' });
      await s.auth.start();
      s.server.mode = mode;
      s.server.keys = [k2];
      const failed = () => s.fetches('http_error') + s.fetches('invalid') + s.fetches('too_large');
      await s.tick(48_000);
      assert.equal(failed(), 1, 'the background refresh at 80% of the TTL failed');
      // Retries back off (1s, 2s, 4s, ...) and keep failing; past the TTL the set is stale but kept.
      await s.tick(30_000);
      assert.ok(failed() >= 4, `retries: ${failed()}`);
      assert.equal(metricValue('edgeplane_jwks_stale', { provider: s.name }), 1);
      // A fresh (uncached) token still verifies against the kept set.
      await expectOk(s.check(await mint(k1)));
      assert.equal(metricValue('edgeplane_jwks_keys', { provider: s.name }), 1);
      // When the endpoint recovers, the next retry installs the new set.
      s.server.mode = 'serve';
      for (let i = 0; i < 60 && s.fetches() < 2; i++) await s.tick(1_000); // backoff is at most 60s
      assert.equal(s.fetches(), 2, 'recovered');
      await expectOk(s.check(await mint(k2)));
      await expectFail(s.check(await mint(k1, { sub: 'x' })), 'signing key not found');
      assert.equal(metricValue('edgeplane_jwks_stale', { provider: s.name }), 0);
      await s.cleanup();
    });
  }

  it('a hanging JWKS blocks no request for a known key and never replaces the key set', async () => {
    const k1 = makeKey('k1');
    const s = await setup([k1], { cacheTtl: '1m', timeout: '5s' });
    await s.auth.start();
    s.server.mode = 'hang';
    s.clock.advance(48_000);
    await waitFor(() => s.server.requests === 2, 'refresh request reaching the server');
    // The refresh is hanging; uncached tokens for the known key verify without waiting for it.
    await expectOk(s.check(await mint(k1, { sub: 'during-hang' })));
    // An unknown kid joins the fetch in flight and gets its answer when the fetch times out.
    const pending = s.check(await mint(makeKey('k9')));
    assert.ok(pending instanceof Promise);
    s.clock.advance(5_000);
    await expectFail(pending, 'signing key not found');
    await waitFor(() => s.fetches('timeout') === 1, 'timeout recorded');
    await expectOk(s.check(await mint(k1, { sub: 'after-timeout' })));
    await s.cleanup();
  });

  it('keeps working when the JWKS server goes away entirely', async () => {
    const k1 = makeKey('k1');
    const s = await setup([k1], { cacheTtl: '1m' });
    await s.auth.start();
    await s.server.close();
    await s.tick(48_000);
    assert.equal(s.fetches('network_error'), 1);
    await expectOk(s.check(await mint(k1)));
    s.auth.close();
  });

  it('starts without keys when the JWKS is unreachable, then recovers in the background', async () => {
    const k1 = makeKey('k1');
    const s = await setup([k1]);
    s.server.mode = 'error';
    await s.auth.start(); // never throws: the gateway must come up even if the IdP is down
    const t = await mint(k1);
    await expectFail(s.check(t), 'signing keys unavailable');
    s.server.mode = 'serve';
    await expectFail(s.check(t), 'signing keys unavailable'); // within the unknown-kid cooldown: no fetch
    assert.equal(s.server.requests, 2, 'start, then one fetch for the first token');
    await s.tick(60_000); // the background retry (backoff is at most 60s)
    assert.equal(s.fetches(), 1, 'a background retry succeeded');
    await expectOk(s.check(t));
    await s.cleanup();
  });
});
