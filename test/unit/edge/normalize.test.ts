import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, splitTarget, parseAuthority, resolveAuthority, prepareRequest, routeAcceptsEscapedSlash, DEFAULT_PATH_POLICY, DEFAULT_REQUEST_POLICY, type PathPolicy } from '../../../src/edge/normalize.ts';

const keep: PathPolicy = { normalize: true, mergeSlashes: true, escapedSlashes: 'keep' };
const unescape: PathPolicy = { normalize: true, mergeSlashes: true, escapedSlashes: 'unescape' };
const noMerge: PathPolicy = { normalize: true, mergeSlashes: false, escapedSlashes: 'reject' };

function path(raw: string, policy: PathPolicy = DEFAULT_PATH_POLICY): string {
  const r = normalizePath(raw, policy);
  if (!r.ok) return `!${r.reason}`;
  return r.path;
}

test('dot segments are resolved per RFC 3986 5.2.4, never above the root', () => {
  assert.equal(path('/public/../admin/secret'), '/admin/secret');
  assert.equal(path('/a/b/c/./../../g'), '/a/g');
  assert.equal(path('/a/b/..'), '/a/');
  assert.equal(path('/a/b/.'), '/a/b/');
  assert.equal(path('/../../etc/passwd'), '/etc/passwd');
  assert.equal(path('/..'), '/');
  assert.equal(path('/.'), '/');
  assert.equal(path('/'), '/');
  assert.equal(path('/a/.../b'), '/a/.../b', '"..." is an ordinary segment');
  assert.equal(path('/a/..b/c'), '/a/..b/c');
});

test('percent-encoded unreserved characters are decoded (so %2e%2e is ..), others upper-cased', () => {
  assert.equal(path('/public/%2e%2e/admin/secret'), '/admin/secret');
  assert.equal(path('/public/%2E./admin'), '/admin');
  assert.equal(path('/public/.%2e/admin'), '/admin');
  assert.equal(path('/%61dmin'), '/admin');
  assert.equal(path('/a%7eb'), '/a~b');
  assert.equal(path('/a%3fb%3a'), '/a%3Fb%3A');
  assert.equal(path('/a%252e%252e/x'), '/a%252e%252e/x', 'no double decoding');
});

test('malformed percent-encodings, NUL, controls and fragments are refused', () => {
  assert.equal(path('/a%zz'), '!invalid_path');
  assert.equal(path('/a%4'), '!invalid_path');
  assert.equal(path('/a%'), '!invalid_path');
  assert.equal(path('/a%00b'), '!invalid_path');
  assert.equal(path('/a b'), '!invalid_path');
  assert.equal(path('/a\tb'), '!invalid_path');
  assert.equal(path('/a#b'), '!invalid_path');
  assert.equal(path('a/b'), '!invalid_target');
});

test('encoded slashes: reject by default, keep as data, or unescape and normalise', () => {
  assert.equal(path('/public/..%2fadmin/secret'), '!escaped_slash');
  assert.equal(path('/public/..%5Cadmin'), '!escaped_slash');
  assert.equal(path('/public/..%2fadmin/secret', keep), '/public/..%2Fadmin/secret');
  assert.equal(path('/public/..%2fadmin/secret', unescape), '/admin/secret');
  assert.equal(path('/public/..%5cadmin', unescape), '/admin');
  // Routing keeps the encoded slash as data even when the listener rejects it: the matched route decides.
  const kept = prepareRequest('/files/a%2Fb?x', null, ['Host', 'h'], DEFAULT_REQUEST_POLICY);
  assert.ok(kept.ok && kept.escapedSlash && kept.url === '/files/a%2Fb?x');
  assert.equal(routeAcceptsEscapedSlash(kept, null, DEFAULT_REQUEST_POLICY), false);
  assert.equal(routeAcceptsEscapedSlash(kept, 'keep', DEFAULT_REQUEST_POLICY), true);
  const keepListener = { ...DEFAULT_REQUEST_POLICY, paths: keep };
  assert.equal(routeAcceptsEscapedSlash(kept, 'reject', keepListener), false);
  assert.equal(routeAcceptsEscapedSlash(kept, null, keepListener), true);
  const unesc = prepareRequest('/public/..%2Fadmin', null, [], { ...DEFAULT_REQUEST_POLICY, paths: unescape });
  assert.ok(unesc.ok && unesc.path === '/admin' && !unesc.escapedSlash);
});

test('backslash is a separator; slashes merge unless the policy says not to', () => {
  assert.equal(path('/public\\..\\admin'), '/admin');
  assert.equal(path('//admin///secret'), '/admin/secret');
  assert.equal(path('/a//b', noMerge), '/a//b');
  assert.equal(path('/a//../b', noMerge), '!ambiguous_path', 'RFC 3986 and merge-first servers disagree on "//.."');
  assert.equal(path('/a//..'), '!ambiguous_path');
  assert.equal(path('/a/..//b'), '/b');
  assert.equal(path('/a/'), '/a/');
});

test('dot segments with parameters (Tomcat "..;") are refused as ambiguous', () => {
  assert.equal(path('/public/..;/admin'), '!ambiguous_path');
  assert.equal(path('/public/.;x/admin'), '!ambiguous_path');
  assert.equal(path('/public/a;b/admin'), '/public/a;b/admin');
});

test('raw non-ASCII bytes and unsafe printable characters are percent-encoded like a browser does', () => {
  assert.equal(path('/caf\u00e9'), '/caf%E9');
  assert.equal(path('/a"b<c>'), '/a%22b%3Cc%3E');
  assert.equal(path('/a\u20acb'), '!invalid_path');
});

test('normalize: false routes the path as sent but still refuses controls and flags encoded slashes', () => {
  const off: PathPolicy = { normalize: false, mergeSlashes: false, escapedSlashes: 'reject' };
  assert.equal(path('/public/../admin', off), '/public/../admin');
  const r = normalizePath('/a%2fb', off);
  assert.ok(r.ok && r.escapedSlash);
  assert.equal(path('/a b', off), '!invalid_path');
});

test('normalisation is idempotent', () => {
  for (const raw of ['/public/../admin', '/a/%2e%2e/b/', '/x%2Fy', '//a//b//', '/caf\u00e9/%7e', '/a/b/..', '/%41%42%2f']) {
    for (const policy of [DEFAULT_PATH_POLICY, keep, unescape, noMerge]) {
      const once = normalizePath(raw, policy);
      if (!once.ok) continue;
      const twice = normalizePath(once.path, policy);
      assert.ok(twice.ok, raw);
      assert.equal(twice.path, once.path, `${raw} under ${JSON.stringify(policy)}`);
    }
  }
});

test('request targets: origin-form, absolute-form, asterisk', () => {
  assert.deepEqual(splitTarget('/a/b?x=1&y=/../'), { ok: true, authority: null, path: '/a/b', query: '?x=1&y=/../' });
  assert.deepEqual(splitTarget('http://Secure.svc.plus:8080/admin?q'), { ok: true, authority: 'Secure.svc.plus:8080', path: '/admin', query: '?q' });
  assert.deepEqual(splitTarget('https://h'), { ok: true, authority: 'h', path: '/', query: '' });
  assert.deepEqual(splitTarget('*'), { ok: true, authority: null, path: '*', query: '' });
  assert.equal((splitTarget('ftp://h/x') as { reason: string }).reason, 'invalid_target');
  assert.equal((splitTarget('h:80') as { reason: string }).reason, 'invalid_target');
});

test('authorities: lower case, trailing dot removed, port split and checked', () => {
  assert.deepEqual(parseAuthority('API.svc.plus.'), { ok: true, host: 'api.svc.plus', port: null, authority: 'api.svc.plus' });
  assert.deepEqual(parseAuthority('api.svc.plus.:8443'), { ok: true, host: 'api.svc.plus', port: 8443, authority: 'api.svc.plus:8443' });
  assert.deepEqual(parseAuthority('[::1]:80'), { ok: true, host: '[::1]', port: 80, authority: '[::1]:80' });
  assert.deepEqual(parseAuthority('h:'), { ok: true, host: 'h', port: null, authority: 'h' });
  for (const bad of ['a..b', '.a', 'a..', 'user@host', 'a b', 'h:99999', 'h:8x', '[::1', '[zz]', 'a/b', 'h%41', 'é.com']) {
    const r = parseAuthority(bad);
    assert.equal(r.ok, false, bad);
  }
});

test('h2 :authority and Host must name the same host; two Host headers are refused', () => {
  const same = resolveAuthority('api.svc.plus', ['API.svc.plus.']);
  assert.ok(same.ok && same.host === 'api.svc.plus');
  const differ = resolveAuthority('api.svc.plus', ['secure.svc.plus']);
  assert.equal(!differ.ok && differ.reason, 'authority_mismatch');
  const ports = resolveAuthority('api.svc.plus:443', ['api.svc.plus:8443']);
  assert.equal(!ports.ok && ports.reason, 'authority_mismatch');
  const oneport = resolveAuthority('api.svc.plus:443', ['api.svc.plus']);
  assert.ok(oneport.ok && oneport.authority === 'api.svc.plus:443');
  const dup = resolveAuthority(null, ['a', 'b']);
  assert.equal(!dup.ok && dup.reason, 'duplicate_host');
  const none = resolveAuthority(null, []);
  assert.ok(none.ok && none.host === '');
  const onlyTarget = resolveAuthority('Secure.svc.plus', []);
  assert.ok(onlyTarget.ok && onlyTarget.host === 'secure.svc.plus');
});

test('prepareRequest: one step for target, authority and path; header count capped', () => {
  const r = prepareRequest('/public/%2e%2e/admin?q=1', null, ['Host', 'API.svc.plus.:8080'], DEFAULT_REQUEST_POLICY);
  assert.deepEqual(r, { ok: true, host: 'api.svc.plus', authority: 'api.svc.plus:8080', path: '/admin', url: '/admin?q=1', escapedSlash: false });
  const h2 = prepareRequest('/x', 'api.svc.plus', ['host', 'secure.svc.plus'], DEFAULT_REQUEST_POLICY);
  assert.equal(!h2.ok && h2.reason, 'authority_mismatch');
  const abs = prepareRequest('http://Secure.svc.plus/x', null, [], DEFAULT_REQUEST_POLICY);
  assert.ok(abs.ok && abs.host === 'secure.svc.plus');
  const absH2 = prepareRequest('http://a/x', 'a', [], DEFAULT_REQUEST_POLICY);
  assert.equal(absH2.ok, false);
  const many = prepareRequest('/', null, Array.from({ length: 202 }, (_, i) => (i % 2 ? 'v' : `x-${i}`)), DEFAULT_REQUEST_POLICY);
  assert.equal(!many.ok && many.status, 431);
});
