import { RRType } from './constants.ts';
import { nameFromText, type WireName } from './name.ts';
import { parseIPv4, parseIPv6 } from './ip.ts';
import type { MessageWriter } from './writer.ts';
import { DnsError } from '../errors.ts';

/** Record data in a form the writer can emit; names are wire names. */
export type RData =
  | { type: typeof RRType.A | typeof RRType.AAAA; address: Buffer }
  | { type: typeof RRType.NS | typeof RRType.CNAME | typeof RRType.PTR; target: WireName }
  | { type: typeof RRType.MX; preference: number; exchange: WireName }
  | { type: typeof RRType.TXT; strings: Buffer[] }
  | { type: typeof RRType.SRV; priority: number; weight: number; port: number; target: WireName }
  | { type: typeof RRType.CAA; flags: number; tag: string; value: Buffer }
  | { type: typeof RRType.HINFO; cpu: Buffer; os: Buffer }
  /** DNSSEC records are made by the signer already in wire form (no compressible names inside). */
  | { type: typeof RRType.NSEC | typeof RRType.RRSIG | typeof RRType.DNSKEY | typeof RRType.CDS | typeof RRType.CDNSKEY; raw: Buffer }
  | {
      type: typeof RRType.SOA;
      mname: WireName;
      rname: WireName;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    };

function bad(message: string): never {
  throw new DnsError('EP_DNS_RDATA', message);
}

function u16(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !/^[0-9]+$/.test(text) || n > 65535) bad(`${what} must be an integer 0..65535, got ${JSON.stringify(text ?? '')}`);
  return n;
}

/**
 * Character-strings as in zone files: `"a b" "c"` is two strings; an unquoted
 * value is one string, split every 255 bytes (RFC 1035 3.3).
 */
export function parseCharacterStrings(text: string): Buffer[] {
  const t = text.trim();
  if (!t.startsWith('"')) {
    const bytes = Buffer.from(t, 'utf8');
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
    return out.length ? out : [Buffer.alloc(0)];
  }
  const out: Buffer[] = [];
  let i = 0;
  while (i < t.length) {
    while (t[i] === ' ' || t[i] === '\t') i++;
    if (i >= t.length) break;
    if (t[i] !== '"') bad(`expected a quoted string at ${JSON.stringify(t.slice(i))}`);
    i++;
    const bytes: number[] = [];
    for (;;) {
      if (i >= t.length) bad('unterminated quoted string');
      const c = t[i]!;
      if (c === '"') {
        i++;
        break;
      }
      if (c === '\\') {
        const digits = t.slice(i + 1, i + 4);
        if (/^[0-9]{3}$/.test(digits)) {
          const v = Number(digits);
          if (v > 255) bad(`escape \\${digits} is out of range`);
          bytes.push(v);
          i += 4;
        } else {
          if (i + 1 >= t.length) bad('dangling backslash');
          bytes.push(...Buffer.from(t[i + 1]!, 'utf8'));
          i += 2;
        }
        continue;
      }
      bytes.push(...Buffer.from(c, 'utf8'));
      i++;
    }
    if (bytes.length > 255) bad('a quoted string holds at most 255 bytes; split it into several');
    out.push(Buffer.from(bytes));
  }
  if (out.length === 0) bad('expected at least one string');
  return out;
}

/** Parses a record value from the config for a static type. Names in values are absolute. */
export function parseRData(typeName: string, value: string): RData {
  const v = value.trim();
  const fields = v.split(/\s+/);
  switch (typeName) {
    case 'A': {
      const address = parseIPv4(v);
      if (!address) bad(`${JSON.stringify(v)} is not an IPv4 address`);
      return { type: RRType.A, address };
    }
    case 'AAAA': {
      const address = parseIPv6(v);
      if (!address) bad(`${JSON.stringify(v)} is not an IPv6 address`);
      return { type: RRType.AAAA, address };
    }
    case 'NS':
    case 'CNAME':
    case 'PTR':
      if (fields.length !== 1) bad(`${typeName} takes one domain name`);
      return { type: RRType[typeName], target: nameFromText(v) };
    case 'MX':
      if (fields.length !== 2) bad('MX takes "preference exchange", e.g. "10 mail.example.com"');
      return { type: RRType.MX, preference: u16(fields[0], 'MX preference'), exchange: nameFromText(fields[1]!) };
    case 'SRV':
      if (fields.length !== 4) bad('SRV takes "priority weight port target"');
      return {
        type: RRType.SRV,
        priority: u16(fields[0], 'SRV priority'),
        weight: u16(fields[1], 'SRV weight'),
        port: u16(fields[2], 'SRV port'),
        target: nameFromText(fields[3]!),
      };
    case 'TXT':
      return { type: RRType.TXT, strings: parseCharacterStrings(v) };
    case 'CAA': {
      const m = /^([0-9]+)\s+([A-Za-z0-9]+)\s+(.+)$/.exec(v);
      if (!m) bad('CAA takes "flags tag value", e.g. 0 issue "letsencrypt.org"');
      const flags = Number(m[1]);
      if (flags > 255) bad('CAA flags must be 0..255');
      if (m[2]!.length > 15) bad('CAA tag is at most 15 characters');
      const raw = m[3]!.trim();
      const valueBytes = raw.startsWith('"') ? Buffer.concat(parseCharacterStrings(raw)) : Buffer.from(raw, 'utf8');
      return { type: RRType.CAA, flags, tag: m[2]!.toLowerCase(), value: valueBytes };
    }
    default:
      bad(`record type ${typeName} is not supported (use one of A, AAAA, CNAME, TXT, MX, SRV, CAA, NS, PTR)`);
  }
}

export function writeRData(w: MessageWriter, rd: RData): void {
  switch (rd.type) {
    case RRType.A:
    case RRType.AAAA:
      w.bytes(rd.address);
      return;
    case RRType.NS:
    case RRType.CNAME:
    case RRType.PTR:
      w.name(rd.target);
      return;
    case RRType.MX:
      w.u16(rd.preference).name(rd.exchange);
      return;
    case RRType.TXT:
      for (const s of rd.strings) w.u8(s.length).bytes(s);
      return;
    case RRType.SRV:
      // RFC 2782: the target is never compressed
      w.u16(rd.priority).u16(rd.weight).u16(rd.port).name(rd.target, false);
      return;
    case RRType.CAA:
      w.u8(rd.flags).u8(rd.tag.length).bytes(Buffer.from(rd.tag, 'ascii')).bytes(rd.value);
      return;
    case RRType.HINFO:
      w.u8(rd.cpu.length).bytes(rd.cpu).u8(rd.os.length).bytes(rd.os);
      return;
    case RRType.NSEC:
    case RRType.RRSIG:
    case RRType.DNSKEY:
    case RRType.CDS:
    case RRType.CDNSKEY:
      w.bytes(rd.raw);
      return;
    case RRType.SOA:
      w.name(rd.mname).name(rd.rname).u32(rd.serial).u32(rd.refresh).u32(rd.retry).u32(rd.expire).u32(rd.minimum);
      return;
  }
}

/** The name whose addresses belong in the additional section (RFC 1035 3.3.x). */
export function additionalTarget(rd: RData): WireName | undefined {
  if (rd.type === RRType.NS) return rd.target;
  if (rd.type === RRType.MX) return rd.exchange;
  if (rd.type === RRType.SRV) return rd.target;
  return undefined;
}
