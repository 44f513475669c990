import net from 'node:net';
import tls from 'node:tls';
import type { Readable } from 'node:stream';
import { ResponseParser, type ResponseHead } from './response-parser.ts';
import { requestHead, chunkHeader, LAST_CHUNK, CRLF } from './serialize.ts';
import { nameIs } from './fields.ts';
import { Http1ParseError } from './errors.ts';
import { PhaseTimer } from './phase-timer.ts';
import { slabReads } from './read-slab.ts';

/** The subset of undici's legacy dispatch handler that the proxy's Exchange implements. */
export interface DispatchHandler {
  onConnect(abort: (err?: Error) => void): void;
  /** rawHeaders are strings here (undici passes Buffers; the Exchange reads both through toString('latin1')). */
  onHeaders(statusCode: number, rawHeaders: unknown[], resume: () => void, statusText: string): boolean;
  /** When present, called instead of onHeaders with the parsed head itself (its fields not cut into strings yet); same contract. */
  onResponseHead?(head: ResponseHead, resume: () => void): boolean;
  onData(chunk: Buffer): boolean;
  onComplete(trailers: unknown): void;
  onError(err: Error): void;
}

export interface DispatchOptions {
  path: string;
  method: string;
  headers: string[];
  /** Pairs of `headers` before this index are known clean (from the native request parser): their CR/LF/NUL check is skipped. */
  headersCheckedFrom?: number;
  body: Readable | null;
  /** 0: none. Time from the request being written to the response head. */
  headersTimeout?: number;
  /** 0: none. Longest gap between response body reads. */
  bodyTimeout?: number;
}

export interface UpstreamPoolOptions {
  host: string;
  port: number;
  tls: tls.ConnectionOptions | null;
  /** Connection cap (the cluster's circuit breaker maxConnections share, or connectionsPerEndpoint). */
  connections: number;
  connectTimeoutMs: number;
  /** Idle keep-alive connections close after this. */
  idleTimeoutMs: number;
}

/** An error code the proxy's upstream-error classification already knows (undici's names), so breakers and retries treat both engines alike. */
export class UpstreamError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
  }
}

interface Queued {
  opts: DispatchOptions;
  handler: DispatchHandler;
}

/**
 * Keep-alive HTTP/1.1 connections to one endpoint, one request at a time per
 * connection, at most `connections` of them; requests over the cap wait in
 * FIFO order. Exposes undici's `dispatch(options, handler)` so the proxy's
 * Exchange runs unchanged on either engine.
 */
export class UpstreamPool {
  readonly options: UpstreamPoolOptions;
  #idle: Connection[] = [];
  #all = new Set<Connection>();
  #connecting = 0;
  #queue: Queued[] = [];
  #closing = false;
  #closed: (() => void) | null = null;

  /** `host:port` for a Host header the request lacks. */
  readonly authority: string;

  constructor(options: UpstreamPoolOptions) {
    this.options = options;
    this.authority = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  }

  get connected(): number {
    return this.#all.size;
  }

  get pending(): number {
    return this.#queue.length;
  }

  dispatch(opts: DispatchOptions, handler: DispatchHandler): boolean {
    if (this.#closing) {
      queueMicrotask(() => handler.onError(new UpstreamError('UND_ERR_CLOSED', 'the upstream pool is closed')));
      return false;
    }
    const conn = this.#idle.pop();
    if (conn !== undefined) {
      conn.run(opts, handler);
      return true;
    }
    this.#queue.push({ opts, handler });
    if (this.#all.size + this.#connecting < this.options.connections && this.#connecting < this.#queue.length) this.#connect();
    return true;
  }

  #connect(): void {
    this.#connecting++;
    const o = this.options;
    // Every read reaches the Connection through `received`: plain TCP past the stream machinery (slabReads),
    // TLS through 'data' (tls.connect has no onread). Reading starts after the 'connect' listener below has
    // run, so bytes find their Connection; if not, fail the connect.
    let conn: Connection | null = null;
    const received = (chunk: Buffer): void => {
      if (conn !== null) conn.received(chunk);
      else socket.destroy(new UpstreamError('UND_ERR_SOCKET', 'the upstream sent bytes before the connection was set up'));
    };
    const socket = o.tls !== null ? tls.connect({ ...o.tls, host: o.host, port: o.port }) : net.connect({ host: o.host, port: o.port, onread: slabReads(received) });
    if (o.tls !== null) socket.on('data', received);
    socket.setNoDelay(true);
    let settled = false;
    const timer = setTimeout(() => fail(new UpstreamError('UND_ERR_CONNECT_TIMEOUT', `connecting to ${o.host}:${o.port} timed out`)), o.connectTimeoutMs);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#connecting--;
      socket.destroy();
      // A connect failure fails one waiting request (the one that caused it); others wait for their own connection.
      const q = this.#queue.shift();
      if (q !== undefined) q.handler.onError(err);
      if (this.#queue.length > this.#connecting && this.#all.size + this.#connecting < o.connections && !this.#closing) this.#connect();
      this.#maybeClosed();
    };
    socket.once('error', fail);
    socket.once(o.tls !== null ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', fail);
      this.#connecting--;
      conn = new Connection(this, socket);
      this.#all.add(conn);
      this.released(conn);
    });
  }

  /** A connection is free again (or new): it takes the next queued request, or waits idle. */
  released(conn: Connection): void {
    const q = this.#queue.shift();
    if (q !== undefined) {
      conn.run(q.opts, q.handler);
      return;
    }
    if (this.#closing) {
      conn.destroy();
      return;
    }
    conn.idleSince();
    this.#idle.push(conn);
  }

  /** A connection is gone (closed by either side, failed, timed out). */
  removed(conn: Connection): void {
    this.#all.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.#queue.length > this.#connecting && this.#all.size + this.#connecting < this.options.connections && !this.#closing) this.#connect();
    this.#maybeClosed();
  }

  #maybeClosed(): void {
    if (this.#closing && this.#all.size === 0 && this.#connecting === 0 && this.#closed !== null) {
      const done = this.#closed;
      this.#closed = null;
      done();
    }
  }

  /** Graceful: requests already dispatched finish (queued ones included), then every connection closes. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#closed = resolve;
      const finishQueue = () => {
        this.#closing = true;
        for (const c of this.#idle.splice(0)) c.destroy();
        this.#maybeClosed();
      };
      if (this.#queue.length === 0) finishQueue();
      else {
        // Let queued requests drain first; new dispatches are refused from now on.
        const check = setInterval(() => {
          if (this.#queue.length === 0) {
            clearInterval(check);
            finishQueue();
          }
        }, 20);
        check.unref();
      }
    });
  }

  destroy(): Promise<void> {
    this.#closing = true;
    for (const q of this.#queue.splice(0)) q.handler.onError(new UpstreamError('UND_ERR_DESTROYED', 'the upstream pool was destroyed'));
    for (const c of [...this.#all]) c.destroy();
    this.#idle = [];
    this.#all.clear();
    return Promise.resolve();
  }
}

/** One upstream connection: writes a request, parses its response, returns itself to the pool. */
class Connection {
  readonly #pool: UpstreamPool;
  readonly #socket: net.Socket;
  readonly #parser: ResponseParser;
  #handler: DispatchHandler | null = null;
  #body: Readable | null = null;
  #bodyDone = true;
  #responseDone = true;
  #keepAlive = true;
  #dead = false;
  readonly #timer = new PhaseTimer<'idle' | 'headers' | 'body'>((phase) => this.#timedOut(phase));
  #headersTimeout = 0;
  #bodyTimeout = 0;
  readonly #abort = (err?: Error) => this.#fail(err ?? new UpstreamError('UND_ERR_ABORTED', 'request aborted'), true);
  readonly #resume = () => {
    this.#parser.resume();
    if (!this.#dead) this.#socket.resume();
  };

  /** The pool passes the socket's reads to received(). */
  constructor(pool: UpstreamPool, socket: net.Socket) {
    this.#pool = pool;
    this.#socket = socket;
    this.#parser = new ResponseParser({
      onHead: (h) => this.#onHead(h),
      onBody: (b) => this.#onBody(b),
      onEnd: () => this.#onEnd(),
    });
    socket.on('end', () => this.#onEnd_socket());
    socket.on('error', (err) => this.#fail(err, false));
    socket.on('close', () => this.#fail(new UpstreamError('UND_ERR_SOCKET', 'the upstream closed the connection'), false));
  }

  idleSince(): void {
    this.#timer.arm('idle', this.#pool.options.idleTimeoutMs);
  }

  run(opts: DispatchOptions, handler: DispatchHandler): void {
    this.#handler = handler;
    this.#responseDone = false;
    this.#keepAlive = true;
    this.#headersTimeout = opts.headersTimeout ?? 0;
    this.#bodyTimeout = opts.bodyTimeout ?? 0;
    this.#parser.expect(opts.method === 'HEAD');
    handler.onConnect(this.#abort);
    if (this.#handler !== handler || this.#dead) return; // aborted in onConnect
    const body = opts.body;
    const present = framingHeaders(opts.headers);
    const chunked = body !== null && (present & HAS_LENGTH) === 0;
    let framing = chunked ? 'transfer-encoding: chunked\r\n' : '';
    // HTTP/1.1 requires Host: without one from the client (HTTP/1.0), the endpoint's authority (as undici does).
    if ((present & HAS_HOST) === 0) framing += `host: ${this.#pool.authority}\r\n`;
    let head: string;
    try {
      head = requestHead(opts.method, opts.path, opts.headers, framing, opts.headersCheckedFrom ?? 0);
    } catch (err) {
      this.#fail(err as Error, true);
      return;
    }
    this.#timer.arm('headers', this.#headersTimeout);
    if (body === null) {
      this.#bodyDone = true;
      this.#socket.write(head, 'latin1');
      return;
    }
    this.#socket.write(head, 'latin1');
    this.#bodyDone = false;
    this.#streamBody(body, chunked);
  }

  #streamBody(body: Readable, chunked: boolean): void {
    this.#body = body;
    const socket = this.#socket;
    const onData = (chunk: Buffer) => {
      if (this.#dead || this.#body !== body) return;
      let ok: boolean;
      if (chunked) {
        if (chunk.length === 0) return;
        socket.cork();
        socket.write(chunkHeader(chunk.length));
        socket.write(chunk);
        ok = socket.write(CRLF);
        socket.uncork();
      } else {
        ok = socket.write(chunk);
      }
      if (!ok) {
        body.pause();
        socket.once('drain', () => body.resume());
      }
    };
    const onEnd = () => {
      cleanup();
      if (this.#dead || this.#body !== body) return;
      if (chunked) socket.write(LAST_CHUNK);
      this.#bodyDone = true;
      this.#body = null;
      if (this.#responseDone) this.#release();
    };
    const onError = (err: Error) => {
      cleanup();
      if (this.#body === body) this.#fail(err, true);
    };
    const cleanup = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
    };
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.resume();
  }

  /** Bytes read from the socket. */
  received(d: Buffer): void {
    if (this.#handler === null) {
      // Bytes with no request outstanding: the connection's framing can't be trusted any more.
      this.destroy();
      return;
    }
    if (this.#timer.kind === 'body') this.#timer.refresh();
    try {
      this.#parser.execute(d);
    } catch (err) {
      if (err instanceof Http1ParseError) this.#fail(new UpstreamError('UND_ERR_SOCKET', `upstream protocol error: ${err.message}`), true);
      else throw err;
    }
  }

  #onHead(h: ResponseHead): void {
    this.#keepAlive = h.keepAlive;
    this.#timer.arm('body', this.#bodyTimeout);
    const handler = this.#handler!;
    const go = handler.onResponseHead !== undefined ? handler.onResponseHead(h, this.#resume) : handler.onHeaders(h.status, h.rawHeaders, this.#resume, h.statusText);
    if (!go) this.#pauseReading();
  }

  #onBody(b: Buffer): void {
    const handler = this.#handler;
    if (handler === null) return;
    if (!handler.onData(b)) this.#pauseReading();
  }

  #pauseReading(): void {
    this.#parser.pause();
    this.#socket.pause();
  }

  #onEnd(): void {
    const handler = this.#handler!;
    this.#responseDone = true;
    this.#timer.disarm();
    // A response that arrives before the request body was sent in full ends the exchange; the connection can't be reused.
    if (!this.#bodyDone) this.#keepAlive = false;
    this.#handler = null;
    this.#body = null;
    handler.onComplete(null);
    if (!this.#keepAlive) this.destroy();
    else if (this.#bodyDone) this.#release();
  }

  #release(): void {
    if (this.#dead) return;
    // The response can end while reading is paused for a slow client (its last
    // bytes filled the client's buffer); nobody resumes a finished exchange, so
    // a pooled connection must read again here or the next response is never seen.
    try {
      this.#parser.resume();
    } catch {
      this.destroy(); // bytes after the response: the framing can't be trusted
      return;
    }
    if (this.#dead) return;
    this.#socket.resume();
    this.#pool.released(this);
  }

  #onEnd_socket(): void {
    if (this.#handler !== null && this.#parser.untilClose) {
      try {
        this.#parser.finish();
      } catch {
        /* finish() only throws when not until-close */
      }
      return;
    }
    this.#fail(new UpstreamError('UND_ERR_SOCKET', 'the upstream closed the connection'), false);
  }

  /** Timeouts and failures end the request in progress (if any) with an error and drop the connection. */
  #fail(err: Error, local: boolean): void {
    const handler = this.#handler;
    this.#handler = null;
    this.#body = null;
    if (!this.#dead) {
      this.#dead = true;
      this.#timer.stop();
      if (local || !this.#socket.destroyed) this.#socket.destroy();
      this.#pool.removed(this);
    }
    if (handler !== null && !this.#responseDone) {
      this.#responseDone = true;
      const e = (err as NodeJS.ErrnoException).code ? err : new UpstreamError('UND_ERR_SOCKET', err.message);
      handler.onError(e);
    }
  }

  #timedOut(phase: 'idle' | 'headers' | 'body'): void {
    if (phase === 'idle') this.destroy();
    else if (phase === 'headers') this.#fail(new UpstreamError('UND_ERR_HEADERS_TIMEOUT', 'the upstream sent no response headers in time'), true);
    else this.#fail(new UpstreamError('UND_ERR_BODY_TIMEOUT', 'the upstream stopped sending the body'), true);
  }

  destroy(): void {
    this.#fail(new UpstreamError('UND_ERR_SOCKET', 'connection closed'), true);
  }
}

const HAS_LENGTH = 1;
const HAS_HOST = 2;
function framingHeaders(flat: readonly string[]): number {
  let found = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!;
    if (name.length === 14 && nameIs(name, 'content-length')) found |= HAS_LENGTH;
    else if (name.length === 4 && nameIs(name, 'host')) found |= HAS_HOST;
  }
  return found;
}
