import { fail, Http1ParseError } from './errors.ts';
import { ChunkedDecoder } from './chunked.ts';
import { parseStatusHead, type ResponseHead } from './response-head.ts';

export { parseStatusHead, type ResponseHead };

export interface ResponseHandler {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');
const MAX_HEAD = 65536;
const MAX_FIELDS = 200;

const enum State {
  Idle,
  Head,
  BodyLength,
  BodyChunked,
  BodyUntilClose,
  Failed,
}

/**
 * Incremental parser for the responses on one upstream connection (RFC 9112 6.3
 * message length): no body for HEAD, 1xx, 204 and 304; chunked; Content-Length;
 * otherwise until the connection closes. Interim 1xx responses are skipped.
 * Upstream framing errors (both CL and TE, bad lengths, bytes after a
 * response) throw Http1ParseError: the connection is then not reused.
 */
export class ResponseParser {
  readonly #handler: ResponseHandler;
  #state = State.Idle;
  #pending: Buffer | null = null;
  #noBody = false;
  #remaining = 0;
  #chunked: ChunkedDecoder | null = null;
  #paused = false;
  #sink: { onData: (b: Buffer) => void };

  constructor(handler: ResponseHandler) {
    this.#handler = handler;
    this.#sink = { onData: (b) => handler.onBody(b) };
  }

  /** Announces the next response: `head` = it answers a HEAD request (no body whatever its headers say). */
  expect(head: boolean): void {
    this.#state = State.Head;
    this.#noBody = head;
  }

  /** The response in progress ends only when the connection closes. */
  get untilClose(): boolean {
    return this.#state === State.BodyUntilClose;
  }

  get idle(): boolean {
    return this.#state === State.Idle;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const p = this.#pending;
    if (p !== null) {
      this.#pending = null;
      this.execute(p);
    }
  }

  execute(chunk: Buffer): void {
    let buf = chunk;
    if (this.#pending !== null) {
      buf = Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    if (this.#paused) {
      this.#pending = buf;
      return;
    }
    try {
      this.#run(buf);
    } catch (err) {
      if (err instanceof Http1ParseError) this.#state = State.Failed;
      throw err;
    }
  }

  /** The connection ended: completes a close-delimited body; anything else cut short is an error. */
  finish(): void {
    if (this.#state === State.BodyUntilClose) {
      this.#state = State.Idle;
      this.#handler.onEnd();
      return;
    }
    if (this.#state !== State.Idle) fail('incomplete_response', 'the upstream closed the connection before the response was complete');
  }

  #run(buf: Buffer): void {
    let off = 0;
    const len = buf.length;
    while (off < len && !this.#paused) {
      switch (this.#state) {
        case State.Idle:
          fail('unexpected_response_data', 'the upstream sent bytes with no request outstanding');
        // eslint-disable-next-line no-fallthrough
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, off);
          if (end < 0) {
            if (len - off > MAX_HEAD) fail('response_header_too_large', 'upstream response head too large');
            this.#pending = buf.subarray(off);
            return;
          }
          const head = parseStatusHead(buf.toString('latin1', off, end + 2));
          off = end + 4;
          if (head.status < 200) {
            if (head.status === 101) fail('unexpected_upgrade', 'the upstream switched protocols unasked');
            continue; // interim response: the final one follows
          }
          this.#frame(head);
          this.#handler.onHead(head);
          if ((this.#state as State) === State.Idle) this.#handler.onEnd();
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.#remaining, len - off);
          this.#remaining -= n;
          const piece = buf.subarray(off, off + n);
          off += n;
          if (this.#remaining === 0) this.#state = State.Idle;
          this.#handler.onBody(piece);
          if (this.#state === State.Idle) this.#handler.onEnd();
          break;
        }
        case State.BodyChunked: {
          const d = this.#chunked!;
          off = d.execute(buf, off, this.#sink);
          if (d.done) {
            this.#chunked = null;
            this.#state = State.Idle;
            this.#handler.onEnd();
          }
          break;
        }
        case State.BodyUntilClose:
          this.#handler.onBody(off === 0 ? buf : buf.subarray(off));
          return;
        default:
          return;
      }
    }
    if (off < len) this.#pending = buf.subarray(off);
  }

  #frame(head: ResponseHead): void {
    const cl = head.contentLength;
    const te = head.transferEncoding;
    const s = head.status;
    if (this.#noBody || s === 204 || s === 304) {
      this.#state = State.Idle;
      return;
    }
    if (te !== null) {
      if (cl !== -1) fail('content_length_with_transfer_encoding', 'the upstream sent both Content-Length and Transfer-Encoding');
      if (hasFinalChunked(te)) {
        this.#chunked = new ChunkedDecoder(MAX_HEAD, MAX_FIELDS);
        this.#state = State.BodyChunked;
        return;
      }
      head.keepAlive = false;
      this.#state = State.BodyUntilClose;
      return;
    }
    if (cl >= 0) {
      this.#remaining = cl;
      this.#state = cl === 0 ? State.Idle : State.BodyLength;
      return;
    }
    head.keepAlive = false;
    this.#state = State.BodyUntilClose;
  }
}

function hasFinalChunked(te: string): boolean {
  const parts = te.split(',');
  return parts[parts.length - 1]!.trim().toLowerCase() === 'chunked';
}
