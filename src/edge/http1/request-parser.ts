import { TCHAR, TARGET_CHAR, CR, LF, SP } from './chars.ts';
import { fail, Http1ParseError } from './errors.ts';
import { parseFieldLines, nameIs, parseContentLength, hasToken, checkRequestTransferEncoding } from './fields.ts';
import { ChunkedDecoder } from './chunked.ts';
import { METHODS } from 'node:http';

export interface Http1Limits {
  /** Request line + header section, bytes (431 past it). */
  maxHeaderBytes: number;
  /** Header fields per request (431 past it). */
  maxHeaderCount: number;
  /** Request-target length (414 past it). */
  maxUriLength: number;
}

export const DEFAULT_LIMITS: Http1Limits = { maxHeaderBytes: 16384, maxHeaderCount: 100, maxUriLength: 8192 };

export interface RequestHead {
  method: string;
  url: string;
  /** 0 or 1 (HTTP/1.0 or HTTP/1.1). */
  versionMinor: number;
  /** Flat name/value pairs as received. */
  rawHeaders: string[];
  /** -1 when the request has no Content-Length. */
  contentLength: number;
  chunked: boolean;
  keepAlive: boolean;
  /** Upgrade + Connection: upgrade: the parser stops after the head; the rest of the stream is the new protocol's. */
  upgrade: boolean;
  expectContinue: boolean;
  host: string | undefined;
}

export interface RequestHandler {
  onHead(head: RequestHead): void;
  onBody(chunk: Buffer): void;
  /** The message is complete; `trailers` are the chunked trailer fields, if any. */
  onEnd(trailers: string[] | null): void;
}

/** llhttp's method list (what node:http accepts), except CONNECT: a gateway that does not tunnel refuses it. */
const KNOWN_METHODS = new Set(METHODS.filter((m) => m !== 'CONNECT'));
const CRLFCRLF = Buffer.from('\r\n\r\n');

const enum State {
  Head,
  BodyLength,
  BodyChunked,
  Upgraded,
  /** After a request that ends the connection: whatever follows is never parsed. */
  Closed,
  Failed,
}

/**
 * Incremental, strict (RFC 9112) parser for a stream of HTTP/1.1 requests on
 * one connection. Feed it socket reads with execute(); it calls the handler
 * per head, body piece and end. The handler may pause() the parser (pipelined
 * requests wait for the response in front of them, bodies for a slow upstream);
 * unconsumed bytes are kept until resume(). Errors are thrown as
 * Http1ParseError and leave the parser failed: the connection must close.
 */
export class RequestParser {
  readonly #limits: Http1Limits;
  readonly #handler: RequestHandler;
  #state = State.Head;
  #pending: Buffer | null = null;
  #paused = false;
  #remaining = 0;
  #keepAlive = true;
  #chunked: ChunkedDecoder | null = null;
  /** The chunked decoder's data callback, bound once per connection. */
  readonly #sink: { onData: (b: Buffer) => void };

  constructor(handler: RequestHandler, limits: Http1Limits = DEFAULT_LIMITS) {
    this.#handler = handler;
    this.#limits = limits;
    this.#sink = { onData: (b: Buffer) => handler.onBody(b) };
  }

  /** Bytes received but not parsed yet (pipelined requests behind a paused one). */
  get bufferedBytes(): number {
    return this.#pending === null ? 0 : this.#pending.length;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** True between messages with nothing buffered: a connection in this state is idle. */
  get idle(): boolean {
    return this.#state === State.Head && this.#pending === null;
  }

  /** Between a head and the end of its body. */
  get inBody(): boolean {
    return this.#state === State.BodyLength || this.#state === State.BodyChunked;
  }

  /** Bytes received after an upgrade request's head (they belong to the upgraded protocol). */
  takeLeftover(): Buffer {
    const b = this.#pending ?? Buffer.alloc(0);
    this.#pending = null;
    return b;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    if (this.#pending !== null) {
      const b = this.#pending;
      this.#pending = null;
      this.execute(b);
    }
  }

  /** Whether the stream may end here: false when it ends inside a message (truncated body, missing last chunk). */
  atMessageBoundary(): boolean {
    return this.#state === State.Upgraded || this.#state === State.Closed || (this.#state === State.Head && (this.#pending === null || isOnlyCrlf(this.#pending)));
  }

  execute(chunk: Buffer): void {
    if (this.#state === State.Failed || this.#state === State.Closed) return;
    let buf = chunk;
    if (this.#pending !== null) {
      buf = chunk.length === 0 ? this.#pending : Buffer.concat([this.#pending, chunk]);
      this.#pending = null;
    }
    if (this.#paused || this.#state === State.Upgraded) {
      if (buf.length > 0) this.#pending = buf;
      return;
    }
    try {
      this.#run(buf);
    } catch (err) {
      if (err instanceof Http1ParseError) this.#state = State.Failed;
      throw err;
    }
  }

  #run(buf: Buffer): void {
    let off = 0;
    const len = buf.length;
    while (off < len && !this.#paused) {
      switch (this.#state) {
        case State.Head: {
          // RFC 9112 2.2: empty lines before a request line are ignored.
          while (off + 1 < len && buf[off] === CR && buf[off + 1] === LF) off += 2;
          if (off === len) return;
          if (len - off === 1 && buf[off] === CR) {
            this.#pending = buf.subarray(off);
            return;
          }
          const end = buf.indexOf(CRLFCRLF, off);
          if (end < 0) {
            if (len - off > this.#limits.maxHeaderBytes) this.#tooLarge(buf, off, len);
            checkPartialHead(buf, off, len, this.#limits);
            this.#pending = buf.subarray(off);
            return;
          }
          if (end + 4 - off > this.#limits.maxHeaderBytes) this.#tooLarge(buf, off, end);
          const head = parseHead(buf.toString('latin1', off, end + 2), this.#limits);
          off = end + 4;
          this.#keepAlive = head.keepAlive;
          this.#beginBody(head);
          this.#handler.onHead(head);
          if (this.#state === State.Head) this.#ended(null);
          else if (this.#state === State.Upgraded) {
            if (off < len) this.#pending = buf.subarray(off);
            return;
          }
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.#remaining, len - off);
          this.#remaining -= n;
          const piece = buf.subarray(off, off + n);
          off += n;
          if (this.#remaining === 0) this.#state = State.Head;
          this.#handler.onBody(piece);
          if (this.#state === State.Head) this.#ended(null);
          break;
        }
        case State.BodyChunked: {
          const d = this.#chunked!;
          off = d.execute(buf, off, this.#sink);
          if (d.done) {
            this.#state = State.Head;
            this.#chunked = null;
            this.#ended(d.trailers);
          }
          break;
        }
        default:
          return;
      }
    }
    if (off < len && this.#state !== State.Closed) this.#pending = buf.subarray(off);
  }

  #ended(trailers: string[] | null): void {
    if (!this.#keepAlive) this.#state = State.Closed;
    this.#handler.onEnd(trailers);
  }

  #beginBody(head: RequestHead): void {
    if (head.upgrade) {
      this.#state = State.Upgraded;
    } else if (head.chunked) {
      this.#chunked = new ChunkedDecoder(this.#limits.maxHeaderBytes, this.#limits.maxHeaderCount);
      this.#state = State.BodyChunked;
    } else if (head.contentLength > 0) {
      this.#remaining = head.contentLength;
      this.#state = State.BodyLength;
    } else {
      this.#state = State.Head;
    }
  }

  /** 414 when the request line alone is past the URI limit, 431 otherwise. */
  #tooLarge(buf: Buffer, off: number, end: number): never {
    const lineEnd = buf.indexOf(LF, off);
    if (lineEnd < 0 || lineEnd > end || lineEnd - off > this.#limits.maxUriLength) fail('uri_too_long', 'request target too long', 414);
    fail('header_too_large', 'request header section too large', 431);
  }
}

/**
 * While a head is incomplete, refuse what can never become valid (a bare LF,
 * a NUL, an over-long request target) at once instead of waiting for more.
 */
function checkPartialHead(buf: Buffer, off: number, len: number, limits: Http1Limits): void {
  let lf = buf.indexOf(LF, off);
  while (lf >= 0 && lf < len) {
    if (lf === off || buf[lf - 1] !== CR) fail('bare_lf', 'bare LF in the request head');
    lf = buf.indexOf(LF, lf + 1);
  }
  if (buf.indexOf(0, off) >= 0) fail('invalid_character', 'NUL in the request head');
  const firstLf = buf.indexOf(LF, off);
  if (firstLf < 0 && len - off > limits.maxUriLength + 24) fail('uri_too_long', 'request target too long', 414);
}

function isOnlyCrlf(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== CR && b[i] !== LF) return false;
  return true;
}

/** Parses `s` = request line + field lines, each ending in CRLF (the blank line excluded). */
export function parseHead(s: string, limits: Http1Limits): RequestHead {
  let i = 0;
  while (TCHAR[s.charCodeAt(i)] === 1) i++;
  if (i === 0 || s.charCodeAt(i) !== SP) fail('invalid_method', 'malformed request method');
  const method = s.slice(0, i);
  if (!KNOWN_METHODS.has(method)) fail(method === 'CONNECT' ? 'connect_not_supported' : 'invalid_method', `method ${method} not supported`, method === 'CONNECT' ? 405 : 400);
  const tStart = ++i;
  while (TARGET_CHAR[s.charCodeAt(i)] === 1) i++;
  const url = s.slice(tStart, i);
  if (url.length > limits.maxUriLength) fail('uri_too_long', 'request target too long', 414);
  if (s.charCodeAt(i) !== SP || url.length === 0) fail('invalid_request_target', 'malformed request target');
  const first = url.charCodeAt(0);
  if (first !== 47 /* '/' */ && !(url === '*' && method === 'OPTIONS') && !isAbsoluteForm(url)) fail('invalid_request_target', 'request target is not in origin, absolute or asterisk form');
  i++;
  if (s.charCodeAt(i) !== 72 || s.slice(i, i + 5) !== 'HTTP/') fail('invalid_version', 'malformed HTTP version');
  const major = s.charCodeAt(i + 5) - 48;
  const minor = s.charCodeAt(i + 7) - 48;
  if (s.charCodeAt(i + 6) !== 46 || major < 0 || major > 9 || minor < 0 || minor > 9) fail('invalid_version', 'malformed HTTP version');
  if (s.charCodeAt(i + 8) !== CR || s.charCodeAt(i + 9) !== LF) fail(s.charCodeAt(i + 8) === LF ? 'bare_lf' : 'invalid_version', 'malformed request line');
  if (major !== 1 || minor > 1) fail('version_not_supported', `HTTP/${major}.${minor} is not supported`, 505);
  const raw: string[] = [];
  parseFieldLines(s, i + 10, s.length, limits.maxHeaderCount, raw);
  return interpret(method, url, minor, raw);
}

function isAbsoluteForm(url: string): boolean {
  return /^https?:\/\/[^/?#]/i.test(url);
}

/** The framing and connection semantics of a request's header fields (RFC 9112 6, 9). */
function interpret(method: string, url: string, minor: number, raw: string[]): RequestHead {
  let contentLength = -1;
  let te: string | null = null;
  let connection: string | null = null;
  let host: string | undefined;
  let hostCount = 0;
  let upgradeHeader = false;
  let expectContinue = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (nameIs(name, 'host')) {
          host = raw[i + 1]!;
          hostCount++;
        }
        break;
      case 6:
        if (nameIs(name, 'expect') && nameIs(raw[i + 1]!, '100-continue')) expectContinue = true;
        break;
      case 7:
        if (nameIs(name, 'upgrade')) upgradeHeader = true;
        break;
      case 10:
        if (nameIs(name, 'connection')) connection = connection === null ? raw[i + 1]! : `${connection}, ${raw[i + 1]!}`;
        break;
      case 14:
        if (nameIs(name, 'content-length')) {
          // Duplicates are refused even when equal (llhttp does the same; RFC 9112 6.3 allows either).
          if (contentLength !== -1) fail('duplicate_content_length', 'more than one Content-Length');
          contentLength = parseContentLength(raw[i + 1]!);
        } else if (nameIs(name.replace(/_/g, '-'), 'content-length')) {
          fail('ambiguous_framing_header', 'a Content-Length look-alike field name');
        }
        break;
      case 17:
        if (nameIs(name, 'transfer-encoding')) te = te === null ? raw[i + 1]! : `${te}, ${raw[i + 1]!}`;
        else if (nameIs(name.replace(/_/g, '-'), 'transfer-encoding')) fail('ambiguous_framing_header', 'a Transfer-Encoding look-alike field name');
        break;
      default:
        break;
    }
  }
  if (te !== null) {
    if (contentLength !== -1) fail('content_length_with_transfer_encoding', 'both Content-Length and Transfer-Encoding');
    if (minor === 0) fail('invalid_transfer_encoding', 'Transfer-Encoding in an HTTP/1.0 request');
    checkRequestTransferEncoding(te);
  }
  if (hostCount > 1) fail('duplicate_host', 'more than one Host field');
  if (minor === 1 && hostCount === 0) fail('missing_host', 'HTTP/1.1 request without Host');
  let keepAlive = minor === 1;
  let upgrade = false;
  if (connection !== null) {
    if (hasToken(connection, 'close')) keepAlive = false;
    else if (minor === 0 && hasToken(connection, 'keep-alive')) keepAlive = true;
    upgrade = upgradeHeader && hasToken(connection, 'upgrade');
  }
  return { method, url, versionMinor: minor, rawHeaders: raw, contentLength, chunked: te !== null, keepAlive, upgrade, expectContinue, host };
}
