import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStatusHead } from '../../../src/edge/http1/response-head.ts';
import { forwardedFieldLines, forwardsLength } from '../../../src/edge/response-head.ts';
import { Http1ParseError } from '../../../src/edge/http1/errors.ts';

/** A head as the response parser hands it over: through the CRLF of the last field line. */
const head = (lines: string[]) => parseStatusHead(`HTTP/1.1 200 OK\r\n${lines.map((l) => `${l}\r\n`).join('')}`);

test('an nginx head: Connection dropped, every other line forwarded byte for byte', () => {
  const h = head(['Server: nginx/1.22.1', 'Date: Mon, 07 Dec 2026 22:00:00 GMT', 'Content-Type: application/json', 'Content-Length: 29', 'Connection: keep-alive']);
  assert.equal(forwardedFieldLines(h, null), 'Server: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 22:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: 29\r\n');
  assert.ok(forwardsLength(h, null));
  assert.equal(h.keepAlive, true);
  assert.equal(h.contentLength, 29);
});

test('every hop-by-hop field is dropped, in any case and position; Server (as long as Expect) is kept', () => {
  const h = head(['Keep-Alive: timeout=5', 'Server: x', 'TRANSFER-ENCODING: chunked', 'X-A: 1', 'Trailer: X-T', 'Upgrade: h2c', 'Proxy-Authenticate: Basic', 'te: trailers', 'Expect: 100-continue', 'X-B:  2  ']);
  assert.equal(forwardedFieldLines(h, null), 'Server: x\r\nX-A: 1\r\nX-B:  2  \r\n');
  assert.equal(h.transferEncoding, 'chunked');
  assert.ok(!forwardsLength(h, null));
});

test('the route\'s removals (lower-case names) are dropped too, and a removed Content-Length is not forwarded as the framing', () => {
  const h = head(['Server: nginx', 'X-Powered-By: php', 'Content-Length: 5', 'x-powered-by: again']);
  const remove = new Set(['x-powered-by', 'content-length']);
  assert.equal(forwardedFieldLines(h, remove), 'Server: nginx\r\n');
  assert.ok(!forwardsLength(h, remove));
  assert.equal(forwardedFieldLines(h, new Set()), 'Server: nginx\r\nX-Powered-By: php\r\nContent-Length: 5\r\nx-powered-by: again\r\n');
});

test('a Connection header that lists field names sends the head down the field-by-field path (null)', () => {
  assert.equal(forwardedFieldLines(head(['Connection: close, X-Secret', 'X-Secret: 1']), null), null);
  const closing = head(['Connection: close', 'X-A: 1']);
  assert.equal(forwardedFieldLines(closing, null), 'X-A: 1\r\n');
  assert.equal(closing.keepAlive, false);
});

test('no fields, and only dropped fields, give no lines', () => {
  assert.equal(forwardedFieldLines(head([]), null), '');
  assert.equal(forwardedFieldLines(head(['Connection: keep-alive', 'Keep-Alive: timeout=5']), null), '');
});

test('rawHeaders: names as sent, values without surrounding whitespace', () => {
  const h = head(['Server:  nginx ', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Empty:']);
  assert.deepEqual(h.rawHeaders, ['Server', 'nginx', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Empty', '']);
  assert.equal(h.rawHeaders, h.rawHeaders);
});

test('framing fields are checked while parsing: differing Content-Lengths and a bad one are refused, equal duplicates kept', () => {
  assert.throws(() => head(['Content-Length: 1', 'Content-Length: 2']), (e: unknown) => e instanceof Http1ParseError && e.reason === 'duplicate_content_length');
  assert.throws(() => head(['Content-Length: 1x']), (e: unknown) => e instanceof Http1ParseError && e.reason === 'invalid_content_length');
  assert.equal(head(['Content-Length: 3', 'content-length: 3']).contentLength, 3);
  // An interim response's framing fields are not read.
  assert.equal(parseStatusHead('HTTP/1.1 100 Continue\r\nContent-Length: x\r\n').status, 100);
});
