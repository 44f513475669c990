import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RouteTable } from '../../../src/edge/route-table.ts';
import type { RouteConfig } from '../../../src/config/schema/index.ts';

function table(routes: Partial<RouteConfig>[]) {
  return new RouteTable(
    routes.map((r, i) => {
      const config = { name: r.name ?? `r${i}`, match: r.match ?? {}, split: [{ cluster: 'c', weight: 1 }] } as RouteConfig;
      return { config, route: config.name };
    }),
  );
}
const noHeaders = () => undefined;

test('exact host beats wildcard, wildcard beats any host', () => {
  const t = table([
    { name: 'any', match: { path: { prefix: '/' } } },
    { name: 'wild', match: { hosts: ['*.svc.plus'], path: { prefix: '/' } } },
    { name: 'exact', match: { hosts: ['api.svc.plus'], path: { prefix: '/' } } },
  ]);
  assert.equal(t.match('api.svc.plus', '/x', 'GET', noHeaders), 'exact');
  assert.equal(t.match('web.svc.plus', '/x', 'GET', noHeaders), 'wild');
  assert.equal(t.match('a.b.svc.plus', '/x', 'GET', noHeaders), 'wild');
  assert.equal(t.match('svc.plus', '/x', 'GET', noHeaders), 'any', 'a wildcard needs at least one more label');
  assert.equal(t.match('example.com', '/x', 'GET', noHeaders), 'any');
});

test('the longest wildcard suffix wins', () => {
  const t = table([
    { name: 'short', match: { hosts: ['*.plus'] } },
    { name: 'long', match: { hosts: ['*.svc.plus'] } },
  ]);
  assert.equal(t.match('api.svc.plus', '/', 'GET', noHeaders), 'long');
  assert.equal(t.match('api.other.plus', '/', 'GET', noHeaders), 'short');
});

test('a more specific host group falls through to the next when none of its routes match', () => {
  const t = table([
    { name: 'api-v1', match: { hosts: ['api.svc.plus'], path: { prefix: '/v1/' } } },
    { name: 'catch-all', match: { path: { prefix: '/' } } },
  ]);
  assert.equal(t.match('api.svc.plus', '/v1/users', 'GET', noHeaders), 'api-v1');
  assert.equal(t.match('api.svc.plus', '/other', 'GET', noHeaders), 'catch-all');
});

test('path precedence: exact, then regex in config order, then longest prefix', () => {
  const t = table([
    { name: 'root', match: { path: { prefix: '/' } } },
    { name: 'api', match: { path: { prefix: '/api' } } },
    { name: 'api-long', match: { path: { prefix: '/api/v2' } } },
    { name: 'regex-1', match: { path: { regex: '/api/[0-9]+' } } },
    { name: 'regex-2', match: { path: { regex: '/api/.*' } } },
    { name: 'exact', match: { path: { exact: '/api/42' } } },
  ]);
  assert.equal(t.match('h', '/api/42', 'GET', noHeaders), 'exact');
  assert.equal(t.match('h', '/api/43', 'GET', noHeaders), 'regex-1');
  assert.equal(t.match('h', '/api/v2/x', 'GET', noHeaders), 'regex-2', 'a regex beats any prefix');
  assert.equal(t.match('h', '/apiary', 'GET', noHeaders), 'api');
  assert.equal(t.match('h', '/other', 'GET', noHeaders), 'root');
});

test('regexes match the whole path, not a substring', () => {
  const t = table([{ name: 'r', match: { path: { regex: '/a/[0-9]+' } } }]);
  assert.equal(t.match('h', '/a/1', 'GET', noHeaders), 'r');
  assert.equal(t.match('h', '/x/a/1', 'GET', noHeaders), undefined);
  assert.equal(t.match('h', '/a/1/b', 'GET', noHeaders), undefined);
});

test('methods and headers filter candidates, in config order', () => {
  const t = table([
    { name: 'canary-header', match: { path: { prefix: '/' }, headers: [{ name: 'X-Canary', exact: '1' }] } },
    { name: 'writes', match: { path: { prefix: '/' }, methods: ['POST', 'PUT'] } },
    { name: 'no-debug', match: { path: { prefix: '/' }, headers: [{ name: 'x-debug', present: true, invert: true }] } },
    { name: 'rest', match: { path: { prefix: '/' } } },
  ]);
  const h = (obj: Record<string, string>) => (n: string) => obj[n];
  assert.equal(t.match('h', '/', 'GET', h({ 'x-canary': '1' })), 'canary-header');
  assert.equal(t.match('h', '/', 'POST', h({})), 'writes');
  assert.equal(t.match('h', '/', 'GET', h({})), 'no-debug');
  assert.equal(t.match('h', '/', 'GET', h({ 'x-debug': 'yes' })), 'rest');
});

test('no match returns undefined', () => {
  const t = table([{ name: 'only', match: { hosts: ['a.example'], path: { exact: '/' } } }]);
  assert.equal(t.match('a.example', '/x', 'GET', noHeaders), undefined);
  assert.equal(t.match('b.example', '/', 'GET', noHeaders), undefined);
});
