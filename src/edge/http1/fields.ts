import { TCHAR, FIELD_VCHAR, CR, LF, SP, HTAB } from './chars.ts';
import { fail } from './errors.ts';

/**
 * Parses the field lines in `s[from, end)` (each ending in CRLF, as found
 * before the blank line that ends a header or trailer section) into `out` as
 * flat name/value pairs, names as received, values without surrounding OWS.
 * RFC 9112 5: obs-fold, whitespace between name and colon, bare CR/LF, NUL
 * and other controls are refused.
 */
export function parseFieldLines(s: string, from: number, end: number, maxCount: number, out: string[]): void {
  // A fresh array: emptying a shared one (length = 0) is a runtime call that cost more than the allocation.
  const offsets: number[] = [];
  scanFieldLines(s, from, end, maxCount - (out.length >> 1), offsets);
  for (let k = 0; k < offsets.length; k += 4) out.push(s.slice(offsets[k]!, offsets[k + 1]!), s.slice(offsets[k + 2]!, offsets[k + 3]!));
}

/**
 * The check of parseFieldLines, recording each field as four offsets into `s`
 * (name start, name end, value start, value end; the value without its
 * surrounding OWS; a field's line runs from its name start to the next one's,
 * or to `end`) instead of strings, for a reader that needs few of them as
 * strings (the upstream response head: src/edge/http1/response-head.ts).
 */
export function scanFieldLines(s: string, from: number, end: number, maxCount: number, out: number[]): void {
  const tchar = TCHAR;
  let i = from;
  while (i < end) {
    const c0 = s.charCodeAt(i);
    if (c0 === SP || c0 === HTAB) fail('obs_fold', 'obsolete line folding is not accepted');
    let j = i;
    while (tchar[s.charCodeAt(j)] === 1) j++;
    const cj = s.charCodeAt(j);
    if (cj !== 58 /* ':' */ || j === i) {
      if (j > i && (cj === SP || cj === HTAB)) fail('space_before_colon', 'whitespace between a field name and its colon');
      fail(cj === LF ? 'bare_lf' : cj === CR ? 'bare_cr' : 'invalid_header_name', 'malformed field name');
    }
    let k = j + 1;
    let c = s.charCodeAt(k);
    while (c === SP || c === HTAB) c = s.charCodeAt(++k);
    const vStart = k;
    // The value's characters in one native scan (a JWT or a cookie is hundreds of them: a char loop cost
    // microseconds); anything but CR where the scan stops is refused by the exact loop, with its reason.
    VALUE_RUN.lastIndex = k;
    VALUE_RUN.test(s);
    k = VALUE_RUN.lastIndex;
    if (s.charCodeAt(k) !== CR) k = refuseValue(s, vStart);
    let vEnd = k;
    while (vEnd > vStart && ((c = s.charCodeAt(vEnd - 1)) === SP || c === HTAB)) vEnd--;
    if (s.charCodeAt(k + 1) !== LF) fail('bare_cr', 'CR not followed by LF');
    out.push(i, j, vStart, vEnd);
    if (out.length > maxCount * 4) fail('too_many_headers', `more than ${maxCount} header fields`, 431);
    i = k + 2;
  }
}

/** RFC 9110 5.5 field-value characters (FIELD_VCHAR) as a sticky run. */
const VALUE_RUN = /[\t\x20-\x7e\x80-\xff]*/y;

/** The character-by-character check of a value from `k`: throws at the first character FIELD_VCHAR refuses. */
function refuseValue(s: string, k: number): number {
  let c = s.charCodeAt(k);
  while (c !== CR) {
    if (FIELD_VCHAR[c] !== 1) fail(c === LF ? 'bare_lf' : 'invalid_header_value', 'invalid character in a field value');
    c = s.charCodeAt(++k);
  }
  return k;
}

/** Case-insensitive equality of a received name with a lower-case ASCII name of the same length. */
export function nameIs(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  if (name === lower) return true;
  for (let i = 0; i < name.length; i++) {
    let c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Content-Length: 1*DIGIT, at most 15 digits (past 2^53 a number is no longer exact). */
export function parseContentLength(v: string): number {
  if (v.length === 0 || v.length > 15) fail('invalid_content_length', 'Content-Length is not a number of at most 15 digits');
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v.charCodeAt(i) - 48;
    if (d < 0 || d > 9) fail('invalid_content_length', 'Content-Length is not a number');
    n = n * 10 + d;
  }
  return n;
}

/** Whether a comma-separated header value (Connection) holds `token`, case-insensitively. */
export function hasToken(value: string, token: string): boolean {
  if (value.length === token.length) return nameIs(value, token);
  const lower = value.toLowerCase();
  let from = 0;
  while (from <= lower.length) {
    let comma = lower.indexOf(',', from);
    if (comma < 0) comma = lower.length;
    if (lower.slice(from, comma).trim() === token) return true;
    from = comma + 1;
  }
  return false;
}

/**
 * The transfer codings of a message, from every Transfer-Encoding line joined:
 * 'chunked' when that is the only coding, otherwise a parse error. A request
 * whose final coding is not chunked has no reliable length (RFC 9112 6.3: 400);
 * other codings before chunked are not implemented here (501, stricter than
 * llhttp, which accepts e.g. "gzip, chunked").
 */
export function checkRequestTransferEncoding(joined: string): void {
  const parts = joined.toLowerCase().split(',');
  let last = '';
  let n = 0;
  for (const p of parts) {
    const t = p.trim();
    if (t === '') continue;
    last = t;
    n++;
  }
  if (last !== 'chunked') fail('invalid_transfer_encoding', 'Transfer-Encoding does not end with chunked');
  if (n !== 1) fail('unsupported_transfer_coding', 'transfer codings other than chunked are not supported', 501);
}
