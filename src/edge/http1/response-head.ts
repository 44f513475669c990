import { CR, LF, FIELD_VCHAR } from './chars.ts';
import { fail } from './errors.ts';
import { scanFieldLines, parseContentLength, hasToken } from './fields.ts';

const MAX_FIELDS = 200;

/**
 * An upstream response head as the native response parser read it: the head's
 * text (status line and field lines, each ending in CRLF) and each field's
 * offsets into it, checked (RFC 9112 5) but not cut into strings. The proxy's
 * common path forwards the field lines as slices of the text
 * (src/edge/response-head.ts); `rawHeaders` builds the flat name/value list
 * only when a reader asks for it.
 */
export class ResponseHead {
  readonly status: number;
  readonly statusText: string;
  readonly versionMinor: number;
  keepAlive: boolean;
  /** The head's text, from the status line to the CRLF ending the last field line. */
  readonly text: string;
  /** Where the first field line starts in `text`. */
  readonly fieldsFrom: number;
  /** Four offsets per field into `text`: name start, name end, value start, value end (value without OWS). */
  readonly fields: readonly number[];
  /** Content-Length (-1: none; equal duplicates allowed); differing ones are refused while parsing. */
  readonly contentLength: number;
  /** Every Transfer-Encoding value joined with ", " (null: none). */
  readonly transferEncoding: string | null;
  #raw: string[] | null = null;

  constructor(status: number, statusText: string, versionMinor: number, text: string, fieldsFrom: number, fields: number[]) {
    this.status = status;
    this.statusText = statusText;
    this.versionMinor = versionMinor;
    this.text = text;
    this.fieldsFrom = fieldsFrom;
    this.fields = fields;
    let keepAlive = versionMinor === 1;
    let cl = -1;
    let te: string | null = null;
    for (let k = 0; k < fields.length; k += 4) {
      const n = fields[k + 1]! - fields[k]!;
      if (n !== 10 && n !== 14 && n !== 17) continue;
      const from = fields[k]!;
      if (n === 10 && rangeIs(text, from, 'connection')) {
        const v = text.slice(fields[k + 2]!, fields[k + 3]!);
        if (hasToken(v, 'close')) keepAlive = false;
        else if (versionMinor === 0 && hasToken(v, 'keep-alive')) keepAlive = true;
      } else if (status < 200) {
        // An interim response's framing fields mean nothing: the final response follows.
      } else if (n === 14 && rangeIs(text, from, 'content-length')) {
        const len = parseContentLength(text.slice(fields[k + 2]!, fields[k + 3]!));
        if (cl !== -1 && cl !== len) fail('duplicate_content_length', 'the upstream sent differing Content-Length values');
        cl = len;
      } else if (n === 17 && rangeIs(text, from, 'transfer-encoding')) {
        const v = text.slice(fields[k + 2]!, fields[k + 3]!);
        te = te === null ? v : `${te}, ${v}`;
      }
    }
    this.keepAlive = keepAlive;
    this.contentLength = cl;
    this.transferEncoding = te;
  }

  /** Flat name/value pairs as received (names as sent, values without surrounding OWS). */
  get rawHeaders(): string[] {
    if (this.#raw === null) {
      const f = this.fields;
      const t = this.text;
      const raw: string[] = [];
      for (let k = 0; k < f.length; k += 4) raw.push(t.slice(f[k]!, f[k + 1]!), t.slice(f[k + 2]!, f[k + 3]!));
      this.#raw = raw;
    }
    return this.#raw;
  }
}

/** Whether `s` at `from` holds `lower` (a lower-case ASCII name) case-insensitively; the caller checked the length. */
export function rangeIs(s: string, from: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(from + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** `HTTP/1.x SSS reason` + field lines, each ending in CRLF. */
export function parseStatusHead(s: string): ResponseHead {
  if (!s.startsWith('HTTP/1.')) fail('invalid_status_line', 'malformed upstream status line');
  const minor = s.charCodeAt(7) - 48;
  if ((minor !== 0 && minor !== 1) || s.charCodeAt(8) !== 32) fail('invalid_status_line', 'malformed upstream status line');
  const d0 = s.charCodeAt(9) - 48;
  const d1 = s.charCodeAt(10) - 48;
  const d2 = s.charCodeAt(11) - 48;
  if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9) fail('invalid_status_line', 'malformed upstream status code');
  const status = d0 * 100 + d1 * 10 + d2;
  let i = 12;
  let statusText = '';
  const c = s.charCodeAt(i);
  if (c === 32) {
    const start = ++i;
    let ch = s.charCodeAt(i);
    while (ch !== CR) {
      if (FIELD_VCHAR[ch] !== 1) fail('invalid_status_line', 'invalid character in the reason phrase');
      ch = s.charCodeAt(++i);
    }
    statusText = s.slice(start, i);
  } else if (c !== CR) {
    fail('invalid_status_line', 'malformed upstream status line');
  }
  if (s.charCodeAt(i + 1) !== LF) fail('bare_cr', 'CR not followed by LF in the status line');
  const fields: number[] = [];
  scanFieldLines(s, i + 2, s.length, MAX_FIELDS, fields);
  return new ResponseHead(status, statusText, minor, s, i + 2, fields);
}
