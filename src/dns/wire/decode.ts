import { HEADER_SIZE, RRType } from './constants.ts';
import { formatIp } from './ip.ts';
import { DnsError } from '../errors.ts';

/**
 * A complete, defensive decoder for DNS messages. The responder never needs it
 * (it reads only header, question and OPT); tests, the fuzz run and the
 * knotd cross-check use it to look at whole responses.
 */
export interface DecodedRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Presentation-ish data for known types, hex otherwise. */
  data: string;
  raw: Buffer;
}

export interface DecodedOption {
  code: number;
  data: Buffer;
}

export interface DecodedMessage {
  id: number;
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** Full rcode: header bits combined with the OPT's extended bits when present. */
  rcode: number;
  questions: { name: string; type: number; class: number }[];
  answers: DecodedRecord[];
  authority: DecodedRecord[];
  additional: DecodedRecord[];
  opt?: { udpSize: number; extendedRcode: number; version: number; dnssecOk: boolean; flags: number; options: DecodedOption[] };
}

export class DnsDecodeError extends DnsError {
  constructor(message: string) {
    super('EP_DNS_DECODE', message);
  }
}

/** Reads a possibly compressed name; pointers must go strictly backwards, so loops end. */
export function readName(msg: Buffer, start: number): { name: string; end: number } {
  const labels: string[] = [];
  let off = start;
  let end = -1;
  let lowest = start;
  let total = 1;
  for (let hops = 0; ; ) {
    if (off >= msg.length) throw new DnsDecodeError(`name runs past the end at ${off}`);
    const len = msg[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (off + 1 >= msg.length) throw new DnsDecodeError('truncated compression pointer');
      const target = ((len & 0x3f) << 8) | msg[off + 1]!;
      if (target >= lowest) throw new DnsDecodeError(`compression pointer at ${off} does not point backwards`);
      if (++hops > 127) throw new DnsDecodeError('too many compression pointers');
      if (end < 0) end = off + 2;
      lowest = target;
      off = target;
      continue;
    }
    if (kind !== 0) throw new DnsDecodeError(`unsupported label type 0x${len.toString(16)}`);
    if (off + 1 + len > msg.length) throw new DnsDecodeError('label runs past the end');
    total += len + 1;
    if (total > 255) throw new DnsDecodeError('name longer than 255 bytes');
    labels.push(labelText(msg, off + 1, off + 1 + len));
    off += len + 1;
  }
  return { name: labels.length ? labels.join('.') + '.' : '.', end };
}

function labelText(msg: Buffer, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) {
    const b = msg[i]!;
    if (b === 0x2e || b === 0x5c) s += '\\' + String.fromCharCode(b);
    else if (b > 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else s += '\\' + String(b).padStart(3, '0');
  }
  return s;
}

function u16(msg: Buffer, off: number): number {
  if (off + 2 > msg.length) throw new DnsDecodeError('truncated');
  return msg.readUInt16BE(off);
}

function charStrings(msg: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let i = start;
  while (i < end) {
    const l = msg[i]!;
    if (i + 1 + l > end) throw new DnsDecodeError('character-string runs past rdata');
    out.push(msg.subarray(i + 1, i + 1 + l).toString('latin1'));
    i += 1 + l;
  }
  return out;
}

function rdataText(msg: Buffer, type: number, start: number, end: number): string {
  const rd = msg.subarray(start, end);
  const name = (off: number) => {
    const r = readName(msg, off);
    if (r.end > end) throw new DnsDecodeError('name runs past rdata');
    return r;
  };
  switch (type) {
    case RRType.A:
      if (rd.length !== 4) throw new DnsDecodeError('A rdata is not 4 bytes');
      return formatIp(rd);
    case RRType.AAAA:
      if (rd.length !== 16) throw new DnsDecodeError('AAAA rdata is not 16 bytes');
      return formatIp(rd);
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR: {
      const n = name(start);
      if (n.end !== end) throw new DnsDecodeError('trailing bytes in rdata');
      return n.name;
    }
    case RRType.MX: {
      const n = name(start + 2);
      if (n.end !== end) throw new DnsDecodeError('trailing bytes in rdata');
      return `${u16(msg, start)} ${n.name}`;
    }
    case RRType.SRV: {
      const n = name(start + 6);
      if (n.end !== end) throw new DnsDecodeError('trailing bytes in rdata');
      return `${u16(msg, start)} ${u16(msg, start + 2)} ${u16(msg, start + 4)} ${n.name}`;
    }
    case RRType.SOA: {
      const m = name(start);
      const r = name(m.end);
      if (r.end + 20 !== end) throw new DnsDecodeError('SOA rdata has the wrong length');
      const nums = [0, 4, 8, 12, 16].map((o) => msg.readUInt32BE(r.end + o));
      return `${m.name} ${r.name} ${nums.join(' ')}`;
    }
    case RRType.TXT:
    case RRType.HINFO:
      return charStrings(msg, start, end).map((s) => JSON.stringify(s)).join(' ');
    case RRType.CAA: {
      if (rd.length < 2 || 2 + rd[1]! > rd.length) throw new DnsDecodeError('bad CAA rdata');
      return `${rd[0]} ${rd.subarray(2, 2 + rd[1]!).toString('latin1')} ${JSON.stringify(rd.subarray(2 + rd[1]!).toString('latin1'))}`;
    }
    default:
      return rd.toString('hex');
  }
}

export function decodeMessage(msg: Buffer): DecodedMessage {
  if (msg.length < HEADER_SIZE) throw new DnsDecodeError('shorter than a header');
  const f = msg.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => msg.readUInt16BE(o));
  const out: DecodedMessage = {
    id: msg.readUInt16BE(0),
    qr: (f & 0x8000) !== 0,
    opcode: (f >> 11) & 0x0f,
    aa: (f & 0x0400) !== 0,
    tc: (f & 0x0200) !== 0,
    rd: (f & 0x0100) !== 0,
    ra: (f & 0x0080) !== 0,
    z: (f & 0x0040) !== 0,
    ad: (f & 0x0020) !== 0,
    cd: (f & 0x0010) !== 0,
    rcode: f & 0x0f,
    questions: [],
    answers: [],
    authority: [],
    additional: [],
  };
  let off = HEADER_SIZE;
  for (let i = 0; i < counts[0]!; i++) {
    const n = readName(msg, off);
    off = n.end;
    out.questions.push({ name: n.name, type: u16(msg, off), class: u16(msg, off + 2) });
    off += 4;
  }
  const sections = [out.answers, out.authority, out.additional];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const n = readName(msg, off);
      off = n.end;
      if (off + 10 > msg.length) throw new DnsDecodeError('record header runs past the end');
      const type = msg.readUInt16BE(off);
      const klass = msg.readUInt16BE(off + 2);
      const ttl = msg.readUInt32BE(off + 4);
      const rdlen = msg.readUInt16BE(off + 8);
      const start = off + 10;
      const end = start + rdlen;
      if (end > msg.length) throw new DnsDecodeError('rdata runs past the end');
      if (type === RRType.OPT) {
        if (s !== 2 || out.opt || n.name !== '.') throw new DnsDecodeError('misplaced or repeated OPT');
        const options: DecodedOption[] = [];
        for (let o = start; o < end; ) {
          if (o + 4 > end) throw new DnsDecodeError('truncated EDNS option');
          const code = msg.readUInt16BE(o);
          const olen = msg.readUInt16BE(o + 2);
          if (o + 4 + olen > end) throw new DnsDecodeError('EDNS option runs past the OPT');
          options.push({ code, data: Buffer.from(msg.subarray(o + 4, o + 4 + olen)) });
          o += 4 + olen;
        }
        out.opt = {
          udpSize: klass,
          extendedRcode: ttl >>> 24,
          version: (ttl >>> 16) & 0xff,
          dnssecOk: (ttl & 0x8000) !== 0,
          flags: ttl & 0xffff,
          options,
        };
        out.rcode |= (ttl >>> 24) << 4;
      } else {
        sections[s]!.push({ name: n.name, type, class: klass, ttl, data: rdataText(msg, type, start, end), raw: Buffer.from(msg.subarray(start, end)) });
      }
      off = end;
    }
  }
  if (off !== msg.length) throw new DnsDecodeError(`${msg.length - off} trailing bytes`);
  return out;
}
