import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldLines, requestHead } from '../../../../src/edge/http1/serialize.ts';
import { Http1ParseError } from '../../../../src/edge/http1/errors.ts';

describe('serialize: field lines with a known-clean prefix', () => {
  it('checks every pair by default', () => {
    assert.throws(() => fieldLines(['a', 'x\r\ny: 1']), Http1ParseError);
    assert.throws(() => fieldLines(['a\n', 'x']), Http1ParseError);
    assert.equal(fieldLines(['a', '1', 'b', '2']), 'a: 1\r\nb: 2\r\n');
  });

  it('pairs from checkFrom on are still checked (values the route or an authenticator added)', () => {
    assert.equal(fieldLines(['a', '1', 'b', '2'], 2), 'a: 1\r\nb: 2\r\n');
    assert.throws(() => fieldLines(['a', '1', 'x-jwt-sub', 'bad\r\nvalue'], 2), Http1ParseError);
    assert.throws(() => requestHead('GET', '/', ['host', 'h', 'x-claim', 'a\0b'], '', 2), Http1ParseError);
  });

  it('the request target is checked whatever the prefix', () => {
    assert.throws(() => requestHead('GET', '/a b', ['host', 'h'], '', 2), Http1ParseError);
    assert.equal(requestHead('GET', '/a', ['host', 'h'], '', 2), 'GET /a HTTP/1.1\r\nhost: h\r\n\r\n');
  });
});
