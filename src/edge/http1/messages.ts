import { Readable } from 'node:stream';
import type { RequestHead } from './request-parser.ts';

/** What the proxy's Exchange and the router read from a downstream request (the subset of IncomingMessage it uses). */
interface RequestFields {
  method: string;
  url: string;
  rawHeaders: string[];
  httpVersion: string;
  socket: { remoteAddress?: string | undefined };
}

/**
 * Header object in node:http's shape, built on first use: lower-case names,
 * repeated fields joined with ', ' (set-cookie as an array, and the first of a
 * repeated singleton field kept), so routing, auth and split read the same
 * values on both engines.
 */
function headerObject(raw: readonly string[]): Record<string, string | string[]> {
  const h: Record<string, string | string[]> = Object.create(null);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const prev = h[name];
    if (prev === undefined) h[name] = name === 'set-cookie' ? [value] : value;
    else if (name === 'set-cookie') (prev as string[]).push(value);
    else if (!SINGLETON.has(name)) h[name] = name === 'cookie' ? `${prev as string}; ${value}` : `${prev as string}, ${value}`;
  }
  return h;
}

/** node:http keeps only the first of these when repeated. */
const SINGLETON = new Set(['content-type', 'content-length', 'user-agent', 'referer', 'host', 'authorization', 'proxy-authorization', 'if-modified-since', 'if-unmodified-since', 'from', 'location', 'max-forwards', 'retry-after', 'etag', 'last-modified', 'server', 'age', 'expires']);

/** A request without a body: a plain object, no stream machinery on the hot path. */
export class NativeRequest implements RequestFields {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly socket: { remoteAddress?: string | undefined };
  /** Framing from the parser: no Content-Length > 0 and no chunked body (the proxy reads this instead of the headers). */
  readonly hasBody = false;
  #headers: Record<string, string | string[]> | null = null;

  constructor(head: RequestHead, socket: { remoteAddress?: string | undefined }) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.httpVersion = head.versionMinor === 1 ? '1.1' : '1.0';
    this.socket = socket;
  }

  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.rawHeaders));
  }
}

/**
 * A request with a body: a Readable the upstream client consumes. Reads past
 * the high-water mark pause the downstream socket (`onPressure(true)`), the
 * consumer's next read resumes it: the body streams, never buffered whole.
 */
export class NativeBodyRequest extends Readable implements RequestFields {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly httpVersion: string;
  readonly socket: { remoteAddress?: string | undefined };
  readonly hasBody = true;
  #headers: Record<string, string | string[]> | null = null;
  readonly #onPressure: (paused: boolean) => void;
  #paused = false;

  constructor(head: RequestHead, socket: { remoteAddress?: string | undefined }, onPressure: (paused: boolean) => void) {
    super({ highWaterMark: 64 * 1024 });
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.httpVersion = head.versionMinor === 1 ? '1.1' : '1.0';
    this.socket = socket;
    this.#onPressure = onPressure;
    // The connection destroys the body with an error when the client breaks off or sends a malformed
    // chunk; before the upstream client attaches its own listener that must not become an uncaught error.
    this.on('error', ignore);
  }

  get headers(): Record<string, string | string[]> {
    return (this.#headers ??= headerObject(this.rawHeaders));
  }

  /** Called by the connection with each body piece. */
  feed(chunk: Buffer): void {
    if (!this.push(chunk) && !this.#paused) {
      this.#paused = true;
      this.#onPressure(true);
    }
  }

  override _read(): void {
    if (this.#paused) {
      this.#paused = false;
      this.#onPressure(false);
    }
  }
}

function ignore(): void {}

export type AnyNativeRequest = NativeRequest | NativeBodyRequest;
