import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpointList, MAX_FILE_ENDPOINTS } from '../../../src/discovery/file.ts';
import { DiscoveryError } from '../../../src/discovery/errors.ts';

test('one host:port per line, with comments, blank lines, CRLF and IPv6', () => {
  const text = '# written by deploy.sh\r\n127.0.0.1:9101\r\n\r\n  127.0.0.1:9102   # blue-2\r\n[::1]:9103\r\napi-1.internal:8080\n';
  assert.deepEqual(parseEndpointList(text), ['127.0.0.1:9101', '127.0.0.1:9102', '[::1]:9103', 'api-1.internal:8080']);
});

test('JSON and YAML lists, of strings or objects, or under an endpoints key', () => {
  assert.deepEqual(parseEndpointList('["127.0.0.1:1", {"host": "127.0.0.1", "port": 2}, {"address": "[::1]:3"}]'), ['127.0.0.1:1', '127.0.0.1:2', '[::1]:3']);
  assert.deepEqual(parseEndpointList('- 10.0.0.1:80\n- host: 10.0.0.2\n  port: "81"\n'), ['10.0.0.1:80', '10.0.0.2:81']);
  assert.deepEqual(parseEndpointList('endpoints:\n  - 10.0.0.1:80\n'), ['10.0.0.1:80']);
  assert.deepEqual(parseEndpointList('{"endpoints": ["10.0.0.9:90"]}'), ['10.0.0.9:90']);
});

test('anything wrong rejects the whole file and says where', () => {
  const cases: [string, RegExp][] = [
    ['', /no endpoints/],
    ['# only a comment\n', /no endpoints/],
    ['127.0.0.1:9101\n127.0.0.1\n', /line 2: invalid port/],
    ['127.0.0.1:99999\n', /line 1/],
    ['127.0.0.1:0\n', /line 1/],
    ['["127.0.0.1:1", 42]', /entry 1/],
    ['[{"host": "a", "port": 70000}]', /entry 0: invalid port/],
    ['{"nodes": []}', /expected a list/],
    ['[unclosed', /not valid JSON\/YAML/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseEndpointList(text), (err: unknown) => err instanceof DiscoveryError && err.code === 'EP_DISCOVERY_FILE_FORMAT' && re.test(err.message), JSON.stringify(text));
  }
  const many = Array.from({ length: MAX_FILE_ENDPOINTS + 1 }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`).join('\n');
  assert.throws(() => parseEndpointList(many), /more than/);
});
