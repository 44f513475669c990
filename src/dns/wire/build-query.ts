import { ECS_FAMILY_IPV4, ECS_FAMILY_IPV6, EdnsOption, RRClass, RRType } from './constants.ts';
import { parseIPv4, parseIPv6 } from './ip.ts';
import { MessageWriter } from './writer.ts';
import { DnsError } from '../errors.ts';

export interface QueryOptions {
  id?: number;
  type?: number;
  class?: number;
  opcode?: number;
  rd?: boolean;
  /** Extra header byte-3 bits (Z, AD, CD) for protocol tests. */
  flags3?: number;
  edns?: {
    udpSize?: number;
    version?: number;
    dnssecOk?: boolean;
    /** ECS as `address/prefix`; the address is truncated to the prefix. */
    clientSubnet?: string;
    options?: { code: number; data: Buffer }[];
  };
}

/**
 * Encodes a query the way a stub or resolver would (client side). Letter case
 * of `name` is kept, so tests can check that it is echoed.
 */
export function buildQuery(name: string, options: QueryOptions = {}): Buffer {
  const w = new MessageWriter(64);
  const opcode = options.opcode ?? 0;
  w.u16(options.id ?? 0x1234);
  w.u8((opcode << 3) | (options.rd === false ? 0 : 1));
  w.u8(options.flags3 ?? 0);
  w.u16(1).u16(0).u16(0).u16(options.edns ? 1 : 0);
  const labels = name === '.' ? [] : name.replace(/\.$/, '').split('.');
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1');
    w.u8(b.length).bytes(b);
  }
  w.u8(0);
  w.u16(options.type ?? RRType.A).u16(options.class ?? RRClass.IN);
  if (options.edns) {
    const e = options.edns;
    const opts: Buffer[] = [];
    if (e.clientSubnet) opts.push(encodeEcs(e.clientSubnet));
    for (const o of e.options ?? []) {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(o.code, 0);
      h.writeUInt16BE(o.data.length, 2);
      opts.push(h, o.data);
    }
    const rdata = Buffer.concat(opts);
    w.u8(0).u16(RRType.OPT).u16(e.udpSize ?? 1232);
    w.u8(0).u8(e.version ?? 0).u16(e.dnssecOk ? 0x8000 : 0);
    w.u16(rdata.length).bytes(rdata);
  }
  return w.finish();
}

/** The ECS option (code, length and data) for `address/prefix`. */
export function encodeEcs(subnet: string): Buffer {
  const [addr, bitsText] = subnet.split('/');
  const v4 = parseIPv4(addr!);
  const bytes = v4 ?? parseIPv6(addr!);
  if (!bytes) throw new DnsError('EP_DNS_GEO', `bad ECS subnet ${subnet}`);
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  const n = (bits + 7) >> 3;
  const addrBytes = Buffer.from(bytes.subarray(0, n));
  if (bits & 7 && n > 0) addrBytes[n - 1]! &= 0xff << (8 - (bits & 7));
  const out = Buffer.alloc(8 + n);
  out.writeUInt16BE(EdnsOption.ECS, 0);
  out.writeUInt16BE(4 + n, 2);
  out.writeUInt16BE(v4 ? ECS_FAMILY_IPV4 : ECS_FAMILY_IPV6, 4);
  out[6] = bits;
  out[7] = 0;
  addrBytes.copy(out, 8);
  return out;
}
