import http2 from 'node:http2';
import { formatHostPort } from '../util/address.ts';
import type { Probe, ProbeResult, ProbeTarget } from './active-checker.ts';

export interface GrpcProbeOptions {
  /** HealthCheckRequest.service: '' asks about the server as a whole. */
  service: string;
  /** :authority of the check; default the endpoint address. */
  authority: string | undefined;
  /** Set for `protocol: h2` clusters (TLS, ALPN h2); absent for h2c (cleartext, prior knowledge). */
  tls?: { servername?: string; ca?: Buffer; rejectUnauthorized: boolean } | undefined;
}

const USER_AGENT = 'edgeplane-health-check/1';
const PATH = '/grpc.health.v1.Health/Check';
/** A HealthCheckResponse is a few bytes; anything longer than this is not one. */
const MAX_RESPONSE = 1024;
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * gRPC health checks (grpc.health.v1.Health/Check, the protocol Envoy's
 * grpc_health_check and Kubernetes' gRPC probes speak): passing means
 * grpc-status 0 and `status: SERVING`. One HTTP/2 session per endpoint, kept
 * between checks (opened again after it closes or gets GOAWAY), apart from
 * the proxy's sessions so a check never queues behind traffic. The request and
 * response are encoded by hand: one string field out, one enum field back.
 */
export function createGrpcProbe(o: GrpcProbeOptions): { probe: Probe; close(): Promise<void> } {
  const sessions = new Map<string, http2.ClientHttp2Session>();
  const body = encodeRequest(o.service);
  const tls = o.tls;

  const session = (target: ProbeTarget): http2.ClientHttp2Session => {
    const key = formatHostPort(target);
    const existing = sessions.get(key);
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(`${tls ? 'https' : 'http'}://${key}`, tls ? { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.servername ? { servername: tls.servername } : {}), ...(tls.ca ? { ca: tls.ca } : {}) } : {});
    // Errors surface on the stream of the check that meets them; an idle session going away just ends it.
    s.on('error', () => {});
    const forget = () => {
      if (sessions.get(key) === s) sessions.delete(key);
    };
    s.once('close', forget);
    s.once('goaway', () => {
      forget();
      s.close();
    });
    // Checks are seconds apart: the session must not keep the process alive on its own.
    s.unref();
    sessions.set(key, s);
    return s;
  };

  const probe: Probe = (target, signal) =>
    new Promise<ProbeResult>((resolve) => {
      if (signal.aborted) return resolve({ ok: false, detail: 'aborted' });
      let s: http2.ClientHttp2Session;
      let stream: http2.ClientHttp2Stream;
      try {
        s = session(target);
        stream = s.request({
          ':method': 'POST',
          ':path': PATH,
          ':authority': o.authority ?? formatHostPort(target),
          'content-type': 'application/grpc',
          te: 'trailers',
          'user-agent': USER_AGENT,
        });
      } catch (err) {
        return resolve({ ok: false, detail: `error: ${(err as Error).message}` });
      }
      let settled = false;
      let status = -1;
      let message = '';
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (r: ProbeResult) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
        resolve(r);
      };
      const onAbort = () => done({ ok: false, detail: 'aborted' });
      signal.addEventListener('abort', onAbort, { once: true });
      const readStatus = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        if (typeof h['grpc-message'] === 'string') message = decodeURIComponent(h['grpc-message']);
      };
      stream.on('response', (h) => {
        const httpStatus = Number(h[':status']);
        if (httpStatus !== 200) return done({ ok: false, detail: `HTTP status ${httpStatus}` });
        readStatus(h); // Trailers-Only: the status comes with the headers
      });
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE) return done({ ok: false, detail: 'response too large for a HealthCheckResponse' });
        chunks.push(chunk);
      });
      stream.on('error', (err: NodeJS.ErrnoException) => done({ ok: false, detail: describeError(err) }));
      stream.on('close', () => {
        if (status < 0) return done({ ok: false, detail: stream.rstCode ? `stream reset (${stream.rstCode})` : 'no grpc-status' });
        if (status !== 0) return done({ ok: false, detail: `grpc-status ${status}${message ? `: ${message}` : ''}` });
        const serving = decodeResponse(Buffer.concat(chunks, size));
        if (serving === undefined) return done({ ok: false, detail: 'malformed HealthCheckResponse' });
        done({ ok: serving === 1, detail: SERVING_STATUS[serving] ?? `status ${serving}` });
      });
      stream.end(body);
    });

  return {
    probe,
    close: async () => {
      for (const s of sessions.values()) s.destroy();
      sessions.clear();
    },
  };
}

/** A length-prefixed gRPC message carrying HealthCheckRequest { string service = 1 }. */
export function encodeRequest(service: string): Buffer {
  const name = Buffer.from(service, 'utf8');
  const msg = name.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(name.length), name]);
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(msg.length, 1);
  msg.copy(frame, 5);
  return frame;
}

/** HealthCheckResponse.status from one length-prefixed, uncompressed message; undefined when it is not one. */
export function decodeResponse(data: Buffer): number | undefined {
  if (data.length < 5 || data[0] !== 0) return undefined;
  const len = data.readUInt32BE(1);
  if (data.length !== 5 + len) return undefined;
  let status = 0; // proto3: an absent field is its default (UNKNOWN)
  let i = 5;
  while (i < data.length) {
    const [tag, afterTag] = readVarint(data, i);
    if (afterTag < 0) return undefined;
    i = afterTag;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const [v, next] = readVarint(data, i);
      if (next < 0) return undefined;
      if (field === 1) status = v;
      i = next;
    } else if (wire === 2) {
      const [l, next] = readVarint(data, i);
      if (next < 0 || next + l > data.length) return undefined;
      i = next + l;
    } else if (wire === 5) {
      i += 4;
    } else if (wire === 1) {
      i += 8;
    } else {
      return undefined;
    }
  }
  return i === data.length ? status : undefined;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

/** [value, next offset], next -1 when truncated or longer than 32 bits. */
function readVarint(data: Buffer, at: number): [number, number] {
  let v = 0;
  for (let shift = 0, i = at; i < data.length && shift < 35; shift += 7, i++) {
    const b = data[i]!;
    v |= (b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [v >>> 0, i + 1];
  }
  return [0, -1];
}

function describeError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_HTTP2_STREAM_CANCEL') return 'aborted';
  if (typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code)) return `connect ${err.code}`;
  return `error: ${err.message}`;
}
