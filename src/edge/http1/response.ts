import type { Socket } from 'node:net';
import { responseHead, reasonPhrase, chunkHeader, LAST_CHUNK, CRLF } from './serialize.ts';
import { nameIs } from './fields.ts';

/** Bodies up to this size leave in the same buffer as the head (a copy is cheaper than a writev under it). */
const SMALL_BODY = 16 * 1024;

/** What a response needs from its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** The response is complete on the wire: the next pipelined request may start. */
  responseDone(res: NativeResponse, keepAlive: boolean): void;
}

/**
 * The downstream response in the shape the proxy's Exchange and sendError()
 * use (writeHead with flat headers, write/end, headersSent, 'close' and
 * 'drain'), written straight to the socket: head and first body bytes leave in
 * one writev. Framing: the upstream's Content-Length when it has one, else
 * chunked (HTTP/1.1) or close-delimited (HTTP/1.0); none for HEAD, 204, 304.
 */
export class NativeResponse {
  headersSent = false;
  /** Set by the connection: close after this response (client asked, draining, HTTP/1.0). */
  shouldKeepAlive: boolean;
  readonly #owner: ResponseOwner;
  readonly #head: boolean;
  readonly #http10: boolean;
  #pendingHead: string | null = null;
  #chunked = false;
  #noBody = false;
  #finished = false;
  #closeListener: (() => void) | null = null;
  #closed = false;

  constructor(owner: ResponseOwner, method: string, keepAlive: boolean, http10: boolean) {
    this.#owner = owner;
    this.#head = method === 'HEAD';
    this.shouldKeepAlive = keepAlive;
    this.#http10 = http10;
  }

  get writableEnded(): boolean {
    return this.#finished;
  }

  on(event: string, fn: () => void): this {
    if (event === 'close') this.#closeListener = fn;
    return this;
  }

  once(event: string, fn: () => void): this {
    if (event === 'drain') this.#owner.socket.once('drain', fn);
    else if (event === 'close') this.#closeListener = fn;
    return this;
  }

  writeHead(status: number, textOrHeaders?: string | string[] | Record<string, string>, maybeHeaders?: string[] | Record<string, string>): this {
    const text = typeof textOrHeaders === 'string' ? textOrHeaders : '';
    const given = typeof textOrHeaders === 'string' ? maybeHeaders : textOrHeaders;
    const flat = given === undefined ? [] : Array.isArray(given) ? given : Object.entries(given).flat();
    let hasLength = false;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i]!.length === 14 && nameIs(flat[i]!, 'content-length')) hasLength = true;
    }
    this.#pendingHead = responseHead(status, text, flat, this.#framing(status, hasLength));
    this.headersSent = true;
    return this;
  }

  /**
   * The proxy's fast path: field lines already serialised from values that
   * need no check (the native parsers validated the upstream's, the route's
   * were checked at compile time); `statusText` likewise comes from the parser.
   */
  writeHeadLines(status: number, statusText: string, lines: string, hasLength: boolean): void {
    const framing = this.#framing(status, hasLength);
    this.#pendingHead = 'HTTP/1.1 ' + status + ' ' + (statusText === '' ? reasonPhrase(status) : statusText) + '\r\n' + lines + framing + '\r\n';
    this.headersSent = true;
  }

  /** Decides the body framing and the connection header; returns their lines. */
  #framing(status: number, hasLength: boolean): string {
    this.#noBody = this.#head || status === 204 || status === 304 || (status >= 100 && status < 200);
    let framing = '';
    if (!this.#noBody && !hasLength) {
      if (this.#http10) this.shouldKeepAlive = false;
      else {
        this.#chunked = true;
        framing = 'transfer-encoding: chunked\r\n';
      }
    }
    if (!this.shouldKeepAlive) framing += 'connection: close\r\n';
    else if (this.#http10) framing += 'connection: keep-alive\r\n';
    return framing;
  }

  write(chunk: Buffer | string): boolean {
    if (this.#finished || this.#closed) return true;
    const socket = this.#owner.socket;
    const head = this.#pendingHead;
    if (this.#noBody || chunk.length === 0) {
      if (head !== null) {
        this.#pendingHead = null;
        return socket.write(head, 'latin1');
      }
      return true;
    }
    if (head !== null && !this.#chunked && chunk.length <= SMALL_BODY) {
      // The usual small response: head and body copied into one buffer, one plain write (no cork, no writev).
      this.#pendingHead = null;
      const headBytes = head.length; // latin1: one byte per character
      const bodyBytes = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      const out = Buffer.allocUnsafe(headBytes + bodyBytes);
      out.write(head, 0, headBytes, 'latin1');
      if (typeof chunk === 'string') out.write(chunk, headBytes);
      else chunk.copy(out, headBytes);
      return socket.write(out);
    }
    socket.cork();
    if (head !== null) {
      this.#pendingHead = null;
      socket.write(head, 'latin1');
    }
    let ok: boolean;
    if (this.#chunked) {
      socket.write(chunkHeader(Buffer.byteLength(chunk)));
      socket.write(chunk);
      ok = socket.write(CRLF);
    } else {
      ok = socket.write(chunk);
    }
    socket.uncork();
    return ok;
  }

  end(chunk?: Buffer | string): void {
    if (this.#finished || this.#closed) return;
    if (!this.headersSent) this.writeHead(200, []);
    const socket = this.#owner.socket;
    if (!this.#chunked && this.#pendingHead === null && (chunk === undefined || chunk.length === 0)) {
      // The proxied response's body already went out with write(): nothing left to send.
      this.#finished = true;
      this.#owner.responseDone(this, this.shouldKeepAlive);
      return;
    }
    socket.cork();
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    else if (this.#pendingHead !== null) {
      socket.write(this.#pendingHead, 'latin1');
      this.#pendingHead = null;
    }
    if (this.#chunked) socket.write(LAST_CHUNK);
    socket.uncork();
    this.#finished = true;
    this.#owner.responseDone(this, this.shouldKeepAlive);
  }

  /** Cuts the response (mid-body upstream failure): the connection goes, the client sees a truncated message. */
  destroy(_err?: Error): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#owner.socket.destroy();
  }

  /** The connection closed before this response finished (client went away, or destroy()). */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    const fn = this.#closeListener;
    if (fn !== null) fn.call(this);
  }

  get finished(): boolean {
    return this.#finished;
  }
}
