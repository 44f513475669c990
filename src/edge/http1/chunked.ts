import { HEX, TCHAR, FIELD_VCHAR, CR, LF } from './chars.ts';
import { fail } from './errors.ts';
import { parseFieldLines } from './fields.ts';

const enum S {
  SizeStart,
  Size,
  ExtName,
  ExtNameStart,
  ExtValueStart,
  ExtToken,
  ExtQuoted,
  ExtQuotedEscape,
  ExtAfterQuoted,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  TrailerLine,
  TrailerLf,
  Done,
}

/** Chunk sizes past 2^52 can't be counted exactly; nobody sends one for a real body. */
const MAX_SIZE_DIGITS = 13;
const MAX_EXTENSION_BYTES = 4096;

export interface ChunkSink {
  onData(chunk: Buffer): void;
}

/**
 * RFC 9112 7.1 chunked transfer coding, decoded incrementally: chunk sizes,
 * extensions (validated, then dropped), data, the last chunk and the trailer
 * section. Stricter than the RFC's BWS: no whitespace anywhere in a chunk
 * header line (llhttp also refuses it without its lenient flags).
 */
export class ChunkedDecoder {
  #state = S.SizeStart;
  #remaining = 0;
  #digits = 0;
  #extBytes = 0;
  #trailer = '';
  readonly #maxTrailerBytes: number;
  readonly #maxTrailerCount: number;
  trailers: string[] | null = null;

  constructor(maxTrailerBytes: number, maxTrailerCount: number) {
    this.#maxTrailerBytes = maxTrailerBytes;
    this.#maxTrailerCount = maxTrailerCount;
  }

  get done(): boolean {
    return this.#state === S.Done;
  }

  /** Consumes bytes from `off`; returns the offset after what it consumed (the end of the body, once done). */
  execute(buf: Buffer, off: number, sink: ChunkSink): number {
    const len = buf.length;
    while (off < len) {
      switch (this.#state) {
        case S.Data: {
          const n = Math.min(this.#remaining, len - off);
          sink.onData(buf.subarray(off, off + n));
          off += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = S.DataCr;
          continue;
        }
        case S.Done:
          return off;
        default:
          break;
      }
      const c = buf[off++]!;
      switch (this.#state) {
        case S.SizeStart:
        case S.Size: {
          const h = HEX[c]!;
          if (h !== 255) {
            if (this.#remaining !== 0 || h !== 0) this.#digits++;
            if (this.#digits > MAX_SIZE_DIGITS) fail('chunk_size_overflow', 'chunk size too large');
            this.#remaining = this.#remaining * 16 + h;
            this.#state = S.Size;
          } else if (this.#state === S.SizeStart) {
            fail('invalid_chunk_size', 'chunk size missing');
          } else if (c === CR) {
            this.#state = S.SizeLf;
          } else if (c === 59 /* ';' */) {
            this.#extBytes = 0;
            this.#state = S.ExtNameStart;
          } else {
            fail(c === LF ? 'bare_lf' : 'invalid_chunk_size', 'invalid character in a chunk size');
          }
          break;
        }
        case S.ExtNameStart:
        case S.ExtName:
          if (++this.#extBytes > MAX_EXTENSION_BYTES) fail('chunk_extension_too_long', 'chunk extensions too long');
          if (TCHAR[c] === 1) this.#state = S.ExtName;
          else if (this.#state === S.ExtNameStart) fail('invalid_chunk_extension', 'chunk extension name missing');
          else this.#afterExt(c, true);
          break;
        case S.ExtValueStart:
          if (++this.#extBytes > MAX_EXTENSION_BYTES) fail('chunk_extension_too_long', 'chunk extensions too long');
          if (c === 34 /* '"' */) this.#state = S.ExtQuoted;
          else if (TCHAR[c] === 1) this.#state = S.ExtToken;
          else fail('invalid_chunk_extension', 'chunk extension value missing');
          break;
        case S.ExtToken:
          if (++this.#extBytes > MAX_EXTENSION_BYTES) fail('chunk_extension_too_long', 'chunk extensions too long');
          if (TCHAR[c] !== 1) this.#afterExt(c, false);
          break;
        case S.ExtQuoted:
          if (++this.#extBytes > MAX_EXTENSION_BYTES) fail('chunk_extension_too_long', 'chunk extensions too long');
          if (c === 34) this.#state = S.ExtAfterQuoted;
          else if (c === 92 /* '\\' */) this.#state = S.ExtQuotedEscape;
          else if (FIELD_VCHAR[c] !== 1) fail('invalid_chunk_extension', 'invalid character in a quoted chunk extension');
          break;
        case S.ExtQuotedEscape:
          if (FIELD_VCHAR[c] !== 1) fail('invalid_chunk_extension', 'invalid quoted-pair in a chunk extension');
          this.#state = S.ExtQuoted;
          break;
        case S.ExtAfterQuoted:
          this.#afterExt(c, false);
          break;
        case S.SizeLf:
          if (c !== LF) fail('bare_cr', 'CR not followed by LF after a chunk size');
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#trailer = '';
            this.#state = S.TrailerLine;
          } else {
            this.#state = S.Data;
          }
          break;
        case S.DataCr:
          if (c !== CR) fail('invalid_chunk_data', 'chunk data longer than its size');
          this.#state = S.DataLf;
          break;
        case S.DataLf:
          if (c !== LF) fail('bare_cr', 'CR not followed by LF after chunk data');
          this.#state = S.SizeStart;
          break;
        case S.TrailerLine:
          if (c === CR) {
            this.#state = S.TrailerLf;
          } else {
            if (c === LF) fail('bare_lf', 'bare LF in the trailer section');
            this.#trailer += String.fromCharCode(c);
            if (this.#trailer.length > this.#maxTrailerBytes) fail('trailers_too_large', 'trailer section too large', 431);
          }
          break;
        case S.TrailerLf:
          if (c !== LF) fail('bare_cr', 'CR not followed by LF in the trailer section');
          if (this.#trailer.length === 0 || this.#trailer.endsWith('\r\n')) {
            // An empty line ends the trailer section (and the body).
            if (this.#trailer.length > 0) {
              const out: string[] = [];
              parseFieldLines(this.#trailer, 0, this.#trailer.length, this.#maxTrailerCount, out);
              this.trailers = out;
            }
            this.#state = S.Done;
            return off;
          }
          this.#trailer += '\r\n';
          this.#state = S.TrailerLine;
          break;
        default:
          break;
      }
    }
    return off;
  }

  #afterExt(c: number, afterName: boolean): void {
    if (c === 59) this.#state = S.ExtNameStart;
    else if (c === CR) this.#state = S.SizeLf;
    else if (afterName && c === 61 /* '=' */) this.#state = S.ExtValueStart;
    else fail(c === LF ? 'bare_lf' : 'invalid_chunk_extension', 'invalid character in a chunk extension');
  }
}
