import { seededRng, randomInt, type Rng } from '../../../../src/util/rng.ts';

/**
 * A generated corpus of HTTP/1.1 request streams, valid and malformed, for the
 * differential test against llhttp and the gateway fuzzer. Deterministic for a
 * seed. Each case names its class so a disagreement says what kind it is.
 */
export interface CorpusCase {
  kind: string;
  bytes: Buffer;
}

const METHODS = ['GET', 'GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'];
const NAMES = ['Accept', 'User-Agent', 'X-Trace', 'Cookie', 'accept-encoding', 'X-Forwarded-For', 'Cache-Control', 'x-a', 'If-None-Match', 'Authorization', 'Via'];
const PATH_CHARS = 'abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&\'()*+,;=:@/';
const VALUE_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,;=/"()\t';

const pick = <T>(rng: Rng, a: readonly T[]): T => a[randomInt(rng, a.length)]!;
const str = (rng: Rng, chars: string, min: number, max: number): string => {
  let s = '';
  const n = min + randomInt(rng, max - min + 1);
  for (let i = 0; i < n; i++) s += chars[randomInt(rng, chars.length)];
  return s;
};

interface Msg {
  method: string;
  target: string;
  version: string;
  headers: [string, string][];
  body: string;
  framing: 'none' | 'cl' | 'chunked';
  chunks: string[];
  ext: boolean;
  trailers: [string, string][];
}

function randomMsg(rng: Rng): Msg {
  const method = pick(rng, METHODS);
  const target = '/' + str(rng, PATH_CHARS, 0, 40) + (rng.next() < 0.3 ? '?' + str(rng, 'abc=&123', 1, 20) : '');
  const headers: [string, string][] = [['Host', pick(rng, ['api.svc.plus', 'a', 'example.com:8080', '[::1]:80'])]];
  const n = randomInt(rng, 8);
  for (let i = 0; i < n; i++) headers.push([pick(rng, NAMES), str(rng, VALUE_CHARS, 0, 30).trim()]);
  if (rng.next() < 0.5) [headers[0], headers[headers.length - 1]] = [headers[headers.length - 1]!, headers[0]!];
  const hasBody = method === 'POST' || method === 'PUT' || method === 'PATCH' ? rng.next() < 0.8 : rng.next() < 0.1;
  const framing: Msg['framing'] = !hasBody ? 'none' : rng.next() < 0.5 ? 'cl' : 'chunked';
  const body = hasBody ? str(rng, 'xyz\r\n0123456789abcdef', 0, 200) : '';
  const chunks: string[] = [];
  if (framing === 'chunked') {
    let rest = body;
    while (rest.length > 0) {
      const k = 1 + randomInt(rng, Math.min(rest.length, 64));
      chunks.push(rest.slice(0, k));
      rest = rest.slice(k);
    }
  }
  const trailers: [string, string][] = framing === 'chunked' && rng.next() < 0.2 ? [['X-Checksum', str(rng, 'abc123', 1, 10)]] : [];
  return { method, target, version: rng.next() < 0.9 ? 'HTTP/1.1' : 'HTTP/1.0', headers, body, framing, chunks, ext: rng.next() < 0.2, trailers };
}

function serialize(m: Msg, rng: Rng): string {
  let s = `${m.method} ${m.target} ${m.version}\r\n`;
  for (const [k, v] of m.headers) s += `${k}: ${v}\r\n`;
  if (m.framing === 'cl') s += `Content-Length: ${m.body.length}\r\n`;
  if (m.framing === 'chunked') {
    if (m.version === 'HTTP/1.0') s = s.replace('HTTP/1.0', 'HTTP/1.1');
    s += 'Transfer-Encoding: chunked\r\n';
  }
  s += '\r\n';
  if (m.framing === 'cl') s += m.body;
  if (m.framing === 'chunked') {
    for (const c of m.chunks) s += `${c.length.toString(16)}${m.ext ? pick(rng, [';a', ';a=b', ';name="q v"', ';x=1;y']) : ''}\r\n${c}\r\n`;
    s += '0\r\n';
    for (const [k, v] of m.trailers) s += `${k}: ${v}\r\n`;
    s += '\r\n';
  }
  return s;
}

export function validStream(rng: Rng): string {
  const count = 1 + (rng.next() < 0.3 ? randomInt(rng, 3) : 0);
  let s = '';
  for (let i = 0; i < count; i++) s += serialize(randomMsg(rng), rng);
  return s;
}

const H = 'Host: a\r\n';
/** Hand-written smuggling classes, each a template completed with random bodies. */
function targeted(rng: Rng): CorpusCase[] {
  const body = str(rng, 'abcdef', 0, 12);
  const chunk = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
  const next = 'GET /next HTTP/1.1\r\nHost: a\r\n\r\n';
  const te = (line: string) => `POST / HTTP/1.1\r\n${H}${line}\r\n\r\n${chunk}${next}`;
  const cases: [string, string][] = [
    ['CL.TE', `POST / HTTP/1.1\r\n${H}Content-Length: ${chunk.length}\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}${next}`],
    ['TE.CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${chunk}${next}`],
    ['TE.TE', te('Transfer-Encoding: xchunked')],
    ['TE.TE', te('Transfer-Encoding: chunked, identity')],
    ['TE.TE', te('Transfer-Encoding: identity, chunked')],
    ['TE.TE', te('Transfer-Encoding: gzip, chunked')],
    ['TE.TE', te('Transfer-Encoding:\tchunked')],
    ['TE.TE', te('Transfer-Encoding : chunked')],
    ['TE.TE', te('Transfer-Encoding\t: chunked')],
    ['TE.TE', te('Transfer-Encoding: chunked\r\nTransfer-Encoding: x')],
    ['TE.TE', te('Transfer-Encoding: x\r\nTransfer-Encoding: chunked')],
    ['TE.TE', te('Transfer-encoding: cHuNkEd')],
    ['TE.TE', te('Transfer-Encoding: "chunked"')],
    ['TE.TE', te('Transfer-Encoding: chunked;q=1')],
    ['TE.TE', te('Transfer-Encoding:\r\n chunked')],
    ['TE.TE', te('X: y\r\n Transfer-Encoding: chunked')],
    ['TE.TE', te('Transfer_Encoding: chunked')],
    ['TE.TE', te('Transfer-Encoding: chunked ')],
    ['TE.TE', te('Transfer-Encoding: ,chunked')],
    ['TE.TE', te('Transfer-Encoding: chunked\x0b')],
    ['TE.TE', te('Transfer-Encoding: \x0bchunked')],
    ['TE.TE', te('Transfer-Encoding: chu\x00nked')],
    ['TE.TE', te('Transfer-Encoding: chunked\rX: y')],
    ['CL dup', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc${next}`],
    ['CL dup', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd${next}`],
    ['CL dup', `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: 3 3\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: 0003\r\n\r\nabc${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n${next}`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\nabc`],
    ['CL syntax', `POST / HTTP/1.1\r\n${H}Content_Length: 3\r\n\r\nabc${next}`],
    ['bare CR', `GET / HTTP/1.1\r${H}\r\n`],
    ['bare CR', `GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n`],
    ['bare CR', `GET /\r HTTP/1.1\r\n${H}\r\n`],
    ['bare CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n`],
    ['bare CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r0\r\n\r\n`],
    ['bare LF', `GET / HTTP/1.1\n${H}\r\n`],
    ['bare LF', `GET / HTTP/1.1\r\nHost: a\n\r\n`],
    ['bare LF', `GET / HTTP/1.1\r\nHost: a\r\n\n`],
    ['bare LF', `GET / HTTP/1.1\nHost: a\n\n`],
    ['bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`],
    ['bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n`],
    ['bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\n`],
    ['NUL', `GET /\x00 HTTP/1.1\r\n${H}\r\n`],
    ['NUL', `GET / HTTP/1.1\r\nHost: a\x00\r\n\r\n`],
    ['NUL', `GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n`],
    ['NUL', `\x00GET / HTTP/1.1\r\n${H}\r\n`],
    ['NUL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\x00\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n10000000000000003\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 3\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nabc\r\n0\r\n\r\n`],
    ['chunk size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n0\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;\r\nabc\r\n0\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3 ;a=b\r\nabc\r\n0\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=\r\nabc\r\n0\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a="b\r\nabc\r\n0\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a="b\\"c"\r\nabc\r\n0;z\r\n\r\n`],
    ['chunk ext', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a\x00\r\nabc\r\n0\r\n\r\n`],
    ['trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\nC: d\r\n\r\n${next}`],
    ['trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA : b\r\n\r\n${next}`],
    ['trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nA: b\r\n c\r\n\r\n${next}`],
    ['missing last chunk', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`],
    ['missing last chunk', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n`],
    ['missing last chunk', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc`],
    ['truncated body', `POST / HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nabc`],
    ['pipelined leftover', `GET / HTTP/1.1\r\n${H}\r\nGARBAGE`],
    ['pipelined leftover', `GET / HTTP/1.1\r\n${H}\r\nGET /x HTTP/1.1\r\n`],
    ['pipelined leftover', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcGET /x HTTP/1.1\r\n${H}\r\n`],
    ['pipelined leftover', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabcdGET /x HTTP/1.1\r\n${H}\r\n`],
    ['pipelined leftover', `GET / HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n${next}${next}`],
    ['pipelined leftover', `GET / HTTP/1.1\r\n${H}\r\n\r\n${next}`],
    ['request line', `GET  / HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET /  HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET\t/ HTTP/1.1\r\n${H}\r\n`],
    ['request line', `get / HTTP/1.1\r\n${H}\r\n`],
    ['request line', `FOO / HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET / HTTP/1.2\r\n${H}\r\n`],
    ['request line', `GET / HTTP/2.0\r\n${H}\r\n`],
    ['request line', `GET / HTTP/1.1 \r\n${H}\r\n`],
    ['request line', `GET /\r\n${H}\r\n`],
    ['request line', `GET / HTTP/1.10\r\n${H}\r\n`],
    ['request line', `GET / http/1.1\r\n${H}\r\n`],
    ['request line', `GET http://a/b HTTP/1.1\r\n${H}\r\n`],
    ['request line', `OPTIONS * HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET * HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET a/b HTTP/1.1\r\n${H}\r\n`],
    ['request line', `CONNECT a:443 HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET /\x7f HTTP/1.1\r\n${H}\r\n`],
    ['request line', `GET /\xe9 HTTP/1.1\r\n${H}\r\n`],
    ['host', `GET / HTTP/1.1\r\n\r\n`],
    ['host', `GET / HTTP/1.0\r\n\r\n`],
    ['host', `GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X-\x7f: y\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X: y\x7f\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X: \xe9t\xe9\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}: y\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X y: z\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X:y\r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X:   \r\n\r\n`],
    ['field', `GET / HTTP/1.1\r\n${H}X\r\n\r\n`],
    ['te 1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`],
    ['upgrade', `GET /ws HTTP/1.1\r\n${H}Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00`],
    ['oversize', `GET /${'a'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`],
    ['oversize', `GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(20000)}\r\n\r\n`],
    ['oversize', `GET / HTTP/1.1\r\n${H}${'X-Many: 1\r\n'.repeat(150)}\r\n`],
  ];
  return cases.map(([kind, s]) => ({ kind, bytes: Buffer.from(s, 'latin1') }));
}

const MUTATION_BYTES = [0, 9, 10, 13, 32, 34, 44, 58, 59, 0x7f, 0x80, 0xff, 48, 70, 102];
/** A valid stream with 1-3 random byte edits (replace, insert, delete, duplicate a span). */
export function mutate(rng: Rng, s: Buffer): Buffer {
  let b = Buffer.from(s);
  const edits = 1 + randomInt(rng, 3);
  for (let e = 0; e < edits; e++) {
    const at = randomInt(rng, b.length + 1);
    const byte = rng.next() < 0.7 ? pick(rng, MUTATION_BYTES) : randomInt(rng, 256);
    switch (randomInt(rng, 4)) {
      case 0:
        if (at < b.length) b[at] = byte;
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + randomInt(rng, 3))]);
        break;
      default: {
        const len = 1 + randomInt(rng, 8);
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
      }
    }
  }
  return b;
}

/** The corpus: valid streams, every targeted class a few times, and random mutations of valid streams. */
export function corpus(seed: number, size: number): CorpusCase[] {
  const rng = seededRng(seed);
  const out: CorpusCase[] = [];
  while (out.length < size * 0.1) out.push(...targeted(rng));
  while (out.length < size * 0.4) out.push({ kind: 'valid', bytes: Buffer.from(validStream(rng), 'latin1') });
  while (out.length < size) out.push({ kind: 'mutated', bytes: mutate(rng, Buffer.from(validStream(rng), 'latin1')) });
  return out;
}
