import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { SecureContextOptions } from 'node:tls';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { EdgeplaneError } from '../util/errors.ts';

type Handler = Required<Pick<Dispatcher.DispatchHandler, 'onConnect' | 'onHeaders' | 'onData' | 'onComplete' | 'onError'>>;

/** Errors carry the codes undici uses, so classifyUpstreamError counts them the same way for outlier detection and retries. */
export class H2UpstreamError extends EdgeplaneError {}

/** What the proxy's exchange asks of an upstream connection pool (the subset of undici's Pool it uses). */
export interface UpstreamDispatcher {
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export interface H2UpstreamOptions {
  /** `https://host:port` (h2: TLS with ALPN h2) or `http://host:port` (h2c: cleartext, prior knowledge). */
  origin: string;
  tls?: SecureContextOptions & { rejectUnauthorized?: boolean; servername?: string };
  connectTimeoutMs: number;
}

/** Connection-specific fields HTTP/2 forbids (RFC 9113 §8.2.2); `te` is allowed only as `trailers`. */
const H2_FORBIDDEN = new Set(['host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te']);

/**
 * An HTTP/2 upstream (gRPC and any h2 service): one multiplexed session per
 * endpoint, reopened when it closes or receives GOAWAY, driven through the
 * same dispatch-handler calls an undici Pool makes (onConnect, onHeaders,
 * onData with back-pressure, onComplete with the trailers, onError), so the
 * exchange's retries, timeouts, breakers and outlier reports apply unchanged.
 */
export class H2Upstream implements UpstreamDispatcher {
  readonly #o: H2UpstreamOptions;
  #session: ClientHttp2Session | null = null;
  #connected = false;
  #sessionError: Error | null = null;
  #closed = false;

  constructor(options: H2UpstreamOptions) {
    this.#o = options;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const h = handler as Handler;
    if (this.#closed) {
      queueMicrotask(() => h.onError(new H2UpstreamError('UND_ERR_CLOSED', 'the upstream pool is closed')));
      return false;
    }
    const session = this.#sessionFor();
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(requestHeaders(options), { endStream: options.body == null });
    } catch (err) {
      queueMicrotask(() => h.onError(err as Error));
      return false;
    }
    new StreamDriver(stream, options, h, () => (this.#connected ? null : this.#sessionError));
    return true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const s = this.#session;
    this.#session = null;
    if (s && !s.destroyed) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async destroy(): Promise<void> {
    this.#closed = true;
    this.#session?.destroy();
    this.#session = null;
  }

  #sessionFor(): ClientHttp2Session {
    const existing = this.#session;
    if (existing && !existing.destroyed && !existing.closed) return existing;
    this.#connected = false;
    this.#sessionError = null;
    const o = this.#o;
    // noDelay: small HEADERS/DATA frames must not wait for Nagle (40 ms behind a delayed ACK); undici sets it for HTTP/1.1 too.
    const session = http2.connect(o.origin, { noDelay: true, ...(o.tls ?? {}), ...(o.tls?.servername ? { servername: o.tls.servername } : {}) } as http2.SecureClientSessionOptions);
    this.#session = session;
    const timer = setTimeout(() => session.destroy(new H2UpstreamError('UND_ERR_CONNECT_TIMEOUT', `connecting to ${o.origin} timed out`)), o.connectTimeoutMs);
    timer.unref();
    session.once('connect', () => {
      clearTimeout(timer);
      if (this.#session === session) this.#connected = true;
    });
    session.on('error', (err) => {
      clearTimeout(timer);
      if (this.#session === session) this.#sessionError = err;
    });
    const forget = () => {
      clearTimeout(timer);
      if (this.#session === session) this.#session = null;
    };
    // After GOAWAY the session finishes its streams but takes no new ones: the next request opens a new session.
    session.once('goaway', forget);
    session.once('close', forget);
    // An idle session must not keep the process alive.
    session.unref();
    return session;
  }
}

/** One request on a session, translated into dispatch-handler calls. */
class StreamDriver {
  readonly #stream: ClientHttp2Stream;
  readonly #h: Handler;
  readonly #connectError: () => Error | null;
  #timer: NodeJS.Timeout | null = null;
  #done = false;
  #headersSeen = false;
  #trailers: string[] = [];

  constructor(stream: ClientHttp2Stream, options: Dispatcher.DispatchOptions, h: Handler, connectError: () => Error | null) {
    this.#stream = stream;
    this.#h = h;
    this.#connectError = connectError;
    h.onConnect((err?: Error) => this.#abort(err));
    if (this.#done) return;
    const headersTimeout = options.headersTimeout ?? 0;
    if (headersTimeout > 0) this.#timer = setTimeout(() => this.#fail(new H2UpstreamError('UND_ERR_HEADERS_TIMEOUT', 'no response headers in time')), headersTimeout);
    stream.on('response', (headers) => this.#onResponse(headers, options.bodyTimeout ?? 0));
    stream.on('trailers', (trailers) => (this.#trailers = flatten(trailers)));
    stream.on('data', (chunk: Buffer) => {
      if (this.#done) return;
      this.#touch(options.bodyTimeout ?? 0);
      if (this.#h.onData(chunk) === false) stream.pause();
    });
    stream.on('end', () => {
      if (this.#done) return;
      this.#finish();
      (this.#h.onComplete as (trailers: string[]) => void)(this.#trailers);
    });
    stream.on('error', (err: NodeJS.ErrnoException) => this.#fail(this.#connectError() ?? err));
    stream.on('close', () => {
      if (this.#done) return;
      // Closed without 'end': RST_STREAM from the upstream, or the session went away.
      this.#fail(this.#connectError() ?? new H2UpstreamError('ECONNRESET', `the upstream reset the stream (${stream.rstCode})`));
    });
    const body = options.body as Readable | Buffer | null | undefined;
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body != null) {
      body.on('error', (err) => this.#abort(err));
      body.pipe(stream);
    }
  }

  #onResponse(headers: IncomingHttpHeaders, bodyTimeout: number): void {
    if (this.#done) return;
    const status = Number(headers[':status']);
    if (status < 200) return;
    this.#headersSeen = true;
    this.#touch(bodyTimeout);
    // A gRPC status in the headers (Trailers-Only) stays there: the exchange decides on retries from it and moves it to the trailers.
    const raw = flatten(headers);
    const keepGoing = this.#h.onHeaders(status, raw as unknown as Buffer[], () => this.#stream.resume(), '');
    if (keepGoing === false) this.#stream.pause();
  }

  #touch(bodyTimeout: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = bodyTimeout > 0 && this.#headersSeen ? setTimeout(() => this.#fail(new H2UpstreamError('UND_ERR_BODY_TIMEOUT', 'the upstream stopped sending the body')), bodyTimeout) : null;
  }

  #abort(err?: Error): void {
    if (this.#done) return;
    this.#finish();
    this.#stream.close(http2.constants.NGHTTP2_CANCEL);
    this.#h.onError(err ?? new H2UpstreamError('UND_ERR_ABORTED', 'request aborted'));
  }

  #fail(err: Error): void {
    if (this.#done) return;
    this.#finish();
    if (!this.#stream.destroyed) this.#stream.close(http2.constants.NGHTTP2_CANCEL);
    this.#h.onError(err);
  }

  #finish(): void {
    this.#done = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

function requestHeaders(o: Dispatcher.DispatchOptions): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': o.method, ':path': o.path };
  const flat = o.headers as string[];
  let grpc = false;
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const value = flat[i + 1]!;
    if (name === 'host') {
      out[':authority'] = value;
      continue;
    }
    if (H2_FORBIDDEN.has(name)) continue;
    if (name === 'content-type' && value.startsWith('application/grpc')) grpc = true;
    const prev = out[name];
    out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [String(prev), value];
  }
  // gRPC servers require it; the gateway removed the client's copy as hop-by-hop.
  if (grpc) out.te = 'trailers';
  return out;
}

/** node:http2 header objects to the flat name/value list the exchange reads (pseudo-headers dropped). */
function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name.charCodeAt(0) === 58 /* ':' */) continue;
    const v = headers[name];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push(name, x);
    else out.push(name, String(v));
  }
  return out;
}
