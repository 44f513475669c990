import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the upstream saw it: exactly what the gateway forwarded. */
export interface Reached {
  method: string;
  url: string;
  /** Flat [name, value, ...] as received, in order. */
  rawHeaders: string[];
  /** Lower-case name -> values. */
  headers: Map<string, string[]>;
  upgrade: boolean;
}

export interface LoggingUpstream {
  readonly port: number;
  /** host:port for a cluster's `endpoints`. */
  readonly address: string;
  /** Every request that reached the upstream, oldest first. */
  readonly log: Reached[];
  /** Requests the upstream's own HTTP parser refused (e.g. headers over its maxHeaderSize), by error code. */
  readonly clientErrors: string[];
  /** Requests whose url passes `match` (a string = exact url, or a predicate). */
  find(match: string | ((r: Reached) => boolean)): Reached[];
  clear(): void;
  close(): Promise<void>;
}

/**
 * An upstream that records everything that reaches it and answers 200 with
 * the request echoed as JSON. Upgrade requests are recorded and answered 101,
 * then the socket echoes bytes back. Security tests assert on `log`: what (if
 * anything) got through the gateway.
 */
export async function startLoggingUpstream(options: {
  maxHeaderSize?: number;
  /** Reset the connection on a request its parser refuses (as upstreams that crash or proxies that bail do), instead of node's 431/400. */
  resetOnClientError?: boolean;
} = {}): Promise<LoggingUpstream> {
  const log: Reached[] = [];
  const clientErrors: string[] = [];
  const sockets = new Set<Socket>();
  const record = (req: http.IncomingMessage, upgrade: boolean): Reached => {
    const headers = new Map<string, string[]>();
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!.toLowerCase();
      headers.set(k, [...(headers.get(k) ?? []), req.rawHeaders[i + 1]!]);
    }
    const r: Reached = { method: req.method ?? '', url: req.url ?? '', rawHeaders: [...req.rawHeaders], headers, upgrade };
    log.push(r);
    return r;
  };
  const server = http.createServer({ maxHeaderSize: options.maxHeaderSize ?? 16384 }, (req, res) => {
    const r = record(req, false);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ method: r.method, url: r.url, headers: Object.fromEntries(r.headers) });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    clientErrors.push(err.code ?? err.message);
    if (options.resetOnClientError) socket.resetAndDestroy();
    else if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket) => {
    record(req, true);
    socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n');
    socket.on('data', (d) => socket.write(d));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    log,
    clientErrors,
    find: (match) => log.filter(typeof match === 'string' ? (r) => r.url === match : match),
    clear: () => {
      log.splice(0, log.length);
      clientErrors.splice(0, clientErrors.length);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
