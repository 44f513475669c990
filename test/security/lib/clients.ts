import net from 'node:net';
import tls from 'node:tls';
import http2 from 'node:http2';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/gateway-process.ts';

import { rawExchange } from '../../helpers/raw-http.ts';

export { rawHttp, parseRawResponse } from '../../helpers/raw-http.ts';

export const devCa = (): Buffer => readFileSync(join(repoRoot, 'certs-dev/ca.crt'));

/**
 * Sends bytes exactly as given over TLS (SNI `servername`, ALPN http/1.1) and
 * returns what the server sent until it closed or `idleMs` of silence.
 */
export function rawHttps(port: number, payload: string | Buffer, options: { servername?: string; idleMs?: number } = {}): Promise<string> {
  const socket = tls.connect({ port, host: '127.0.0.1', servername: options.servername ?? 'api.svc.plus', ca: devCa(), ALPNProtocols: ['http/1.1'] });
  return rawExchange(socket, 'secureConnect', payload, options.idleMs ?? 300);
}

export interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: string;
}

/** An h2 session to a TLS listener with the development CA; headers are sent as given (pseudo-headers included). */
export function h2Connect(port: number, servername = 'api.svc.plus', settings: http2.Settings = {}, options: http2.ClientSessionOptions = {}): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca: devCa(), servername, settings, ...options });
  session.on('error', () => {});
  return session;
}

/** One h2 request on `session`; resolves with the answer, or rejects with the stream error (RST_STREAM, GOAWAY). */
export function h2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => (head = h));
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (data += d));
    stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: data }));
    stream.on('error', reject);
    stream.on('close', () => {
      if (head[':status'] === undefined) reject(new Error(`stream closed without a response (rst code ${stream.rstCode})`));
    });
    if (body !== undefined) stream.end(body);
  });
}

/** Open file descriptors of a process (Linux /proc), or null where /proc is not readable. */
export function fdCount(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** Opens a TCP connection and resolves once it is established; the caller owns the socket. */
export function openSilent(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves when the server closes `socket` (end or close), true; false if `ms` passes first. */
export function closedByPeer(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed || socket.readableEnded) return resolve(true);
    const timer = setTimeout(() => resolve(false), ms);
    const yes = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.once('end', yes);
    socket.once('close', yes);
    socket.resume();
  });
}
