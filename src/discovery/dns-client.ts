import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { DiscoveryError } from './errors.ts';
import { buildQuery } from '../dns/wire/build-query.ts';
import { decodeMessage, type DecodedRecord } from '../dns/wire/decode.ts';
import { DEFAULT_EDNS_SIZE, RCODE_NAMES, RRType } from '../dns/wire/constants.ts';
import { nameFromText } from '../dns/wire/name.ts';

/**
 * A minimal stub resolver for discovery: one question (A, AAAA or SRV) to one
 * server over UDP, falling back to TCP when the answer is truncated. Written
 * here rather than using node:dns because node:dns hides SRV TTLs, and
 * re-resolving on TTL is the point. The bytes are src/dns/wire's: this file
 * only turns its decoded records into what discovery reads.
 */

export const QTYPE = { A: RRType.A, CNAME: RRType.CNAME, AAAA: RRType.AAAA, SRV: RRType.SRV, OPT: RRType.OPT } as const;
export type QueryType = 'A' | 'AAAA' | 'SRV';

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface ResourceRecord {
  /** lowercase, without the trailing dot */
  name: string;
  type: number;
  ttl: number;
  /** A/AAAA: the address; CNAME: the target name; SRV: the record; others: null. */
  data: string | SrvData | null;
}

export interface DnsResponse {
  id: number;
  rcode: number;
  truncated: boolean;
  answers: ResourceRecord[];
  additionals: ResourceRecord[];
}

export interface DnsServer {
  host: string;
  port: number;
}

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** A query with RD and an EDNS OPT (the DNS flag day payload size). */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  try {
    nameFromText(name);
  } catch (err) {
    throw new DiscoveryError('EP_DISCOVERY_DNS', `invalid DNS name ${JSON.stringify(name)}: ${(err as Error).message}`, { cause: err });
  }
  return buildQuery(name, { id, type, rd: true, edns: { udpSize: DEFAULT_EDNS_SIZE } });
}

function malformed(why: string, cause?: unknown): DiscoveryError {
  return new DiscoveryError('EP_DISCOVERY_DNS', `malformed DNS response: ${why}`, cause === undefined ? undefined : { cause });
}

/** Presentation name as discovery compares it: lowercase, no trailing dot, the root as "". */
function plainName(name: string): string {
  return name === '.' ? '' : name.replace(/\.$/, '').toLowerCase();
}

function toRecord(r: DecodedRecord): ResourceRecord {
  let data: ResourceRecord['data'] = null;
  if (r.type === RRType.A || r.type === RRType.AAAA) data = r.data;
  else if (r.type === RRType.CNAME) data = plainName(r.data);
  else if (r.type === RRType.SRV) {
    // decode.ts presents SRV as "priority weight port target"
    const target = r.data.split(' ', 4)[3] ?? '.';
    data = { priority: r.raw.readUInt16BE(0), weight: r.raw.readUInt16BE(2), port: r.raw.readUInt16BE(4), target: plainName(target) };
  }
  // TTLs with the top bit set are treated as 0 (RFC 2181 section 8).
  return { name: plainName(r.name), type: r.type, ttl: r.ttl > 0x7fffffff ? 0 : r.ttl, data };
}

export function decodeResponse(buf: Buffer): DnsResponse {
  if (buf.length < 12) throw malformed('shorter than a header');
  if ((buf[2]! & 0x80) === 0) throw malformed('not a response');
  let msg;
  try {
    msg = decodeMessage(buf);
  } catch (err) {
    throw malformed((err as Error).message, err);
  }
  return { id: msg.id, rcode: msg.rcode, truncated: msg.tc, answers: msg.answers.map(toRecord), additionals: msg.additional.map(toRecord) };
}

/** Sends one query; UDP first, TCP when the UDP answer is truncated. */
export async function query(server: DnsServer, name: string, type: QueryType, timeoutMs: number): Promise<DnsResponse> {
  const id = randomInt(0, 65536);
  const msg = encodeQuery(id, name, QTYPE[type]);
  const udp = await queryUdp(server, msg, id, timeoutMs);
  if (!udp.truncated) return udp;
  return queryTcp(server, msg, id, timeoutMs);
}

function queryUdp(server: DnsServer, msg: Buffer, id: number, timeoutMs: number): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS query to ${server.host}:${server.port} timed out after ${timeoutMs}ms`)), timeoutMs);
    let done = false;
    const finish = (err: Error | null, res?: DnsResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(res!);
    };
    socket.on('error', (err) => finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS query to ${server.host}:${server.port} failed: ${err.message}`, { cause: err })));
    socket.on('message', (buf, rinfo) => {
      // Anything not from the server or not our ID is ignored (spoofing, stale answers).
      if (rinfo.port !== server.port || buf.length < 2 || buf.readUInt16BE(0) !== id) return;
      try {
        finish(null, decodeResponse(buf));
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.send(msg, server.port, server.host, (err) => {
      if (err) finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS query to ${server.host}:${server.port} failed: ${err.message}`, { cause: err }));
    });
  });
}

function queryTcp(server: DnsServer, msg: Buffer, id: number, timeoutMs: number): Promise<DnsResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const timer = setTimeout(() => finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS query over TCP to ${server.host}:${server.port} timed out after ${timeoutMs}ms`)), timeoutMs);
    const finish = (err: Error | null, res?: DnsResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    socket.on('error', (err) => finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS query over TCP to ${server.host}:${server.port} failed: ${err.message}`, { cause: err })));
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length, 0);
      socket.write(Buffer.concat([len, msg]));
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > 2 + 65535) return finish(malformed('TCP answer longer than 64 KiB'));
      const all = Buffer.concat(chunks, size);
      if (all.length < 2) return;
      const want = all.readUInt16BE(0);
      if (all.length < 2 + want) return;
      try {
        const res = decodeResponse(all.subarray(2, 2 + want));
        if (res.id !== id) return finish(malformed('answer ID does not match'));
        finish(null, res);
      } catch (err) {
        finish(err as Error);
      }
    });
    socket.on('end', () => finish(new DiscoveryError('EP_DISCOVERY_DNS', `DNS server ${server.host}:${server.port} closed the TCP connection without an answer`)));
  });
}
