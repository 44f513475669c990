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

/** The driver of a stream, found by the shared event handlers below (no closures per call). */
const kDriver = Symbol('edgeplane.h2-driver');
type DrivenStream = ClientHttp2Stream & { [kDriver]: StreamDriver };

/**
 * One request on a session, translated into dispatch-handler calls. Per call
 * it allocates the driver and at most one Timeout: the stream's events go to
 * shared functions, and the one timer covers first the response headers, then
 * the body's idle time, re-armed with refresh() as data arrives.
 */
class StreamDriver {
  readonly #stream: ClientHttp2Stream;
  readonly #h: Handler;
  readonly #connectError: () => Error | null;
  readonly #bodyTimeout: number;
  #timer: NodeJS.Timeout | null = null;
  #timerMs = 0;
  #done = false;
  #headersSeen = false;
  #trailers: string[] = [];

  constructor(stream: ClientHttp2Stream, options: Dispatcher.DispatchOptions, h: Handler, connectError: () => Error | null) {
    this.#stream = stream;
    this.#h = h;
    this.#connectError = connectError;
    this.#bodyTimeout = options.bodyTimeout ?? 0;
    h.onConnect((err?: Error) => this.#abort(err));
    if (this.#done) return;
    const headersTimeout = options.headersTimeout ?? 0;
    if (headersTimeout > 0) this.#arm(headersTimeout);
    (stream as DrivenStream)[kDriver] = this;
    stream.on('response', onStreamResponse);
    stream.on('trailers', onStreamTrailers);
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
    stream.on('error', onStreamError);
    stream.on('close', onStreamClose);
    const body = options.body as Readable | Buffer | null | undefined;
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body != null) {
      body.on('error', (err) => this.#abort(err));
      body.pipe(stream);
    }
  }

  response(headers: IncomingHttpHeaders): void {
    if (this.#done) return;
    const status = Number(headers[':status']);
    if (status < 200) return;
    this.#headersSeen = true;
    this.#touch();
    // A gRPC status in the headers (Trailers-Only) stays there: the exchange decides on retries from it and moves it to the trailers.
    const raw = flatten(headers);
    const keepGoing = this.#h.onHeaders(status, raw as unknown as Buffer[], () => this.#stream.resume(), '');
    if (keepGoing === false) this.#stream.pause();
  }

  trailers(trailers: IncomingHttpHeaders): void {
    this.#trailers = flatten(trailers);
  }

  data(chunk: Buffer): void {
    if (this.#done) return;
    this.#touch();
    if (this.#h.onData(chunk) === false) this.#stream.pause();
  }

  end(): void {
    if (this.#done) return;
    this.#finish();
    (this.#h.onComplete as (trailers: string[]) => void)(this.#trailers);
  }

  error(err: Error): void {
    this.#fail(this.#connectError() ?? err);
  }

  closed(): void {
    if (this.#done) return;
    // Closed without 'end': RST_STREAM from the upstream, or the session went away.
    this.#fail(this.#connectError() ?? new H2UpstreamError('ECONNRESET', `the upstream reset the stream (${this.#stream.rstCode})`));
  }

  timedOut(): void {
    this.#timer = null;
    if (this.#headersSeen) this.#fail(new H2UpstreamError('UND_ERR_BODY_TIMEOUT', 'the upstream stopped sending the body'));
    else this.#fail(new H2UpstreamError('UND_ERR_HEADERS_TIMEOUT', 'no response headers in time'));
  }

  /** Progress after the response headers: the body's idle timeout starts again. */
  #touch(): void {
    const ms = this.#bodyTimeout;
    if (ms <= 0) this.#clear();
    else if (this.#timer !== null && this.#timerMs === ms) this.#timer.refresh();
    else this.#arm(ms);
  }

  #arm(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(onDriverTimeout, ms, this);
    this.#timerMs = ms;
  }

  #clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
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
    this.#clear();
  }
}

function onStreamResponse(this: DrivenStream, headers: IncomingHttpHeaders): void {
  this[kDriver].response(headers);
}
function onStreamTrailers(this: DrivenStream, trailers: IncomingHttpHeaders): void {
  this[kDriver].trailers(trailers);
}
function onStreamData(this: DrivenStream, chunk: Buffer): void {
  this[kDriver].data(chunk);
}
function onStreamEnd(this: DrivenStream): void {
  this[kDriver].end();
}
function onStreamError(this: DrivenStream, err: Error): void {
  this[kDriver].error(err);
}
function onStreamClose(this: DrivenStream): void {
  this[kDriver].closed();
}
function onDriverTimeout(d: StreamDriver): void {
  d.timedOut();
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
