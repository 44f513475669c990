import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng, randomInt } from '../../../../src/util/rng.ts';
import { corpus } from './corpus.ts';
import { llhttpParse, ourParse, type Outcome } from './oracles.ts';

/**
 * Where the engine's parser refuses what llhttp (Node's parser, strict mode)
 * accepts, on purpose. Each is documented in docs/engine.md. Anything else that
 * differs fails the test, and accepting what llhttp refuses always fails it.
 */
const STRICTER = new Set([
  'bare_lf', // a stray LF between pipelined requests (llhttp skips it; we only skip CRLF)
  'invalid_method', // ... which then starts the next request line
  'connect_not_supported', // the gateway does not tunnel
  'duplicate_host', // RFC 9112 3.2: 400
  'missing_host', // RFC 9112 3.2: 400 (node:http's server does the same above llhttp)
  'invalid_chunk_extension', // `;name=` with an empty value
  'invalid_request_target', // doubled SP, or a target in no RFC 9112 3.2 form
  'invalid_version', // doubled SP before the version
  'invalid_transfer_encoding', // Transfer-Encoding in an HTTP/1.0 request
  'unsupported_transfer_coding', // codings other than chunked (501)
  'too_many_headers', // more than 100 fields (431)
  'uri_too_long', // request target over 8 KiB (414)
  'version_not_supported', // HTTP/2.0 etc. on an HTTP/1.1 port (505)
]);

const SIZE = Number(process.env.EDGEPLANE_DIFF_CORPUS ?? 6000);
const cases = corpus(20261207, SIZE);

function describe(o: Outcome): string {
  return `${o.verdict}${o.code ? ` ${o.code}` : ''}, ${o.messages.length} message(s)`;
}

test(`corpus covers every smuggling class (${SIZE} streams)`, () => {
  assert.ok(cases.length >= 5000, 'at least 5,000 streams');
  const kinds = new Set(cases.map((c) => c.kind));
  for (const k of ['CL.TE', 'TE.CL', 'TE.TE', 'bare CR', 'bare LF', 'NUL', 'chunk size', 'missing last chunk', 'pipelined leftover', 'valid', 'mutated', 'oversize']) {
    assert.ok(kinds.has(k), `class ${k} present`);
  }
});

test('same accept/reject decision and the same messages as llhttp, or a documented stricter refusal', () => {
  const problems: string[] = [];
  const tally = { sameOk: 0, sameReject: 0, stricter: 0 };
  for (const c of cases) {
    const ll = llhttpParse(c.bytes);
    const ours = ourParse([c.bytes]);
    const show = () => `[${c.kind}] ${JSON.stringify(c.bytes.toString('latin1').slice(0, 200))}: llhttp ${describe(ll)}, ours ${describe(ours)}`;
    // Messages we completed must be exactly the ones llhttp completed first (never a message it refused).
    for (let i = 0; i < ours.messages.length; i++) {
      if (JSON.stringify(ours.messages[i]) !== JSON.stringify(ll.messages[i])) {
        problems.push(`message ${i} differs ${show()}`);
        break;
      }
    }
    if (ours.verdict === 'ok' && ll.verdict !== 'ok') problems.push(`LENIENT ${show()}`);
    else if (ours.verdict === 'ok') {
      if (ours.messages.length !== ll.messages.length) problems.push(`message count ${show()}`);
      else tally.sameOk++;
    } else if (ll.verdict !== 'ok') tally.sameReject++;
    else if (STRICTER.has(ours.code)) tally.stricter++;
    else problems.push(`undocumented stricter ${show()}`);
  }
  assert.deepEqual(problems.slice(0, 10), []);
  // The corpus must exercise both sides, or the comparison proves little.
  assert.ok(tally.sameOk > SIZE * 0.3, `accepted streams: ${tally.sameOk}`);
  assert.ok(tally.sameReject > SIZE * 0.3, `refused streams: ${tally.sameReject}`);
});

test('the decision does not depend on how the stream is split into reads', () => {
  const rng = seededRng(7);
  const problems: string[] = [];
  for (const c of cases) {
    const whole = ourParse([c.bytes]);
    const pieces: Buffer[] = [];
    let off = 0;
    while (off < c.bytes.length) {
      const n = 1 + randomInt(rng, rng.next() < 0.3 ? 3 : 64);
      pieces.push(c.bytes.subarray(off, off + n));
      off += n;
    }
    const split = ourParse(pieces);
    // Refusals may be noticed with a different reason when a partial head is checked early; the decision may not change.
    const same = whole.verdict === split.verdict && JSON.stringify(whole.messages) === JSON.stringify(split.messages);
    if (!same) problems.push(`[${c.kind}] ${JSON.stringify(c.bytes.toString('latin1').slice(0, 200))}: whole ${describe(whole)}, split ${describe(split)}`);
  }
  assert.deepEqual(problems.slice(0, 10), []);
});
