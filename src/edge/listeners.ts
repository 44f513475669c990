import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import http2, { type Http2Session, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListenerConfig } from '../config/schema/index.ts';
import type { Logger } from '../util/logger.ts';
import { parseHostPort, formatHostPort } from '../util/address.ts';
import { parseDuration } from '../util/duration.ts';
import { edgeMetrics } from '../metrics/edge.ts';
import { TlsContexts } from './tls-contexts.ts';
import type { Proxy } from './proxy.ts';
import type { UpgradeProxy } from './upgrade.ts';
import { createNativeServer, type NativeServer } from './http1/native-server.ts';

type AnyServer = http.Server | https.Server | http2.Http2SecureServer | NativeServer;

interface RunningListener {
  config: ListenerConfig;
  key: string;
  server: AnyServer;
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
  /** `engine: native` serves HTTP/1.1 with edgeplane's own codec (src/edge/http1); h2 stays on node:http2. */
  readonly #native: boolean;

  constructor(options: { proxy: Proxy; upgrade?: UpgradeProxy; logger: Logger; baseDir: string; ticketKeys?: Buffer; engine?: 'node' | 'native' }) {
    this.#native = options.engine === 'native';
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
      if ('closeIdleConnections' in l.server) (l.server as http.Server).closeIdleConnections();
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
    const onRequest = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => {
      if (this.#draining && !('stream' in res)) (res as ServerResponse).shouldKeepAlive = false;
      this.#proxy.handle(req, res, scheme);
    };
    let server: AnyServer;
    let tls: TlsContexts | null = null;
    // The SNI callback reads the listener's current contexts, so a config change can swap them.
    let running!: RunningListener;
    const h1Options = {
      maxHeaderSize: config.maxHeaderSize ?? 16384,
      requestTimeout: parseDuration(config.requestTimeout ?? '30s'),
      headersTimeout: parseDuration(config.headersTimeout ?? '15s'),
      keepAliveTimeout: parseDuration(config.keepAliveTimeout ?? '60s'),
      insecureHTTPParser: false,
    };
    if (this.#native) {
      if (scheme === 'https') tls = new TlsContexts(config.tls!, this.#baseDir, this.#logger);
      server = this.#nativeServer(config, scheme, h1Options, onRequest, tls, () => running);
    } else if (scheme === 'https') {
      tls = new TlsContexts(config.tls!, this.#baseDir, this.#logger);
      const tlsOptions = { ...tls.defaultCert, SNICallback: (name: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => running.tls!.sniCallback(name, cb), minVersion: tls.minVersion, ...(config.tls!.ciphers ? { ciphers: config.tls!.ciphers } : {}) };
      if (config.tls!.http2 !== false) {
        server = http2.createSecureServer({ ...tlsOptions, allowHTTP1: true, maxSessionMemory: 32 }, onRequest);
      } else {
        server = https.createServer({ ...tlsOptions, ...h1Options }, onRequest);
      }
    } else {
      server = http.createServer(h1Options, onRequest);
    }
    if (server instanceof http.Server) {
      server.keepAliveTimeout = h1Options.keepAliveTimeout;
    }
    running = { config, key, server, tls, sockets: new Set(), sessions: new Set(), address: { address: host, port } };
    if (tls) this.#applyTicketKeys(server);
    const gaugeChild = edgeMetrics.activeConnections.labels(config.name);
    server.on('connection', (socket: Socket) => {
      running.sockets.add(socket);
      gaugeChild.inc();
      socket.once('close', () => {
        running.sockets.delete(socket);
        gaugeChild.dec();
      });
    });
    server.on('session', (session: Http2Session) => {
      running.sessions.add(session);
      session.once('close', () => running.sessions.delete(session));
      if (this.#draining) session.close();
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => rejectMalformed(err, socket));
    server.on('tlsClientError', () => edgeMetrics.clientErrors.labels('tls_handshake').inc());
    if (this.#upgrade && !this.#native) {
      const upgrade = this.#upgrade;
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrade.handle(req, socket, head, scheme));
    }
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
    if (tls) {
      tls.watch((defaults) => {
        (server as https.Server).setSecureContext({ ...defaults, minVersion: tls!.minVersion });
        this.#applyTicketKeys(server);
      });
    }
    this.#logger.info(
      { listener: config.name, protocol: scheme, address: formatHostPort({ host: running.address.address, port: running.address.port }), ...(tls ? { certificates: tls.names() } : {}) },
      'listener started',
    );
    return running;
  }

  #nativeServer(
    config: ListenerConfig,
    scheme: 'http' | 'https',
    h1: { maxHeaderSize: number; requestTimeout: number; headersTimeout: number; keepAliveTimeout: number },
    onRequest: (req: never, res: never) => void,
    tls: TlsContexts | null,
    running: () => RunningListener,
  ): NativeServer {
    const upgrade = this.#upgrade;
    return createNativeServer({
      settings: {
        limits: { maxHeaderBytes: h1.maxHeaderSize, maxHeaderCount: 100, maxUriLength: 8192 },
        headersTimeoutMs: h1.headersTimeout,
        requestTimeoutMs: h1.requestTimeout,
        keepAliveTimeoutMs: h1.keepAliveTimeout,
      },
      request: (req, res) => onRequest(req as never, res as never),
      upgrade: (req, socket, head) => (upgrade ? upgrade.handle(req, socket, head, scheme) : socket.destroy()),
      clientError: (reason) => edgeMetrics.clientErrors.labels(reason).inc(),
      draining: () => this.#draining,
      ...(tls
        ? {
            tls: { ...tls.defaultCert, SNICallback: (name: string, cb: (err: Error | null, ctx?: import('node:tls').SecureContext) => void) => running().tls!.sniCallback(name, cb), minVersion: tls.minVersion, ...(config.tls!.ciphers ? { ciphers: config.tls!.ciphers } : {}) },
            ...(config.tls!.http2 !== false ? { h2Request: (req: Http2ServerRequest, res: Http2ServerResponse) => onRequest(req as never, res as never) } : {}),
          }
        : {}),
    });
  }

  #refreshTls(l: RunningListener, config: ListenerConfig): void {
    if (JSON.stringify(l.config.tls) === JSON.stringify(config.tls)) return;
    const tls = new TlsContexts(config.tls!, this.#baseDir, this.#logger);
    l.tls?.close();
    l.tls = tls;
    (l.server as https.Server).setSecureContext({ ...tls.defaultCert, minVersion: tls.minVersion });
    this.#applyTicketKeys(l.server);
    tls.watch((defaults) => {
      (l.server as https.Server).setSecureContext({ ...defaults, minVersion: tls.minVersion });
      this.#applyTicketKeys(l.server);
    });
  }

  /** setSecureContext() replaces the ticket keys with random ones: shared keys are put back after every call. */
  #applyTicketKeys(server: AnyServer): void {
    if (this.#ticketKeys !== null && 'setTicketKeys' in server) (server as https.Server).setTicketKeys(this.#ticketKeys);
  }

  async #stop(l: RunningListener, graceMs: number): Promise<void> {
    l.tls?.close();
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
      if ('closeIdleConnections' in l.server) (l.server as http.Server).closeIdleConnections();
    });
  }
}

function listenerKey(c: ListenerConfig): string {
  return `${c.name}|${c.address}|${c.protocol}|${c.tls?.http2 !== false}`;
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
}
