import net from 'node:net';
import tls from 'node:tls';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { Http1Connection, type ConnectionSettings } from './connection.ts';
import type { AnyNativeRequest } from './messages.ts';
import type { NativeResponse } from './response.ts';

export interface NativeServerOptions {
  settings: ConnectionSettings;
  /** The proxy's request entry point (the same one the node engine calls). */
  request(req: AnyNativeRequest, res: NativeResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  clientError(reason: string): void;
  draining(): boolean;
  /** TLS: the listener's secure context options; with `h2Request`, ALPN offers h2 and hands those sessions to node:http2. */
  tls?: tls.TlsOptions;
  h2Request?: (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
}

/** A listening server of the native engine: net/tls server plus closeIdleConnections() for drains. */
export type NativeServer = (net.Server | tls.Server) & { closeIdleConnections(): void };

/**
 * The native engine's listener: HTTP/1.1 on raw net/tls sockets through
 * Http1Connection. HTTP/2 (ALPN h2) stays on node:http2: its sessions are
 * handed to an http2 server that never listens itself, and its 'session'
 * events are re-emitted on the returned server so drains see them.
 */
export function createNativeServer(options: NativeServerOptions): NativeServer {
  const connections = new Set<Http1Connection>();
  const handlers = {
    request: options.request,
    upgrade: (req: unknown, socket: net.Socket, head: Buffer) => options.upgrade(req as IncomingMessage, socket, head),
    clientError: options.clientError,
    draining: options.draining,
  };
  const serve = (socket: net.Socket) => {
    const conn = new Http1Connection(socket, options.settings, handlers);
    connections.add(conn);
    socket.once('close', () => connections.delete(conn));
  };
  let server: net.Server | tls.Server;
  if (options.tls) {
    const h2 = options.h2Request ? http2.createSecureServer({ ...options.tls, allowHTTP1: false, maxSessionMemory: 32 }, options.h2Request) : null;
    server = tls.createServer({ ...options.tls, allowHalfOpen: true, ALPNProtocols: h2 ? ['h2', 'http/1.1'] : ['http/1.1'] }, (socket) => {
      if (h2 !== null && socket.alpnProtocol === 'h2') h2.emit('secureConnection', socket);
      else serve(socket);
    });
    if (h2 !== null) h2.on('session', (s) => server.emit('session', s));
  } else {
    // Half-open: a client may send its requests and FIN; the responses still go out (as node:http does).
    server = net.createServer({ allowHalfOpen: true }, serve);
  }
  return Object.assign(server, {
    closeIdleConnections(): void {
      for (const c of connections) c.closeWhenIdle();
    },
  });
}
