import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamRequestHeaders, headerValues, type HeaderPolicy, type ForwardContext } from '../../../src/edge/request-headers.ts';

const ctx: ForwardContext = { host: 'api.svc.plus', forwardedHost: 'api.svc.plus:8443', clientIp: '192.0.2.7', scheme: 'https', requestId: 'req-12345678' };
const policy: HeaderPolicy = { remove: new Set(['x-jwt-sub', 'x-jwt-scope']), underscores: 'drop' };

function asMap(flat: string[] | { ok: false }): Map<string, string[]> {
  assert.ok(Array.isArray(flat), 'not rejected');
  const m = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i]!.toLowerCase();
    m.set(k, [...(m.get(k) ?? []), flat[i + 1]!]);
  }
  return m;
}

test('protected claim headers are dropped in every spelling', () => {
  const m = asMap(upstreamRequestHeaders(['X-JWT-Sub', 'admin', 'x_jwt_sub', 'admin', 'X_Jwt_Scope', 'all', 'accept', '*/*'], policy, ctx));
  assert.equal(m.has('x-jwt-sub'), false);
  assert.equal(m.has('x_jwt_sub'), false);
  assert.equal(m.has('x_jwt_scope'), false);
  assert.deepEqual(m.get('accept'), ['*/*']);
  // Even a listener that allows underscores never lets a protected or gateway-owned name through.
  const allow = asMap(upstreamRequestHeaders(['x_jwt_sub', 'admin', 'X_Forwarded_For', '6.6.6.6', 'my_header', 'v'], { ...policy, underscores: 'allow' }, ctx));
  assert.equal(allow.has('x_jwt_sub'), false);
  assert.equal(allow.has('x_forwarded_for'), false);
  assert.deepEqual(allow.get('x-forwarded-for'), ['192.0.2.7']);
  assert.deepEqual(allow.get('my_header'), ['v']);
});

test('underscores: reject answers a rejection', () => {
  const r = upstreamRequestHeaders(['my_header', 'v'], { ...policy, underscores: 'reject' }, ctx);
  assert.ok(!Array.isArray(r) && r.reason === 'underscore_in_header_name');
});

test('Connection-listed headers are dropped but never Host; the upstream Host is the routed one', () => {
  const m = asMap(upstreamRequestHeaders(['Host', 'API.svc.plus.', 'Connection', 'close, host, x-secret', 'X-Secret', 's', 'Keep-Alive', '5', 'TE', 'trailers'], policy, ctx));
  assert.deepEqual(m.get('host'), ['api.svc.plus']);
  assert.equal(m.has('x-secret'), false);
  assert.equal(m.has('connection'), false);
  assert.equal(m.has('keep-alive'), false);
  assert.equal(m.has('te'), false);
});

test('X-Forwarded-For and Forwarded are appended to; X-Real-IP, X-Forwarded-Host/Proto and X-Request-Id are the gateway\'s', () => {
  const m = asMap(upstreamRequestHeaders([
    'X-Forwarded-For', '10.0.0.1', 'Forwarded', 'for=10.0.0.1', 'X-Real-IP', '6.6.6.6', 'X-Forwarded-Host', 'evil', 'X-Forwarded-Proto', 'http', 'X-Request-Id', 'spoof',
  ], policy, ctx));
  assert.deepEqual(m.get('x-forwarded-for'), ['10.0.0.1, 192.0.2.7']);
  assert.deepEqual(m.get('forwarded'), ['for=10.0.0.1, for=192.0.2.7;proto=https;host="api.svc.plus:8443"']);
  assert.deepEqual(m.get('x-real-ip'), ['192.0.2.7']);
  assert.deepEqual(m.get('x-forwarded-host'), ['api.svc.plus:8443']);
  assert.deepEqual(m.get('x-forwarded-proto'), ['https']);
  assert.deepEqual(m.get('x-request-id'), ['req-12345678']);
});

test('Forwarded quotes IPv6 nodes; h2 pseudo-headers never pass', () => {
  const m = asMap(upstreamRequestHeaders([':authority', 'api.svc.plus', ':path', '/'], policy, { ...ctx, clientIp: '::1', forwardedHost: 'api.svc.plus' }));
  assert.deepEqual(m.get('forwarded'), ['for="[::1]";proto=https;host=api.svc.plus']);
  assert.equal(m.has(':authority'), false);
});

test('headerValues finds every copy of a header', () => {
  assert.deepEqual(headerValues(['Host', 'a', 'x', '1', 'host', 'b'], 'host'), ['a', 'b']);
});
