import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { DiscoveryError } from './errors.ts';

/**
 * A minimal stub resolver for discovery: one question (A, AAAA or SRV) to one
 * server over UDP, falling back to TCP when the answer is truncated. Written
 * here rather than using node:dns because node:dns hides SRV TTLs, and
 * re-resolving on TTL is the point.
 */

export const QTYPE = { A: 1, CNAME: 5, AAAA: 28, SRV: 33, OPT: 41 } as const;
export type QueryType = 'A' | 'AAAA' | 'SRV';

export interface SrvData {
  priority: number;
  weight: number;
  port: number;
  target: string;
}

export interface ResourceRecord {
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

const RCODE_NAMES: Record<number, string> = { 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

export function encodeQuery(id: number, name: string, type: number): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2); // RD: recursion desired (an authoritative server ignores it)
  header.writeUInt16BE(1, 4); // QDCOUNT
  header.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  parts.push(header);
  let total = 1;
  for (const label of labels) {
    const b = Buffer.from(label, 'ascii');
    if (b.length === 0 || b.length > 63) throw new DiscoveryError('EP_DISCOVERY_DNS', `invalid DNS name ${JSON.stringify(name)}`);
    total += b.length + 1;
    parts.push(Buffer.from([b.length]), b);
  }
  if (total > 255) throw new DiscoveryError('EP_DISCOVERY_DNS', `DNS name too long: ${name}`);
  parts.push(Buffer.from([0]));
  const q = Buffer.alloc(4);
  q.writeUInt16BE(type, 0);
  q.writeUInt16BE(1, 2); // IN
  parts.push(q);
  // EDNS0 OPT: root name, type 41, UDP payload 1232 (the DNS flag day size), no flags.
  parts.push(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]));
  return Buffer.concat(parts);
}

function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (pos >= buf.length) throw malformed('name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw malformed('truncated compression pointer');
      if (++jumps > 32) throw malformed('compression loop');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0) throw malformed('unsupported label type');
    if (pos + 1 + len > buf.length) throw malformed('label runs past the end');
    length += len + 1;
    if (length > 255) throw malformed('name too long');
    labels.push(buf.toString('ascii', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { name: labels.join('.').toLowerCase(), next };
}

function malformed(why: string): DiscoveryError {
  return new DiscoveryError('EP_DISCOVERY_DNS', `malformed DNS response: ${why}`);
}

export function decodeResponse(buf: Buffer): DnsResponse {
  if (buf.length < 12) throw malformed('shorter than a header');
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  if ((flags & 0x8000) === 0) throw malformed('not a response');
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  let pos = 12;
  for (let i = 0; i < qd; i++) {
    pos = readName(buf, pos).next + 4;
    if (pos > buf.length) throw malformed('question runs past the end');
  }
  const readRecords = (count: number): ResourceRecord[] => {
    const out: ResourceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const { name, next } = readName(buf, pos);
      pos = next;
      if (pos + 10 > buf.length) throw malformed('record header runs past the end');
      const type = buf.readUInt16BE(pos);
      const ttl = buf.readUInt32BE(pos + 4);
      const rdlen = buf.readUInt16BE(pos + 8);
      pos += 10;
      if (pos + rdlen > buf.length) throw malformed('record data runs past the end');
      let data: ResourceRecord['data'] = null;
      if (type === QTYPE.A && rdlen === 4) data = `${buf[pos]}.${buf[pos + 1]}.${buf[pos + 2]}.${buf[pos + 3]}`;
      else if (type === QTYPE.AAAA && rdlen === 16) data = formatIPv6(buf.subarray(pos, pos + 16));
      else if (type === QTYPE.CNAME) data = readName(buf, pos).name;
      else if (type === QTYPE.SRV && rdlen >= 7) {
        data = { priority: buf.readUInt16BE(pos), weight: buf.readUInt16BE(pos + 2), port: buf.readUInt16BE(pos + 4), target: readName(buf, pos + 6).name };
      }
      // TTLs with the top bit set are treated as 0 (RFC 2181 section 8).
      out.push({ name, type, ttl: ttl > 0x7fffffff ? 0 : ttl, data });
      pos += rdlen;
    }
    return out;
  };
  const answers = readRecords(an);
  readRecords(ns);
  const additionals = readRecords(ar);
  return { id, rcode: flags & 0x000f, truncated: (flags & 0x0200) !== 0, answers, additionals };
}

function formatIPv6(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
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
