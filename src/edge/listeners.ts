import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import tls from 'node:tls';
import net from 'node:net';
import http2, { type Http2Session, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { parseHostPort, formatHostPort } from '../util/address.ts';
import { edgeMetrics } from '../metrics/edge.ts';
import { TlsContexts, offersH2 } from './tls-contexts.ts';
import type { Proxy } from './proxy.ts';
import type { UpgradeProxy } from './upgrade.ts';
import { connectionLimits, listenerRequestPolicy, type ConnectionLimits, type ListenerRequestPolicy } from './listener-policy.ts';
import { ClientConnectionCaps } from './client-caps.ts';
import { guardH2Session, h2ServerOptions } from './h2-guard.ts';
import { NativeHttp1 } from './http1/native-server.ts';

/** The accepting server: plain HTTP/1.1, or TLS that hands each handshaken socket to the h1 or h2 server by ALPN. */
type AnyServer = http.Server | tls.Server | net.Server;

interface RunningListener {
  config: ListenerConfig;
  key: string;
  /** Accepts connections (the http.Server itself, or the tls.Server in front of h1/h2). */
  server: AnyServer;
  /** HTTP/1.1 for a TLS listener: fed handshaken sockets, never listens itself. */
  h1: http.Server | null;
  h2: http2.Http2Server | null;
  /** `engine: native`: HTTP/1.1 on edgeplane's own codec instead of `h1` (src/edge/http1). */
  native: NativeHttp1 | null;
  limits: ConnectionLimits;
  policy: ListenerRequestPolicy;
  caps: ClientConnectionCaps;
  tls: TlsContexts | null;
  sockets: Set<Socket>;
  sessions: Set<Http2Session>;
  address: { address: string; port: number };
}

export interface BoundListener {
  name: string;
  protocol: 'http' | 'https';
  address: string;
  port: number;
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'header_too_large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout'],
  HPE_UNEXPECTED_CONTENT_LENGTH: [400, 'conflicting_content_length'],
  HPE_INVALID_CONTENT_LENGTH: [400, 'invalid_content_length'],
  HPE_INVALID_TRANSFER_ENCODING: [400, 'invalid_transfer_encoding'],
  HPE_INVALID_CHUNK_SIZE: [400, 'invalid_chunk_size'],
};

/**
 * The downstream listeners: plain HTTP/1.1, HTTPS with SNI, and HTTP/2 by ALPN.
 * A listener whose name, address and protocol are unchanged survives a config
 * change (its TLS contexts are refreshed in place), so a reload drops no connection.
 */
export class Listeners {
  #running = new Map<string, RunningListener>();
  readonly #proxy: Proxy;
  readonly #upgrade: UpgradeProxy | null;
  readonly #logger: Logger;
  readonly #baseDir: string;
  /** TLS session ticket keys shared by every worker of a multi-worker gateway, so a session resumes on any of them. */
  readonly #ticketKeys: Buffer | null;
  #draining = false;
  readonly #engine: 'node' | 'native';

  constructor(options: { proxy: Proxy; upgrade?: UpgradeProxy; logger: Logger; baseDir: string; ticketKeys?: Buffer; engine: 'node' | 'native' }) {
    this.#engine = options.engine;
    this.#ticketKeys = options.ticketKeys ?? null;
    this.#proxy = options.proxy;
    this.#upgrade = options.upgrade ?? null;
    this.#logger = options.logger;
    this.#baseDir = options.baseDir;
  }

  /** Starts new listeners, refreshes kept ones, closes removed ones. Throws (binding nothing new) when a new one can't bind. */
  async apply(configs: readonly ListenerConfig[]): Promise<void> {
    const wanted = new Map(configs.map((c) => [listenerKey(c), c]));
    const started: RunningListener[] = [];
    try {
      for (const [key, config] of wanted) {
        const existing = this.#running.get(key);
        if (existing) {
          if (existing.tls && config.tls) this.#refreshTls(existing, config);
          existing.config = config;
          existing.limits = connectionLimits(config);
          existing.policy = listenerRequestPolicy(config);
          existing.caps.max = existing.limits.maxConnectionsPerClient;
          applyH1Limits(existing.h1 ?? (existing.server as http.Server), existing.limits);
          continue;
        }
        started.push(await this.#start(config, key));
      }
    } catch (err) {
      await Promise.all(started.map((l) => this.#stop(l, 0)));
      throw err;
    }
    for (const l of started) this.#running.set(l.key, l);
    for (const [key, l] of this.#running) {
      if (!wanted.has(key)) {
        this.#running.delete(key);
        void this.#stop(l, 30_000);
      }
    }
  }

  addresses(): BoundListener[] {
    return [...this.#running.values()].map((l) => ({ name: l.config.name, protocol: l.config.protocol, ...l.address }));
  }

  /** Stops accepting connections and asks open ones to close after their current request (Connection: close, GOAWAY). */
  stopAccepting(): void {
    this.#draining = true;
    for (const l of this.#running.values()) {
      l.server.close();
      for (const s of l.sessions) s.close();
      closeIdle(l);
    }
  }

  /** Closes every connection now. */
  destroyAll(): void {
    for (const l of this.#running.values()) {
      for (const s of l.sessions) s.destroy();
      for (const s of l.sockets) s.destroy();
      l.tls?.close();
    }
    this.#running.clear();
  }

  /** Open downstream connections (for drain progress). */
  get connectionCount(): number {
    let n = 0;
    for (const l of this.#running.values()) n += l.sockets.size;
    return n;
  }

  async #start(config: ListenerConfig, key: string): Promise<RunningListener> {
    const { host, port } = parseHostPort(config.address);
    const scheme = config.protocol;
    // The handlers read `running`, so a config change to a kept listener takes effect on its next request.
    let running!: RunningListener;
    const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      if (this.#draining && !('stream' in res)) (res as ServerResponse).shouldKeepAlive = false;
      this.#proxy.handle(req, res, scheme, running.policy);
    };
    const limits = connectionLimits(config);
    const h1 = http.createServer(h1Options(limits), onRequest);
    applyH1Limits(h1, limits);
    // node:http checks headersTimeout/requestTimeout only for servers that emitted 'listening'
    // (that is where it starts its connection tracking). The TLS listener's h1 server never listens
    // itself, so it is told it does: without it slowloris over TLS ran unchecked (finding 2).
    if (scheme === 'https') h1.emit('listening');
    h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => rejectMalformed(err, socket));
    if (this.#upgrade) {
      const upgrade = this.#upgrade;
      h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade.handle(req, socket, head, scheme, running.policy));
    }
    const native = this.#engine === 'native' ? this.#nativeHttp1(scheme, () => running, onRequest) : null;
    const serveH1 = native !== null ? (socket: Socket) => native.serve(socket) : (socket: Socket) => h1.emit('connection', socket);
    let server: AnyServer;
    let tlsContexts: TlsContexts | null = null;
    let h2: http2.Http2Server | null = null;
    if (scheme === 'https') {
      tlsContexts = new TlsContexts(config.tls!, this.#baseDir, this.#logger);
      const withH2 = offersH2(config.tls);
      const secure = tls.createServer({
        ...tlsContexts.defaultCert,
        SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => running.tls!.sniCallback(name, cb),
        minVersion: tlsContexts.minVersion,
        ...(config.tls!.ciphers ? { ciphers: config.tls!.ciphers } : {}),
        ALPNProtocols: withH2 ? ['h2', 'http/1.1'] : ['http/1.1'],
        handshakeTimeout: limits.handshakeTimeoutMs,
      });
      if (withH2) {
        h2 = http2.createServer(h2ServerOptions(limits), onRequest);
        h2.on('session', (session: Http2Session) => {
          running.sessions.add(session);
          session.once('close', () => running.sessions.delete(session));
          guardH2Session(session, () => running.limits);
          if (this.#draining) session.close();
        });
      }
      secure.on('secureConnection', (socket: tls.TLSSocket) => {
        if (socket.alpnProtocol === 'h2' && h2 !== null) h2.emit('connection', socket);
        else serveH1(socket);
      });
      // A handshake that fails or times out closes the socket: a silent client must not hold an fd (finding 1).
      secure.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
        edgeMetrics.clientErrors.labels(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls_handshake_timeout' : 'tls_handshake').inc();
        socket.destroy();
      });
      server = secure;
    } else if (native !== null) {
      server = net.createServer({ allowHalfOpen: true });
    } else {
      server = h1;
    }
    running = {
      config, key, server, h1: server === h1 ? null : h1, h2, native, limits, policy: listenerRequestPolicy(config),
      caps: new ClientConnectionCaps(limits.maxConnectionsPerClient),
      tls: tlsContexts, sockets: new Set(), sessions: new Set(), address: { address: host, port },
    };
    if (tlsContexts) this.#applyTicketKeys(server);
    const gaugeChild = edgeMetrics.activeConnections.labels(config.name);
    server.on('connection', (socket: Socket) => {
      if (!running.caps.admit(socket)) {
        edgeMetrics.clientErrors.labels('client_connection_cap').inc();
        return;
      }
      running.sockets.add(socket);
      gaugeChild.inc();
      socket.once('close', () => {
        running.sockets.delete(socket);
        gaugeChild.dec();
      });
      if (native !== null && server instanceof net.Server && !(server instanceof tls.Server)) native.serve(socket);
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`listener ${config.name} cannot bind ${config.address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      server.once('error', onError);
      server.listen({ host, port, exclusive: false }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.#logger.error({ err, listener: config.name }, 'listener error'));
    const bound = server.address();
    if (bound && typeof bound === 'object') running.address = { address: bound.address, port: bound.port };
    if (tlsContexts) {
      const contexts = tlsContexts;
      contexts.watch((defaults) => {
        (server as tls.Server).setSecureContext({ ...defaults, minVersion: contexts.minVersion });
        this.#applyTicketKeys(server);
      });
    }
    this.#logger.info(
      { listener: config.name, protocol: scheme, address: formatHostPort({ host: running.address.address, port: running.address.port }), ...(tlsContexts ? { certificates: tlsContexts.names() } : {}) },
      'listener started',
    );
    return running;
  }

  #nativeHttp1(scheme: 'http' | 'https', running: () => RunningListener, onRequest: (req: never, res: never) => void): NativeHttp1 {
    const upgrade = this.#upgrade;
    return new NativeHttp1({
      settings: () => {
        const l = running().limits;
        return {
          limits: { maxHeaderBytes: l.maxHeaderSize, maxHeaderCount: l.maxHeaderCount, maxUriLength: 8192 },
          headersTimeoutMs: Math.min(l.headersTimeoutMs, l.requestTimeoutMs),
          requestTimeoutMs: l.requestTimeoutMs,
          keepAliveTimeoutMs: l.idleTimeoutMs,
        };
      },
      request: (req, res) => onRequest(req as never, res as never),
      upgrade: (req, socket, head) => (upgrade ? upgrade.handle(req, socket, head, scheme, running().policy) : socket.destroy()),
      clientError: (reason) => edgeMetrics.clientErrors.labels(reason).inc(),
      draining: () => this.#draining,
      answerFromHead: (head, socket, keepAlive) => this.#proxy.answerFromHead(head, socket, keepAlive, running().policy),
    });
  }

  #refreshTls(l: RunningListener, config: ListenerConfig): void {
    if (JSON.stringify(l.config.tls) === JSON.stringify(config.tls)) return;
    const contexts = new TlsContexts(config.tls!, this.#baseDir, this.#logger);
    l.tls?.close();
    l.tls = contexts;
    (l.server as tls.Server).setSecureContext({ ...contexts.defaultCert, minVersion: contexts.minVersion });
    this.#applyTicketKeys(l.server);
    contexts.watch((defaults) => {
      (l.server as tls.Server).setSecureContext({ ...defaults, minVersion: contexts.minVersion });
      this.#applyTicketKeys(l.server);
    });
  }

  /** setSecureContext() replaces the ticket keys with random ones: shared keys are put back after every call. */
  #applyTicketKeys(server: AnyServer): void {
    if (this.#ticketKeys !== null && 'setTicketKeys' in server) (server as tls.Server).setTicketKeys(this.#ticketKeys);
  }

  async #stop(l: RunningListener, graceMs: number): Promise<void> {
    l.tls?.close();
    // Stops the h1 server's connection-checking interval (it never listened, so there is nothing else to close).
    l.h1?.close();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const s of l.sockets) s.destroy();
        resolve();
      }, graceMs);
      timer.unref();
      l.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const s of l.sessions) s.close();
      closeIdle(l);
    });
  }
}

/** Idle keep-alive h1 connections close now; busy ones after their current request. */
function closeIdle(l: RunningListener): void {
  const h1 = l.h1 ?? (l.server instanceof http.Server ? l.server : null);
  h1?.closeIdleConnections();
  l.native?.closeIdleConnections();
}

/** The h1 limits node reads per connection: a config change applies them to the next connection (the handshake timeout and h2 settings need a new listener). */
function applyH1Limits(h1: http.Server, limits: ConnectionLimits): void {
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  h1.headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  h1.requestTimeout = limits.requestTimeoutMs;
  h1.maxHeadersCount = limits.maxHeaderCount + 1; // one more than allowed, so the proxy sees the excess and answers 431
  (h1 as http.Server & { maxHeaderSize?: number }).maxHeaderSize = limits.maxHeaderSize;
}

/** node:http's own options for a listener's limits: node enforces header size and both timeouts for h1. */
function h1Options(limits: ConnectionLimits): http.ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderSize,
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
    keepAliveTimeout: limits.idleTimeoutMs,
    // node checks the two timeouts on this interval (default 30s): a 1s limit must not take 30s.
    connectionsCheckingInterval: Math.max(100, Math.min(5000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
    insecureHTTPParser: false,
  };
}

function listenerKey(c: ListenerConfig): string {
  return `${c.name}|${c.address}|${c.protocol}|${offersH2(c.tls)}`;
}

/** Malformed requests get a status and a JSON reason, are never forwarded, and close the connection. */
function rejectMalformed(err: NodeJS.ErrnoException, socket: Duplex): void {
  const code = err.code ?? '';
  if (code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason] = CLIENT_ERRORS[code] ?? [400, 'malformed_request'];
  edgeMetrics.clientErrors.labels(reason).inc();
  const body = JSON.stringify({ error: reason, message: status === 431 ? 'request header fields too large' : 'malformed HTTP request' });
  const text = status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.once('finish', () => socket.destroy());
  // A socket whose peer stopped reading never emits 'finish': it must not stay open (and hold an fd) forever.
  setTimeout(() => socket.destroy(), 2000).unref();
}
