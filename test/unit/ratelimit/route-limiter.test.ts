import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '../../../src/util/clock.ts';
import { RouteRateLimiter, RateLimitStates, REFUSED, type RateLimitSubject } from '../../../src/edge/rate-limit/index.ts';
import { parseConfig } from '../../../src/config/load.ts';
import { ConfigError } from '../../../src/util/errors.ts';

type Rule = ConstructorParameters<typeof RouteRateLimiter>[1][number];

function subject(over: Partial<RateLimitSubject> = {}): RateLimitSubject {
  return { headers: {}, clientAddress: '192.0.2.1', claims: undefined, ...over };
}

function header(v: string[], name: string): string | undefined {
  const i = v.indexOf(name);
  return i >= 0 ? v[i + 1] : undefined;
}

/** Counts how many of n requests at the current time pass. */
function passes(l: RouteRateLimiter, n: number, s: RateLimitSubject): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (l.check(s)?.allowed !== false) ok++;
  return ok;
}

test('keyed by client address: each client has its own bucket; IPv4-mapped IPv6 is the same client', () => {
  const clock = new ManualClock();
  const l = new RouteRateLimiter('api', [{ key: { clientAddress: true }, requests: 3, per: '1s' }], new RateLimitStates({ clock }));
  assert.equal(passes(l, 5, subject({ clientAddress: '192.0.2.1' })), 3);
  assert.equal(passes(l, 5, subject({ clientAddress: '::ffff:192.0.2.1' })), 0);
  assert.equal(passes(l, 5, subject({ clientAddress: '192.0.2.2' })), 3);
  clock.advance(1000);
  assert.equal(passes(l, 5, subject({ clientAddress: '192.0.2.1' })), 3);
});

test('keyed by header, cookie and JWT claim', () => {
  const clock = new ManualClock();
  const states = new RateLimitStates({ clock });
  const byHeader = new RouteRateLimiter('a', [{ key: { header: 'X-Api-Key' }, requests: 2, per: '1m' }], states);
  assert.equal(passes(byHeader, 4, subject({ headers: { 'x-api-key': 'k1' } })), 2);
  assert.equal(passes(byHeader, 4, subject({ headers: { 'x-api-key': 'k2' } })), 2);
  const byCookie = new RouteRateLimiter('b', [{ key: { cookie: 'session' }, requests: 1, per: '1m' }], states);
  assert.equal(passes(byCookie, 3, subject({ headers: { cookie: 'a=1; session=s1' } })), 1);
  assert.equal(passes(byCookie, 3, subject({ headers: { cookie: 'session=s2' } })), 1);
  const byClaim = new RouteRateLimiter('c', [{ key: { claim: 'org.id' }, requests: 2, per: '1m' }], states);
  assert.equal(passes(byClaim, 3, subject({ claims: { sub: 'u1', org: { id: 'o1' } } })), 2);
  // Another user of the same organisation shares its bucket; another organisation does not.
  assert.equal(passes(byClaim, 3, subject({ claims: { sub: 'u2', org: { id: 'o1' } } })), 0);
  assert.equal(passes(byClaim, 3, subject({ claims: { sub: 'u3', org: { id: 42 } } })), 2);
});

test('a missing key falls back to the client address by default, or one shared bucket, or no limit', () => {
  const clock = new ManualClock();
  const states = new RateLimitStates({ clock });
  const rule = (whenKeyMissing?: Rule['whenKeyMissing']): Rule => ({ key: { header: 'x-api-key' }, requests: 2, per: '1s', ...(whenKeyMissing ? { whenKeyMissing } : {}) });
  const fallback = new RouteRateLimiter('r1', [rule()], states);
  assert.equal(passes(fallback, 3, subject({ clientAddress: '10.0.0.1' })), 2);
  assert.equal(passes(fallback, 3, subject({ clientAddress: '10.0.0.2' })), 2);
  // An address-derived key can't be claimed by sending that address as the header value.
  assert.equal(passes(fallback, 3, subject({ headers: { 'x-api-key': '10.0.0.1' } })), 2);
  const shared = new RouteRateLimiter('r2', [rule('shared')], states);
  assert.equal(passes(shared, 3, subject({ clientAddress: '10.0.0.1' })), 2);
  assert.equal(passes(shared, 3, subject({ clientAddress: '10.0.0.2' })), 0);
  const skip = new RouteRateLimiter('r3', [rule('skip')], states);
  assert.equal(passes(skip, 50, subject()), 50);
});

test('a 429 verdict carries Retry-After and the RateLimit-* fields; passing responses only when asked', () => {
  const clock = new ManualClock(5_000);
  const l = new RouteRateLimiter('api', [{ key: { clientAddress: true }, requests: 10, per: '1s', burst: 2 }], new RateLimitStates({ clock }));
  assert.equal(l.check(subject()), null, 'no headers on a passing request by default');
  assert.equal(l.check(subject()), null);
  const v = l.check(subject())!;
  assert.equal(v.allowed, false);
  assert.equal(v.limit, 'client-address');
  assert.equal(header(v.headers, 'retry-after'), '1', 'Retry-After is whole seconds, at least 1');
  assert.equal(header(v.headers, 'ratelimit-limit'), '2');
  assert.equal(header(v.headers, 'ratelimit-remaining'), '0');
  assert.equal(header(v.headers, 'ratelimit-reset'), '1');
  assert.equal(header(v.headers, 'ratelimit-policy'), '2;w=1');

  const withHeaders = new RouteRateLimiter('h', [{ key: { clientAddress: true }, requests: 60, per: '1m', responseHeaders: true }], new RateLimitStates({ clock }));
  const ok = withHeaders.check(subject())!;
  assert.equal(ok.allowed, true);
  assert.equal(header(ok.headers, 'ratelimit-limit'), '60');
  assert.equal(header(ok.headers, 'ratelimit-remaining'), '59');
  assert.equal(header(ok.headers, 'ratelimit-policy'), '60;w=60');
  assert.equal(header(ok.headers, 'retry-after'), undefined);
});

test('several limits: a request takes a token from all or from none', () => {
  const clock = new ManualClock();
  const l = new RouteRateLimiter('api', [
    { name: 'per-client', key: { clientAddress: true }, requests: 100, per: '1s' },
    { name: 'per-key', key: { header: 'x-api-key' }, requests: 2, per: '1s', whenKeyMissing: 'skip' },
  ], new RateLimitStates({ clock }));
  const keyed = subject({ headers: { 'x-api-key': 'k' } });
  assert.equal(passes(l, 10, keyed), 2);
  const v = l.check(keyed)!;
  assert.equal(v.limit, 'per-key');
  // The 9 refused requests spent nothing from the per-client bucket: 98 are left for this client.
  assert.equal(passes(l, 200, subject()), 98);
});

test('counters survive a recompile (config apply) by route + limit name, also when the rate changes', () => {
  const clock = new ManualClock();
  const states = new RateLimitStates({ clock });
  const v1 = new RouteRateLimiter('api', [{ key: { clientAddress: true }, requests: 5, per: '1s' }], states);
  assert.equal(passes(v1, 5, subject()), 5);
  // The same limit in the next snapshot: still empty.
  const v2 = new RouteRateLimiter('api', [{ key: { clientAddress: true }, requests: 5, per: '1s' }], states);
  assert.equal(passes(v2, 5, subject()), 0);
  // A new rate keeps the bucket's time debt: full in 1 s at 5/s was 5 tokens; at 1/s, 1 s is one token.
  const v3 = new RouteRateLimiter('api', [{ key: { clientAddress: true }, requests: 1, per: '1s', burst: 5 }], states);
  assert.equal(passes(v3, 9, subject()), 4);
  clock.advance(1000);
  assert.equal(passes(v3, 9, subject()), 1, 'and refills at the new rate');
  // A different route, or a renamed limit, starts full.
  assert.equal(passes(new RouteRateLimiter('other', [{ key: { clientAddress: true }, requests: 5, per: '1s' }], states), 9, subject()), 5);
  assert.equal(passes(new RouteRateLimiter('api', [{ name: 'renamed', key: { clientAddress: true }, requests: 5, per: '1s' }], states), 9, subject()), 5);
});

test('a flood of distinct keys keeps at most maxKeys buckets (least recently used forgotten)', () => {
  const clock = new ManualClock();
  const states = new RateLimitStates({ clock });
  const l = new RouteRateLimiter('api', [{ key: { header: 'x-api-key' }, requests: 1, per: '1h', maxKeys: 1000 }], states);
  const counters = states.counters('api\u0000header:x-api-key', 1000);
  // A steady client spends its token, then 100,000 one-off keys arrive.
  assert.equal(passes(l, 2, subject({ headers: { 'x-api-key': 'steady' } })), 1);
  for (let i = 0; i < 100_000; i++) l.check(subject({ headers: { 'x-api-key': `flood-${i}` } }));
  assert.equal(counters.tats.size, 1000);
  // Long header values are hashed, so a bucket's key is small whatever the client sends.
  l.check(subject({ headers: { 'x-api-key': 'x'.repeat(10_000) } }));
  for (const k of counters.tats.keys()) assert.ok(k.length <= 128, `key of ${k.length} chars stored`);
});

test('counters of limits no snapshot uses any more are collected', async () => {
  setFlagsFromString('--expose_gc');
  const gc = runInNewContext('gc') as () => void;
  const states = new RateLimitStates({ clock: new ManualClock() });
  let limiters: RouteRateLimiter[] | null = Array.from({ length: 20 }, (_, i) => new RouteRateLimiter(`r${i}`, [{ key: { clientAddress: true }, requests: 1, per: '1s' }], states));
  assert.equal(states.size, 20);
  limiters.forEach((l) => l.check(subject()));
  limiters = null;
  const deadline = Date.now() + 10_000;
  while (states.size > 0 && Date.now() < deadline) {
    // WeakRefs clear only after the job that last read them: yield between collections.
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(states.size, 0);
});

test('config: a claim key needs auth; limit names are unique per route', () => {
  const base = (rateLimit: string) => `node: { id: gw-1, region: jp }
listeners: []
clusters: [ { name: blue, endpoints: [127.0.0.1:9101] } ]
routes:
  - name: api
    match: { path: { prefix: / } }
    split: [ { cluster: blue, weight: 1 } ]
    rateLimit: ${rateLimit}
`;
  const issues = (text: string) => {
    try {
      parseConfig(text, { env: {} });
      return [];
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.issues.map((i) => `${i.path}@${i.line}: ${i.message}`);
    }
  };
  assert.deepEqual(issues(base('[ { key: { clientAddress: true }, requests: 10, per: 1s, burst: 20 } ]')), []);
  assert.match(issues(base('[ { key: { claim: sub }, requests: 10, per: 1s } ]')).join('\n'), /routes\[0\]\.rateLimit\[0\]\.key\.claim@8: a claim key needs the route to authenticate/);
  assert.match(issues(base('[ { key: { header: a }, requests: 1, per: 1s }, { key: { header: A }, requests: 2, per: 1m } ]')).join('\n'), /rateLimit\[1\].*two limits named "header:a"/);
  assert.match(issues(base('[ { key: { header: a }, requests: 0, per: 1s } ]')).join('\n'), /requests/);
  assert.match(issues(base('[ { key: { header: a, cookie: b }, requests: 1, per: 1s } ]')).join('\n'), /key/);
});

test('checkOrRefuse: the precomputed 429 carries the same fields and body as the general path, and takes tokens alike', () => {
  const clock = new ManualClock();
  const states = new RateLimitStates({ clock });
  const rules: Rule[] = [{ name: 'per-ip', key: { clientAddress: true }, requests: 2, per: '10s', burst: 3 }];
  const general = new RouteRateLimiter('api', rules, new RateLimitStates({ clock }));
  const fast = new RouteRateLimiter('api', rules, states);
  const written: { status: number; fields: string[]; body: string }[] = [];
  const res = {
    writeHead(status: number, fields: string[]) {
      written.push({ status, fields: [...fields], body: '' });
    },
    end(body: string) {
      written.at(-1)!.body = body;
    },
  };
  const id = () => 'req-00000001';
  for (let i = 0; i < 3; i++) {
    assert.equal(general.check(subject()), null);
    assert.equal(fast.checkOrRefuse(subject(), res, id), null, 'a passing request is not answered');
  }
  assert.equal(written.length, 0);
  clock.advance(1500);
  const v = general.check(subject())!;
  assert.equal(v.allowed, false);
  assert.equal(fast.checkOrRefuse(subject(), res, id), REFUSED);
  const [w] = written;
  assert.equal(w!.status, 429);
  for (let i = 0; i < v.headers.length; i += 2) assert.equal(header(w!.fields, v.headers[i]!), v.headers[i + 1], v.headers[i]);
  assert.equal(header(w!.fields, 'x-request-id'), 'req-00000001');
  assert.equal(header(w!.fields, 'content-type'), 'application/json');
  assert.equal(Number(header(w!.fields, 'content-length')), Buffer.byteLength(w!.body));
  assert.deepEqual(JSON.parse(w!.body), { error: 'rate_limited', message: 'too many requests (limit "per-ip")', route: 'api', requestId: 'req-00000001' });
  // A refusal takes no token: after the refill interval one request passes again.
  clock.advance(5000 - 1500);
  assert.equal(fast.checkOrRefuse(subject(), res, id), null);
  assert.equal(written.length, 1);
});
