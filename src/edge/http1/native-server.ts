import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { Http1Connection, type ConnectionSettings, type ConnectionHandlers } from './connection.ts';
import type { AnyNativeRequest } from './messages.ts';
import type { NativeResponse } from './response.ts';

export interface NativeHttp1Options {
  /** Read per connection, so a config change to a kept listener applies to its next connection. */
  settings(): ConnectionSettings;
  /** The proxy's request entry point (the same one the node engine calls). */
  request(req: AnyNativeRequest, res: NativeResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clientError(reason: string): void;
  draining(): boolean;
  /** See ConnectionHandlers.answerFromHead (the proxy's rate-limit refusal from a request head). */
  answerFromHead?: ConnectionHandlers['answerFromHead'];
}

/**
 * The native engine's HTTP/1.1 side of a listener: every accepted socket (plain,
 * or TLS after an ALPN choice of http/1.1) becomes an Http1Connection. The
 * listener keeps accepting, TLS, ALPN, h2 and connection caps; this replaces
 * only node:http's server.
 */
export class NativeHttp1 {
  readonly #options: NativeHttp1Options;
  readonly #connections = new Set<Http1Connection>();
  readonly #handlers: ConstructorParameters<typeof Http1Connection>[2];

  constructor(options: NativeHttp1Options) {
    this.#options = options;
    this.#handlers = {
      request: options.request,
      upgrade: (req: unknown, socket: net.Socket, head: Buffer) => options.upgrade(req as IncomingMessage, socket, head),
      clientError: options.clientError,
      draining: options.draining,
      ...(options.answerFromHead ? { answerFromHead: options.answerFromHead } : {}),
    };
  }

  serve(socket: net.Socket): void {
    if (socket.destroyed) return;
    // Half-open: a client may send its requests and FIN; the responses still go out (as node:http does).
    (socket as net.Socket & { allowHalfOpen: boolean }).allowHalfOpen = true;
    const conn = new Http1Connection(socket, this.#options.settings(), this.#handlers);
    this.#connections.add(conn);
    socket.once('close', () => this.#connections.delete(conn));
  }

  /** Drain: idle connections close now, busy ones after their current response. */
  closeIdleConnections(): void {
    for (const c of this.#connections) c.closeWhenIdle();
  }
}
