import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestParser, type RequestHead } from '../../../../src/edge/http1/request-parser.ts';
import { Http1ParseError } from '../../../../src/edge/http1/errors.ts';

function collect(limits?: ConstructorParameters<typeof RequestParser>[1]) {
  const heads: RequestHead[] = [];
  const bodies: string[] = [];
  const ends: (string[] | null)[] = [];
  const parser = new RequestParser(
    {
      onHead: (h) => {
        heads.push(h);
        bodies.push('');
      },
      onBody: (b) => (bodies[bodies.length - 1] += b.toString('latin1')),
      onEnd: (t) => ends.push(t),
    },
    limits,
  );
  return { parser, heads, bodies, ends };
}

function refusal(input: string, limits?: ConstructorParameters<typeof RequestParser>[1]): Http1ParseError {
  const { parser } = collect(limits);
  try {
    parser.execute(Buffer.from(input, 'latin1'));
  } catch (err) {
    assert.ok(err instanceof Http1ParseError);
    return err;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

test('keep-alive semantics by version and Connection', () => {
  const { parser, heads } = collect();
  parser.execute(Buffer.from('GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /c HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\nGET /never HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.deepEqual(heads.map((h) => [h.url, h.keepAlive]), [['/a', true], ['/b', true], ['/c', false]], 'nothing after a closing request is parsed');
});

test('Content-Length and chunked bodies, extensions and trailers', () => {
  const { parser, heads, bodies, ends } = collect();
  parser.execute(Buffer.from('POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello'));
  parser.execute(Buffer.from('PUT /b HTTP/1.1\r\nHost: a\r\ntransfer-encoding: Chunked\r\n\r\n5;x="a;b\\"c"\r\nhello\r\n1;y\r\n!\r\n0;last\r\nDigest: abc\r\n\r\n'));
  assert.deepEqual(heads.map((h) => [h.contentLength, h.chunked]), [[5, false], [-1, true]]);
  assert.deepEqual(bodies, ['hello', 'hello!']);
  assert.deepEqual(ends, [null, ['Digest', 'abc']]);
});

test('limits: URI length 414, header bytes and count 431', () => {
  assert.equal(refusal(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`, { maxHeaderBytes: 16384, maxHeaderCount: 100, maxUriLength: 50 }).status, 414);
  assert.equal(refusal(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(200)}\r\n\r\n`, { maxHeaderBytes: 100, maxHeaderCount: 100, maxUriLength: 50 }).status, 431);
  assert.equal(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${'X: 1\r\n'.repeat(5)}\r\n`, { maxHeaderBytes: 16384, maxHeaderCount: 4, maxUriLength: 50 }).status, 431);
  // A head that never ends is refused as soon as it passes the limit, not when it ends.
  assert.equal(refusal(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(300)}`, { maxHeaderBytes: 100, maxHeaderCount: 100, maxUriLength: 50 }).status, 431);
  assert.equal(refusal(`GET /${'a'.repeat(300)}`, { maxHeaderBytes: 100, maxHeaderCount: 100, maxUriLength: 50 }).status, 414);
});

test('framing attacks are refused with 400', () => {
  for (const [input, reason] of [
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 'content_length_with_transfer_encoding'],
    ['POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 'duplicate_content_length'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 'invalid_transfer_encoding'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\n\r\n', 'ambiguous_framing_header'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n', 'space_before_colon'],
    ['POST / HTTP/1.1\r\nHost: a\r\nX: 1\r\n Transfer-Encoding: chunked\r\n\r\n', 'obs_fold'],
    ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\n', 'chunk_size_overflow'],
    ['GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n', 'invalid_header_value'],
  ] as const) {
    const err = refusal(input);
    assert.equal(err.reason, reason, JSON.stringify(input));
    assert.equal(err.status, 400);
  }
  assert.equal(refusal('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').status, 501);
  assert.equal(refusal('GET / HTTP/2.0\r\nHost: a\r\n\r\n').status, 505);
});

test('pause holds pipelined requests until resume', () => {
  const { parser, heads } = collect();
  const p = parser;
  const orig = heads.push.bind(heads);
  heads.push = (...h: RequestHead[]) => {
    p.pause();
    return orig(...h);
  };
  parser.execute(Buffer.from('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nGET /3 HTTP/1.1\r\nHost: a\r\n\r\n'));
  assert.deepEqual(heads.map((h) => h.url), ['/1']);
  parser.resume();
  assert.deepEqual(heads.map((h) => h.url), ['/1', '/2']);
  parser.resume();
  parser.resume();
  assert.deepEqual(heads.map((h) => h.url), ['/1', '/2', '/3']);
  assert.ok(parser.atMessageBoundary());
});

test('upgrade stops parsing and hands over the bytes that follow; Expect: 100-continue is flagged', () => {
  const { parser, heads } = collect();
  parser.execute(Buffer.from('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello', 'latin1'));
  assert.equal(heads[0]!.upgrade, true);
  assert.equal(parser.takeLeftover().toString('latin1'), '\x81\x05hello');
  const b = collect();
  b.parser.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n'));
  assert.equal(b.heads[0]!.expectContinue, true);
  assert.equal(b.parser.inBody, true);
  assert.equal(b.parser.atMessageBoundary(), false);
});
